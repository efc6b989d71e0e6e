package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/postgres"
	"github.com/portier-id/portier/signin"
	"github.com/portier-id/portier/sqlite"
	"github.com/portier-id/portier/web"
)

// readyServers starts n servers over store whose probes give up after a short timeout. Each
// is probed once (a probe's answer serves the probes of the next second), and all are started
// before a test takes the write lock, since starting one writes.
func readyServers(t *testing.T, store portier.Store, n int) []*testserver.Instance {
	t.Helper()
	clock := testenv.NewClock()
	var out []*testserver.Instance
	for range n {
		out = append(out, testserver.Start(t, store, testserver.Options{Clock: clock, Timeouts: web.Timeouts{Ready: 300 * time.Millisecond}}))
	}
	return out
}

// readyz returns the status and body of one GET /readyz of in.
func readyz(t *testing.T, in *testserver.Instance) (int, string) {
	t.Helper()
	resp, err := http.Get(in.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	testenv.NoErr(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body["status"] + ": " + body["error"]
}

// TestReadyzNeedsWrites: /readyz answers 503 within its timeout while another connection
// holds the write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: the heartbeat row), though every
// read still succeeds, and 200 once the lock is gone.
func TestReadyzNeedsWrites(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "portier.db")
		store, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() }) // after the servers over it have stopped
		servers := readyServers(t, store, 2)
		other, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		conn, err := other.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		if err := store.Ping(ctx); err != nil {
			t.Fatalf("reads must still work: %v", err)
		}
		if status, body := readyz(t, servers[0]); status != http.StatusServiceUnavailable {
			t.Fatalf("write lock held elsewhere: /readyz %d %s, want 503", status, body)
		}
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
		if status, body := readyz(t, servers[1]); status != http.StatusOK {
			t.Fatalf("lock released: /readyz %d %s, want 200", status, body)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		url := testenv.PostgresURL(t)
		store, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() }) // after the servers over it have stopped
		servers := readyServers(t, store, 3)
		if status, body := readyz(t, servers[0]); status != http.StatusOK {
			t.Fatalf("/readyz %d %s, want 200", status, body)
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SELECT value FROM counters WHERE name = $1 FOR UPDATE`, portier.CounterHeartbeat); err != nil {
			t.Fatal(err)
		}
		if status, body := readyz(t, servers[1]); status != http.StatusServiceUnavailable {
			t.Fatalf("heartbeat row locked elsewhere: /readyz %d %s, want 503", status, body)
		}
		testenv.NoErr(t, tx.Rollback(ctx))
		if status, body := readyz(t, servers[2]); status != http.StatusOK {
			t.Fatalf("lock released: /readyz %d %s, want 200", status, body)
		}
	})
}

// TestDeviceCookieLifetime: the familiar-browser cookie a sign-in sets lives
// signin.DeviceLifetime (90 days), not a year, and after a revoke-sessions the same browser's
// next sign-in gets a new cookie (the old one is no longer familiar).
func TestDeviceCookieLifetime(t *testing.T) {
	store := testenv.Backends()[0].Open(t)
	in := newInstance(t, store, testenv.NewClock())
	createUser(t, in.dir, "cookie@example.org", false)
	b := newBrowser(t, in.srv.URL)
	device := func(resp *http.Response) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == "portier_device" {
				return c
			}
		}
		t.Fatalf("no device cookie set (status %d)", resp.StatusCode)
		return nil
	}
	resp, _ := b.login("cookie@example.org", goodPassword, nil)
	first := device(resp)
	if want := int(signin.DeviceLifetime.Seconds()); first.MaxAge != want || want != 90*24*3600 {
		t.Fatalf("device cookie Max-Age %d, want %d (90 days)", first.MaxAge, want)
	}
	resp, _ = b.login("cookie@example.org", goodPassword, nil)
	if again := device(resp); strings.Split(again.Value, ".")[3] != strings.Split(first.Value, ".")[3] {
		t.Fatal("a familiar browser's device changed at its next sign-in: its own lockout count is lost")
	}
	if err := in.dir.RevokeSessions(context.Background(), portier.CLIActor("test"), "cookie@example.org"); err != nil {
		t.Fatal(err)
	}
	resp, _ = b.login("cookie@example.org", goodPassword, nil)
	if after := device(resp); strings.Split(after.Value, ".")[3] == strings.Split(first.Value, ".")[3] {
		t.Fatal("after revoke-sessions the old device was renewed; want a new one")
	}
}
