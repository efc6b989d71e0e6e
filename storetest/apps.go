package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

// newTestApp returns a confidential application with every field set.
func newTestApp(id, name string) *portier.App {
	return &portier.App{
		ID:             id,
		Name:           name,
		SecretHash:     bytes.Repeat([]byte{0xab}, 32),
		RedirectURIs:   []string{"https://" + id + ".example.org/callback", "http://localhost:8080/cb"},
		PostLogoutURIs: []string{"https://" + id + ".example.org/"},
		AssignedOnly:   true,
		Created:        base,
		// A confidential client may also act on its own behalf, with application permissions.
		ClientCredentials: true,
		Permissions:       []string{"User.Read.All", "AuditLog.Read.All"},
	}
}

// checkApp compares every stored field of an application; nil and empty lists are the same,
// but a nil SecretHash (a public client) stays nil.
func checkApp(t testing.TB, got, want *portier.App) {
	t.Helper()
	if got == nil {
		t.Fatalf("app %s: got nil", want.ID)
	}
	if got.ID != want.ID || got.Name != want.Name || !bytes.Equal(got.SecretHash, want.SecretHash) ||
		(got.SecretHash == nil) != (want.SecretHash == nil) || got.Public != want.Public ||
		!slices.Equal(got.RedirectURIs, want.RedirectURIs) || !slices.Equal(got.PostLogoutURIs, want.PostLogoutURIs) ||
		got.AssignedOnly != want.AssignedOnly || !sameTime(got.Created, want.Created) ||
		got.ClientCredentials != want.ClientCredentials || !slices.Equal(got.Permissions, want.Permissions) {
		t.Fatalf("app:\n got  %+v\n want %+v", *got, *want)
	}
}

func appIDs(apps []*portier.App) []string {
	return idsOf(apps, func(a *portier.App) string { return a.ID })
}

func insertApps(t testing.TB, s portier.Store, apps ...*portier.App) {
	t.Helper()
	insertEach(t, s, apps, func(a *portier.App) string { return "app " + a.ID }, portier.Tx.InsertApp)
}

func testApps(t *testing.T, s portier.Store) {
	ctx := t.Context()
	wiki := newTestApp("wiki", "Wiki")
	// A public client: no secret, no logout URIs, open to everyone.
	spa := &portier.App{ID: "spa", Name: "Agenda", Public: true, RedirectURIs: []string{"https://agenda.example.org/"}, Created: base.Add(time.Minute)}
	mail := newTestApp("mail", "Mail")
	insertApps(t, s, wiki, spa, mail)
	for _, want := range []*portier.App{wiki, spa, mail} {
		got, err := s.App(ctx, want.ID)
		if err != nil {
			t.Fatalf("App %s: %v", want.ID, err)
		}
		checkApp(t, got, want)
	}
	list, err := s.ListApps(ctx)
	if err != nil {
		t.Fatalf("ListApps: %v", err)
	}
	if !slices.Equal(appIDs(list), []string{"spa", "mail", "wiki"}) {
		t.Fatalf("ListApps = %v, want ordered by name: spa (Agenda), mail, wiki", appIDs(list))
	}
	checkApp(t, list[0], spa)

	_, err = s.App(ctx, "missing")
	wantCode(t, "App missing", err, portier.ENotFound)
	taken := newTestApp("wiki", "Another wiki")
	wantCode(t, "InsertApp taken", txErr(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.InsertApp(ctx, taken) }), portier.EConflict)

	// Update every field but ID and Created: the wiki becomes a public client.
	changed := *wiki
	changed.Name = "Zwiki"
	changed.SecretHash = nil
	changed.Public = true
	changed.RedirectURIs = []string{"https://zwiki.example.org/cb"}
	changed.PostLogoutURIs = nil
	changed.AssignedOnly = false
	changed.ClientCredentials = false
	changed.Permissions = []string{"User.ReadWrite.All"}
	changed.Created = base.Add(time.Hour)
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.UpdateApp(ctx, &changed) })
	changed.Created = wiki.Created
	got, err := s.App(ctx, wiki.ID)
	if err != nil {
		t.Fatalf("App after update: %v", err)
	}
	checkApp(t, got, &changed)
	if list, err := s.ListApps(ctx); err != nil || !slices.Equal(appIDs(list), []string{"spa", "mail", "wiki"}) {
		t.Fatalf("ListApps after rename = %v, %v", appIDs(list), err)
	}
	missing := newTestApp("missing", "Missing")
	wantCode(t, "UpdateApp missing", txErr(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.UpdateApp(ctx, missing) }), portier.ENotFound)
	wantCode(t, "DeleteApp missing", txErr(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteApp(ctx, "missing") }), portier.ENotFound)

	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteApp(ctx, mail.ID) })
	_, err = s.App(ctx, mail.ID)
	wantCode(t, "App after DeleteApp", err, portier.ENotFound)
	if list, err := s.ListApps(ctx); err != nil || !slices.Equal(appIDs(list), []string{"spa", "wiki"}) {
		t.Fatalf("ListApps after DeleteApp = %v, %v", appIDs(list), err)
	}
}

func testAppAssignments(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice, bob := newTestUser(1), newTestUser(2)
	insertUsers(t, s, alice, bob)
	wiki, mail := newTestApp("wiki", "Wiki"), newTestApp("mail", "Mail")
	insertApps(t, s, wiki, mail)
	set := func(app, user string, assigned bool) {
		t.Helper()
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.SetAppAssigned(ctx, app, user, assigned) })
	}
	check := func(app string, want ...string) {
		t.Helper()
		ids, err := s.ListAppUsers(ctx, app)
		slices.Sort(ids)
		slices.Sort(want)
		if err != nil || !slices.Equal(ids, want) {
			t.Fatalf("ListAppUsers(%s) = %v, %v; want %v", app, ids, err, want)
		}
		for _, u := range []string{alice.ID, bob.ID} {
			assigned, err := s.AppAssigned(ctx, app, u)
			if err != nil || assigned != slices.Contains(want, u) {
				t.Fatalf("AppAssigned(%s, %s) = %v, %v; want %v", app, u, assigned, err, slices.Contains(want, u))
			}
		}
	}
	check(wiki.ID)
	set(wiki.ID, alice.ID, true)
	set(wiki.ID, alice.ID, true) // again: no error, still one assignment
	set(wiki.ID, bob.ID, true)
	set(mail.ID, bob.ID, true)
	check(wiki.ID, alice.ID, bob.ID)
	check(mail.ID, bob.ID)
	set(wiki.ID, alice.ID, false)
	set(wiki.ID, alice.ID, false) // again: no error
	check(wiki.ID, bob.ID)
	check(mail.ID, bob.ID)
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		assigned, err := tx.AppAssigned(ctx, mail.ID, bob.ID)
		if err != nil || !assigned {
			return fmt.Errorf("Tx.AppAssigned = %v, %v; want true", assigned, err)
		}
		return nil
	})

	// Assigning a missing user, or to a missing application, is ENotFound and adds nothing.
	wantCode(t, "SetAppAssigned of a missing user", txErr(t, s, func(ctx context.Context, tx portier.Tx) error {
		return tx.SetAppAssigned(ctx, wiki.ID, "missing", true)
	}), portier.ENotFound)
	wantCode(t, "SetAppAssigned to a missing app", txErr(t, s, func(ctx context.Context, tx portier.Tx) error {
		return tx.SetAppAssigned(ctx, "missing", alice.ID, true)
	}), portier.ENotFound)
	if ids, err := s.ListAppUsers(ctx, "missing"); err != nil || len(ids) != 0 {
		t.Fatalf("ListAppUsers(missing) = %v, %v; want none", ids, err)
	}
}

// testDeleteAppCascade: deleting an application removes its assignments and tokens, and
// nothing of another application's nor any user.
func testDeleteAppCascade(t *testing.T, s portier.Store) {
	ctx := t.Context()
	alice := newTestUser(1)
	insertUsers(t, s, alice)
	wiki, mail := newTestApp("wiki", "Wiki"), newTestApp("mail", "Mail")
	insertApps(t, s, wiki, mail)
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		for _, a := range []*portier.App{wiki, mail} {
			if err := tx.SetAppAssigned(ctx, a.ID, alice.ID, true); err != nil {
				return err
			}
			for _, kind := range []string{portier.TokenRefresh, portier.TokenAccess, portier.TokenAuthRequest} {
				if err := tx.InsertToken(ctx, &portier.Token{Kind: kind, ID: a.ID + "-" + kind, UserID: alice.ID, AppID: a.ID,
					Created: base, Expires: base.Add(time.Hour)}); err != nil {
					return err
				}
			}
		}
		// A token of the user without an application stays too.
		return tx.InsertToken(ctx, &portier.Token{Kind: portier.TokenRecovery, ID: "r", UserID: alice.ID, Created: base, Expires: base.Add(time.Hour)})
	})
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteApp(ctx, wiki.ID) })
	if assigned, err := s.AppAssigned(ctx, wiki.ID, alice.ID); err != nil || assigned {
		t.Fatalf("AppAssigned to the deleted app = %v, %v; want false", assigned, err)
	}
	if ids, err := s.ListAppUsers(ctx, wiki.ID); err != nil || len(ids) != 0 {
		t.Fatalf("ListAppUsers of the deleted app = %v, %v; want none", ids, err)
	}
	if ts, err := s.ListTokens(ctx, portier.TokenFilter{AppID: wiki.ID}); err != nil || len(ts) != 0 {
		t.Fatalf("tokens of the deleted app: %v, %v; want none", tokenIDs(ts), err)
	}
	if ts, err := s.ListTokens(ctx, portier.TokenFilter{UserID: alice.ID}); err != nil || len(ts) != 4 {
		t.Fatalf("tokens of the user: %v, %v; want the other app's 3 and the recovery", tokenIDs(ts), err)
	}
	if assigned, err := s.AppAssigned(ctx, mail.ID, alice.ID); err != nil || !assigned {
		t.Fatalf("AppAssigned to the other app = %v, %v; want true", assigned, err)
	}
	if _, err := s.UserByID(ctx, alice.ID); err != nil {
		t.Fatalf("the user after DeleteApp: %v", err)
	}
	// The id is free again, and the new application starts with no assignment.
	insertApps(t, s, newTestApp("wiki", "Wiki again"))
	if assigned, err := s.AppAssigned(ctx, wiki.ID, alice.ID); err != nil || assigned {
		t.Fatalf("AppAssigned to the recreated app = %v, %v; want false", assigned, err)
	}
}

func checkSigningKey(t testing.TB, got, want *portier.SigningKey) {
	t.Helper()
	if got.ID != want.ID || got.Algorithm != want.Algorithm || !bytes.Equal(got.Private, want.Private) ||
		!sameTime(got.Created, want.Created) || !sameTime(got.NotBefore, want.NotBefore) || !sameTime(got.Expires, want.Expires) {
		t.Fatalf("signing key:\n got  %+v\n want %+v", *got, *want)
	}
}

func testSigningKeys(t *testing.T, s portier.Store) {
	ctx := t.Context()
	if keys, err := s.ListSigningKeys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("ListSigningKeys of a new store: %d, %v", len(keys), err)
	}
	mk := func(id string, notBefore, expires time.Time) *portier.SigningKey {
		return &portier.SigningKey{ID: id, Algorithm: "RS256", Private: []byte("der-" + id),
			Created: notBefore.Add(-24 * time.Hour), NotBefore: notBefore, Expires: expires}
	}
	old := mk("old", base.Add(-60*24*time.Hour), base.Add(-time.Second))
	current := mk("current", base.Add(-30*24*time.Hour), base)
	next := mk("next", base.Add(24*time.Hour), base.Add(90*24*time.Hour))
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		for _, k := range []*portier.SigningKey{current, next, old} {
			if err := tx.InsertSigningKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	keys, err := s.ListSigningKeys(ctx)
	if err != nil || len(keys) != 3 {
		t.Fatalf("ListSigningKeys: %d, %v", len(keys), err)
	}
	for i, want := range []*portier.SigningKey{next, current, old} {
		checkSigningKey(t, keys[i], want)
	}
	wantCode(t, "InsertSigningKey taken", txErr(t, s, func(ctx context.Context, tx portier.Tx) error {
		return tx.InsertSigningKey(ctx, mk("current", base, base.Add(time.Hour)))
	}), portier.EConflict)

	var n int
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		var err error
		n, err = tx.DeleteSigningKeys(ctx, base)
		return err
	})
	if n != 1 {
		t.Fatalf("DeleteSigningKeys removed %d, want 1 (the key that expired before now)", n)
	}
	keys, err = s.ListSigningKeys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("ListSigningKeys after delete: %d, %v", len(keys), err)
	}
	checkSigningKey(t, keys[0], next)
	checkSigningKey(t, keys[1], current)
}
