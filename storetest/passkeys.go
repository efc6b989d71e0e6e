package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

// RunPasskeys checks portier.PasskeyReader and portier.PasskeyWriter.
func RunPasskeys(t *testing.T, open Open) {
	run(t, open, []subtest{
		{"Passkeys", testPasskeys},
		{"PasskeyErrors", testPasskeyErrors},
		{"ConcurrentPasskeyCounter", testConcurrentPasskeyCounter},
		{"DeleteUserRemovesPasskeys", testDeleteUserPasskeys},
	})
}

// newTestPasskey returns a passkey of the user with every field set, distinct per i.
func newTestPasskey(userID string, i int, created time.Time) *portier.Passkey {
	return &portier.Passkey{
		ID: "cred-" + portier.NewID(), UserID: userID, Name: "Key " + string(rune('A'+i)),
		PublicKey: []byte{0xa5, 0x01, 0x02, byte(i), 0x00, 0xff}, SignCount: 1<<31 + uint32(i),
		Transports: []string{"usb", "nfc"}[:1+i%2], AAGUID: bytes.Repeat([]byte{byte(i + 1)}, 16),
		AttestationFormat: "none", BackupEligible: i%2 == 1, BackupState: i%2 == 1, Created: created,
	}
}

// checkPasskey compares every stored field of a passkey.
func checkPasskey(t testing.TB, got, want *portier.Passkey) {
	t.Helper()
	if got == nil {
		t.Fatalf("passkey %s: got nil", want.ID)
	}
	lastUsedOK := (got.LastUsed == nil) == (want.LastUsed == nil) && (got.LastUsed == nil || sameTime(*got.LastUsed, *want.LastUsed))
	if got.ID != want.ID || got.UserID != want.UserID || got.Name != want.Name || !bytes.Equal(got.PublicKey, want.PublicKey) ||
		got.SignCount != want.SignCount || !slices.Equal(got.Transports, want.Transports) || !bytes.Equal(got.AAGUID, want.AAGUID) ||
		got.AttestationFormat != want.AttestationFormat || got.BackupEligible != want.BackupEligible ||
		got.BackupState != want.BackupState || !sameTime(got.Created, want.Created) || !lastUsedOK {
		t.Fatalf("passkey %s:\n got  %+v\n want %+v", want.ID, *got, *want)
	}
}

func passkeyIDs(ps []*portier.Passkey) []string {
	return idsOf(ps, func(p *portier.Passkey) string { return p.ID })
}

// testPasskeys: several passkeys per user, listed oldest first, found by credential id
// whoever's they are; an update writes name, counter, backup state and last use only; a
// delete names the user.
func testPasskeys(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := newTestUser(1), newTestUser(2)
	insertUsers(t, s, alice, bob)
	// Inserted newest first: ListPasskeys must sort by Created.
	second := newTestPasskey(alice.ID, 1, base.Add(time.Minute))
	first := newTestPasskey(alice.ID, 0, base)
	first.Transports = nil
	bobs := newTestPasskey(bob.ID, 2, base.Add(-time.Minute))
	insertEach(t, s, []*portier.Passkey{second, first, bobs}, func(p *portier.Passkey) string { return "passkey " + p.Name }, portier.Tx.InsertPasskey)

	got, err := s.ListPasskeys(ctx, alice.ID)
	if err != nil {
		t.Fatalf("ListPasskeys: %v", err)
	}
	if ids := passkeyIDs(got); !slices.Equal(ids, []string{first.ID, second.ID}) {
		t.Fatalf("ListPasskeys(alice) = %v, want [first second]", ids)
	}
	checkPasskey(t, got[0], first)
	checkPasskey(t, got[1], second)
	if none, err := s.ListPasskeys(ctx, newTestUser(9).ID); err != nil || len(none) != 0 {
		t.Fatalf("ListPasskeys(nobody) = %v, %v; want none", none, err)
	}
	p, err := s.Passkey(ctx, bobs.ID)
	if err != nil {
		t.Fatalf("Passkey: %v", err)
	}
	checkPasskey(t, p, bobs)

	used := base.Add(time.Hour)
	changed := *second
	changed.Name, changed.SignCount, changed.BackupState, changed.LastUsed = "Renamed", 1<<32-1, false, &used
	// Fields UpdatePasskey does not write stay as they were.
	changed.PublicKey, changed.AttestationFormat = []byte("other"), "packed"
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		locked, err := tx.PasskeyForUpdate(ctx, second.ID)
		if err != nil {
			return err
		}
		checkPasskey(t, locked, second)
		return tx.UpdatePasskey(ctx, &changed)
	})
	want := *second
	want.Name, want.SignCount, want.BackupState, want.LastUsed = "Renamed", 1<<32-1, false, &used
	p, err = s.Passkey(ctx, second.ID)
	if err != nil {
		t.Fatalf("Passkey after update: %v", err)
	}
	checkPasskey(t, p, &want)

	// Another user's passkey is not the user's to delete.
	wantCode(t, "DeletePasskey of another user's", txErr(t, s, func(ctx context.Context, tx portier.Tx) error {
		return tx.DeletePasskey(ctx, alice.ID, bobs.ID)
	}), portier.ENotFound)
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeletePasskey(ctx, alice.ID, first.ID) })
	got, err = s.ListPasskeys(ctx, alice.ID)
	if err != nil || !slices.Equal(passkeyIDs(got), []string{second.ID}) {
		t.Fatalf("ListPasskeys after delete = %v, %v; want [second]", passkeyIDs(got), err)
	}
	if got, err := s.ListPasskeys(ctx, bob.ID); err != nil || len(got) != 1 {
		t.Fatalf("bob's passkeys after alice's delete = %d, %v; want 1", len(got), err)
	}
}

// testPasskeyErrors: every backend says the same words for a missing or taken passkey; a
// credential id registered to one user cannot be registered to another.
func testPasskeyErrors(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := newTestUser(1), newTestUser(2)
	insertUsers(t, s, alice, bob)
	p := newTestPasskey(alice.ID, 0, base)
	insertEach(t, s, []*portier.Passkey{p}, func(*portier.Passkey) string { return "passkey" }, portier.Tx.InsertPasskey)
	gone := *p
	gone.ID = "gone"
	stolen := *p
	stolen.UserID = bob.ID
	orphan := newTestPasskey(newTestUser(3).ID, 1, base)
	cases := []struct {
		name string
		call func(tx portier.Tx) error
		want *portier.Error
	}{
		{"Passkey", func(portier.Tx) error { _, err := s.Passkey(ctx, "gone"); return err }, portier.NoPasskey()},
		{"PasskeyForUpdate", func(tx portier.Tx) error { _, err := tx.PasskeyForUpdate(ctx, "gone"); return err }, portier.NoPasskey()},
		{"UpdatePasskey", func(tx portier.Tx) error { return tx.UpdatePasskey(ctx, &gone) }, portier.NoPasskey()},
		{"UpdatePasskey of another user", func(tx portier.Tx) error { return tx.UpdatePasskey(ctx, &stolen) }, portier.NoPasskey()},
		{"DeletePasskey", func(tx portier.Tx) error { return tx.DeletePasskey(ctx, alice.ID, "gone") }, portier.NoPasskey()},
		{"InsertPasskey taken", func(tx portier.Tx) error { return tx.InsertPasskey(ctx, p) }, portier.PasskeyExists()},
		{"InsertPasskey taken by another user", func(tx portier.Tx) error { return tx.InsertPasskey(ctx, &stolen) }, portier.PasskeyExists()},
		{"InsertPasskey of a missing user", func(tx portier.Tx) error { return tx.InsertPasskey(ctx, orphan) }, portier.NoUserWithID(orphan.UserID)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.name, s.Tx(ctx, tc.call), tc.want)
		})
	}
	got, err := s.Passkey(ctx, p.ID)
	if err != nil {
		t.Fatalf("Passkey: %v", err)
	}
	checkPasskey(t, got, p)
}

// testConcurrentPasskeyCounter: assertions of one credential settling at once step its sign
// counter one after the other, so no two of them can both be accepted at the same count.
func testConcurrentPasskeyCounter(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	p := newTestPasskey(u.ID, 0, base)
	p.SignCount = 0
	insertEach(t, s, []*portier.Passkey{p}, func(*portier.Passkey) string { return "passkey" }, portier.Tx.InsertPasskey)
	const n = 40
	runParallel(t, n, func(int) error {
		return s.Tx(ctx, func(tx portier.Tx) error {
			got, err := tx.PasskeyForUpdate(ctx, p.ID)
			if err != nil {
				return err
			}
			got.SignCount++
			return tx.UpdatePasskey(ctx, got)
		})
	})
	got, err := s.Passkey(ctx, p.ID)
	if err != nil {
		t.Fatalf("Passkey: %v", err)
	}
	if got.SignCount != n {
		t.Fatalf("SignCount after %d increments = %d (an update was lost)", n, got.SignCount)
	}
}

// testDeleteUserPasskeys: deleting a user removes its passkeys and no one else's.
func testDeleteUserPasskeys(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := newTestUser(1), newTestUser(2)
	insertUsers(t, s, alice, bob)
	a, b := newTestPasskey(alice.ID, 0, base), newTestPasskey(bob.ID, 1, base)
	insertEach(t, s, []*portier.Passkey{a, b}, func(*portier.Passkey) string { return "passkey" }, portier.Tx.InsertPasskey)
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteUser(ctx, alice.ID) })
	if _, err := s.Passkey(ctx, a.ID); portier.ErrorCode(err) != portier.ENotFound {
		t.Fatalf("alice's passkey after DeleteUser: %v, want ENotFound", err)
	}
	if got, err := s.ListPasskeys(ctx, bob.ID); err != nil || len(got) != 1 {
		t.Fatalf("bob's passkeys = %d, %v; want 1", len(got), err)
	}
}
