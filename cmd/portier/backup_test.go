package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/sqlite"
)

// TestBackupWhileServing copies a SQLite store three times while a real `portier serve`
// process takes wrong passwords (each writes the sign-in log and a lockout counter) and the
// command line creates users (each user and its audit entry in one transaction). Each copy
// passes PRAGMA integrity_check, opens as it is with --db sqlite:COPY, and is consistent: it
// holds exactly as many users as audit entries of their creation, and at least the users made
// before the backup began.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "portier.db")
	must(t, db, "", "users", "create", "first@example.org", "--display-name", "First", "--generate-password")
	p := startServe(t, db)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var created, attempts atomic.Int64
	var writeErr atomic.Value
	wg.Add(2)
	go func() { // the command line, writing beside the server
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			if _, errOut, err := cli(t, db, "", "users", "create", fmt.Sprintf("u%d@example.org", i), "--display-name", "U", "--generate-password"); err != nil {
				writeErr.Store(fmt.Errorf("users create: %v: %s", err, errOut))
				return
			}
			created.Add(1)
		}
	}()
	go func() { // the server, writing its sign-in log and counters
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			if err := wrongPassword(p.url, "first@example.org", fmt.Sprintf("guess %d", i)); err != nil {
				writeErr.Store(err)
				return
			}
			attempts.Add(1)
		}
	}()
	var copies []string
	var before []int64
	for i := range 3 {
		// Each copy waits for new writes of both kinds since the one before.
		c0, a0 := created.Load(), attempts.Load()
		testserver.WaitFor(t, "writes before the backup", func() bool {
			return created.Load() >= c0+3 && attempts.Load() >= a0+3 || writeErr.Load() != nil
		})
		copyPath := filepath.Join(dir, fmt.Sprintf("copy-%d.db", i))
		before = append(before, created.Load())
		out := must(t, db, "", "backup", copyPath)
		if !strings.Contains(out, "integrity checked") {
			t.Fatalf("backup said %q", out)
		}
		copies = append(copies, copyPath)
	}
	stop()
	wg.Wait()
	if err := writeErr.Load(); err != nil {
		t.Fatalf("a writer failed during the backups: %v", err)
	}

	lastSignIns := 0
	for i, c := range copies {
		if err := sqlite.CheckFile(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if info, err := os.Stat(c); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("copy %s: %v, mode %v; want 0600", c, err, info.Mode())
		}
		var users struct {
			Value []struct {
				UPN string `json:"userPrincipalName"`
			} `json:"value"`
		}
		if err := json.Unmarshal([]byte(must(t, "sqlite:"+c, "", "users", "list", "--json")), &users); err != nil {
			t.Fatal(err)
		}
		var audit struct {
			Value []struct {
				Action string `json:"activity"`
				Result string `json:"result"`
			} `json:"value"`
		}
		if err := json.Unmarshal([]byte(must(t, "sqlite:"+c, "", "audit", "--json", "--limit", "100000")), &audit); err != nil {
			t.Fatal(err)
		}
		creations := 0
		for _, e := range audit.Value {
			if e.Action == "user.create" && e.Result == "success" {
				creations++
			}
		}
		if len(users.Value) != creations {
			t.Errorf("copy %d holds %d users and %d creations in the audit log: not one commit's state", i, len(users.Value), creations)
		}
		if int64(len(users.Value)) < before[i]+1 {
			t.Errorf("copy %d holds %d users, want at least the %d made before it began", i, len(users.Value), before[i]+1)
		}
		signIns := countRows(t, c, "SELECT count(*) FROM signins")
		lastSignIns = signIns
		t.Logf("copy %d: %d users, %d sign-ins", i, len(users.Value), signIns)
	}
	// The server writes its sign-in log in batches: the last copy has some of it.
	if lastSignIns == 0 {
		t.Errorf("the last copy holds no sign-in log entry of the server's")
	}

	refused(t, db, "", "exists; choose another file, or give --force", "backup", copies[0])
	must(t, db, "", "backup", "--force", copies[0])
	refused(t, "postgres://portier@db.example.org/portier", "", "pg_dump --format=custom --file=x.dump", "backup", "x.dump")
	refused(t, "sqlite:"+filepath.Join(dir, "none.db"), "", "no SQLite store", "backup", filepath.Join(dir, "x.db"))
}

// wrongPassword signs in with a wrong password, as a browser does, without failing the test
// from a goroutine.
func wrongPassword(base, upn, pw string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/login")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		return fmt.Errorf("no CSRF token on /login (status %d)", resp.StatusCode)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"username": {upn}, "password": {pw}, "csrf_token": {string(m[1])}})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wrong password: status %d", resp.StatusCode)
	}
	return nil
}

func countRows(t *testing.T, path, query string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
