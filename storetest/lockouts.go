package storetest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// fingerprint returns a distinct fingerprint for b.
func fingerprint(b byte) lockout.Fingerprint {
	var fp lockout.Fingerprint
	for i := range fp {
		fp[i] = b ^ byte(i)
	}
	return fp
}

func testLockoutZero(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	for _, key := range []string{u.ID, "unknown-user:someone@example.org"} {
		for _, bucket := range []string{"", "device-1"} {
			got, err := s.Lockout(ctx, key, bucket)
			if err != nil {
				t.Fatalf("Lockout(%q, %q): %v", key, bucket, err)
			}
			checkState(t, "Lockout of a new counter", got, lockout.State{})
			inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
				got, err := tx.LockoutForUpdate(ctx, key, bucket)
				if err != nil {
					return fmt.Errorf("LockoutForUpdate(%q, %q): %w", key, bucket, err)
				}
				checkState(t, "LockoutForUpdate of a new counter", got, lockout.State{})
				return nil
			})
		}
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkState(t, "LockoutState of a user without a counter", got.LockoutState, lockout.State{})
}

func testLockoutRoundTrip(t *testing.T, s portier.Store) {
	ctx := t.Context()
	cases := []struct {
		name string
		st   lockout.State
	}{
		{"charged", lockout.State{Failures: 1, LastFailure: base}},
		{"locked with recent passwords", lockout.State{
			Failures: 0, LockedUntil: base.Add(2 * time.Minute), Lockouts: 2, LastFailure: base.Add(-time.Second),
			Recent: []lockout.Fingerprint{fingerprint(1), fingerprint(2), fingerprint(3)}, LockFailures: 10,
		}},
		{"one recent", lockout.State{Failures: 4, LastFailure: base, Recent: []lockout.Fingerprint{fingerprint(9)}}},
		{"zero", lockout.State{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "key:" + tc.name
			// Overwrite a different state, so a stale field would show.
			putLockout(t, s, key, "", lockout.State{Failures: 9, Lockouts: 5, LockedUntil: base.Add(time.Hour), LastFailure: base.Add(-time.Hour),
				Recent: []lockout.Fingerprint{fingerprint(7), fingerprint(8)}, LockFailures: 7})
			putLockout(t, s, key, "", tc.st)
			got, err := s.Lockout(ctx, key, "")
			if err != nil {
				t.Fatalf("Lockout: %v", err)
			}
			checkState(t, "Lockout", got, tc.st)
			inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
				got, err := tx.LockoutForUpdate(ctx, key, "")
				if err != nil {
					return err
				}
				checkState(t, "LockoutForUpdate", got, tc.st)
				got, err = tx.Lockout(ctx, key, "")
				if err != nil {
					return err
				}
				checkState(t, "Tx.Lockout", got, tc.st)
				return nil
			})
		})
	}
}

func testLockoutOnUserReads(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	st := lockout.State{Failures: 3, LastFailure: base, Lockouts: 1, LockedUntil: base.Add(time.Minute),
		Recent: []lockout.Fingerprint{fingerprint(1), fingerprint(2)}, LockFailures: 10}
	putLockout(t, s, u.ID, "", st)
	putLockout(t, s, u.ID, "device-1", lockout.State{Failures: 8, LastFailure: base})
	want := *u
	want.LockoutState = st

	reads := []struct {
		name string
		read func(ctx context.Context, q portier.Queries) (*portier.User, error)
	}{
		{"UserByID", func(ctx context.Context, q portier.Queries) (*portier.User, error) { return q.UserByID(ctx, u.ID) }},
		{"UserByUPN", func(ctx context.Context, q portier.Queries) (*portier.User, error) { return q.UserByUPN(ctx, u.UPN) }},
		{"ListUsers", func(ctx context.Context, q portier.Queries) (*portier.User, error) {
			page, err := q.ListUsers(ctx, portier.UserFilter{Now: base})
			if err != nil || len(page.Users) != 1 {
				return nil, fmt.Errorf("ListUsers = %d users, %w", len(page.Users), err)
			}
			return page.Users[0], nil
		}},
		{"ListUsers locked", func(ctx context.Context, q portier.Queries) (*portier.User, error) {
			page, err := q.ListUsers(ctx, portier.UserFilter{Now: base, Status: portier.StatusLocked})
			if err != nil || len(page.Users) != 1 {
				return nil, fmt.Errorf("ListUsers = %d users, %w", len(page.Users), err)
			}
			return page.Users[0], nil
		}},
	}
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) {
			got, err := r.read(ctx, s)
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			checkUser(t, got, &want)
			inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
				got, err := r.read(ctx, tx)
				if err != nil {
					return err
				}
				checkUser(t, got, &want)
				return nil
			})
		})
	}
	t.Run("UserForUpdate", func(t *testing.T) {
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			got, err := tx.UserForUpdate(ctx, u.ID)
			if err != nil {
				return err
			}
			checkUser(t, got, &want)
			// A counter written in the transaction is what the transaction reads.
			next := lockout.State{Failures: 4, LastFailure: base.Add(time.Second)}
			if err := tx.PutLockout(ctx, u.ID, "", next); err != nil {
				return err
			}
			got, err = tx.UserByID(ctx, u.ID)
			if err != nil {
				return err
			}
			checkState(t, "LockoutState after PutLockout in the Tx", got.LockoutState, next)
			return nil
		})
	})
}

func testLockoutBuckets(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	states := map[[2]string]lockout.State{
		{u.ID, ""}:         {Failures: 1, LastFailure: base},
		{u.ID, "device-a"}: {Failures: 2, LastFailure: base.Add(time.Second), Recent: []lockout.Fingerprint{fingerprint(2)}},
		{u.ID, "device-b"}: {LockedUntil: base.Add(time.Minute), Lockouts: 1, LastFailure: base},
		{"other", ""}:      {Failures: 5, LastFailure: base},
		{"other", "x"}:     {Failures: 6, LastFailure: base},
	}
	for k, st := range states {
		putLockout(t, s, k[0], k[1], st)
	}
	// Changing one counter leaves every other as it was.
	changed := lockout.State{Failures: 9, LastFailure: base.Add(time.Minute)}
	putLockout(t, s, u.ID, "device-a", changed)
	states[[2]string{u.ID, "device-a"}] = changed
	for k, want := range states {
		got, err := s.Lockout(ctx, k[0], k[1])
		if err != nil {
			t.Fatalf("Lockout(%q, %q): %v", k[0], k[1], err)
		}
		checkState(t, fmt.Sprintf("Lockout(%q, %q)", k[0], k[1]), got, want)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	checkState(t, "user's LockoutState", got.LockoutState, states[[2]string{u.ID, ""}])
}

func testDeleteLockouts(t *testing.T, s portier.Store) {
	ctx := t.Context()
	st := lockout.State{Failures: 3, LastFailure: base, LockedUntil: base.Add(time.Minute)}
	keys := []string{"alpha", "alphabet", "beta"}
	for _, key := range keys {
		for _, bucket := range []string{"", "d1", "d2"} {
			putLockout(t, s, key, bucket, st)
		}
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteLockouts(ctx, "alpha") })
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteLockouts(ctx, "never-written") })
	for _, key := range keys {
		want := st
		if key == "alpha" {
			want = lockout.State{}
		}
		for _, bucket := range []string{"", "d1", "d2"} {
			got, err := s.Lockout(ctx, key, bucket)
			if err != nil {
				t.Fatalf("Lockout: %v", err)
			}
			checkState(t, fmt.Sprintf("Lockout(%q, %q)", key, bucket), got, want)
		}
	}
}

// prune is the policy of the default settings: 12 h decay, a source window of 1 h.
func prune(now time.Time, maxUnknown int) portier.LockoutPrune {
	return portier.LockoutPrune{
		Now: now, QuietSince: now.Add(-12 * time.Hour),
		SourcePrefix: lockout.SourcePrefix, SourceQuietSince: now.Add(-time.Hour),
		UnknownPrefix: lockout.UnknownPrefix, MaxUnknown: maxUnknown,
	}
}

// testPruneLockouts: a counter goes as soon as it can no longer change an answer, by its
// kind's decay, and never while it holds a lock or can still lock or throttle.
func testPruneLockouts(t *testing.T, s portier.Store) {
	ctx := t.Context()
	now := base
	decayed := now.Add(-12 * time.Hour)
	fp := []lockout.Fingerprint{fingerprint(1)}
	cases := []struct {
		name, key string
		st        lockout.State
		kept      bool
	}{
		{"decayed failures", "user-1", lockout.State{Failures: 3, LastFailure: decayed.Add(-time.Minute)}, false},
		{"failures decayed this instant", "user-2", lockout.State{Failures: 9, LastFailure: decayed}, false},
		{"failures a minute from decaying", "user-3", lockout.State{Failures: 1, LastFailure: decayed.Add(time.Minute)}, true},
		{"lock expired, doubling decayed", "user-4", lockout.State{Lockouts: 2, LockedUntil: now.Add(-time.Minute), LastFailure: decayed.Add(-time.Hour)}, false},
		{"lock expired, doubling still counts", "user-5", lockout.State{Lockouts: 1, LockedUntil: now.Add(-time.Minute), LastFailure: now.Add(-2 * time.Minute)}, true},
		{"locked, failures long ago", "user-6", lockout.State{Lockouts: 6, LockedUntil: now.Add(time.Minute), LastFailure: decayed.Add(-time.Hour)}, true},
		{"locked", "user-7", lockout.State{LockedUntil: now.Add(time.Hour), Lockouts: 1, LastFailure: now.Add(-time.Second)}, true},
		{"refunded: holds nothing", "user-8", lockout.State{LastFailure: now.Add(-time.Second)}, false},
		{"remembers a wrong password", "user-9", lockout.State{Recent: fp, LastFailure: now.Add(-time.Second)}, true},
		{"unknown name, one failure", lockout.UnknownPrefix + "a@example.org", lockout.State{Failures: 1, LastFailure: now.Add(-11 * time.Hour)}, true},
		{"unknown name, decayed", lockout.UnknownPrefix + "b@example.org", lockout.State{Failures: 1, LastFailure: decayed.Add(-time.Second)}, false},
		{"source, window passed", lockout.SourcePrefix + "192.0.2.1", lockout.State{Failures: 99, LastFailure: now.Add(-time.Hour)}, false},
		{"source, within its window", lockout.SourcePrefix + "192.0.2.2", lockout.State{Failures: 1, LastFailure: now.Add(-59 * time.Minute)}, true},
		{"source, throttled", lockout.SourcePrefix + "192.0.2.3", lockout.State{Lockouts: 1, LockedUntil: now.Add(time.Minute), LastFailure: now.Add(-2 * time.Hour)}, true},
	}
	wantPruned := 0
	for _, tc := range cases {
		putLockout(t, s, tc.key, "", tc.st)
		putLockout(t, s, tc.key, "device", tc.st)
		// A store may delete a counter that holds nothing as it is written (PutLockout).
		if stored := testLockout(t, s, tc.key); !tc.kept && !stored.LastFailure.IsZero() {
			wantPruned += 2
		}
	}
	var pruned portier.LockoutsPruned
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		pruned, err = tx.PruneLockouts(ctx, prune(now, 0))
		return err
	})
	for _, tc := range cases {
		want := lockout.State{}
		if tc.kept {
			want = tc.st
		}
		for _, bucket := range []string{"", "device"} {
			got, err := s.Lockout(ctx, tc.key, bucket)
			if err != nil {
				t.Fatalf("Lockout: %v", err)
			}
			checkState(t, fmt.Sprintf("%s (%q) after PruneLockouts", tc.name, bucket), got, want)
		}
	}
	if pruned != (portier.LockoutsPruned{Expired: wantPruned}) {
		t.Fatalf("PruneLockouts = %+v, want %d expired", pruned, wantPruned)
	}
}

// testPruneLockoutsCap: past the cap, unknown names' counters go, least advanced towards a
// lock first; a locked one never, and no other kind of counter ever.
func testPruneLockoutsCap(t *testing.T, s portier.Store) {
	ctx := t.Context()
	now := base
	unknown := func(n string) string { return lockout.UnknownPrefix + n + "@example.org" }
	counters := []struct {
		key     string
		st      lockout.State
		evicted bool
	}{
		{unknown("locked"), lockout.State{Lockouts: 1, LockedUntil: now.Add(time.Minute), LastFailure: now.Add(-time.Hour)}, false},
		{unknown("locked-before"), lockout.State{Lockouts: 1, LockedUntil: now.Add(-time.Minute), LastFailure: now.Add(-5 * time.Hour)}, false},
		{unknown("nine"), lockout.State{Failures: 9, LastFailure: now.Add(-6 * time.Hour)}, false},
		{unknown("two"), lockout.State{Failures: 2, LastFailure: now.Add(-7 * time.Hour)}, true},
		{unknown("one-new"), lockout.State{Failures: 1, LastFailure: now.Add(-time.Second)}, true},
		{unknown("one-old"), lockout.State{Failures: 1, LastFailure: now.Add(-8 * time.Hour)}, true},
		// Not capped: a user's counters and a source's, however little they hold.
		{"user-1", lockout.State{Failures: 1, LastFailure: now.Add(-9 * time.Hour)}, false},
		{lockout.SourcePrefix + "192.0.2.9", lockout.State{Failures: 1, LastFailure: now.Add(-time.Minute)}, false},
	}
	for _, c := range counters {
		putLockout(t, s, c.key, "", c.st)
	}
	putLockout(t, s, "user-1", "device", lockout.State{Failures: 1, LastFailure: now.Add(-10 * time.Hour)})
	var pruned portier.LockoutsPruned
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		pruned, err = tx.PruneLockouts(ctx, prune(now, 3))
		return err
	})
	if pruned != (portier.LockoutsPruned{Evicted: 3}) {
		t.Fatalf("PruneLockouts at a cap of 3 of 6 = %+v, want 3 evicted", pruned)
	}
	for _, c := range counters {
		want := c.st
		if c.evicted {
			want = lockout.State{}
		}
		got, err := s.Lockout(ctx, c.key, "")
		if err != nil {
			t.Fatalf("Lockout: %v", err)
		}
		checkState(t, c.key+" after the cap", got, want)
	}
	if got, err := s.Lockout(ctx, "user-1", "device"); err != nil || got.Failures != 1 {
		t.Fatalf("a familiar browser's counter after the cap: %+v, %v; want kept", got, err)
	}
	// At the cap nothing more goes, and a cap of locked counters only evicts none.
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		if pruned, err = tx.PruneLockouts(ctx, prune(now, 3)); err == nil && pruned.Evicted != 0 {
			return fmt.Errorf("at the cap: %+v evicted, want none", pruned)
		}
		if pruned, err = tx.PruneLockouts(ctx, prune(now, 1)); err == nil && pruned.Evicted != 2 {
			return fmt.Errorf("cap 1 over one locked and two unlocked: %+v evicted, want the 2 unlocked", pruned)
		}
		return err
	})
	if got := testLockout(t, s, unknown("locked")); !got.Locked(now) {
		t.Fatal("the cap evicted a locked counter")
	}
}

func testLockout(t *testing.T, s portier.Store, key string) lockout.State {
	t.Helper()
	st, err := s.Lockout(t.Context(), key, "")
	if err != nil {
		t.Fatalf("Lockout(%q): %v", key, err)
	}
	return st
}

// testSwapLockout: SwapLockout writes only over the state it names, field by field, and a
// zero prev matches a missing counter; either way it returns the counter's state after it.
func testSwapLockout(t *testing.T, s portier.Store) {
	ctx := t.Context()
	swap := func(key string, prev, next lockout.State) bool {
		t.Helper()
		now, ok, err := s.SwapLockout(ctx, key, "", prev, next)
		if err != nil {
			t.Fatalf("SwapLockout(%q): %v", key, err)
		}
		checkState(t, fmt.Sprintf("the state SwapLockout(%q) returned", key), now, testLockout(t, s, key))
		if ok {
			checkState(t, fmt.Sprintf("the state a done SwapLockout(%q) returned", key), now, next)
		}
		return ok
	}
	one := lockout.State{Failures: 1, LastFailure: base}
	if !swap("new", lockout.State{}, one) {
		t.Fatal("swap from zero over a missing counter refused")
	}
	checkState(t, "after the first swap", testLockout(t, s, "new"), one)
	if swap("new", lockout.State{}, one) {
		t.Fatal("swap from zero over a charged counter done")
	}
	fps := []lockout.Fingerprint{fingerprint(1), fingerprint(2)}
	two := lockout.State{Failures: 2, LastFailure: base.Add(time.Second), Recent: fps, LockFailures: 4}
	if !swap("new", one, two) {
		t.Fatal("swap from the counter's state refused")
	}
	checkState(t, "after the second swap", testLockout(t, s, "new"), two)
	for name, prev := range map[string]lockout.State{
		"failures":      {Failures: 3, LastFailure: two.LastFailure, Recent: fps, LockFailures: 4},
		"last failure":  {Failures: 2, LastFailure: base, Recent: fps, LockFailures: 4},
		"fingerprints":  {Failures: 2, LastFailure: two.LastFailure, Recent: fps[:1], LockFailures: 4},
		"lock":          {Failures: 2, LastFailure: two.LastFailure, Recent: fps, LockedUntil: base.Add(time.Hour), LockFailures: 4},
		"lockouts":      {Failures: 2, LastFailure: two.LastFailure, Recent: fps, Lockouts: 1, LockFailures: 4},
		"lock failures": {Failures: 2, LastFailure: two.LastFailure, Recent: fps},
	} {
		if swap("new", prev, lockout.State{Failures: 7}) {
			t.Fatalf("swap from a state that differs in %s done", name)
		}
	}
	checkState(t, "after refused swaps", testLockout(t, s, "new"), two)
	// A counter deleted (unlocked, pruned) is not recreated from the state it had.
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteLockouts(ctx, "new") })
	if swap("new", two, lockout.State{Failures: 3}) {
		t.Fatal("swap over a deleted counter done")
	}
	checkState(t, "a deleted counter", testLockout(t, s, "new"), lockout.State{})
	// A counter that holds nothing but a date (a refunded charge) matches only that date.
	refunded := lockout.State{LastFailure: base}
	putLockout(t, s, "refunded", "", refunded)
	if got := testLockout(t, s, "refunded"); !got.LastFailure.IsZero() {
		if swap("refunded", lockout.State{}, one) {
			t.Fatal("swap from zero over a refunded counter that keeps its date done")
		}
		if !swap("refunded", got, one) {
			t.Fatal("swap from a refunded counter's state refused")
		}
	} else if !swap("refunded", lockout.State{}, one) {
		t.Fatal("swap from zero over a refunded counter the store deleted refused")
	}
	checkState(t, "the refunded counter charged", testLockout(t, s, "refunded"), one)
}

// testConcurrentSwaps: of parallel swaps from one state, exactly one is done.
func testConcurrentSwaps(t *testing.T, s portier.Store) {
	oneSwapWins(t, "SwapLockout", 20, 1, func(i int) (lockout.State, bool, error) {
		return s.SwapLockout(context.Background(), "contended", "", lockout.State{}, lockout.State{Failures: 1, LastFailure: base.Add(time.Duration(i))})
	})
}

// oneSwapWins runs n calls of swap in parallel, each a swap from one state, and checks that
// exactly one is done and that each returns the state that one left, with failures failures.
func oneSwapWins(t *testing.T, name string, n, failures int, swap func(i int) (lockout.State, bool, error)) {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			now, ok, err := swap(i)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			if now.Failures != failures {
				// Swapped or not, the state after the call is the one swap that was done.
				t.Errorf("%s returned %d failures, want %d", name, now.Failures, failures)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of %d parallel calls of %s from one state swapped, want 1", wins.Load(), n, name)
	}
}

// testSettleSignIn: one call clears the counter, dates the sign-in, keeps the language and
// adds the session; a user deleted meanwhile is ENotFound with no session added.
func testSettleSignIn(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	putLockout(t, s, u.ID, "device-1", lockout.State{Failures: 1, LastFailure: base})
	putLockout(t, s, u.ID, "", lockout.State{Failures: 4, LastFailure: base})
	at := base.Add(time.Minute)
	sess := &portier.Session{IDHash: []byte("settle-session-hash-0123456789ab"), UserID: u.ID, Created: at, LastSeen: at,
		Expires: at.Add(time.Hour), Source: "192.0.2.1", UserAgent: "test", AMR: []string{portier.AMRPassword}}
	err := s.SettleSignIn(ctx, portier.SignInSettlement{Key: u.ID, Bucket: "device-1", UserID: u.ID, At: at, Language: "nl", Session: sess})
	if err != nil {
		t.Fatalf("SettleSignIn: %v", err)
	}
	checkState(t, "the settled counter", testLockoutBucket(t, s, u.ID, "device-1"), lockout.State{})
	checkState(t, "another counter of the user", testLockoutBucket(t, s, u.ID, ""), lockout.State{Failures: 4, LastFailure: base})
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.LastSignIn == nil || !sameTime(*got.LastSignIn, at) || got.Language != "nl" {
		t.Fatalf("user after SettleSignIn: %+v, %v; want last sign-in %v, language nl", got, err, at)
	}
	if got, err := s.SessionByHash(ctx, sess.IDHash); err != nil || strings.Join(got.AMR, " ") != "pwd" {
		t.Fatalf("the settled session: %+v, %v; want amr pwd", got, err)
	}
	// No language keeps the user's.
	if err := s.SettleSignIn(ctx, portier.SignInSettlement{Key: u.ID, UserID: u.ID, At: at.Add(time.Minute)}); err != nil {
		t.Fatalf("SettleSignIn without a language: %v", err)
	}
	if got := testenvUser(t, s, u.ID); got.Language != "nl" || !sameTime(*got.LastSignIn, at.Add(time.Minute)) {
		t.Fatalf("without a language: %q, %v", got.Language, got.LastSignIn)
	}
	checkState(t, "the account counter settled", testLockoutBucket(t, s, u.ID, ""), lockout.State{})
	gone := &portier.Session{IDHash: []byte("settle-session-hash-gone-6789abc"), UserID: "no-such-user", Created: at, LastSeen: at, Expires: at.Add(time.Hour)}
	err = s.SettleSignIn(ctx, portier.SignInSettlement{Key: "no-such-user", UserID: "no-such-user", At: at, Session: gone})
	wantCode(t, "SettleSignIn of a missing user", err, portier.ENotFound)
	if _, err := s.SessionByHash(ctx, gone.IDHash); portier.ErrorCode(err) != portier.ENotFound {
		t.Fatalf("session of a missing user: %v, want none", err)
	}
}

func testLockoutBucket(t *testing.T, s portier.Store, key, bucket string) lockout.State {
	t.Helper()
	st, err := s.Lockout(t.Context(), key, bucket)
	if err != nil {
		t.Fatalf("Lockout(%q, %q): %v", key, bucket, err)
	}
	return st
}

func testenvUser(t *testing.T, s portier.Store, id string) *portier.User {
	t.Helper()
	u, err := s.UserByID(t.Context(), id)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	return u
}

// testLockedListingFollowsCounter: the "locked" listing (and "active", its complement) reads
// a copy of the account-wide counter's lock kept in the user's row; the copy follows every
// write of the counter, whichever of counter and user came first, and a browser's bucket
// never counts.
func testLockedListingFollowsCounter(t *testing.T, s portier.Store) {
	ctx := t.Context()
	locked := lockout.State{Failures: 10, LockedUntil: base.Add(time.Hour), Lockouts: 1, LastFailure: base}
	early, bulk, late := newTestUser(1), newTestUser(2), newTestUser(3)
	// Counters before their users: an attacker may lock a name before it is created.
	putLockout(t, s, early.ID, "", locked)
	putLockout(t, s, bulk.ID, "", locked)
	insertUsers(t, s, early)
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		return tx.InsertUsers(ctx, []*portier.User{bulk, late})
	})
	putLockout(t, s, late.ID, "browser", locked)
	want := func(what string, ids ...string) {
		t.Helper()
		page, err := s.ListUsers(ctx, portier.UserFilter{Status: portier.StatusLocked, Now: base, Limit: 10})
		if err != nil {
			t.Fatalf("%s: ListUsers(locked): %v", what, err)
		}
		var got []string
		for _, u := range page.Users {
			got = append(got, u.ID)
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("%s: locked users %v, want %v", what, got, ids)
		}
		if n, err := s.CountUsers(ctx, portier.UserFilter{Status: portier.StatusActive, Now: base}); err != nil || n != 3-len(ids) {
			t.Fatalf("%s: CountUsers(active) = %d, %v; want %d", what, n, err, 3-len(ids))
		}
	}
	want("counters written before their users", early.ID, bulk.ID)

	putLockout(t, s, late.ID, "", locked)
	want("a counter written after its user", early.ID, bulk.ID, late.ID)

	unlocked := locked
	unlocked.LockedUntil = time.Time{}
	putLockout(t, s, early.ID, "", unlocked)
	want("a lock cleared by a write", bulk.ID, late.ID)

	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteLockouts(ctx, bulk.ID) })
	want("a counter deleted", late.ID)

	// An expired lock pruned: its copy goes with the counter, so a listing judged at an
	// earlier time (as a clock set back would) no longer shows it.
	expired := locked
	expired.LockedUntil, expired.LastFailure = base.Add(-2*time.Hour), base.Add(-3*time.Hour)
	putLockout(t, s, late.ID, "", expired)
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		p := prune(base, 0)
		p.QuietSince = base.Add(-time.Hour)
		_, err := tx.PruneLockouts(ctx, p)
		return err
	})
	page, err := s.ListUsers(ctx, portier.UserFilter{Status: portier.StatusLocked, Now: base.Add(-3 * time.Hour), Limit: 10})
	if err != nil || len(page.Users) != 0 {
		t.Fatalf("locked users after the prune, judged before the lock expired: %d, %v; want none", len(page.Users), err)
	}
}

// testChargeAttempt: ChargeAttempt swaps as SwapLockout does and then reads as ReadAttempt
// does, the swap seen by the read; of parallel charges from one state exactly one swaps.
func testChargeAttempt(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	browser := lockout.Device(u.ID, "browser")
	source := lockout.Source(netip.MustParseAddr("192.0.2.1"))
	putLockout(t, s, source.Key, source.Bucket, lockout.State{Failures: 3, LastFailure: base})
	q := portier.AttemptQuery{Lockouts: []lockout.Counter{source, browser}, UPN: u.UPN}
	charge := func(prev, next lockout.State) (portier.AttemptRead, bool) {
		t.Helper()
		r, swapped, err := s.ChargeAttempt(ctx, q, portier.LockoutSwap{Counter: browser, Prev: prev, Next: next})
		if err != nil {
			t.Fatalf("ChargeAttempt: %v", err)
		}
		if r.User == nil || r.User.ID != u.ID || len(r.Lockouts) != 2 {
			t.Fatalf("ChargeAttempt read %+v, want the user and 2 counters", r)
		}
		checkState(t, "the source's counter read with the charge", r.Lockouts[0], lockout.State{Failures: 3, LastFailure: base})
		now, err := s.Lockout(ctx, browser.Key, browser.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		checkState(t, "the charged counter read with the charge", r.Lockouts[1], now)
		return r, swapped
	}
	one := lockout.State{Failures: 1, LastFailure: base}
	two := lockout.State{Failures: 2, LastFailure: base.Add(time.Second)}
	if r, ok := charge(lockout.State{}, one); !ok {
		t.Fatal("charge from zero over a missing counter refused")
	} else {
		checkState(t, "the first charge", r.Lockouts[1], one)
	}
	if r, ok := charge(lockout.State{}, two); ok {
		t.Fatal("charge from zero over a charged counter done")
	} else {
		checkState(t, "the counter in the way", r.Lockouts[1], one)
	}
	if _, ok := charge(one, two); !ok {
		t.Fatal("charge from the counter's state refused")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok, err := s.ChargeAttempt(cancelled, q, portier.LockoutSwap{Counter: browser, Prev: two, Next: one}); err == nil || ok {
		t.Fatalf("ChargeAttempt with its context cancelled = %v, %v; want an error", ok, err)
	}
	checkState(t, "after a charge that failed", testDeviceLockout(t, s, browser), two)

	oneSwapWins(t, "ChargeAttempt", 10, 3, func(i int) (lockout.State, bool, error) {
		next := lockout.State{Failures: 3, LastFailure: base.Add(time.Duration(i))}
		r, ok, err := s.ChargeAttempt(context.Background(), q, portier.LockoutSwap{Counter: browser, Prev: two, Next: next})
		if err != nil {
			return lockout.State{}, false, err
		}
		return r.Lockouts[1], ok, nil
	})
}

// testDeviceLockout returns the counter c.
func testDeviceLockout(t *testing.T, s portier.Store, c lockout.Counter) lockout.State {
	t.Helper()
	st, err := s.Lockout(t.Context(), c.Key, c.Bucket)
	if err != nil {
		t.Fatalf("Lockout(%v): %v", c, err)
	}
	return st
}

// testReadAttempt: ReadAttempt reads what Counter, Lockout, UserByUPN and Token read, in one
// call, and a missing row of any of them is no error.
func testReadAttempt(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	account := lockout.State{Failures: 2, LastFailure: base, Recent: []lockout.Fingerprint{fingerprint(4)}}
	device := lockout.State{Failures: 1, LastFailure: base.Add(time.Second)}
	putLockout(t, s, u.ID, "", account)
	putLockout(t, s, u.ID, "browser", device)
	pass := &portier.Token{Kind: portier.TokenTAP, ID: "pass-hash", UserID: u.ID, Data: []byte(`{"oneTime":true}`), Created: base, Expires: base.Add(time.Hour)}
	other := &portier.Token{Kind: portier.TokenRecovery, ID: "recovery-hash", UserID: u.ID, Created: base, Expires: base.Add(time.Hour)}
	insertTokens(t, s, pass, other)
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		for range 3 {
			if _, err := tx.Increment(ctx, "attempt-read"); err != nil {
				return err
			}
		}
		return nil
	})
	counters := []lockout.Counter{lockout.Source(netip.MustParseAddr("192.0.2.1")), lockout.Device(u.ID, "browser"), lockout.UnknownName("x@example.org")}
	r, err := s.ReadAttempt(ctx, portier.AttemptQuery{Counter: "attempt-read", Lockouts: counters, UPN: strings.ToUpper(u.UPN), TAP: pass.ID})
	if err != nil {
		t.Fatalf("ReadAttempt: %v", err)
	}
	if r.Counter != 3 {
		t.Fatalf("ReadAttempt's counter = %d, want 3", r.Counter)
	}
	if r.User == nil || r.User.ID != u.ID {
		t.Fatalf("ReadAttempt's user = %+v, want %s", r.User, u.ID)
	}
	checkState(t, "the user's account counter", r.User.LockoutState, account)
	if len(r.Lockouts) != 3 {
		t.Fatalf("ReadAttempt returned %d counters, want 3", len(r.Lockouts))
	}
	checkState(t, "a missing counter", r.Lockouts[0], lockout.State{})
	checkState(t, "the browser's counter", r.Lockouts[1], device)
	checkState(t, "another missing counter", r.Lockouts[2], lockout.State{})
	if r.TAP == nil || r.TAP.ID != pass.ID || r.TAP.UserID != u.ID || string(r.TAP.Data) != string(pass.Data) || !r.TAP.Expires.Equal(pass.Expires) {
		t.Fatalf("ReadAttempt's pass = %+v, want %+v", r.TAP, pass)
	}
	for _, q := range []portier.AttemptQuery{
		{Counter: "no-such-counter", Lockouts: counters[1:2], UPN: "nobody@example.org", TAP: "no-such-pass"},
		{Lockouts: counters[1:2], TAP: other.ID}, // a token of another kind is no pass
	} {
		r, err = s.ReadAttempt(ctx, q)
		if err != nil || r.Counter != 0 || r.User != nil || r.TAP != nil || len(r.Lockouts) != 1 {
			t.Fatalf("ReadAttempt(%+v) = %+v, %v; want nothing but 1 counter", q, r, err)
		}
		checkState(t, "the browser's counter", r.Lockouts[0], device)
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		r, err := tx.ReadAttempt(ctx, portier.AttemptQuery{UPN: u.UPN})
		if err == nil && (r.User == nil || r.User.ID != u.ID || len(r.Lockouts) != 0) {
			return fmt.Errorf("ReadAttempt in a transaction: %+v", r)
		}
		return err
	})
}
