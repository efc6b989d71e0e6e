package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

func testUserRoundTrip(t *testing.T, s portier.Store) {
	ctx := t.Context()
	full := newTestUser(1)
	full.Roles = []portier.Role{portier.RoleUserAdmin, portier.RoleHelpdeskAdmin}
	full.PasswordProfile.ForceChangePasswordNextSignIn = true
	full.DisplayName = "Zoë d'Artagnan-Ünal"
	// A user as created by a first setup: no sign-in yet, no roles, nothing optional.
	minimal := &portier.User{
		ID:           portier.NewID(),
		UPN:          "minimal@example.org",
		DisplayName:  "Minimal",
		Created:      base,
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB",
	}
	blocked := newTestUser(2)
	blocked.AccountEnabled = false
	blocked.Roles = []portier.Role{portier.RoleGlobalAdmin}
	blocked.Language = "en"

	for _, want := range []*portier.User{full, minimal, blocked} {
		t.Run(want.UPN, func(t *testing.T) {
			insertUsers(t, s, want)
			got, err := s.UserByID(ctx, want.ID)
			if err != nil {
				t.Fatalf("UserByID: %v", err)
			}
			checkUser(t, got, want)
			checkUserByUPN(t, s, want.UPN, want)
			inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
				got, err := tx.UserForUpdate(ctx, want.ID)
				if err != nil {
					return fmt.Errorf("UserForUpdate: %w", err)
				}
				checkUser(t, got, want)
				got, err = tx.UserByUPN(ctx, want.UPN)
				if err != nil {
					return fmt.Errorf("UserByUPN in Tx: %w", err)
				}
				checkUser(t, got, want)
				return nil
			})
		})
	}
}

func testUserNotFound(t *testing.T, s portier.Store) {
	ctx := t.Context()
	insertUsers(t, s, newTestUser(1))
	missing := newTestUser(2)
	cases := []struct {
		name string
		call func(tx portier.Tx) error
	}{
		{"UserByID", func(portier.Tx) error { _, err := s.UserByID(ctx, missing.ID); return err }},
		{"UserByUPN", func(portier.Tx) error { _, err := s.UserByUPN(ctx, missing.UPN); return err }},
		{"Tx.UserByID", func(tx portier.Tx) error { _, err := tx.UserByID(ctx, missing.ID); return err }},
		{"Tx.UserByUPN", func(tx portier.Tx) error { _, err := tx.UserByUPN(ctx, missing.UPN); return err }},
		{"UserForUpdate", func(tx portier.Tx) error { _, err := tx.UserForUpdate(ctx, missing.ID); return err }},
		{"UpdateUser", func(tx portier.Tx) error { return tx.UpdateUser(ctx, missing) }},
		{"DeleteUser", func(tx portier.Tx) error { return tx.DeleteUser(ctx, missing.ID) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Tx(ctx, tc.call)
			wantCode(t, tc.name, err, portier.ENotFound)
		})
	}
	n, err := s.CountUsers(ctx, portier.UserFilter{Now: base})
	if err != nil || n != 1 {
		t.Fatalf("CountUsers after the misses = %d, %v; want 1", n, err)
	}
}

func testUserUPNUnique(t *testing.T, s portier.Store) {
	ctx := t.Context()
	first := newTestUser(1)
	first.UPN = "alice@example.org"
	insertUsers(t, s, first)

	cases := []struct {
		name string
		upn  string
		bulk bool
	}{
		{"same", "alice@example.org", false},
		{"upper case", "ALICE@EXAMPLE.ORG", false},
		{"mixed case", "Alice@Example.org", false},
		{"bulk same", "alice@example.org", true},
		{"bulk mixed case", "aLiCe@example.org", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dup := newTestUser(2)
			dup.UPN = tc.upn
			err := s.Tx(ctx, func(tx portier.Tx) error {
				if tc.bulk {
					return tx.InsertUsers(ctx, []*portier.User{dup})
				}
				return tx.InsertUser(ctx, dup)
			})
			wantCode(t, "insert "+tc.upn, err, portier.EConflict)
			if _, err := s.UserByID(ctx, dup.ID); portier.ErrorCode(err) != portier.ENotFound {
				t.Fatalf("the refused user was stored: UserByID = %v", err)
			}
		})
	}
	checkUserByUPN(t, s, "alice@example.org", first)
}

func testUserUpdate(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u, other := newTestUser(1), newTestUser(2)
	insertUsers(t, s, u, other)

	want := *u
	signIn := base.Add(time.Hour)
	want.UPN = "renamed@example.org"
	want.DisplayName = "Renamed Person"
	want.Mail = "renamed@mail.example.org"
	want.AccountEnabled = false
	want.PasswordProfile.ForceChangePasswordNextSignIn = !u.PasswordProfile.ForceChangePasswordNextSignIn
	want.Roles = []portier.Role{portier.RoleGlobalAdmin}
	want.LastSignIn = &signIn
	want.SessionsValidFrom = base.Add(2 * time.Hour)
	want.PasswordChanged = base.Add(3 * time.Hour)
	want.Language = "en"
	want.CredentialGeneration = u.CredentialGeneration + 5
	want.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=1$bmV3$bmV3aGFzaA"

	update := want
	// UpdateUser leaves Created and LockoutState alone, whatever the struct holds.
	update.Created = base.Add(99 * time.Hour)
	update.LockoutState = lockout.State{Failures: 7}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.UpdateUser(ctx, &update) })

	checkUserByUPN(t, s, "renamed@example.org", &want)
	if _, err := s.UserByUPN(ctx, u.UPN); portier.ErrorCode(err) != portier.ENotFound {
		t.Fatalf("old UPN still found after rename: %v", err)
	}

	t.Run("clear optional fields", func(t *testing.T) {
		cleared := want
		cleared.Roles = nil
		cleared.LastSignIn = nil
		cleared.Mail = ""
		cleared.Language = ""
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.UpdateUser(ctx, &cleared) })
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		checkUser(t, got, &cleared)
	})

	t.Run("rename to a taken UPN", func(t *testing.T) {
		clash := want
		clash.UPN = other.UPN
		err := s.Tx(ctx, func(tx portier.Tx) error { return tx.UpdateUser(ctx, &clash) })
		wantCode(t, "UpdateUser", err, portier.EConflict)
		checkUserByUPN(t, s, other.UPN, other)
	})
}

func testUserDelete(t *testing.T, s portier.Store) {
	ctx := t.Context()
	gone, kept := newTestUser(1), newTestUser(2)
	insertUsers(t, s, gone, kept)
	st := lockout.State{Failures: 2, LastFailure: base}
	for _, key := range []string{gone.ID, kept.ID} {
		putLockout(t, s, key, "", st)
		putLockout(t, s, key, "device-1", st)
	}
	for i, u := range []*portier.User{gone, gone, kept} {
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			return tx.InsertSession(ctx, &portier.Session{
				IDHash: []byte(fmt.Sprintf("session-%d", i)), UserID: u.ID,
				Created: base, LastSeen: base, Expires: base.Add(time.Hour),
			})
		})
	}

	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteUser(ctx, gone.ID) })

	if _, err := s.UserByID(ctx, gone.ID); portier.ErrorCode(err) != portier.ENotFound {
		t.Fatalf("UserByID after delete: %v, want ENotFound", err)
	}
	if _, err := s.UserByUPN(ctx, gone.UPN); portier.ErrorCode(err) != portier.ENotFound {
		t.Fatalf("UserByUPN after delete: %v, want ENotFound", err)
	}
	err := s.Tx(ctx, func(tx portier.Tx) error { return tx.DeleteUser(ctx, gone.ID) })
	wantCode(t, "second DeleteUser", err, portier.ENotFound)
	for _, bucket := range []string{"", "device-1"} {
		got, err := s.Lockout(ctx, gone.ID, bucket)
		if err != nil {
			t.Fatalf("Lockout: %v", err)
		}
		checkState(t, "deleted user's counter "+bucket, got, lockout.State{})
		got, err = s.Lockout(ctx, kept.ID, bucket)
		if err != nil {
			t.Fatalf("Lockout: %v", err)
		}
		checkState(t, "other user's counter "+bucket, got, st)
	}
	if sessions, err := s.ListSessions(ctx, gone.ID); err != nil || len(sessions) != 0 {
		t.Fatalf("deleted user's sessions = %d, %v; want none", len(sessions), err)
	}
	if sessions, err := s.ListSessions(ctx, kept.ID); err != nil || len(sessions) != 1 {
		t.Fatalf("other user's sessions = %d, %v; want 1", len(sessions), err)
	}
	// The UPN is free again.
	again := newTestUser(1)
	insertUsers(t, s, again)
}

func testInsertUsers(t *testing.T, s portier.Store) {
	ctx := t.Context()
	var users []*portier.User
	for i := range 1000 {
		u := newTestUser(i)
		u.AccountEnabled = i%3 != 0
		if i%10 == 0 {
			u.Roles = []portier.Role{portier.RoleHelpdeskAdmin}
		}
		if i%7 == 0 {
			u.LastSignIn = nil
		}
		users = append(users, u)
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.InsertUsers(ctx, users) })
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.InsertUsers(ctx, nil) })

	n, err := s.CountUsers(ctx, portier.UserFilter{Now: base})
	if err != nil || n != len(users) {
		t.Fatalf("CountUsers = %d, %v; want %d", n, err, len(users))
	}
	for _, i := range []int{0, 1, 7, 10, 500, 999} {
		got, err := s.UserByID(ctx, users[i].ID)
		if err != nil {
			t.Fatalf("UserByID %s: %v", users[i].UPN, err)
		}
		checkUser(t, got, users[i])
	}
}

func testInsertUsersConflict(t *testing.T, s portier.Store) {
	ctx := t.Context()
	taken := newTestUser(0)
	insertUsers(t, s, taken)

	batch := func(n int) []*portier.User {
		var users []*portier.User
		for i := 1; i <= n; i++ {
			users = append(users, newTestUser(1000+i))
		}
		return users
	}
	cases := []struct {
		name  string
		users []*portier.User
	}{
		{"taken UPN last", append(batch(300), &portier.User{ID: portier.NewID(), UPN: taken.UPN, DisplayName: "Dup", Created: base})},
		{"taken UPN first", append([]*portier.User{{ID: portier.NewID(), UPN: taken.UPN, DisplayName: "Dup", Created: base}}, batch(300)...)},
		{"duplicate within the batch", func() []*portier.User {
			users := batch(300)
			dup := newTestUser(1001)
			dup.ID = portier.NewID()
			dup.UPN = "USER01001@example.org"
			return append(users, dup)
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Tx(ctx, func(tx portier.Tx) error { return tx.InsertUsers(ctx, tc.users) })
			wantCode(t, "InsertUsers", err, portier.EConflict)
			// Even a caller that swallows the error and commits gets none of the batch.
			// Tx's own error is discarded on purpose: PostgreSQL may refuse the commit of a
			// transaction in which a statement failed, SQLite does not, and either is right;
			// only what is stored matters here.
			var inner error
			_ = s.Tx(ctx, func(tx portier.Tx) error {
				inner = tx.InsertUsers(ctx, tc.users)
				return nil
			})
			wantCode(t, "InsertUsers in a committing Tx", inner, portier.EConflict)
			n, err := s.CountUsers(ctx, portier.UserFilter{Now: base})
			if err != nil || n != 1 {
				t.Fatalf("CountUsers after a refused batch = %d, %v; want 1", n, err)
			}
			for _, u := range tc.users {
				if _, err := s.UserByID(ctx, u.ID); portier.ErrorCode(err) != portier.ENotFound {
					t.Fatalf("user %s of the refused batch: %v, want ENotFound", u.UPN, err)
				}
			}
		})
	}
}
