package signin_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/signin"
)

// counterHeld reports whether the store holds anything for the counter.
func counterHeld(t *testing.T, store portier.Store, c lockout.Counter) bool {
	t.Helper()
	st := testenv.Must(store.Lockout(context.Background(), c.Key, c.Bucket))(t)
	return !st.IsZero() || st.Locked(time.Time{}) || !st.LastFailure.IsZero()
}

// Issue 12 item 3: what a spray leaves in the store goes as soon as it can no longer lock or
// throttle, by the lockout policy (default settings: sources after their 1 h window, names
// and accounts after the 12 h decay), and never while it holds a lock or can still lock or
// throttle; a right sign-in leaves no counter behind.
func TestPruneFollowsThePolicy(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		e := newEnv(t, store)
		e.createUser(t, "owner@example.org")
		victim := e.createUser(t, "victim@example.org")
		// A spray: one wrong password at each of 5 unknown names, each from its own source.
		var names, sources []lockout.Counter
		for i := range 5 {
			src := netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
			name := fmt.Sprintf("nobody%d@example.org", i)
			if out := e.tryFrom(t, name, wrong(i), src, signin.Device{}); out.Code != portier.CodeInvalidCredentials {
				t.Fatalf("spray %d: code %d", i, out.Code)
			}
			names, sources = append(names, lockout.UnknownName(name)), append(sources, lockout.Source(src))
		}
		// The victim's account locked from another source (10 wrong passwords).
		for i := range 10 {
			e.tryFrom(t, "victim@example.org", wrong(100+i), netip.MustParseAddr("203.0.113.9"), signin.Device{})
		}
		account := lockout.Account(victim.ID)
		if st := testenv.Must(store.Lockout(ctx, account.Key, ""))(t); !st.Locked(e.clock.Now()) {
			t.Fatal("the victim's account is not locked")
		}
		// A right sign-in clears its counter: nothing is left to prune.
		if out := e.try(t, "owner@example.org", goodPassword); out.Code != portier.CodeSuccess {
			t.Fatalf("owner: code %d", out.Code)
		}
		owner := testenv.Must(store.UserByUPN(ctx, "owner@example.org"))(t)
		if counterHeld(t, store, lockout.Account(owner.ID)) {
			t.Fatal("a right sign-in left its counter behind")
		}
		held := func(what string, cs []lockout.Counter, want bool) {
			t.Helper()
			for _, c := range cs {
				if got := counterHeld(t, store, c); got != want {
					t.Fatalf("%s: counter %q held = %v, want %v", what, c.Key, got, want)
				}
			}
		}
		prune := func(d time.Duration) {
			t.Helper()
			e.clock.Advance(d)
			testenv.NoErr(t, e.app.Prune(ctx))
		}
		start := e.clock.Now()
		prune(59 * time.Minute)
		held("within the source window", sources, true)
		held("within the decay", names, true)
		held("the locked account, its lock passed but the doubling still counting", []lockout.Counter{account}, true)
		prune(time.Minute)
		held("the source window passed", sources, false)
		held("unknown names within the decay", names, true)
		prune(start.Add(12*time.Hour - time.Second).Sub(e.clock.Now()))
		held("a second before the decay", append(names, account), true)
		prune(time.Second)
		held("the decay passed", append(names, account), false)
	})
}

// Issue 12 item 3: at the cap on unknown names' counters, those least advanced towards a lock
// go first; a locked one never, nor any real account's; so the cap unlocks nothing.
func TestUnknownNameCap(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		e := newEnvWithConfig(t, store, testenv.NewClock(), app.Config{MaxUnknownCounters: 3})
		u := e.createUser(t, "real@example.org")
		src := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)}) }
		// One unknown name locked, one real account with a failure.
		for i := range 10 {
			e.tryFrom(t, "locked-ghost@example.org", wrong(i), src(200), signin.Device{})
		}
		e.tryFrom(t, "real@example.org", wrong(0), src(201), signin.Device{})
		// Then a spray at 5 new unknown names: 6 unknown names' counters, 3 over the cap.
		for i := range 5 {
			e.clock.Advance(time.Second)
			e.tryFrom(t, fmt.Sprintf("ghost%d@example.org", i), wrong(i), src(i), signin.Device{})
		}
		testenv.NoErr(t, e.app.Prune(ctx))
		ghost := lockout.UnknownName("locked-ghost@example.org")
		if st := testenv.Must(store.Lockout(ctx, ghost.Key, ""))(t); !st.Locked(e.clock.Now()) {
			t.Fatal("the cap evicted a locked counter")
		}
		if st := testenv.Must(store.Lockout(ctx, u.ID, ""))(t); st.Failures != 1 {
			t.Fatalf("the cap touched a real account's counter: %+v", st)
		}
		kept := 0
		for i := range 5 {
			if counterHeld(t, store, lockout.UnknownName(fmt.Sprintf("ghost%d@example.org", i))) {
				kept++
			}
		}
		if kept != 2 {
			t.Fatalf("%d of the sprayed names' counters kept, want 2 (cap 3 with the locked one)", kept)
		}
		// The oldest went first.
		if counterHeld(t, store, lockout.UnknownName("ghost0@example.org")) || !counterHeld(t, store, lockout.UnknownName("ghost4@example.org")) {
			t.Fatal("the cap did not evict the oldest first")
		}
		if out := e.tryFrom(t, "locked-ghost@example.org", wrong(99), src(202), signin.Device{}); out.Code != portier.CodeLocked {
			t.Fatalf("the locked unknown name after the cap: code %d, want 50053", out.Code)
		}
	})
}
