package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/oidc"
)

// forEach runs fn once per backend with a fresh server over a fresh store.
func forEach(t *testing.T, fn func(t *testing.T, inst *instance, clock *testenv.Clock)) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		fn(t, newInstance(t, store, clock, testKeys), clock)
	})
}

type claims struct {
	Sub               string   `json:"sub"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Email             string   `json:"email"`
	Roles             []string `json:"roles"`
}

func TestCodeFlowWithPKCE(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		u := createUser(t, inst.dir, "ann@example.org", portier.RoleHelpdeskAdmin)
		app := newRP(t, inst, directory.AppInput{})
		b := newBrowser(t, inst.srv.URL)

		a := app.authURL()
		out := b.authorize(a.url, redirectConfidential, "ann@example.org", goodPassword)
		if out.Callback == nil {
			t.Fatalf("no authorization response: %d %s", out.Status, out.Body)
		}
		if out.Logins != 1 || !out.Continued {
			t.Fatalf("logins %d, continued %v: want one sign-in, then a fresh navigation out of the form's redirects", out.Logins, out.Continued)
		}
		tok, id, err := app.exchange(a, out.Callback)
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		var c claims
		if err := id.Claims(&c); err != nil {
			t.Fatal(err)
		}
		want := claims{Sub: u.ID, Name: "Test ann@example.org", PreferredUsername: "ann@example.org", Email: "ann@example.org", Roles: []string{"helpdesk-admin"}}
		if c.Sub != want.Sub || c.Name != want.Name || c.PreferredUsername != want.PreferredUsername || c.Email != want.Email || !slices.Equal(c.Roles, want.Roles) {
			t.Fatalf("ID token claims %+v, want %+v", c, want)
		}
		if id.Issuer != inst.srv.URL || !slices.Equal(id.Audience, []string{app.app.ID}) {
			t.Fatalf("iss %q aud %v", id.Issuer, id.Audience)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}
		if life := time.Until(tok.Expiry); life < 4*time.Minute || life > 5*time.Minute+10*time.Second {
			t.Fatalf("access token lives %v, want the default 5 minutes", life)
		}

		info, err := app.userinfo(tok.AccessToken)
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		var ic claims
		testenv.NoErr(t, info.Claims(&ic))
		if ic.Sub != u.ID || ic.PreferredUsername != "ann@example.org" || !slices.Equal(ic.Roles, want.Roles) {
			t.Fatalf("userinfo %+v", ic)
		}
		if in := app.introspect(tok.AccessToken); !active(in) || in["sub"] != u.ID || in["client_id"] != app.app.ID || in["username"] != "ann@example.org" {
			t.Fatalf("introspection %v, want active for ann", in)
		}

		// A second authorization in the same browser needs no second sign-in.
		a2 := app.authURL()
		out = b.authorize(a2.url, redirectConfidential, "", "")
		if out.Callback == nil || out.Continued {
			t.Fatalf("signed-in browser: %+v, want a straight redirect back", out)
		}
		if _, _, err := app.exchange(a2, out.Callback); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		createUser(t, inst.dir, "bob@example.org")
		app := newRP(t, inst, directory.AppInput{})
		tok := signIn(t, inst, app, "bob@example.org")

		next, err := app.refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
			t.Fatal("refresh did not rotate the refresh token")
		}
		raw, _ := next.Extra("id_token").(string)
		if _, err := app.verifier.Verify(context.Background(), raw); err != nil {
			t.Fatalf("ID token of the refresh: %v", err)
		}
		third, err := app.refresh(next.RefreshToken)
		if err != nil {
			t.Fatalf("second refresh: %v", err)
		}

		// The first refresh token again: reuse. The whole family ends, the newest tokens too.
		if _, err := app.refresh(tok.RefreshToken); !isGrantError(err) {
			t.Fatalf("reused refresh token: %v, want invalid_grant", err)
		}
		if _, err := app.refresh(third.RefreshToken); !isGrantError(err) {
			t.Fatalf("newest refresh token after reuse: %v, want invalid_grant", err)
		}
		if active(app.introspect(third.AccessToken)) {
			t.Fatal("access token of the family still active after reuse")
		}
	})
}

func isGrantError(err error) bool {
	var re *oauth2.RetrieveError
	if e, ok := err.(*oauth2.RetrieveError); ok {
		re = e
	}
	return re != nil && re.ErrorCode == "invalid_grant"
}

// signIn runs a whole authorization in a new browser and returns the tokens.
func signIn(t *testing.T, inst *instance, app *rp, upn string) *oauth2.Token {
	t.Helper()
	a := app.authURL()
	out := newBrowser(t, inst.srv.URL).authorize(a.url, app.conf.RedirectURL, upn, goodPassword)
	if out.Callback == nil {
		t.Fatalf("sign-in of %s: %d %s %s", upn, out.Status, out.Code, out.Body)
	}
	tok, _, err := app.exchange(a, out.Callback)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// TestAdminActionsEndTokens: block, reset, revoke and delete end refresh tokens and make
// introspection and userinfo say inactive at once, on every server sharing the database.
func TestAdminActionsEndTokens(t *testing.T) {
	actions := map[string]func(d *directory.Service, upn string) error{
		"block": func(d *directory.Service, upn string) error {
			return d.SetSignInStatus(context.Background(), cli, upn, false)
		},
		"reset": func(d *directory.Service, upn string) error {
			_, err := d.ResetPassword(context.Background(), cli, upn, directory.PasswordReset{Generate: true})
			return err
		},
		"revoke": func(d *directory.Service, upn string) error { return d.RevokeSessions(context.Background(), cli, upn) },
		"delete": func(d *directory.Service, upn string) error { return d.DeleteUser(context.Background(), cli, upn) },
	}
	for _, backend := range testenv.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			open := backend.OpenShared(t)
			clock := testenv.NewClock()
			a, b := newInstance(t, open(), clock, testKeys), newInstance(t, open(), clock, testKeys)
			app := newRP(t, a, directory.AppInput{})
			for name, act := range actions {
				upn := name + "@example.org"
				createUser(t, a.dir, upn)
				tok := signIn(t, a, app, upn)
				if !active(app.introspect(tok.AccessToken)) {
					t.Fatal("fresh access token inactive")
				}
				clock.Advance(time.Second)
				// The action is taken on the other server.
				if err := act(b.dir, upn); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if in := app.introspect(tok.AccessToken); active(in) {
					t.Fatalf("%s: introspection on the first server still active: %v", name, in)
				}
				if _, err := app.userinfo(tok.AccessToken); err == nil {
					t.Fatalf("%s: userinfo still answers", name)
				}
				if _, err := app.refresh(tok.RefreshToken); !isGrantError(err) {
					t.Fatalf("%s: refresh: %v, want invalid_grant", name, err)
				}
			}
		})
	}
}

// TestSessionsValidFromChecked: even a token row that survived (written by a process that
// raced the block) is refused once the user's sessions were revoked after its sign-in.
func TestSessionsValidFromChecked(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		createUser(t, inst.dir, "carl@example.org")
		app := newRP(t, inst, directory.AppInput{})
		tok := signIn(t, inst, app, "carl@example.org")
		clock.Advance(time.Second)
		ctx := context.Background()
		u := testenv.Must(inst.dir.User(ctx, "carl@example.org"))(t)
		// Move SessionsValidFrom without deleting the tokens, as a raced write would leave them.
		err := inst.store.Tx(ctx, func(tx portier.Tx) error {
			locked, err := tx.UserForUpdate(ctx, u.ID)
			if err != nil {
				return err
			}
			locked.SessionsValidFrom = clock.Now()
			return tx.UpdateUser(ctx, locked)
		})
		if err != nil {
			t.Fatal(err)
		}
		if active(app.introspect(tok.AccessToken)) {
			t.Fatal("introspection active for a token older than SessionsValidFrom")
		}
		if _, err := app.refresh(tok.RefreshToken); !isGrantError(err) {
			t.Fatalf("refresh: %v, want invalid_grant", err)
		}
	})
}

func TestPromptAndMaxAge(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		createUser(t, inst.dir, "dora@example.org")
		app := newRP(t, inst, directory.AppInput{})
		b := newBrowser(t, inst.srv.URL)

		// prompt=none without a session: login_required back to the application.
		a := app.authURL(oauth2.SetAuthURLParam("prompt", "none"))
		out := b.authorize(a.url, redirectConfidential, "dora@example.org", goodPassword)
		if out.Callback == nil || out.Callback.Query().Get("error") != "login_required" || out.Logins != 0 {
			t.Fatalf("prompt=none without session: %+v", out)
		}
		if q := out.Callback.Query(); q.Get("state") != a.state || q.Get("iss") != inst.srv.URL {
			t.Fatalf("error response %v lacks state or iss", q)
		}

		// Sign in once; prompt=none then succeeds without a form.
		signInBrowser(t, b, app, "dora@example.org")
		a = app.authURL(oauth2.SetAuthURLParam("prompt", "none"))
		out = b.authorize(a.url, redirectConfidential, "dora@example.org", goodPassword)
		if out.Callback == nil || out.Logins != 0 {
			t.Fatalf("prompt=none with session: %+v", out)
		}
		if _, _, err := app.exchange(a, out.Callback); err != nil {
			t.Fatal(err)
		}

		// prompt=login asks again even with a session.
		clock.Advance(time.Second)
		a = app.authURL(oauth2.SetAuthURLParam("prompt", "login"))
		out = b.authorize(a.url, redirectConfidential, "dora@example.org", goodPassword)
		if out.Callback == nil || out.Logins != 1 {
			t.Fatalf("prompt=login: %+v, want one sign-in", out)
		}
		_, id, err := app.exchange(a, out.Callback)
		if err != nil {
			t.Fatal(err)
		}
		signedInAt := authTime(t, id)

		// max_age: a sign-in 10 minutes old is too old for 60 s, fine for an hour.
		clock.Advance(10 * time.Minute)
		a = app.authURL(oauth2.SetAuthURLParam("max_age", "3600"))
		if out = b.authorize(a.url, redirectConfidential, "dora@example.org", goodPassword); out.Callback == nil || out.Logins != 0 {
			t.Fatalf("max_age=3600: %+v, want no sign-in", out)
		}
		_, id, err = app.exchange(a, out.Callback)
		testenv.NoErr(t, err)
		if authTime(t, id) != signedInAt {
			t.Fatalf("auth_time %v, want the sign-in's %v", authTime(t, id), signedInAt)
		}
		a = app.authURL(oauth2.SetAuthURLParam("max_age", "60"))
		if out = b.authorize(a.url, redirectConfidential, "dora@example.org", goodPassword); out.Callback == nil || out.Logins != 1 {
			t.Fatalf("max_age=60: %+v, want a sign-in", out)
		}
		_, id, err = app.exchange(a, out.Callback)
		testenv.NoErr(t, err)
		if authTime(t, id) <= signedInAt {
			t.Fatalf("auth_time %v not after the earlier sign-in %v", authTime(t, id), signedInAt)
		}
		// prompt=none with max_age too old: login_required.
		clock.Advance(10 * time.Minute)
		a = app.authURL(oauth2.SetAuthURLParam("max_age", "60"), oauth2.SetAuthURLParam("prompt", "none"))
		if out = b.authorize(a.url, redirectConfidential, "dora@example.org", goodPassword); out.Callback == nil || out.Callback.Query().Get("error") != "login_required" {
			t.Fatalf("prompt=none, max_age=60: %+v", out)
		}
	})
}

func authTime(t testing.TB, id *gooidc.IDToken) int64 {
	t.Helper()
	var c struct {
		AuthTime int64 `json:"auth_time"`
	}
	testenv.NoErr(t, id.Claims(&c))
	return c.AuthTime
}

func signInBrowser(t *testing.T, b *browser, app *rp, upn string) {
	t.Helper()
	a := app.authURL()
	out := b.authorize(a.url, app.conf.RedirectURL, upn, goodPassword)
	if out.Callback == nil {
		t.Fatalf("sign-in: %+v", out)
	}
	if _, _, err := app.exchange(a, out.Callback); err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		ctx := context.Background()
		createUser(t, inst.dir, "eve@example.org")
		app := newRP(t, inst, directory.AppInput{})
		public := newRP(t, inst, directory.AppInput{Name: "SPA", Public: true})

		t.Run("unregistered redirect URI", func(t *testing.T) {
			conf := *app.conf
			conf.RedirectURL = "https://evil.example.org/callback"
			u := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
			resp, _ := newBrowser(t, inst.srv.URL).do("GET", u, nil)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("unregistered redirect: %d to %q, want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
		})

		t.Run("public client without PKCE", func(t *testing.T) {
			u := public.conf.AuthCodeURL("s1")
			out := newBrowser(t, inst.srv.URL).authorize(u, redirectPublic, "eve@example.org", goodPassword)
			if out.Callback == nil || out.Callback.Query().Get("error") != "invalid_request" || out.Logins != 0 {
				t.Fatalf("public client without PKCE: %+v", out)
			}
			// And with plain PKCE.
			u = public.conf.AuthCodeURL("s2", oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123"), oauth2.SetAuthURLParam("code_challenge_method", "plain"))
			out = newBrowser(t, inst.srv.URL).authorize(u, redirectPublic, "eve@example.org", goodPassword)
			if out.Callback == nil || out.Callback.Query().Get("error") != "invalid_request" {
				t.Fatalf("public client with plain PKCE: %+v", out)
			}
			// With S256 it works, without a secret.
			tok := signIn(t, inst, public, "eve@example.org")
			if tok.RefreshToken == "" {
				t.Fatal("public client got no refresh token")
			}
			if _, err := public.refresh(tok.RefreshToken); err != nil {
				t.Fatalf("public refresh: %v", err)
			}
		})

		t.Run("wrong PKCE verifier", func(t *testing.T) {
			a := public.authURL()
			out := newBrowser(t, inst.srv.URL).authorize(a.url, redirectPublic, "eve@example.org", goodPassword)
			a.verifier = oauth2.GenerateVerifier()
			if _, _, err := public.exchange(a, out.Callback); err == nil {
				t.Fatal("exchange with the wrong verifier succeeded")
			}
		})

		t.Run("replayed code", func(t *testing.T) {
			a := app.authURL()
			out := newBrowser(t, inst.srv.URL).authorize(a.url, redirectConfidential, "eve@example.org", goodPassword)
			tok, _, err := app.exchange(a, out.Callback)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := app.exchange(a, out.Callback); !isGrantError(err) {
				t.Fatalf("replayed code: %v, want invalid_grant", err)
			}
			if active(app.introspect(tok.AccessToken)) {
				t.Fatal("access token issued from a replayed code still active")
			}
			if _, err := app.refresh(tok.RefreshToken); !isGrantError(err) {
				t.Fatalf("refresh token issued from a replayed code: %v", err)
			}
		})

		t.Run("wrong client secret", func(t *testing.T) {
			a := app.authURL()
			out := newBrowser(t, inst.srv.URL).authorize(a.url, redirectConfidential, "eve@example.org", goodPassword)
			wrong := *app
			conf := *app.conf
			conf.ClientSecret = directory.NewClientSecret()
			wrong.conf = &conf
			if _, _, err := wrong.exchange(a, out.Callback); err == nil {
				t.Fatal("exchange with a wrong secret succeeded")
			}
			// The code was not spent by the failed attempt.
			if _, _, err := app.exchange(a, out.Callback); err != nil {
				t.Fatalf("exchange with the right secret after a wrong one: %v", err)
			}
		})

		t.Run("blocked user", func(t *testing.T) {
			createUser(t, inst.dir, "blocked@example.org")
			b := newBrowser(t, inst.srv.URL)
			signInBrowser(t, b, app, "blocked@example.org")
			if err := inst.dir.SetSignInStatus(ctx, cli, "blocked@example.org", false); err != nil {
				t.Fatal(err)
			}
			a := app.authURL()
			out := b.authorize(a.url, redirectConfidential, "blocked@example.org", goodPassword)
			if out.Callback != nil || out.Code != "50057" {
				t.Fatalf("blocked user: %+v, want the sign-in form with 50057", out)
			}
		})

		t.Run("locked user", func(t *testing.T) {
			createUser(t, inst.dir, "locked@example.org")
			b := newBrowser(t, inst.srv.URL)
			st := testenv.Must(inst.dir.Settings(ctx))(t)
			for i := 0; i < st.Lockout.Threshold; i++ {
				b.authorize(app.authURL().url, redirectConfidential, "locked@example.org", "wrong password number "+string(rune('a'+i)))
			}
			out := b.authorize(app.authURL().url, redirectConfidential, "locked@example.org", goodPassword)
			if out.Callback != nil || out.Code != "50053" {
				t.Fatalf("locked user: %+v, want the sign-in form with 50053", out)
			}
		})

		t.Run("forced change then back", func(t *testing.T) {
			_, _, err := inst.dir.CreateUser(ctx, cli, directory.NewUser{UPN: "new@example.org", DisplayName: "New", Password: goodPassword, ForceChange: true})
			if err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t, inst.srv.URL)
			b.newPassword = "a brand new passphrase for new"
			a := app.authURL()
			out := b.authorize(a.url, redirectConfidential, "new@example.org", goodPassword)
			if out.Callback == nil || !out.Continued {
				t.Fatalf("forced change: %+v, want the application after the change", out)
			}
			if _, _, err := app.exchange(a, out.Callback); err != nil {
				t.Fatal(err)
			}
		})

		t.Run("unassigned user", func(t *testing.T) {
			only := newRP(t, inst, directory.AppInput{Name: "Payroll", AssignedOnly: true})
			createUser(t, inst.dir, "in@example.org")
			createUser(t, inst.dir, "out@example.org")
			if err := inst.dir.SetAppAssigned(ctx, cli, only.app.ID, "in@example.org", true); err != nil {
				t.Fatal(err)
			}
			out := newBrowser(t, inst.srv.URL).authorize(only.authURL().url, redirectConfidential, "out@example.org", goodPassword)
			if out.Callback != nil || out.Code != "50105" || out.Status != http.StatusForbidden || !strings.Contains(out.Body, "Payroll") {
				t.Fatalf("unassigned user: %+v, want the 50105 page", out)
			}
			tok := signIn(t, inst, only, "in@example.org")
			// Removing the assignment ends the user's tokens for the application.
			if err := inst.dir.SetAppAssigned(ctx, cli, only.app.ID, "in@example.org", false); err != nil {
				t.Fatal(err)
			}
			if _, err := only.refresh(tok.RefreshToken); !isGrantError(err) {
				t.Fatalf("refresh after unassignment: %v", err)
			}
			// An application made assigned-only later refuses the refresh of an unassigned user.
			open := newRP(t, inst, directory.AppInput{Name: "Wiki"})
			tok = signIn(t, inst, open, "out@example.org")
			in := directory.AppInput{Name: "Wiki", RedirectURIs: open.app.RedirectURIs, AssignedOnly: true}
			if _, err := inst.dir.UpdateApp(ctx, cli, open.app.ID, in); err != nil {
				t.Fatal(err)
			}
			if _, err := open.refresh(tok.RefreshToken); !isGrantError(err) {
				t.Fatalf("refresh after the app became assigned-only: %v", err)
			}
		})

		t.Run("callback from another browser", func(t *testing.T) {
			b, other := newBrowser(t, inst.srv.URL), newBrowser(t, inst.srv.URL)
			signInBrowser(t, b, app, "eve@example.org")
			signInBrowser(t, other, app, "eve@example.org")
			a := app.authURL()
			resp, _ := b.do("GET", a.url, nil)
			resp, _ = b.do("GET", resp.Header.Get("Location"), nil) // the continue step: signed in, so on to the callback
			callback := resp.Header.Get("Location")
			if !strings.HasPrefix(callback, oidc.PathCallback+"?id=") {
				t.Fatalf("continue sent the browser to %q", callback)
			}
			if resp, _ = other.do("GET", callback, nil); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("callback from another browser: %d, want 400", resp.StatusCode)
			}
			out := b.authorize(callback, redirectConfidential, "", "")
			if out.Callback == nil {
				t.Fatalf("callback from the browser that signed in: %+v", out)
			}
			if _, _, err := app.exchange(a, out.Callback); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestRevocationAndLogout(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		createUser(t, inst.dir, "fay@example.org")
		app := newRP(t, inst, directory.AppInput{PostLogoutURIs: []string{"https://app.example.org/bye"}})
		tok := signIn(t, inst, app, "fay@example.org")

		// RFC 7009: revoking the refresh token ends its grant, the access token with it.
		revoke := func(token string) int {
			req := testenv.Must(http.NewRequest("POST", inst.srv.URL+oidc.PathRevoke, strings.NewReader(url.Values{"token": {token}}.Encode())))(t)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(app.app.ID, app.secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := revoke(tok.RefreshToken); code != http.StatusOK {
			t.Fatalf("revocation: %d", code)
		}
		if active(app.introspect(tok.AccessToken)) {
			t.Fatal("access token active after its refresh token was revoked")
		}
		if _, err := app.refresh(tok.RefreshToken); !isGrantError(err) {
			t.Fatalf("revoked refresh token: %v", err)
		}
		if code := revoke("no-such-token"); code != http.StatusOK {
			t.Fatalf("revoking an unknown token: %d, want 200", code)
		}

		// RP-initiated logout with id_token_hint signs the browser out and goes back.
		b := newBrowser(t, inst.srv.URL)
		a := app.authURL()
		out := b.authorize(a.url, redirectConfidential, "fay@example.org", goodPassword)
		tok, _, err := app.exchange(a, out.Callback)
		if err != nil {
			t.Fatal(err)
		}
		hint, _ := tok.Extra("id_token").(string)
		q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example.org/bye"}, "state": {"xyz"}}
		resp, _ := b.do("GET", oidc.PathEndSession+"?"+q.Encode(), nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "https://app.example.org/bye?state=xyz" {
			t.Fatalf("logout: %d to %q", resp.StatusCode, loc)
		}
		if active(app.introspect(tok.AccessToken)) {
			t.Fatal("access token active after logout")
		}
		a = app.authURL()
		if out = b.authorize(a.url, redirectConfidential, "fay@example.org", goodPassword); out.Logins != 1 {
			t.Fatalf("after logout the browser is still signed in: %+v", out)
		}
		// An unregistered post_logout_redirect_uri is refused.
		q.Set("post_logout_redirect_uri", "https://evil.example.org/")
		if resp, _ = b.do("GET", oidc.PathEndSession+"?"+q.Encode(), nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("unregistered post-logout URI: %d, want 400", resp.StatusCode)
		}
	})
}

func TestDiscovery(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		resp, err := http.Get(inst.srv.URL + oidc.PathDiscovery)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var d map[string]any
		testenv.NoErr(t, json.NewDecoder(resp.Body).Decode(&d))
		checks := map[string]any{
			"issuer":                 inst.srv.URL,
			"authorization_endpoint": inst.srv.URL + oidc.PathAuthorize,
			"token_endpoint":         inst.srv.URL + oidc.PathToken,
			"userinfo_endpoint":      inst.srv.URL + oidc.PathUserinfo,
			"jwks_uri":               inst.srv.URL + oidc.PathKeys,
			"end_session_endpoint":   inst.srv.URL + oidc.PathEndSession,
			"revocation_endpoint":    inst.srv.URL + oidc.PathRevoke,
			"introspection_endpoint": inst.srv.URL + oidc.PathIntrospect,
			"authorization_response_iss_parameter_supported": true,
		}
		for k, v := range checks {
			if d[k] != v {
				t.Errorf("%s = %v, want %v", k, d[k], v)
			}
		}
		if _, ok := d["device_authorization_endpoint"]; ok {
			t.Error("discovery names a device endpoint Portier does not serve")
		}
		if m, _ := d["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
			t.Errorf("code_challenge_methods_supported = %v", m)
		}
	})
}

// TestKeyRotation moves an injected clock through a key's life: its successor is published
// before it signs, and it stays published until what it signed has expired.
func TestKeyRotation(t *testing.T) {
	for _, backend := range testenv.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			open := backend.OpenShared(t)
			clock := testenv.NewClock()
			policy := oidc.KeyPolicy{SignFor: time.Hour, PublishAhead: 10 * time.Minute, KeepAfter: 20 * time.Minute, Bits: 1024}
			// Two processes over one database sign and publish the same keys.
			a, b := newInstance(t, open(), clock, policy), newInstance(t, open(), clock, policy)
			createUser(t, a.dir, "gil@example.org")
			app := newRP(t, a, directory.AppInput{})
			appB := connectRP(t, b.srv.URL, app.app, app.secret)
			browserA, browserB := newBrowser(t, a.srv.URL), newBrowser(t, b.srv.URL)

			kidOf := func(inst *instance, r *rp, br *browser) string {
				t.Helper()
				a := r.authURL()
				out := br.authorize(a.url, redirectConfidential, "gil@example.org", goodPassword)
				if out.Callback == nil {
					t.Fatalf("no code: %+v", out)
				}
				tok, _, err := r.exchange(a, out.Callback)
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := tok.Extra("id_token").(string)
				header := testenv.Must(base64Decode(strings.Split(raw, ".")[0]))(t)
				var h struct {
					Kid string `json:"kid"`
				}
				testenv.NoErr(t, json.Unmarshal(header, &h))
				return h.Kid
			}
			jwks := func(inst *instance) []string {
				t.Helper()
				resp, err := http.Get(inst.srv.URL + oidc.PathKeys)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var set struct {
					Keys []struct {
						Kid string `json:"kid"`
					} `json:"keys"`
				}
				testenv.NoErr(t, json.NewDecoder(resp.Body).Decode(&set))
				var ids []string
				for _, k := range set.Keys {
					ids = append(ids, k.Kid)
				}
				slices.Sort(ids)
				return ids
			}

			first := kidOf(a, app, browserA)
			if got := jwks(a); !slices.Equal(got, []string{first}) {
				t.Fatalf("JWKS at start %v, want [%s]", got, first)
			}
			if got := kidOf(b, appB, browserB); got != first {
				t.Fatalf("the other process signs with %s, want %s", got, first)
			}

			// 55 minutes in: the successor is published, not yet signing, on both processes.
			clock.Advance(55 * time.Minute)
			pub := jwks(b)
			if len(pub) != 2 || !slices.Contains(pub, first) {
				t.Fatalf("JWKS 5 minutes before rotation %v, want the current key and its successor", pub)
			}
			if got := jwks(a); !slices.Equal(got, pub) {
				t.Fatalf("processes publish %v and %v", got, pub)
			}
			if got := kidOf(a, app, browserA); got != first {
				t.Fatalf("signing with %s before rotation, want %s", got, first)
			}
			second := pub[0]
			if second == first {
				second = pub[1]
			}

			// 65 minutes in: the successor signs everywhere; the old key is still published.
			clock.Advance(10 * time.Minute)
			if got := kidOf(a, app, browserA); got != second {
				t.Fatalf("signing with %s after rotation, want %s", got, second)
			}
			if got := kidOf(b, appB, browserB); got != second {
				t.Fatalf("the other process signs with %s after rotation, want %s", got, second)
			}
			if got := jwks(a); !slices.Contains(got, first) || !slices.Contains(got, second) {
				t.Fatalf("JWKS after rotation %v, want both keys", got)
			}

			// 85 minutes in: the old key has expired (ended signing + 20 minutes) and is gone.
			clock.Advance(20 * time.Minute)
			if got := jwks(a); slices.Contains(got, first) || !slices.Contains(got, second) {
				t.Fatalf("JWKS after the old key expired %v, want %s without %s", got, second, first)
			}
		})
	}
}

// TestVerifierFollowsRotation: a relying party with a cached JWKS verifies tokens of the new
// key, since go-oidc refetches the keys on an unknown kid and the key was published ahead.
func TestVerifierFollowsRotation(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		policy := oidc.KeyPolicy{SignFor: time.Hour, PublishAhead: 10 * time.Minute, KeepAfter: 20 * time.Minute, Bits: 1024}
		inst := newInstance(t, store, clock, policy)
		createUser(t, inst.dir, "hal@example.org")
		app := newRP(t, inst, directory.AppInput{})
		b := newBrowser(t, inst.srv.URL)
		signInBrowser(t, b, app, "hal@example.org")
		clock.Advance(61 * time.Minute)
		signInBrowser(t, b, app, "hal@example.org") // exchange verifies the ID token with app's verifier
	})
}

func base64Decode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(s)
}

// TestKeyCreationRace: processes starting together on an empty database agree on one key.
func TestKeyCreationRace(t *testing.T) {
	for _, backend := range testenv.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			open := backend.OpenShared(t)
			clock := testenv.NewClock()
			var insts []*instance
			for range 4 {
				insts = append(insts, newInstance(t, open(), clock, testKeys))
			}
			kids := make(chan string, len(insts))
			for _, inst := range insts {
				go func() {
					resp, err := http.Get(inst.srv.URL + oidc.PathKeys)
					if err != nil {
						kids <- err.Error()
						return
					}
					defer resp.Body.Close()
					var set struct {
						Keys []struct {
							Kid string `json:"kid"`
						} `json:"keys"`
					}
					if err := json.NewDecoder(resp.Body).Decode(&set); err != nil { // off the test's goroutine
						kids <- err.Error()
						return
					}
					var ids []string
					for _, k := range set.Keys {
						ids = append(ids, k.Kid)
					}
					kids <- strings.Join(ids, ",")
				}()
			}
			first := <-kids
			for range len(insts) - 1 {
				if got := <-kids; got != first || strings.Contains(first, ",") || first == "" {
					t.Fatalf("processes publish %q and %q, want one and the same key", first, got)
				}
			}
		})
	}
}
