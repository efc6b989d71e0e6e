package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

// wantError fails the test unless err carries want's code and message.
func wantError(t testing.TB, what string, err error, want *portier.Error) {
	t.Helper()
	if portier.ErrorCode(err) != want.Code || portier.ErrorMessage(err) != want.Message {
		t.Fatalf("%s: %v, want code %q message %q", what, err, want.Code, want.Message)
	}
}

// testUserByUPNFoldsCase: UserByUPN folds the name asked for with portier.FoldUPN on every
// backend, outside and inside a transaction, and a name that differs by more than case (a
// space) is not found, with the same message everywhere.
func testUserByUPNFoldsCase(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice := newTestUser(1)
	alice.UPN = "alice@example.org"
	insertUsers(t, s, alice)
	for _, upn := range []string{"alice@example.org", "ALICE@EXAMPLE.ORG", "Alice@Example.org"} {
		checkUserByUPN(t, s, upn, alice)
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			got, err := tx.UserByUPN(ctx, upn)
			if err == nil {
				checkUser(t, got, alice)
			}
			return err
		})
	}
	for _, upn := range []string{" alice@example.org", "alice@example.org ", "alice@example.orgx"} {
		_, err := s.UserByUPN(ctx, upn)
		wantError(t, "UserByUPN("+upn+")", err, portier.NoUserNamed(upn))
	}
}

// testErrorMessages: every backend returns the contract's not-found and conflict errors,
// built by the root package, word for word.
func testErrorMessages(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := newTestUser(1), newTestUser(2)
	insertUsers(t, s, alice, bob)
	missing := newTestUser(3)
	app := newTestApp("wiki", "Wiki")
	insertApps(t, s, app)
	method := &portier.AuthMethod{ID: portier.NewID(), UserID: alice.ID, Kind: portier.MethodEmail, Address: "a@private.example", Created: base}
	token := &portier.Token{Kind: portier.TokenRecovery, ID: "t1", UserID: alice.ID, Created: base, Expires: base.Add(time.Hour)}
	key := &portier.SigningKey{ID: "k1", Algorithm: "RS256", Private: []byte("der"), Created: base, NotBefore: base, Expires: base.Add(time.Hour)}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		if err := tx.InsertMethod(ctx, method); err != nil {
			return err
		}
		if err := tx.InsertToken(ctx, token); err != nil {
			return err
		}
		return tx.InsertSigningKey(ctx, key)
	})
	renamed := *bob
	renamed.UPN = alice.UPN
	twice := newTestUser(4)
	twiceAgain := newTestUser(5)
	twiceAgain.UPN = twice.UPN
	gone := *method
	gone.ID = "gone"
	goneToken := *token
	goneToken.ID = "gone"
	goneApp := newTestApp("gone", "Gone")
	cases := []struct {
		name string
		call func(tx portier.Tx) error
		want *portier.Error
	}{
		{"UserByID", func(portier.Tx) error { _, err := s.UserByID(ctx, missing.ID); return err }, portier.NoUserWithID(missing.ID)},
		{"UserByUPN", func(portier.Tx) error { _, err := s.UserByUPN(ctx, missing.UPN); return err }, portier.NoUserNamed(missing.UPN)},
		{"UserForUpdate", func(tx portier.Tx) error { _, err := tx.UserForUpdate(ctx, missing.ID); return err }, portier.NoUserWithID(missing.ID)},
		{"UpdateUser", func(tx portier.Tx) error { return tx.UpdateUser(ctx, missing) }, portier.NoUserWithID(missing.ID)},
		{"DeleteUser", func(tx portier.Tx) error { return tx.DeleteUser(ctx, missing.ID) }, portier.NoUserWithID(missing.ID)},
		{"InsertUser taken", func(tx portier.Tx) error {
			dup := newTestUser(6)
			dup.UPN = "USER00001@example.org"
			return tx.InsertUser(ctx, dup)
		}, portier.UPNTaken("USER00001@example.org")},
		{"InsertUsers taken", func(tx portier.Tx) error {
			dup := newTestUser(6)
			dup.UPN = "User00001@Example.org"
			return tx.InsertUsers(ctx, []*portier.User{newTestUser(7), dup})
		}, portier.UPNTaken("User00001@Example.org")},
		{"InsertUsers twice", func(tx portier.Tx) error {
			return tx.InsertUsers(ctx, []*portier.User{twice, twiceAgain})
		}, portier.RepeatedUPN([]*portier.User{twice, twiceAgain})},
		{"UpdateUser taken", func(tx portier.Tx) error { return tx.UpdateUser(ctx, &renamed) }, portier.UPNTaken(alice.UPN)},
		{"SessionByHash", func(portier.Tx) error { _, err := s.SessionByHash(ctx, []byte("none")); return err }, portier.NoSession()},
		{"TouchSession", func(tx portier.Tx) error { return tx.TouchSession(ctx, []byte("none"), base) }, portier.NoSession()},
		{"InsertMethod taken", func(tx portier.Tx) error { return tx.InsertMethod(ctx, method) }, portier.MethodExists(method.ID)},
		{"UpdateMethod", func(tx portier.Tx) error { return tx.UpdateMethod(ctx, &gone) }, portier.NoMethod(gone.ID)},
		{"MethodForUpdate", func(tx portier.Tx) error { _, err := tx.MethodForUpdate(ctx, alice.ID, "gone"); return err }, portier.NoMethod("gone")},
		{"DeleteMethod", func(tx portier.Tx) error { return tx.DeleteMethod(ctx, alice.ID, "gone") }, portier.NoMethod("gone")},
		{"Token", func(portier.Tx) error { _, err := s.Token(ctx, token.Kind, "gone"); return err }, portier.NoToken(token.Kind)},
		{"TokenForUpdate", func(tx portier.Tx) error { _, err := tx.TokenForUpdate(ctx, token.Kind, "gone"); return err }, portier.NoToken(token.Kind)},
		{"UpdateToken", func(tx portier.Tx) error { return tx.UpdateToken(ctx, &goneToken) }, portier.NoToken(token.Kind)},
		{"InsertToken taken", func(tx portier.Tx) error { return tx.InsertToken(ctx, token) }, portier.TokenExists(token.Kind)},
		{"App", func(portier.Tx) error { _, err := s.App(ctx, "gone"); return err }, portier.NoApp("gone")},
		{"UpdateApp", func(tx portier.Tx) error { return tx.UpdateApp(ctx, goneApp) }, portier.NoApp("gone")},
		{"DeleteApp", func(tx portier.Tx) error { return tx.DeleteApp(ctx, "gone") }, portier.NoApp("gone")},
		{"InsertApp taken", func(tx portier.Tx) error { return tx.InsertApp(ctx, app) }, portier.AppExists(app.ID)},
		{"InsertSigningKey taken", func(tx portier.Tx) error { return tx.InsertSigningKey(ctx, key) }, portier.SigningKeyExists(key.ID)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, tc.name, s.Tx(ctx, tc.call), tc.want)
		})
	}
}
