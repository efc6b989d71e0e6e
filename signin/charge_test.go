package signin_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
)

// Issue 12 item 4: a charge whose swap loses to another attempt's charge (as parallel sign-ins
// from one browser do all the time) charges the state that won, which the lost swap returned,
// and swaps again: no extra read and no transaction that locks the counter. Only a counter that
// keeps changing under it, swapTries times running, is charged in that transaction.
func TestLostSwapChargesTheStateThatWon(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		for _, c := range []struct {
			name         string
			lose         int32 // how many swaps in a row another charge lands just before
			swaps, locks int32
		}{
			{"one lost swap", 1, 2, 0},
			{"every swap lost", 1000, 3, 1},
		} {
			t.Run(c.name, func(t *testing.T) {
				faults := testenv.NewFaults(store)
				e := newEnv(t, faults)
				u := e.createUser(t, "swap-"+c.name[:3]+"@example.org")
				var swaps, locks atomic.Int32
				faults.FailWhen(func(method, key string) error {
					if key != u.ID {
						return nil
					}
					switch method {
					case "SwapLockout":
						if swaps.Add(1) <= c.lose {
							// Another attempt's charge, written to the store under this one.
							testenv.NoErr(t, store.Tx(context.Background(), func(tx portier.Tx) error {
								s, err := tx.LockoutForUpdate(context.Background(), u.ID, "")
								if err != nil {
									return err
								}
								s.Failures++
								s.LastFailure = e.clock.Now()
								return tx.PutLockout(context.Background(), u.ID, "", s)
							}))
						}
					case "LockoutForUpdate":
						locks.Add(1)
					}
					return nil
				})
				if out := e.try(t, u.UPN, goodPassword); out.Code != portier.CodeSuccess {
					t.Fatalf("code %d, want a sign-in", out.Code)
				}
				faults.FailWhen(nil)
				if swaps.Load() != c.swaps || locks.Load() != c.locks {
					t.Fatalf("%d swaps and %d locking reads of the counter, want %d and %d", swaps.Load(), locks.Load(), c.swaps, c.locks)
				}
				if st := testenv.Must(store.Lockout(context.Background(), u.ID, ""))(t); st.Failures != 0 {
					t.Fatalf("the counter holds %d failures after the sign-in, want it cleared", st.Failures)
				}
			})
		}
	})
}
