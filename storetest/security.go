package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

// txErr runs fn in a transaction and returns its error, for the cases that must fail.
func txErr(t testing.TB, s portier.Store, fn func(ctx context.Context, tx portier.Tx) error) error {
	t.Helper()
	ctx := t.Context()
	return s.Tx(ctx, func(tx portier.Tx) error { return fn(ctx, tx) })
}

// checkMethod compares every stored field of a security-info method.
func checkMethod(t testing.TB, got, want *portier.AuthMethod) {
	t.Helper()
	if got == nil {
		t.Fatalf("method %s: got nil", want.ID)
	}
	g, w := *got, *want
	lastUsedOK := (g.LastUsed == nil) == (w.LastUsed == nil) && (g.LastUsed == nil || sameTime(*g.LastUsed, *w.LastUsed))
	if !sameTime(g.Created, w.Created) || !lastUsedOK || !bytes.Equal(g.Secret, w.Secret) {
		t.Fatalf("method %s:\n got  %+v\n want %+v", w.ID, g, w)
	}
	g.Created, w.Created, g.LastUsed, w.LastUsed, g.Secret, w.Secret = time.Time{}, time.Time{}, nil, nil, nil, nil
	if !equalMethods(g, w) {
		t.Fatalf("method %s:\n got  %+v\n want %+v", w.ID, *got, *want)
	}
}

func equalMethods(a, b portier.AuthMethod) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.Kind == b.Kind && a.Address == b.Address && a.LastStep == b.LastStep
}

func methodIDs(ms []*portier.AuthMethod) []string {
	return idsOf(ms, func(m *portier.AuthMethod) string { return m.ID })
}

func testMethods(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := newTestUser(1), newTestUser(2)
	insertUsers(t, s, alice, bob)
	used := base.Add(-time.Hour)
	// Inserted newest first: ListMethods must sort by Created.
	totp := &portier.AuthMethod{ID: portier.NewID(), UserID: alice.ID, Kind: portier.MethodTOTP,
		Secret: []byte{0, 1, 2, 0xff}, LastStep: 58_000_000, Created: base.Add(time.Minute), LastUsed: &used}
	email := &portier.AuthMethod{ID: portier.NewID(), UserID: alice.ID, Kind: portier.MethodEmail,
		Address: "alice@private.example", Created: base}
	bobs := &portier.AuthMethod{ID: portier.NewID(), UserID: bob.ID, Kind: portier.MethodEmail,
		Address: "bob@private.example", Created: base.Add(-time.Minute)}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		for _, m := range []*portier.AuthMethod{totp, email, bobs} {
			if err := tx.InsertMethod(ctx, m); err != nil {
				return fmt.Errorf("InsertMethod %s: %w", m.Kind, err)
			}
		}
		return nil
	})
	got, err := s.ListMethods(ctx, alice.ID)
	if err != nil {
		t.Fatalf("ListMethods: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("ListMethods(alice) = %v, want [email totp]", methodIDs(got))
	}
	checkMethod(t, got[0], email)
	checkMethod(t, got[1], totp)
	if got, err := s.ListMethods(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Fatalf("ListMethods(nobody) = %v, %v; want none", methodIDs(got), err)
	}

	// A locked read, an update of every writable field, read back.
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		m, err := tx.MethodForUpdate(ctx, alice.ID, totp.ID)
		if err != nil {
			return fmt.Errorf("MethodForUpdate: %w", err)
		}
		checkMethod(t, m, totp)
		later := base.Add(2 * time.Minute)
		m.LastStep++
		m.LastUsed = &later
		m.Secret = []byte("new secret")
		m.Address = "ignored-by-totp"
		m.Created = base.Add(time.Hour) // not written
		if err := tx.UpdateMethod(ctx, m); err != nil {
			return fmt.Errorf("UpdateMethod: %w", err)
		}
		totp.LastStep, totp.LastUsed, totp.Secret, totp.Address = m.LastStep, m.LastUsed, m.Secret, m.Address
		return nil
	})
	got, err = s.ListMethods(ctx, alice.ID)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListMethods after update: %d, %v", len(got), err)
	}
	checkMethod(t, got[1], totp)

	// Not found: another user's method, a missing one, a missing user.
	cases := []struct {
		name string
		call func(ctx context.Context, tx portier.Tx) error
		code string
	}{
		{"MethodForUpdate of another user", func(ctx context.Context, tx portier.Tx) error {
			_, err := tx.MethodForUpdate(ctx, bob.ID, totp.ID)
			return err
		}, portier.ENotFound},
		{"MethodForUpdate missing", func(ctx context.Context, tx portier.Tx) error {
			_, err := tx.MethodForUpdate(ctx, alice.ID, "missing")
			return err
		}, portier.ENotFound},
		{"UpdateMethod missing", func(ctx context.Context, tx portier.Tx) error {
			return tx.UpdateMethod(ctx, &portier.AuthMethod{ID: "missing", UserID: alice.ID, Kind: portier.MethodEmail})
		}, portier.ENotFound},
		{"DeleteMethod of another user", func(ctx context.Context, tx portier.Tx) error {
			return tx.DeleteMethod(ctx, bob.ID, email.ID)
		}, portier.ENotFound},
		{"DeleteMethod missing", func(ctx context.Context, tx portier.Tx) error {
			return tx.DeleteMethod(ctx, alice.ID, "missing")
		}, portier.ENotFound},
		{"InsertMethod of a missing user", func(ctx context.Context, tx portier.Tx) error {
			return tx.InsertMethod(ctx, &portier.AuthMethod{ID: portier.NewID(), UserID: "missing", Kind: portier.MethodEmail, Created: base})
		}, portier.ENotFound},
		{"InsertMethod with a taken id", func(ctx context.Context, tx portier.Tx) error {
			return tx.InsertMethod(ctx, &portier.AuthMethod{ID: email.ID, UserID: alice.ID, Kind: portier.MethodEmail, Created: base})
		}, portier.EConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.name, txErr(t, s, tc.call), tc.code)
		})
	}

	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteMethod(ctx, alice.ID, email.ID) })
	if got, err := s.ListMethods(ctx, alice.ID); err != nil || !slices.Equal(methodIDs(got), []string{totp.ID}) {
		t.Fatalf("ListMethods after delete = %v, %v; want only the totp method", methodIDs(got), err)
	}
	if got, err := s.ListMethods(ctx, bob.ID); err != nil || len(got) != 1 {
		t.Fatalf("ListMethods(bob) = %v, %v; want his one method untouched", methodIDs(got), err)
	}
}

// testConcurrentMethodUpdates: transactions stepping a TOTP method's LastStep at once lose
// no step, so a code can never be accepted twice.
func testConcurrentMethodUpdates(t *testing.T, s portier.Store) {
	ctx := t.Context()
	u := newTestUser(1)
	insertUsers(t, s, u)
	m := &portier.AuthMethod{ID: portier.NewID(), UserID: u.ID, Kind: portier.MethodTOTP, Secret: []byte("k"), Created: base}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.InsertMethod(ctx, m) })
	const n = 40
	runParallel(t, n, func(int) error {
		return s.Tx(ctx, func(tx portier.Tx) error {
			got, err := tx.MethodForUpdate(ctx, u.ID, m.ID)
			if err != nil {
				return err
			}
			got.LastStep++
			return tx.UpdateMethod(ctx, got)
		})
	})
	got, err := s.ListMethods(ctx, u.ID)
	if err != nil || len(got) != 1 {
		t.Fatalf("ListMethods: %d, %v", len(got), err)
	}
	if got[0].LastStep != n {
		t.Fatalf("LastStep after %d increments = %d (an update was lost)", n, got[0].LastStep)
	}
}

// checkToken compares every stored field of a token; nil and empty Data are the same.
func checkToken(t testing.TB, got, want *portier.Token) {
	t.Helper()
	if got == nil {
		t.Fatalf("token %s/%s: got nil", want.Kind, want.ID)
	}
	if got.Kind != want.Kind || got.ID != want.ID || got.UserID != want.UserID || got.AppID != want.AppID ||
		got.Family != want.Family || !bytes.Equal(got.Data, want.Data) ||
		!sameTime(got.Created, want.Created) || !sameTime(got.Expires, want.Expires) {
		t.Fatalf("token:\n got  %+v\n want %+v", *got, *want)
	}
}

func tokenIDs(ts []*portier.Token) []string {
	return idsOf(ts, func(tk *portier.Token) string { return tk.ID })
}

func insertTokens(t testing.TB, s portier.Store, tokens ...*portier.Token) {
	t.Helper()
	insertEach(t, s, tokens, func(tk *portier.Token) string { return "token " + tk.Kind + "/" + tk.ID }, portier.Tx.InsertToken)
}

func testTokens(t *testing.T, s portier.Store) {
	ctx := t.Context()
	full := &portier.Token{Kind: portier.TokenRefresh, ID: "a1b2c3", UserID: "user-1", AppID: "app-1", Family: "fam-1",
		Data: []byte(`{"scope":"openid"}`), Created: base, Expires: base.Add(30 * 24 * time.Hour)}
	// An authorization request before sign-in: no user, no family, no data.
	bare := &portier.Token{Kind: portier.TokenAuthRequest, ID: "req-1", AppID: "app-1", Created: base, Expires: base.Add(10 * time.Minute)}
	// The same id in another kind is another token.
	sameID := &portier.Token{Kind: portier.TokenCode, ID: full.ID, UserID: "user-2", Data: []byte("x"), Created: base, Expires: base.Add(time.Minute)}
	insertTokens(t, s, full, bare, sameID)
	for _, want := range []*portier.Token{full, bare, sameID} {
		got, err := s.Token(ctx, want.Kind, want.ID)
		if err != nil {
			t.Fatalf("Token %s/%s: %v", want.Kind, want.ID, err)
		}
		checkToken(t, got, want)
	}
	_, err := s.Token(ctx, portier.TokenAccess, full.ID)
	wantCode(t, "Token of a missing kind", err, portier.ENotFound)
	_, err = s.Token(ctx, portier.TokenRefresh, "missing")
	wantCode(t, "Token missing", err, portier.ENotFound)
	dup := *full
	dup.UserID = "someone-else"
	wantCode(t, "InsertToken taken", txErr(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.InsertToken(ctx, &dup) }), portier.EConflict)
	if got, err := s.Token(ctx, full.Kind, full.ID); err != nil || got.UserID != full.UserID {
		t.Fatalf("after a conflicting insert: %+v, %v; want the first token", got, err)
	}

	// Update every writable field; Created and the key stay.
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		got, err := tx.TokenForUpdate(ctx, bare.Kind, bare.ID)
		if err != nil {
			return fmt.Errorf("TokenForUpdate: %w", err)
		}
		checkToken(t, got, bare)
		got.UserID, got.Family, got.AppID, got.Data, got.Expires = "user-3", "fam-3", "app-3", []byte(`{"signedIn":true}`), base.Add(time.Hour)
		got.Created = base.Add(time.Hour)
		if err := tx.UpdateToken(ctx, got); err != nil {
			return fmt.Errorf("UpdateToken: %w", err)
		}
		bare.UserID, bare.Family, bare.AppID, bare.Data, bare.Expires = got.UserID, got.Family, got.AppID, got.Data, got.Expires
		return nil
	})
	got, err := s.Token(ctx, bare.Kind, bare.ID)
	if err != nil {
		t.Fatalf("Token after update: %v", err)
	}
	checkToken(t, got, bare)

	wantCode(t, "TokenForUpdate missing", txErr(t, s, func(ctx context.Context, tx portier.Tx) error {
		_, err := tx.TokenForUpdate(ctx, portier.TokenRefresh, "missing")
		return err
	}), portier.ENotFound)
	wantCode(t, "UpdateToken missing", txErr(t, s, func(ctx context.Context, tx portier.Tx) error {
		return tx.UpdateToken(ctx, &portier.Token{Kind: portier.TokenRefresh, ID: "missing", Created: base, Expires: base})
	}), portier.ENotFound)

	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		if err := tx.DeleteToken(ctx, full.Kind, full.ID); err != nil {
			return err
		}
		return tx.DeleteToken(ctx, full.Kind, full.ID) // gone: no error
	})
	_, err = s.Token(ctx, full.Kind, full.ID)
	wantCode(t, "Token after DeleteToken", err, portier.ENotFound)
	if _, err := s.Token(ctx, sameID.Kind, sameID.ID); err != nil {
		t.Fatalf("the same id of another kind after DeleteToken: %v", err)
	}
}

// testConcurrentTokenUpdates: transactions incrementing a counter in a token's Data at once
// lose no update (a refresh token's rotation, a recovery's attempt count).
func testConcurrentTokenUpdates(t *testing.T, s portier.Store) {
	ctx := t.Context()
	type counter struct{ N int }
	tk := &portier.Token{Kind: portier.TokenRecovery, ID: "recovery-1", Data: []byte(`{"N":0}`), Created: base, Expires: base.Add(time.Hour)}
	insertTokens(t, s, tk)
	const n = 40
	runParallel(t, n, func(int) error {
		return s.Tx(ctx, func(tx portier.Tx) error {
			got, err := tx.TokenForUpdate(ctx, tk.Kind, tk.ID)
			if err != nil {
				return err
			}
			var c counter
			if err := json.Unmarshal(got.Data, &c); err != nil {
				return err
			}
			c.N++
			if got.Data, err = json.Marshal(c); err != nil {
				return err
			}
			return tx.UpdateToken(ctx, got)
		})
	})
	got, err := s.Token(ctx, tk.Kind, tk.ID)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	var c counter
	if err := json.Unmarshal(got.Data, &c); err != nil || c.N != n {
		t.Fatalf("counter after %d increments = %d, %v (an update was lost)", n, c.N, err)
	}
}

// tokenSet is a set of tokens that each filter field selects differently.
func tokenSet() []*portier.Token {
	mk := func(kind, id, user, app, family string, minute int) *portier.Token {
		return &portier.Token{Kind: kind, ID: id, UserID: user, AppID: app, Family: family,
			Created: base.Add(time.Duration(minute) * time.Minute), Expires: base.Add(time.Hour)}
	}
	return []*portier.Token{
		mk(portier.TokenCode, "code-a", "alice", "app-1", "f1", 0),
		mk(portier.TokenRefresh, "refresh-a", "alice", "app-1", "f1", 1),
		mk(portier.TokenAccess, "access-a", "alice", "app-2", "f2", 2),
		mk(portier.TokenRecovery, "recovery-a", "alice", "", "", 3),
		mk(portier.TokenRefresh, "refresh-b", "bob", "app-1", "f3", 4),
		mk(portier.TokenAuthRequest, "request-x", "", "app-2", "", 5),
	}
}

var allTokenKinds = []string{portier.TokenEnroll, portier.TokenRecovery, portier.TokenReport, portier.TokenMail,
	portier.TokenAuthRequest, portier.TokenCode, portier.TokenAccess, portier.TokenRefresh}

func testDeleteTokens(t *testing.T, s portier.Store) {
	ctx := t.Context()
	cases := []struct {
		name string
		f    portier.TokenFilter
		gone []string
	}{
		{"kind", portier.TokenFilter{Kinds: []string{portier.TokenRefresh}}, []string{"refresh-a", "refresh-b"}},
		{"kinds", portier.TokenFilter{Kinds: []string{portier.TokenCode, portier.TokenAuthRequest}}, []string{"code-a", "request-x"}},
		{"user", portier.TokenFilter{UserID: "alice"}, []string{"code-a", "refresh-a", "access-a", "recovery-a"}},
		{"app", portier.TokenFilter{AppID: "app-1"}, []string{"code-a", "refresh-a", "refresh-b"}},
		{"family", portier.TokenFilter{Family: "f1"}, []string{"code-a", "refresh-a"}},
		{"user and app", portier.TokenFilter{UserID: "alice", AppID: "app-1"}, []string{"code-a", "refresh-a"}},
		{"user and kinds", portier.TokenFilter{UserID: "alice", Kinds: []string{portier.TokenRefresh, portier.TokenAccess}}, []string{"refresh-a", "access-a"}},
		{"limit ignored", portier.TokenFilter{UserID: "alice", Limit: 1}, []string{"code-a", "refresh-a", "access-a", "recovery-a"}},
		{"nothing", portier.TokenFilter{UserID: "carol"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := tokenSet()
			insertTokens(t, s, all...)
			var n int
			inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
				var err error
				n, err = tx.DeleteTokens(ctx, tc.f)
				return err
			})
			if n != len(tc.gone) {
				t.Fatalf("DeleteTokens %+v removed %d, want %d", tc.f, n, len(tc.gone))
			}
			left, err := s.ListTokens(ctx, portier.TokenFilter{Kinds: allTokenKinds})
			if err != nil {
				t.Fatalf("ListTokens: %v", err)
			}
			var want []string
			for _, tk := range all {
				if !slices.Contains(tc.gone, tk.ID) {
					want = append(want, tk.ID)
				}
			}
			if got := tokenIDs(left); !slices.Equal(got, want) {
				t.Fatalf("left after DeleteTokens %+v: %v, want %v", tc.f, got, want)
			}
			// Clear up for the next case.
			inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
				_, err := tx.DeleteTokens(ctx, portier.TokenFilter{Kinds: allTokenKinds})
				return err
			})
		})
	}

	// A filter without kinds, user, application or family must not remove every token.
	insertTokens(t, s, tokenSet()...)
	if err := txErr(t, s, func(ctx context.Context, tx portier.Tx) error {
		_, err := tx.DeleteTokens(ctx, portier.TokenFilter{})
		return err
	}); err == nil {
		t.Fatalf("DeleteTokens with an empty filter succeeded")
	}
	if left, err := s.ListTokens(ctx, portier.TokenFilter{Kinds: allTokenKinds}); err != nil || len(left) != len(tokenSet()) {
		t.Fatalf("after DeleteTokens with an empty filter: %d tokens, %v; want all %d", len(left), err, len(tokenSet()))
	}
}

func testListTokens(t *testing.T, s portier.Store) {
	ctx := t.Context()
	all := tokenSet()
	// Inserted newest first: ListTokens sorts by Created, not by insertion.
	rev := slices.Clone(all)
	slices.Reverse(rev)
	insertTokens(t, s, rev...)
	ids := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, all[i].ID)
		}
		return out
	}
	cases := []struct {
		name string
		f    portier.TokenFilter
		want []string
	}{
		{"kinds", portier.TokenFilter{Kinds: allTokenKinds}, ids(0, 1, 2, 3, 4, 5)},
		{"user", portier.TokenFilter{UserID: "alice"}, ids(0, 1, 2, 3)},
		{"app", portier.TokenFilter{AppID: "app-2"}, ids(2, 5)},
		{"family", portier.TokenFilter{Family: "f1"}, ids(0, 1)},
		{"kind and user", portier.TokenFilter{Kinds: []string{portier.TokenRefresh}, UserID: "bob"}, ids(4)},
		{"limit", portier.TokenFilter{Kinds: allTokenKinds, Limit: 2}, ids(0, 1)},
		{"none", portier.TokenFilter{Family: "none"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListTokens(ctx, tc.f)
			if err != nil {
				t.Fatalf("ListTokens: %v", err)
			}
			if !slices.Equal(tokenIDs(got), tc.want) {
				t.Fatalf("ListTokens %+v = %v, want %v", tc.f, tokenIDs(got), tc.want)
			}
			for _, tk := range got {
				checkToken(t, tk, all[slices.Index(tokenIDs(all), tk.ID)])
			}
		})
	}
	t.Run("default limit", func(t *testing.T) {
		var many []*portier.Token
		for i := range 105 {
			many = append(many, &portier.Token{Kind: portier.TokenMail, ID: fmt.Sprintf("mail-%03d", i),
				Created: base.Add(time.Duration(i) * time.Second), Expires: base.Add(time.Hour)})
		}
		insertTokens(t, s, many...)
		got, err := s.ListTokens(ctx, portier.TokenFilter{Kinds: []string{portier.TokenMail}})
		if err != nil {
			t.Fatalf("ListTokens: %v", err)
		}
		if len(got) != 100 || got[0].ID != "mail-000" || got[99].ID != "mail-099" {
			t.Fatalf("ListTokens without a limit: %d tokens, want the oldest 100", len(got))
		}
	})
}

func testPruneTokens(t *testing.T, s portier.Store) {
	ctx := t.Context()
	mk := func(id string, expires time.Time) *portier.Token {
		return &portier.Token{Kind: portier.TokenCode, ID: id, Created: base.Add(-time.Hour), Expires: expires}
	}
	insertTokens(t, s,
		mk("expired", base.Add(-time.Second)),
		mk("long-expired", base.Add(-time.Hour)),
		mk("expires-now", base),
		mk("live", base.Add(time.Minute)))
	var n int
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		n, err = tx.PruneTokens(ctx, base)
		return err
	})
	if n != 2 {
		t.Fatalf("PruneTokens removed %d, want 2", n)
	}
	left, err := s.ListTokens(ctx, portier.TokenFilter{Kinds: []string{portier.TokenCode}})
	if err != nil || !slices.Equal(tokenIDs(left), []string{"expires-now", "live"}) {
		t.Fatalf("after PruneTokens: %v, %v; want expires-now and live", tokenIDs(left), err)
	}
	// An expired token can still be read until it is pruned.
	insertTokens(t, s, mk("expired-again", base.Add(-time.Minute)))
	if _, err := s.Token(ctx, portier.TokenCode, "expired-again"); err != nil {
		t.Fatalf("Token of an expired token: %v", err)
	}
}

// testDeleteUserSecurity: deleting a user removes its methods, tokens and app assignments,
// and nothing of another user's.
func testDeleteUserSecurity(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := newTestUser(1), newTestUser(2)
	insertUsers(t, s, alice, bob)
	app := newTestApp("app-1", "App")
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		if err := tx.InsertApp(ctx, app); err != nil {
			return err
		}
		for _, u := range []*portier.User{alice, bob} {
			if err := tx.InsertMethod(ctx, &portier.AuthMethod{ID: portier.NewID(), UserID: u.ID, Kind: portier.MethodEmail, Address: "x@example.net", Created: base}); err != nil {
				return err
			}
			for _, kind := range []string{portier.TokenRefresh, portier.TokenRecovery} {
				if err := tx.InsertToken(ctx, &portier.Token{Kind: kind, ID: u.ID, UserID: u.ID, AppID: app.ID, Created: base, Expires: base.Add(time.Hour)}); err != nil {
					return err
				}
			}
			if err := tx.SetAppAssigned(ctx, app.ID, u.ID, true); err != nil {
				return err
			}
		}
		return nil
	})
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteUser(ctx, alice.ID) })
	for _, c := range []struct {
		u    *portier.User
		want int
	}{{alice, 0}, {bob, 1}} {
		ms, err := s.ListMethods(ctx, c.u.ID)
		if err != nil || len(ms) != c.want {
			t.Fatalf("%s: %d methods, %v; want %d", c.u.UPN, len(ms), err, c.want)
		}
		ts, err := s.ListTokens(ctx, portier.TokenFilter{UserID: c.u.ID})
		if err != nil || len(ts) != 2*c.want {
			t.Fatalf("%s: %d tokens, %v; want %d", c.u.UPN, len(ts), err, 2*c.want)
		}
		assigned, err := s.AppAssigned(ctx, app.ID, c.u.ID)
		if err != nil || assigned != (c.want == 1) {
			t.Fatalf("%s: assigned %v, %v; want %v", c.u.UPN, assigned, err, c.want == 1)
		}
	}
	if ids, err := s.ListAppUsers(ctx, app.ID); err != nil || !slices.Equal(ids, []string{bob.ID}) {
		t.Fatalf("ListAppUsers after DeleteUser = %v, %v; want only bob", ids, err)
	}
}

// testFlagSignIns: only the user's failed entries inside the range (both ends included) are
// flagged; a second call flags none anew.
func testFlagSignIns(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := portier.NewID(), portier.NewID()
	mk := func(user string, minute int, code int) *portier.SignIn {
		return &portier.SignIn{Time: base.Add(time.Duration(minute) * time.Minute), Username: "u@example.org", UserID: user,
			Source: "192.0.2.1", Code: code, Process: "p1"}
	}
	entries := []*portier.SignIn{
		mk(alice, -1, portier.CodeInvalidCredentials), // 0: before the range
		mk(alice, 0, portier.CodeInvalidCredentials),  // 1: at since
		mk(alice, 1, portier.CodeSuccess),             // 2: a success
		mk(alice, 2, portier.CodeLocked),              // 3
		mk(bob, 2, portier.CodeInvalidCredentials),    // 4: another user
		mk(alice, 3, portier.CodeInvalidCredentials),  // 5: at until
		mk(alice, 4, portier.CodeInvalidCredentials),  // 6: after the range
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.AppendSignIns(ctx, entries) })
	flag := func() int {
		var n int
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			var err error
			n, err = tx.FlagSignIns(ctx, alice, base, base.Add(3*time.Minute))
			return err
		})
		return n
	}
	if n := flag(); n != 3 {
		t.Fatalf("FlagSignIns flagged %d, want 3", n)
	}
	got, err := s.ListSignIns(ctx, portier.SignInFilter{})
	if err != nil || len(got) != len(entries) {
		t.Fatalf("ListSignIns: %d, %v", len(got), err)
	}
	for i, e := range entries {
		e.Reported = i == 1 || i == 3 || i == 5
		checkSignIn(t, got[len(entries)-1-i], e)
	}
	if n := flag(); n != 0 {
		t.Fatalf("FlagSignIns again flagged %d, want 0", n)
	}

	// Reported is written by AppendSignIns too.
	reported := mk(bob, 5, portier.CodeLocked)
	reported.Reported = true
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		return tx.AppendSignIns(ctx, []*portier.SignIn{reported})
	})
	got, err = s.ListSignIns(ctx, portier.SignInFilter{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListSignIns: %d, %v", len(got), err)
	}
	checkSignIn(t, got[0], reported)
}

func testDeleteSetting(t *testing.T, s portier.Store) {
	ctx := t.Context()
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		if err := tx.PutSetting(ctx, "gone", []byte("x")); err != nil {
			return err
		}
		return tx.PutSetting(ctx, "kept", []byte("y"))
	})
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		if err := tx.DeleteSetting(ctx, "gone"); err != nil {
			return err
		}
		return tx.DeleteSetting(ctx, "never-set") // no error
	})
	if v, err := s.Setting(ctx, "gone"); err != nil || v != nil {
		t.Fatalf("Setting after DeleteSetting = %q, %v; want nil", v, err)
	}
	if v, err := s.Setting(ctx, "kept"); err != nil || string(v) != "y" {
		t.Fatalf("other Setting = %q, %v; want y", v, err)
	}
	// Deleted, it can be inserted afresh.
	var stored bool
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		stored, err = tx.InsertSetting(ctx, "gone", []byte("z"))
		return err
	})
	if !stored {
		t.Fatalf("InsertSetting after DeleteSetting did not store")
	}
}
