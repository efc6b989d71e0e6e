package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// runParallel runs fn(i) for i in [0, n) at once and fails the test with the first error.
func runParallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent transactions failed: %v", err)
	}
}

// counterIn reads the number after the last '+' of s.
func counterIn(s string) (int, error) {
	_, n, _ := strings.Cut(s, "+")
	return strconv.Atoi(strings.TrimSuffix(n, "@example.org"))
}

// testConcurrentUserUpdates checks that read-modify-write transactions on one user lose no
// update: UpdateUser writes every field, so only the row lock of UserForUpdate keeps one
// transaction's change from overwriting another's.
func testConcurrentUserUpdates(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	u.DisplayName = "Counter +0"
	u.Mail = "counter+0@example.org"
	insertUsers(t, s, u)
	const n = 50
	runParallel(t, n, func(i int) error {
		return s.Tx(ctx, func(tx portier.Tx) error {
			got, err := tx.UserForUpdate(ctx, u.ID)
			if err != nil {
				return err
			}
			// Even goroutines bump the display name's counter, odd ones the mail's: two fields
			// changed by different transactions, and each field by many.
			if i%2 == 0 {
				c, err := counterIn(got.DisplayName)
				if err != nil {
					return err
				}
				got.DisplayName = fmt.Sprintf("Counter +%d", c+1)
			} else {
				c, err := counterIn(got.Mail)
				if err != nil {
					return err
				}
				got.Mail = fmt.Sprintf("counter+%d@example.org", c+1)
			}
			return tx.UpdateUser(ctx, got)
		})
	})
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if got.DisplayName != fmt.Sprintf("Counter +%d", n/2) || got.Mail != fmt.Sprintf("counter+%d@example.org", n/2) {
		t.Fatalf("after %d updates: display name %q, mail %q; want both counters at %d (an update was lost)", n, got.DisplayName, got.Mail, n/2)
	}
}

// counterKeys are the counters the concurrency tests charge: a user's account-wide counter,
// which exists as the user does, and a counter no row exists for yet (an unknown user name),
// which LockoutForUpdate must create and lock without two transactions both seeing it absent.
func counterKeys(t *testing.T, s portier.Store) []struct{ name, key, bucket string } {
	u := newTestUser(1)
	insertUsers(t, s, u)
	return []struct{ name, key, bucket string }{
		{"user account-wide", u.ID, ""},
		{"new counter", "unknown:nobody@example.org", "device-x"},
	}
}

// testConcurrentCharges: 200 attempts charged at once, none settled, stop at the threshold.
func testConcurrentCharges(t *testing.T, s portier.Store) {
	ctx := t.Context()
	p := lockout.DefaultPolicy()
	for _, c := range counterKeys(t, s) {
		t.Run(c.name, func(t *testing.T) {
			var allowed atomic.Int32
			runParallel(t, 200, func(int) error {
				return s.Tx(ctx, func(tx portier.Tx) error {
					st, err := tx.LockoutForUpdate(ctx, c.key, c.bucket)
					if err != nil {
						return err
					}
					// Refused attempts (Locked, or Saturated while others are in flight) are
					// not retried here: only how many passwords get checked matters.
					if v, _ := p.Charge(&st, base); v != lockout.Allowed {
						return nil
					}
					allowed.Add(1)
					return tx.PutLockout(ctx, c.key, c.bucket, st)
				})
			})
			if got := allowed.Load(); got != int32(p.Threshold) {
				t.Fatalf("%d attempts allowed, want exactly the threshold %d", got, p.Threshold)
			}
			st, err := s.Lockout(ctx, c.key, c.bucket)
			if err != nil {
				t.Fatalf("Lockout: %v", err)
			}
			if st.Failures != p.Threshold {
				t.Fatalf("counter holds %d failures, want %d", st.Failures, p.Threshold)
			}
		})
	}
}

// testConcurrentChargeAndFail: 200 attempts at once, each allowed one settled as a distinct
// wrong password in a second transaction, as sign-in does around the password check.
func testConcurrentChargeAndFail(t *testing.T, s portier.Store) {
	ctx := t.Context()
	p := lockout.DefaultPolicy()
	for _, c := range counterKeys(t, s) {
		t.Run(c.name, func(t *testing.T) {
			var allowed atomic.Int32
			runParallel(t, 200, func(i int) error {
				var ok bool
				err := s.Tx(ctx, func(tx portier.Tx) error {
					st, err := tx.LockoutForUpdate(ctx, c.key, c.bucket)
					if err != nil {
						return err
					}
					v, _ := p.Charge(&st, base)
					if ok = v == lockout.Allowed; !ok {
						return nil
					}
					return tx.PutLockout(ctx, c.key, c.bucket, st)
				})
				if err != nil || !ok {
					return err
				}
				allowed.Add(1)
				return s.Tx(ctx, func(tx portier.Tx) error {
					st, err := tx.LockoutForUpdate(ctx, c.key, c.bucket)
					if err != nil {
						return err
					}
					p.Fail(&st, base, fingerprint(byte(i)))
					return tx.PutLockout(ctx, c.key, c.bucket, st)
				})
			})
			if got := allowed.Load(); got > int32(p.Threshold) {
				t.Fatalf("%d passwords checked, want at most the threshold %d", got, p.Threshold)
			}
			st, err := s.Lockout(ctx, c.key, c.bucket)
			if err != nil {
				t.Fatalf("Lockout: %v", err)
			}
			if !st.Locked(base) || st.Lockouts != 1 {
				t.Fatalf("counter after %d failures: %+v; want locked once", allowed.Load(), st)
			}
			if c.bucket == "" {
				u, err := s.UserByID(ctx, c.key)
				if err != nil {
					t.Fatalf("UserByID: %v", err)
				}
				if !u.LockoutState.Locked(base) {
					t.Fatalf("the user does not read as locked: %+v", u.LockoutState)
				}
				page, err := s.ListUsers(ctx, portier.UserFilter{Status: portier.StatusLocked, Now: base})
				if err != nil || len(page.Users) != 1 || page.Users[0].ID != c.key {
					t.Fatalf("ListUsers locked = %d users, %v; want the locked user", len(page.Users), err)
				}
			}
		})
	}
}

// testTxRollback: a transaction whose fn fails leaves nothing behind, and its error comes back.
func testTxRollback(t *testing.T, s portier.Store) {
	ctx := t.Context()
	failure := errors.New("the action failed after writing")
	u := newTestUser(1)
	err := s.Tx(ctx, func(tx portier.Tx) error {
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &portier.AuditEvent{Time: base, Actor: "cli:root", Action: portier.ActionCreate,
			TargetID: u.ID, Target: u.UPN, Source: "cli", Outcome: portier.OutcomeSuccess}); err != nil {
			return err
		}
		if err := tx.PutLockout(ctx, u.ID, "", lockout.State{Failures: 1, LastFailure: base}); err != nil {
			return err
		}
		if err := tx.PutSetting(ctx, "rolled-back", []byte("x")); err != nil {
			return err
		}
		// Inside the transaction its own writes are visible.
		if _, err := tx.UserByID(ctx, u.ID); err != nil {
			return fmt.Errorf("own insert not visible in the Tx: %w", err)
		}
		return failure
	})
	if !errors.Is(err, failure) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	if _, err := s.UserByID(ctx, u.ID); portier.ErrorCode(err) != portier.ENotFound {
		t.Fatalf("UserByID after rollback: %v, want ENotFound", err)
	}
	if events, err := s.ListAudit(ctx, portier.AuditFilter{}); err != nil || len(events) != 0 {
		t.Fatalf("audit after rollback: %d events, %v; want none", len(events), err)
	}
	if st, err := s.Lockout(ctx, u.ID, ""); err != nil || !st.IsZero() {
		t.Fatalf("lockout after rollback: %+v, %v; want none", st, err)
	}
	if v, err := s.Setting(ctx, "rolled-back"); err != nil || v != nil {
		t.Fatalf("setting after rollback: %q, %v; want nil", v, err)
	}
	// The store is usable after a rollback.
	insertUsers(t, s, u)
}
