package storetest

import (
	"context"
	"fmt"
	"slices"
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

func testPruneLockouts(t *testing.T, s portier.Store) {
	ctx := t.Context()
	now := base
	before := base.Add(-12 * time.Hour)
	cases := []struct {
		key  string
		st   lockout.State
		kept bool
	}{
		{"old failure", lockout.State{Failures: 3, LastFailure: before.Add(-time.Minute)}, false},
		{"old, lock expired", lockout.State{Lockouts: 2, LockedUntil: now.Add(-time.Minute), LastFailure: before.Add(-time.Hour)}, false},
		{"old, still locked", lockout.State{Lockouts: 6, LockedUntil: now.Add(time.Minute), LastFailure: before.Add(-time.Hour)}, true},
		{"recent failure", lockout.State{Failures: 1, LastFailure: before.Add(time.Minute)}, true},
		{"recent, locked", lockout.State{LockedUntil: now.Add(time.Hour), LastFailure: now.Add(-time.Second)}, true},
	}
	for _, tc := range cases {
		putLockout(t, s, tc.key, "", tc.st)
		putLockout(t, s, tc.key, "device", tc.st)
	}
	var pruned int
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		pruned, err = tx.PruneLockouts(ctx, now, before)
		return err
	})
	wantPruned := 0
	for _, tc := range cases {
		want := lockout.State{}
		if tc.kept {
			want = tc.st
		} else {
			wantPruned += 2
		}
		for _, bucket := range []string{"", "device"} {
			got, err := s.Lockout(ctx, tc.key, bucket)
			if err != nil {
				t.Fatalf("Lockout: %v", err)
			}
			checkState(t, fmt.Sprintf("%s (%q) after PruneLockouts", tc.key, bucket), got, want)
		}
	}
	if pruned != wantPruned {
		t.Fatalf("PruneLockouts = %d, want %d", pruned, wantPruned)
	}
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
		_, err := tx.PruneLockouts(ctx, base, base.Add(-time.Hour))
		return err
	})
	page, err := s.ListUsers(ctx, portier.UserFilter{Status: portier.StatusLocked, Now: base.Add(-3 * time.Hour), Limit: 10})
	if err != nil || len(page.Users) != 0 {
		t.Fatalf("locked users after the prune, judged before the lock expired: %d, %v; want none", len(page.Users), err)
	}
}
