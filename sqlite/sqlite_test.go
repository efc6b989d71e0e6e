package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/storetest"
)

// newStore opens a fresh database file in a temporary directory.
func newStore(tb testing.TB) portier.Store {
	return openAt(tb, filepath.Join(tb.TempDir(), "portier.db"))
}

// openAt opens the database file at path, closed when the test ends.
func openAt(tb testing.TB, path string) portier.Store {
	s, err := Open(tb.Context(), path)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) portier.Store { return newStore(t) })
}

func TestSharedStore(t *testing.T) {
	storetest.RunSharedTests(t, func(t *testing.T) func() portier.Store {
		path := filepath.Join(t.TempDir(), "portier.db")
		return func() portier.Store { return openAt(t, path) }
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) portier.Store { return newStore(b) })
}

func TestOpenUnwritablePath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A regular file where a directory should be: refused even to root, unlike a chmod.
	notADir := filepath.Join(dir, "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, reason string
	}{
		{"missing directory", filepath.Join(dir, "missing", "portier.db"), "no such file or directory"},
		{"under a file", filepath.Join(notADir, "portier.db"), "not a directory"},
		{"a directory", dir, "is a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.path)
			if err == nil {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				t.Fatalf("Open(%s) succeeded", tc.path)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.path) || !strings.Contains(msg, tc.reason) {
				t.Fatalf("Open error %q: want the file %s and the reason %q", msg, tc.path, tc.reason)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed Open left something behind: %v", err)
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "portier.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := &portier.User{ID: portier.NewID(), UPN: "kept@example.org", DisplayName: "Kept", AccountEnabled: true,
		Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), PasswordHash: "hash"}
	if err := s.Tx(ctx, func(tx portier.Tx) error { return tx.InsertUser(ctx, u) }); err != nil {
		t.Fatalf("InsertUser: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		got, err := s.UserByUPN(ctx, u.UPN)
		if err != nil || got.ID != u.ID || !got.Created.Equal(u.Created) {
			t.Fatalf("reopen %d: UserByUPN = %+v, %v; want the user written before", i, got, err)
		}
		var versions, applied int
		if err := s.read.QueryRowContext(ctx, `SELECT count(*), coalesce(max(version), 0) FROM schema_migrations`).Scan(&applied, &versions); err != nil {
			t.Fatalf("schema_migrations: %v", err)
		}
		all, err := migrations()
		if err != nil {
			t.Fatal(err)
		}
		if applied != len(all) || versions != len(all) {
			t.Fatalf("reopen %d: %d migrations recorded up to version %d; want each of %d once", i, applied, versions, len(all))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	s := newStore(t).(*Store)
	ctx := t.Context()
	for _, db := range []struct {
		name string
		q    querier
	}{{"write", s.write}, {"read", s.read}} {
		var mode string
		var fk, busy, sync int
		if err := db.q.QueryRowContext(ctx, `SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_busy_timeout, pragma_synchronous`).
			Scan(&mode, &fk, &busy, &sync); err != nil {
			t.Fatalf("%s pragmas: %v", db.name, err)
		}
		wantSync := map[string]int{"write": 2, "read": 1}[db.name] // FULL on the writer, NORMAL for readers
		if mode != "wal" || fk != 1 || busy != int(busyTimeout.Milliseconds()) || sync != wantSync {
			t.Fatalf("%s connection: journal_mode %s, foreign_keys %d, busy_timeout %d, synchronous %d; want wal, 1, %d, %d",
				db.name, mode, fk, busy, busyTimeout.Milliseconds(), sync, wantSync)
		}
	}
}

// TestRelaxedCommits: the writes PostgreSQL commits asynchronously (a counter's swap, the
// sign-in log) commit with synchronous NORMAL, and every other write finds the writer at FULL
// again, even after a relaxed write that left its connection inside a transaction.
func TestRelaxedCommits(t *testing.T) {
	t.Parallel()
	s := newStore(t).(*Store)
	ctx := t.Context()
	writerSync := func(when string) {
		t.Helper()
		var inTx int
		err := s.Tx(ctx, func(ptx portier.Tx) error {
			return ptx.(*tx).db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&inTx)
		})
		if err != nil || inTx != 2 {
			t.Fatalf("%s: a transaction's synchronous = %d, %v; want 2 (FULL)", when, inTx, err)
		}
	}
	writerSync("at open")

	var relaxedSync int
	if err := s.relaxed(ctx, func(w *sql.Conn) error {
		return w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&relaxedSync)
	}); err != nil || relaxedSync != 1 {
		t.Fatalf("relaxed: synchronous = %d, %v; want 1 (NORMAL)", relaxedSync, err)
	}
	writerSync("after relaxed")

	if _, ok, err := s.SwapLockout(ctx, "user:x", "all", lockout.State{}, lockout.State{Failures: 1}); err != nil || !ok {
		t.Fatalf("SwapLockout = %v, %v", ok, err)
	}
	writerSync("after a swap")
	if err := s.RecordSignIns(ctx, []*portier.SignIn{{Time: time.Now(), Username: "x@example.org", Code: portier.CodeInvalidCredentials}}); err != nil {
		t.Fatalf("RecordSignIns: %v", err)
	}
	writerSync("after the sign-in log")

	// SQLite refuses to change the setting inside a transaction: the connection left in one is
	// dropped, and the next write gets a new one, at FULL and outside any transaction.
	if err := s.relaxed(ctx, func(w *sql.Conn) error {
		_, err := w.ExecContext(ctx, `BEGIN`)
		return err
	}); err != nil {
		t.Fatalf("relaxed BEGIN: %v", err)
	}
	writerSync("after a relaxed write left in a transaction")
}

// TestLockedFile: while one store holds the write lock, another process's (here: another
// store's) write waits the busy timeout, then fails saying which file is locked.
func TestLockedFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "portier.db")
	holder, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer closeOrFail(t, holder)
	other, err := open(ctx, path, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("second Open of an up-to-date file: %v", err)
	}
	defer closeOrFail(t, other)

	locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- holder.Tx(ctx, func(tx portier.Tx) error {
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	err = other.Tx(ctx, func(tx portier.Tx) error { return tx.PutSetting(ctx, "k", []byte("v")) })
	// Reads go on while the lock is held.
	if _, rerr := other.Setting(ctx, "k"); rerr != nil {
		t.Errorf("read while another process writes: %v", rerr)
	}
	close(release)
	if herr := <-done; herr != nil {
		t.Fatalf("holder Tx: %v", herr)
	}
	if portier.ErrorCode(err) != portier.EUnavailable || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("write to a locked file: %v; want EUnavailable naming %s as locked", err, path)
	}
	// Once the lock is gone, the same write goes through.
	if err := other.Tx(ctx, func(tx portier.Tx) error { return tx.PutSetting(ctx, "k", []byte("v")) }); err != nil {
		t.Fatalf("write after the lock is released: %v", err)
	}
}

// TestTxPanicReleasesWriter: a panicking fn must not leave the one write connection inside a
// transaction, or every later write would hang.
func TestTxPanicReleasesWriter(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	var err error
	recovered := func() (r any) {
		defer func() { r = recover() }()
		err = s.Tx(ctx, func(tx portier.Tx) error {
			if err := tx.PutSetting(ctx, "panicked", []byte("x")); err != nil {
				return err
			}
			panic("boom")
		})
		return nil
	}()
	if recovered != "boom" {
		t.Fatalf("Tx returned %v instead of passing the panic on", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Tx(ctx, func(tx portier.Tx) error { return tx.PutSetting(ctx, "after", []byte("y")) }); err != nil {
		t.Fatalf("Tx after a panic: %v", err)
	}
	if v, err := s.Setting(ctx, "panicked"); err != nil || v != nil {
		t.Fatalf("the panicked Tx's write survived: %q, %v", v, err)
	}
}

// TestOpenNewerSchema: a file migrated by a newer portier is refused, not half-understood.
func TestOpenNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "portier.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err == nil {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		t.Fatalf("Open of a newer schema succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "newer") {
		t.Fatalf("Open error %q: want the file and that its schema is newer", msg)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a refused Open removed an existing database: %v", err)
	}
}

// closeOrFail closes s when the test's function returns, failing the test if it cannot.
func closeOrFail(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
