package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/postgres"
	"github.com/portier-id/portier/storetest"
)

// open opens a store on url and closes it when the test ends.
func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.RunTests(t, func(t *testing.T) portier.Store { return open(t, testenv.PostgresURL(t)) })
}

func TestSharedStore(t *testing.T) {
	storetest.RunSharedTests(t, func(t *testing.T) func() portier.Store {
		url := testenv.PostgresURL(t)
		return func() portier.Store { return open(t, url) }
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) portier.Store { return open(b, testenv.PostgresURL(b)) })
}

// closedAddr returns host:port of a local port nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	_, err := postgres.Open(t.Context(), "postgres://postgres@"+addr+"/test?sslmode=disable")
	if got := portier.ErrorCode(err); got != portier.EUnavailable {
		t.Fatalf("Open on a closed port: code %q (%v), want %q", got, err, portier.EUnavailable)
	}
	msg := portier.ErrorMessage(err)
	if !strings.Contains(msg, addr) || !strings.Contains(msg, "connection refused") || strings.Contains(msg, "\n") {
		t.Fatalf("message %q: want one line naming %s and saying why", msg, addr)
	}
}

// TestUnavailableAfterOpen: a store whose database goes away answers EUnavailable, and a
// transaction cut off by it leaves nothing behind.
func TestUnavailableAfterOpen(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	// The application name picks out this store's connections among those of parallel tests.
	app := "cut-" + portier.NewID()
	s := open(t, url+"&application_name="+app)
	ctx := t.Context()
	u := &portier.User{ID: portier.NewID(), UPN: "cut@example.org", DisplayName: "Cut", Created: time.Now()}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(context.Background())
	err = s.Tx(ctx, func(tx portier.Tx) error {
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		// Kill the connection of this transaction half-way through, as a database restart would.
		var killed int
		if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND state = 'idle in transaction'`, app).Scan(&killed); err != nil || killed != 1 {
			return fmt.Errorf("terminate the transaction's connection: %d killed, %v", killed, err)
		}
		return tx.AppendAudit(ctx, &portier.AuditEvent{Time: time.Now(), Actor: "cli:test", Action: portier.ActionCreate, Outcome: portier.OutcomeSuccess})
	})
	if got := portier.ErrorCode(err); got != portier.EUnavailable {
		t.Fatalf("Tx on a killed connection: code %q (%v), want %q", got, err, portier.EUnavailable)
	}
	if _, err := s.UserByID(ctx, u.ID); portier.ErrorCode(err) != portier.ENotFound {
		t.Fatalf("UserByID after the cut: %v, want ENotFound (nothing half-written)", err)
	}
}

// TestChargesAcrossProcesses: two stores on one schema, as two Portier processes sharing a
// database, charge one counter 200 times at once; exactly the threshold gets through.
func TestChargesAcrossProcesses(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	stores := []*postgres.Store{open(t, url), open(t, url)}
	ctx := t.Context()
	p := lockout.DefaultPolicy()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	u := &portier.User{ID: portier.NewID(), UPN: "target@example.org", DisplayName: "Target", AccountEnabled: true, Created: now}
	if err := stores[0].Tx(ctx, func(tx portier.Tx) error { return tx.InsertUser(ctx, u) }); err != nil {
		t.Fatalf("InsertUser: %v", err)
	}
	for _, c := range []struct{ name, key, bucket string }{
		{"user counter", u.ID, ""},
		{"new counter", "unknown:nobody@example.org", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var allowed atomic.Int32
			var wg sync.WaitGroup
			errs := make([]error, 200)
			for i := range errs {
				wg.Go(func() {
					errs[i] = stores[i%2].Tx(ctx, func(tx portier.Tx) error {
						st, err := tx.LockoutForUpdate(ctx, c.key, c.bucket)
						if err != nil {
							return err
						}
						if v, _ := p.Charge(&st, now); v != lockout.Allowed {
							return nil
						}
						allowed.Add(1)
						return tx.PutLockout(ctx, c.key, c.bucket, st)
					})
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("charges failed: %v", err)
			}
			if got := allowed.Load(); got != int32(p.Threshold) {
				t.Fatalf("%d charges allowed across two stores, want exactly %d", got, p.Threshold)
			}
			for i, s := range stores {
				st, err := s.Lockout(ctx, c.key, c.bucket)
				if err != nil || st.Failures != p.Threshold {
					t.Fatalf("store %d reads %d failures, %v; want %d", i, st.Failures, err, p.Threshold)
				}
			}
		})
	}
}

// TestMigrations: opening an up-to-date schema again changes nothing, and several processes
// opening a new schema at once all succeed with the migrations applied once.
func TestMigrations(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := postgres.Open(ctx, url)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("racing Opens: %v", err)
	}
	s := open(t, url)
	u := &portier.User{ID: portier.NewID(), UPN: "kept@example.org", DisplayName: "Kept", Created: time.Now()}
	if err := s.Tx(ctx, func(tx portier.Tx) error { return tx.InsertUser(ctx, u) }); err != nil {
		t.Fatalf("InsertUser: %v", err)
	}
	again := open(t, url)
	if _, err := again.UserByID(ctx, u.ID); err != nil {
		t.Fatalf("user after opening again: %v", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var applied, distinct int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if applied == 0 || applied != distinct {
		t.Fatalf("schema_migrations holds %d rows of %d versions, want each version once", applied, distinct)
	}
}

// TestMissingSchema: a search_path naming no existing schema is refused with a clear error,
// not tables created somewhere unexpected.
func TestMissingSchema(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	bad := strings.Replace(url, "search_path=t_", "search_path=missing_", 1)
	_, err := postgres.Open(t.Context(), bad)
	if got := portier.ErrorCode(err); got != portier.EInvalid || !strings.Contains(portier.ErrorMessage(err), "search_path") {
		t.Fatalf("Open with a missing schema: %v, want EInvalid naming the search_path", err)
	}
}
