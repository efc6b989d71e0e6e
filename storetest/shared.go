package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

// RunSharedTests runs the cases that need two handles on one database, as two Portier
// processes (a server and the CLI, or two servers) have. newShared returns, for a fresh empty
// database, a function that opens one more handle on it and arranges for its Close.
func RunSharedTests(t *testing.T, newShared func(t *testing.T) func() portier.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, open func() portier.Store)
	}{
		{"PublishReachesOtherProcesses", testPublishAcrossHandles},
		{"CounterSeenByOtherProcesses", testCounterAcrossHandles},
		{"LockKeepsOneGlobalAdmin", testLockKeepsOneGlobalAdmin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newShared(t)) })
	}
}

// testCounters: a counter starts at 0, Increment returns the new value, and a rolled-back
// increment never happened.
func testCounters(t *testing.T, s portier.Store) {
	ctx := t.Context()
	if n, err := s.Counter(ctx, "test"); err != nil || n != 0 {
		t.Fatalf("Counter of a new name = %d, %v; want 0", n, err)
	}
	for want := int64(1); want <= 3; want++ {
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			n, err := tx.Increment(ctx, "test")
			if err == nil && n != want {
				err = fmt.Errorf("the counter is %d after an increment, want %d", n, want)
			}
			return err
		})
	}
	rollback := errors.New("roll back")
	if err := s.Tx(ctx, func(tx portier.Tx) error {
		if _, err := tx.Increment(ctx, "test"); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatalf("Tx: %v", err)
	}
	if n, err := s.Counter(ctx, "test"); err != nil || n != 3 {
		t.Fatalf("Counter after a rolled-back increment = %d, %v; want 3", n, err)
	}
	if n, err := s.Counter(ctx, "other"); err != nil || n != 0 {
		t.Fatalf("another counter = %d, %v; want 0", n, err)
	}
}

// testConcurrentIncrements: parallel increments of one counter lose none.
func testConcurrentIncrements(t *testing.T, s portier.Store) {
	ctx := t.Context()
	const n = 50
	runParallel(t, n, func(i int) error {
		return s.Tx(ctx, func(tx portier.Tx) error {
			_, err := tx.Increment(ctx, "parallel")
			return err
		})
	})
	if got, err := s.Counter(ctx, "parallel"); err != nil || got != n {
		t.Fatalf("Counter after %d parallel increments = %d, %v", n, got, err)
	}
}

// testPublishAcrossHandles: a message one process publishes reaches a subscriber of another
// (a rolled-back one never does), and a process's own message reaches its subscriber once.
func testPublishAcrossHandles(t *testing.T, open func() portier.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	server, cli := open(), open()
	got := make(chan string, 10)
	if err := server.Subscribe(ctx, "test-x", func(p string) { got <- p }); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	publishRolledBack(t, cli, "test-x")
	for _, from := range []portier.Store{cli, server} {
		inTx(t, from, func(ctx context.Context, tx portier.Tx) error { return tx.Publish(ctx, "test-x", "user-1") })
		wantMessage(t, got, "user-1")
	}
	select {
	case p := <-got:
		t.Fatalf("received %q after the two committed ones: a message came twice", p)
	case <-time.After(300 * time.Millisecond):
	}
}

// testCounterAcrossHandles: an increment one process commits is what every other reads next.
func testCounterAcrossHandles(t *testing.T, open func() portier.Store) {
	ctx := t.Context()
	server, cli := open(), open()
	for want := int64(1); want <= 3; want++ {
		inTx(t, cli, func(ctx context.Context, tx portier.Tx) error {
			_, err := tx.Increment(ctx, portier.CounterLockoutCleared)
			return err
		})
		if n, err := server.Counter(ctx, portier.CounterLockoutCleared); err != nil || n != want {
			t.Fatalf("the other process reads %d, %v; want %d", n, err, want)
		}
	}
}

// testLockKeepsOneGlobalAdmin: two processes each disable one of two global admins if the
// other is still enabled, at the same moment, round after round. Each locks its own admin's
// row and then reads the other's under portier.LockGlobalAdmins; at least one admin stays
// enabled every round. Without the lock, PostgreSQL lets each read the other as enabled.
func testLockKeepsOneGlobalAdmin(t *testing.T, open func() portier.Store) {
	ctx := t.Context()
	stores := []portier.Store{open(), open()}
	a, b := newTestUser(1), newTestUser(2)
	for _, u := range []*portier.User{a, b} {
		u.Roles = []portier.Role{portier.RoleGlobalAdmin}
	}
	insertUsers(t, stores[0], a, b)
	pair := [2]*portier.User{a, b}
	const rounds = 30
	for round := range rounds {
		inTx(t, stores[0], func(ctx context.Context, tx portier.Tx) error {
			for _, u := range pair {
				fresh, err := tx.UserForUpdate(ctx, u.ID)
				if err != nil {
					return err
				}
				fresh.AccountEnabled = true
				if err := tx.UpdateUser(ctx, fresh); err != nil {
					return err
				}
			}
			return nil
		})
		// Each side waits, holding its own row, until the other holds its own too, so that
		// both read at once. A store whose writers are serial never lets the second in: then
		// the wait ends after a moment and the sides simply take turns.
		arrived := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				me, other := pair[i], pair[1-i]
				errs[i] = stores[i].Tx(ctx, func(tx portier.Tx) error {
					self, err := tx.UserForUpdate(ctx, me.ID)
					if err != nil {
						return err
					}
					close(arrived[i])
					select {
					case <-arrived[1-i]:
					case <-time.After(20 * time.Millisecond):
					}
					if err := tx.Lock(ctx, portier.LockGlobalAdmins); err != nil {
						return err
					}
					them, err := tx.UserByID(ctx, other.ID)
					if err != nil {
						return err
					}
					if !them.AccountEnabled {
						return nil // the last one: keep it
					}
					self.AccountEnabled = false
					return tx.UpdateUser(ctx, self)
				})
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		enabled := 0
		for _, u := range pair {
			got, err := stores[0].UserByID(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccountEnabled {
				enabled++
			}
		}
		if enabled != 1 {
			t.Fatalf("round %d: %d of the two global admins enabled, want exactly 1", round, enabled)
		}
	}
}
