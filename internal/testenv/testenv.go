// Package testenv gives tests of the packages above the stores a real store of each kind:
// a fresh SQLite file, and a fresh schema on the PostgreSQL server of the machine (PostgresURL,
// also used by the postgres package's own tests, so no test helper lives in a production
// package); with it a clock tests move by hand, a cheap password hasher, and NoErr and Must,
// the one way test code fails on an error it does not expect (test code never discards an
// error with _). testserver, below it, runs a whole Portier server as `portier serve` builds it.
package testenv

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/password"
	"github.com/portier-id/portier/postgres"
	"github.com/portier-id/portier/sqlite"
)

// Backend names a store kind and opens fresh stores of it.
type Backend struct {
	Name string
	// Open returns a fresh, empty store, closed when the test ends.
	Open func(t testing.TB) portier.Store
	// OpenShared returns a store factory whose stores all share one fresh database, as
	// several processes would.
	OpenShared func(t testing.TB) func() portier.Store
}

// Backends returns SQLite and PostgreSQL. PostgreSQL's helper fails the test under CI=true
// when the server is unreachable, and skips loudly otherwise.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", Open: openSQLite, OpenShared: sharedSQLite},
		{Name: "postgres", Open: openPostgres, OpenShared: sharedPostgres},
	}
}

// ForEach runs fn as a subtest once per backend, with a fresh store.
func ForEach(t *testing.T, fn func(t *testing.T, store portier.Store)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t)) })
	}
}

func openSQLite(t testing.TB) portier.Store {
	return sharedSQLite(t)()
}

func sharedSQLite(t testing.TB) func() portier.Store {
	path := filepath.Join(t.TempDir(), "portier.db")
	return func() portier.Store {
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { closeStore(t, st) })
		return st
	}
}

func openPostgres(t testing.TB) portier.Store {
	return sharedPostgres(t)()
}

func sharedPostgres(t testing.TB) func() portier.Store {
	url := PostgresURL(t)
	return func() portier.Store {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { closeStore(t, st) })
		return st
	}
}

// Clock is a clock tests move by hand.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at a fixed date.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Hasher returns an argon2id hasher cheap enough for tests (64 KiB, one pass); the default
// parameters are measured in BENCHMARKS.md, never lowered outside tests.
func Hasher() password.Hasher {
	return password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}
}

// closeStore closes a test's store when the test ends; an error there (a connection still
// held, a write lost) fails the test rather than vanish.
func closeStore(t testing.TB, st portier.Store) {
	t.Helper()
	if err := st.Close(); err != nil {
		t.Errorf("closing the store: %v", err)
	}
}
