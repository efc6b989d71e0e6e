package signin_test

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/signin"
)

// Issue 12 item 4: a familiar browser's attempt is charged in the round trip that reads it
// (ChargeAttempt), from the state its lane remembers: one after the other, no sign-in needs a
// second swap or a transaction that locks the counter. In parallel, every one is charged with
// its read too (one that overtakes another's settlement swaps again), all get in, and the
// counter is cleared afterwards.
func TestFamiliarBrowserIsChargedWithTheRead(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		faults := testenv.NewFaults(store)
		e := newEnv(t, faults)
		u := e.createUser(t, "lane@example.org")
		device := e.eng.RenewDevice(signin.Device{}, u)
		var charges, swaps, locks atomic.Int32
		faults.FailWhen(func(method, key string) error {
			if key == u.ID {
				switch method {
				case "ChargeAttempt":
					charges.Add(1)
				case "SwapLockout":
					swaps.Add(1) // a ChargeAttempt's swap too
				case "LockoutForUpdate":
					locks.Add(1)
				}
			}
			return nil
		})
		signIn := func() {
			out, err := e.eng.SignIn(context.Background(), signin.Attempt{Username: u.UPN, Password: goodPassword, Source: source, Device: device})
			if err != nil || out.Code != portier.CodeSuccess || !out.Familiar {
				t.Errorf("SignIn = %d (familiar %v), %v; want a sign-in at a familiar browser", out.Code, out.Familiar, err)
			}
		}
		for range 3 {
			signIn()
		}
		if charges.Load() != 3 || swaps.Load() != 3 || locks.Load() != 0 {
			t.Fatalf("3 sign-ins: %d charges with the read, %d more swaps, %d locking reads; want 3, 0 and 0",
				charges.Load(), swaps.Load()-charges.Load(), locks.Load())
		}
		const n = 8 // fewer than the threshold: none has to wait for the others to settle
		charges.Store(0)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				signIn()
			}()
		}
		wg.Wait()
		faults.FailWhen(nil)
		if charges.Load() != n {
			t.Fatalf("%d parallel sign-ins made %d charges with the read, want %d", n, charges.Load(), n)
		}
		if st := testenv.Must(store.Lockout(context.Background(), u.ID, device.ID))(t); !st.IsZero() {
			t.Fatalf("the browser's counter after the sign-ins: %+v, want it cleared", st)
		}
		if l := e.eng.Lanes(); l != 0 {
			t.Fatalf("%d lanes left after the attempts ended, want none", l)
		}
	})
}

// A browser charged with its read that turns out not to be familiar (its cookie is another
// user's), or whose source is throttled, has the charge taken back: its own counter counts
// nothing it did not check.
func TestChargeWithTheReadIsTakenBack(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		st := portier.DefaultSettings()
		st.SourceThreshold = 3
		putSettings(t, store, st)
		e := newEnv(t, store)
		owner := e.createUser(t, "cookie-owner@example.org")
		other := e.createUser(t, "other-user@example.org")
		device := e.eng.RenewDevice(signin.Device{}, owner)
		failures := func() int { return testenv.Must(store.Lockout(context.Background(), owner.ID, device.ID))(t).Failures }
		if out := e.tryFrom(t, other.UPN, wrong(1), source, device); out.Code != portier.CodeInvalidCredentials || out.Familiar {
			t.Fatalf("another user's name at the browser: code %d familiar %v, want a wrong password, not familiar", out.Code, out.Familiar)
		}
		if n := failures(); n != 0 {
			t.Fatalf("the browser's own counter holds %d failures after an attempt at another account, want 0", n)
		}
		if st := testenv.Must(store.Lockout(context.Background(), other.ID, ""))(t); st.Failures != 1 {
			t.Fatalf("the other account's counter holds %d failures, want 1", st.Failures)
		}
		sprayer := netip.MustParseAddr("198.51.100.99")
		for i := range 3 {
			e.tryFrom(t, "nobody"+string(rune('a'+i))+"@example.org", wrong(i), sprayer, signin.Device{})
		}
		before := e.verifications()
		if out := e.tryFrom(t, owner.UPN, wrong(9), sprayer, device); out.Code != portier.CodeLocked || !out.Throttled {
			t.Fatalf("the browser at a throttled source: code %d throttled %v, want 50053 throttled", out.Code, out.Throttled)
		}
		if e.verifications() != before {
			t.Fatal("a throttled source got a hash")
		}
		if n := failures(); n != 0 {
			t.Fatalf("the browser's counter holds %d failures after a throttled attempt, want 0", n)
		}
	})
}

// Two processes on one store each have their own lane for a browser, so each charges from a
// state the other may have changed. The swap finds that out: wrong passwords from the browser
// through both still check at most the threshold's worth, and right ones through both all get in.
func TestBrowserThroughTwoProcesses(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		one, two := newEnv(t, store), newEnv(t, store)
		u := one.createUser(t, "two-processes@example.org")
		device := one.eng.RenewDevice(signin.Device{}, u)
		parallel := func(n int, pw func(i int) string) map[int]int {
			return parallelCodes(n, func(i int) (*env, signin.Attempt) {
				return []*env{one, two}[i%2], signin.Attempt{Username: u.UPN, Password: pw(i), Source: source, Device: device}
			})
		}
		if codes := parallel(16, func(int) string { return goodPassword }); codes[portier.CodeSuccess] != 16 {
			t.Fatalf("right passwords through two processes: codes %v, want 16 sign-ins", codes)
		}
		codes := parallel(40, wrong)
		if v := one.verifications() + two.verifications(); v > 16+10 {
			t.Fatalf("%d verifications for 16 right and 40 wrong passwords, want at most 26", v)
		}
		if codes[portier.CodeInvalidCredentials]+codes[portier.CodeLocked] != 40 || codes[portier.CodeLocked] == 0 {
			t.Fatalf("wrong passwords through two processes: codes %v, want wrong or locked, some locked", codes)
		}
		if st := testenv.Must(store.Lockout(context.Background(), u.ID, device.ID))(t); !st.Locked(one.clock.Now()) {
			t.Fatalf("the browser's counter after 40 wrong passwords: %+v, want it locked", st)
		}
	})
}
