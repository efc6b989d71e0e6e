package oidc_test

// Tests of what real relying parties (oauth2-proxy, Apache mod_auth_openidc, Authlib) found
// wrong in Portier's answers: issue 10, items 10 to 14.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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

// post sends a form to a Portier endpoint as the application (HTTP Basic with its secret).
func (r *rp) post(path string, form url.Values) (*http.Response, map[string]any) {
	r.t.Helper()
	req := testenv.Must(http.NewRequest("POST", r.issuer+path, strings.NewReader(form.Encode())))(r.t)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.app.ID), url.QueryEscape(r.secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil && !errors.Is(err, io.EOF) { // revocation answers with no body
		r.t.Fatalf("POST %s answered %d, not JSON: %v", path, resp.StatusCode, err)
	}
	return resp, out
}

// code runs an authorization in a new browser and returns the code of its response.
func (r *rp) code(inst *instance, upn string, opts ...oauth2.AuthCodeOption) (authRequest, string) {
	r.t.Helper()
	a := r.authURL(opts...)
	out := newBrowser(r.t, inst.srv.URL).authorize(a.url, r.conf.RedirectURL, upn, goodPassword)
	if out.Callback == nil || out.Callback.Query().Get("code") == "" {
		r.t.Fatalf("authorization of %s: %+v", upn, out)
	}
	return a, out.Callback.Query().Get("code")
}

// noStore reports what is wrong with the caching headers of a response that carries tokens
// or personal data (RFC 6749, section 5.1; OpenID Connect Core, section 5.3.2); "" if nothing.
func noStore(resp *http.Response) string {
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		return "Cache-Control " + cc + ", want no-store"
	}
	if p := resp.Header.Get("Pragma"); p != "no-cache" {
		return "Pragma " + p + ", want no-cache"
	}
	return ""
}

// TestTokenResponsesNotCached (item 10): every answer of the token endpoint, errors included,
// and the userinfo and introspection answers forbid caching.
func TestTokenResponsesNotCached(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		createUser(t, inst.dir, "nora@example.org")
		app := newRP(t, inst, directory.AppInput{})
		a, code := app.code(inst, "nora@example.org")
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectConfidential}, "code_verifier": {a.verifier}}

		// A wrong secret first: the code is not spent by it.
		wrong := *app
		wrong.secret = "not the secret"
		if resp, body := wrong.post(oidc.PathToken, exchange); resp.StatusCode != http.StatusUnauthorized || noStore(resp) != "" {
			t.Errorf("wrong secret: %d %v, %s", resp.StatusCode, body, noStore(resp))
		}
		resp, tok := app.post(oidc.PathToken, exchange)
		if resp.StatusCode != http.StatusOK || tok["access_token"] == nil {
			t.Fatalf("code exchange: %d %v", resp.StatusCode, tok)
		}
		if msg := noStore(resp); msg != "" {
			t.Errorf("code exchange: %s", msg)
		}
		resp, body := app.post(oidc.PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d %v", resp.StatusCode, body)
		}
		if msg := noStore(resp); msg != "" {
			t.Errorf("refresh: %s", msg)
		}
		resp, _ = app.post(oidc.PathIntrospect, url.Values{"token": {body["access_token"].(string)}})
		if msg := noStore(resp); resp.StatusCode != http.StatusOK || msg != "" {
			t.Errorf("introspection: %d %s", resp.StatusCode, msg)
		}
		resp = userinfo(t, inst, "Bearer "+body["access_token"].(string))
		if msg := noStore(resp); resp.StatusCode != http.StatusOK || msg != "" {
			t.Errorf("userinfo: %d %s", resp.StatusCode, msg)
		}

		// Errors (after the rest: the replay revokes the grant): the replayed code, an unknown grant type.
		for name, form := range map[string]url.Values{
			"replayed code":      exchange,
			"unknown grant type": {"grant_type": {"password"}, "username": {"nora@example.org"}, "password": {goodPassword}},
		} {
			resp, body := app.post(oidc.PathToken, form)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("%s: %d %v, want 400", name, resp.StatusCode, body)
			}
			if msg := noStore(resp); msg != "" {
				t.Errorf("%s: %s", name, msg)
			}
		}

	})
}

// userinfo asks the userinfo endpoint with the Authorization header auth ("" for none).
func userinfo(t *testing.T, inst *instance, auth string) *http.Response {
	t.Helper()
	req := testenv.Must(http.NewRequest("GET", inst.srv.URL+oidc.PathUserinfo, nil))(t)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestUserinfoBearerErrors (item 11): the userinfo endpoint answers as RFC 6750, section 3
// says: 401 with a Bearer challenge, and invalid_token for a token that is malformed,
// expired or revoked, so that a relying party knows to refresh or sign in again.
func TestUserinfoBearerErrors(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		ctx := context.Background()
		createUser(t, inst.dir, "otto@example.org")
		createUser(t, inst.dir, "pia@example.org")
		app := newRP(t, inst, directory.AppInput{})
		live := signIn(t, inst, app, "otto@example.org")
		if resp := userinfo(t, inst, "Bearer "+live.AccessToken); resp.StatusCode != http.StatusOK {
			t.Fatalf("live token: %d", resp.StatusCode)
		}
		// The same, as go-oidc asks.
		if _, err := app.userinfo(live.AccessToken); err != nil {
			t.Fatalf("go-oidc userinfo: %v", err)
		}

		challenge := func(name string, resp *http.Response, wantError string) {
			t.Helper()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
			}
			h := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(h, "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q, want a Bearer challenge", name, h)
			}
			if wantError == "" && strings.Contains(h, "error=") {
				t.Errorf("%s: WWW-Authenticate %q names an error for a request without a token", name, h)
			}
			if wantError != "" && !strings.Contains(h, `error="`+wantError+`"`) {
				t.Errorf("%s: WWW-Authenticate %q, want error=%q", name, h, wantError)
			}
			if msg := noStore(resp); msg != "" {
				t.Errorf("%s: %s", name, msg)
			}
		}
		challenge("no token", userinfo(t, inst, ""), "")
		challenge("another scheme", userinfo(t, inst, "Basic b3R0bzpwdw=="), "")
		challenge("malformed token", userinfo(t, inst, "Bearer not-a-token"), "invalid_token")

		// Revoked: the user is blocked.
		blocked := signIn(t, inst, app, "pia@example.org")
		if err := inst.dir.SetSignInStatus(ctx, cli, "pia@example.org", false); err != nil {
			t.Fatal(err)
		}
		challenge("blocked user", userinfo(t, inst, "Bearer "+blocked.AccessToken), "invalid_token")

		// Revoked: through the revocation endpoint.
		revoked := signIn(t, inst, app, "otto@example.org")
		if resp, _ := app.post(oidc.PathRevoke, url.Values{"token": {revoked.RefreshToken}}); resp.StatusCode != http.StatusOK {
			t.Fatalf("revocation: %d", resp.StatusCode)
		}
		challenge("revoked token", userinfo(t, inst, "Bearer "+revoked.AccessToken), "invalid_token")

		// Expired.
		st := testenv.Must(inst.dir.Settings(ctx))(t)
		clock.Advance(st.AccessTokenLifetime + time.Second)
		challenge("expired token", userinfo(t, inst, "Bearer "+live.AccessToken), "invalid_token")

		// A token in two places at once is a bad request (RFC 6750, section 2).
		fresh := signIn(t, inst, app, "otto@example.org")
		req := testenv.Must(http.NewRequest("POST", inst.srv.URL+oidc.PathUserinfo, strings.NewReader(url.Values{"access_token": {fresh.AccessToken}}.Encode())))(t)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+fresh.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if h := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(h, `error="invalid_request"`) {
			t.Errorf("token in header and body: %d %q, want 400 invalid_request", resp.StatusCode, h)
		}
		// In the body alone it is accepted (RFC 6750, section 2.2).
		req = testenv.Must(http.NewRequest("POST", inst.srv.URL+oidc.PathUserinfo, strings.NewReader(url.Values{"access_token": {fresh.AccessToken}}.Encode())))(t)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		var c claims
		err = json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || c.PreferredUsername != "otto@example.org" {
			t.Errorf("token in the body: %d %+v %v", resp.StatusCode, c, err)
		}
	})
}

// TestUnsupportedResponseType (item 12): the implicit and hybrid flows are answered
// unsupported_response_type at the application's registered redirect URI, with state and
// iss (RFC 9207), in the fragment where those flows expect their answer; iss is in every
// error redirect, in the fragment too.
func TestUnsupportedResponseType(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		createUser(t, inst.dir, "quinn@example.org")
		app := newRP(t, inst, directory.AppInput{})
		public := newRP(t, inst, directory.AppInput{Name: "SPA", Public: true})

		// params returns the authorization response's parameters: the query's, or the fragment's.
		params := func(u *url.URL) url.Values {
			if u.Fragment != "" {
				f, err := url.ParseQuery(u.EscapedFragment())
				if err != nil {
					t.Fatalf("fragment %q: %v", u.Fragment, err)
				}
				return f
			}
			return u.Query()
		}
		for _, c := range []struct {
			rp           *rp
			redirect     string
			responseType string
			fragment     bool
		}{
			{app, redirectConfidential, "token", true},
			{app, redirectConfidential, "id_token token", true},
			{app, redirectConfidential, "id_token", true},
			{app, redirectConfidential, "code id_token", true},
			{app, redirectConfidential, "none", false},
			{public, redirectPublic, "token", true},
		} {
			a := c.rp.authURL(oauth2.SetAuthURLParam("response_type", c.responseType))
			out := newBrowser(t, inst.srv.URL).authorize(a.url, c.redirect, "quinn@example.org", goodPassword)
			if out.Callback == nil {
				t.Errorf("response_type=%s: no redirect to the application: %d %s", c.responseType, out.Status, out.Body)
				continue
			}
			p := params(out.Callback)
			if p.Get("error") != "unsupported_response_type" || p.Get("state") != a.state || p.Get("iss") != inst.srv.URL || out.Logins != 0 {
				t.Errorf("response_type=%s: %s (logins %d), want unsupported_response_type with state and iss", c.responseType, out.Callback, out.Logins)
			}
			if (out.Callback.Fragment != "") != c.fragment {
				t.Errorf("response_type=%s: answered in %s, want the fragment: %v", c.responseType, out.Callback, c.fragment)
			}
		}

		// An unregistered redirect URI is never redirected to, whatever the response type.
		conf := *app.conf
		conf.RedirectURL = "https://evil.example.org/callback"
		u := conf.AuthCodeURL("s", oauth2.SetAuthURLParam("response_type", "token"))
		if resp, _ := newBrowser(t, inst.srv.URL).do("GET", u, nil); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("response_type=token to an unregistered redirect: %d to %q, want 400", resp.StatusCode, resp.Header.Get("Location"))
		}

		// An error answered in the fragment, because the application asked for it, carries iss.
		a := app.authURL(oauth2.SetAuthURLParam("response_mode", "fragment"))
		out := newBrowser(t, inst.srv.URL).authorize(a.url, redirectConfidential, "quinn@example.org", goodPassword)
		if out.Callback == nil {
			t.Fatalf("response_mode=fragment: %+v", out)
		}
		if p := params(out.Callback); p.Get("error") != "invalid_request" || p.Get("iss") != inst.srv.URL || p.Get("state") != a.state {
			t.Errorf("response_mode=fragment: %s, want invalid_request with state and iss", out.Callback)
		}
	})
}

// defaultScopes is what oauth2-proxy and mod_auth_openidc ask for unless told otherwise.
var defaultScopes = []string{gooidc.ScopeOpenID, "email", "profile"}

// TestRefreshWithoutOfflineAccess (item 13): a confidential application in the code flow gets
// a refresh token without offline_access, bound to the Portier session that signed in: it
// works while that session lives, keeps it alive while the application is used, and ends
// with it; a block ends it at the next refresh. offline_access still gives one that outlives
// the session; a public client gets none without offline_access.
func TestRefreshWithoutOfflineAccess(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		ctx := context.Background()
		createUser(t, inst.dir, "rita@example.org")
		proxy := newRP(t, inst, directory.AppInput{Name: "Proxy"})
		proxy.conf.Scopes = defaultScopes

		// signInAs signs in through b and returns the tokens.
		signInAs := func(b *browser, app *rp, upn string) *oauth2.Token {
			t.Helper()
			a := app.authURL()
			out := b.authorize(a.url, app.conf.RedirectURL, upn, goodPassword)
			if out.Callback == nil {
				t.Fatalf("sign-in: %+v", out)
			}
			tok, _, err := app.exchange(a, out.Callback)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}

		b := newBrowser(t, inst.srv.URL)
		tok := signInAs(b, proxy, "rita@example.org")
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for a confidential client with scope openid email profile")
		}
		if scope, _ := tok.Extra("scope").(string); strings.Contains(scope, "offline_access") {
			t.Errorf("token response scope %q claims offline_access, which was neither asked nor granted", scope)
		}

		// Used every half hour for longer than the session's idle limit, the refresh token keeps
		// working: the application's use is the user's activity.
		st := testenv.Must(inst.dir.Settings(ctx))(t)
		for elapsed := time.Duration(0); elapsed <= st.SessionIdle+time.Hour; elapsed += 30 * time.Minute {
			clock.Advance(30 * time.Minute)
			next, err := proxy.refresh(tok.RefreshToken)
			if err != nil {
				t.Fatalf("refresh after %v of use: %v", elapsed, err)
			}
			if next.RefreshToken == "" {
				t.Fatal("refresh gave no new refresh token")
			}
			tok = next
		}
		// And the browser is still signed in at Portier.
		if out := b.authorize(proxy.authURL().url, redirectConfidential, "", ""); out.Callback == nil {
			t.Fatalf("Portier session ended while the application was in use: %+v", out)
		}

		// Signing out of Portier ends the session, and the refresh token with it.
		resp, body := b.do("GET", "/logout", nil)
		m := csrfField.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("logout page: %d", resp.StatusCode)
		}
		if resp, _ = b.do("POST", "/logout", url.Values{"csrf_token": {m[1]}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if _, err := proxy.refresh(tok.RefreshToken); !isGrantError(err) {
			t.Fatalf("refresh after signing out of Portier: %v, want invalid_grant", err)
		}

		// An idle session ends its refresh tokens too.
		b = newBrowser(t, inst.srv.URL)
		tok = signInAs(b, proxy, "rita@example.org")
		clock.Advance(st.SessionIdle + time.Minute)
		if _, err := proxy.refresh(tok.RefreshToken); !isGrantError(err) {
			t.Fatalf("refresh after the session went idle: %v, want invalid_grant", err)
		}

		// A blocked user: the next refresh fails (what a proxy with --cookie-refresh=1m does).
		tok = signInAs(newBrowser(t, inst.srv.URL), proxy, "rita@example.org")
		clock.Advance(time.Minute)
		if _, err := proxy.refresh(tok.RefreshToken); err != nil {
			t.Fatalf("refresh before the block: %v", err)
		}
		tok = signInAs(newBrowser(t, inst.srv.URL), proxy, "rita@example.org")
		if err := inst.dir.SetSignInStatus(ctx, cli, "rita@example.org", false); err != nil {
			t.Fatal(err)
		}
		if _, err := proxy.refresh(tok.RefreshToken); !isGrantError(err) {
			t.Fatalf("refresh after the block: %v, want invalid_grant", err)
		}
		if err := inst.dir.SetSignInStatus(ctx, cli, "rita@example.org", true); err != nil {
			t.Fatal(err)
		}

		// offline_access: the refresh token outlives the session.
		offline := newRP(t, inst, directory.AppInput{Name: "Sync"})
		b = newBrowser(t, inst.srv.URL)
		clock.Advance(time.Second)
		tok = signInAs(b, offline, "rita@example.org")
		if scope, _ := tok.Extra("scope").(string); !strings.Contains(scope, "offline_access") {
			t.Errorf("offline_access grant: scope %q", scope)
		}
		_, body = b.do("GET", "/logout", nil)
		m = csrfField.FindStringSubmatch(body)
		b.do("POST", "/logout", url.Values{"csrf_token": {m[1]}})
		if _, err := offline.refresh(tok.RefreshToken); err != nil {
			t.Fatalf("offline_access refresh after signing out of Portier: %v", err)
		}

		// A public client gets none without offline_access.
		public := newRP(t, inst, directory.AppInput{Name: "SPA", Public: true})
		public.conf.Scopes = defaultScopes
		if tok = signInAs(newBrowser(t, inst.srv.URL), public, "rita@example.org"); tok.RefreshToken != "" {
			t.Error("a public client got a refresh token without offline_access")
		}
		if scope, _ := tok.Extra("scope").(string); !slices.Equal(strings.Fields(scope), defaultScopes) {
			t.Errorf("public client's scope %q, want %v", scope, defaultScopes)
		}
	})
}

// TestLoginHint (item 14): the login_hint of an authorization request fills in the user name
// of the sign-in form, escaped; a hint that is no user name is ignored.
func TestLoginHint(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		app := newRP(t, inst, directory.AppInput{})
		// form follows an authorization request with the hint to the sign-in form.
		form := func(hint string) string {
			t.Helper()
			b := newBrowser(t, inst.srv.URL)
			next := app.authURL(oauth2.SetAuthURLParam("login_hint", hint)).url
			for hops := 0; hops < 5; hops++ {
				resp, body := b.do("GET", next, nil)
				if resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/login" {
					return body
				}
				if resp.StatusCode == http.StatusBadRequest && !portier.IsPlainText(hint, false) {
					// A control character is refused at the edge as bad input, before any
					// handler reads the hint: it never reaches a page either.
					return `name="username" type="email" autocomplete="username" required autofocus value=""`
				}
				if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("hint %q: %d at %s", hint, resp.StatusCode, resp.Request.URL)
				}
				next = resp.Request.URL.ResolveReference(mustParse(t, resp.Header.Get("Location"))).String()
			}
			t.Fatalf("hint %q: no sign-in form", hint)
			return ""
		}
		if body := form("Sam@Example.org"); !strings.Contains(body, `value="sam@example.org"`) {
			t.Errorf("the hint does not fill in the user name")
		}
		// A user name may hold characters that HTML does not take as they are: escaped.
		if body := form("o'brien&co@example.org"); !strings.Contains(body, `value="o&#39;brien&amp;co@example.org"`) {
			t.Errorf("the hint o'brien&co@example.org is not filled in escaped")
		}
		for _, hint := range []string{
			`x"><script>alert(1)</script>@example.org`,
			"sam@example.org\x00",
			"sam@example.org\r\nSet-Cookie: a=b",
			strings.Repeat("a", 200) + "@example.org",
			"not a user name",
		} {
			body := form(hint)
			if strings.Contains(body, "<script>alert") {
				t.Errorf("hint %q reached the page unescaped", hint)
			}
			if !strings.Contains(body, `name="username" type="email" autocomplete="username" required autofocus value=""`) {
				t.Errorf("hint %q was not ignored", hint)
			}
		}
		// A direct link to /login with a hint fills it in too; nothing else changes.
		resp, body := newBrowser(t, inst.srv.URL).do("GET", "/login?login_hint="+url.QueryEscape("tom@example.org"), nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="tom@example.org"`) {
			t.Errorf("/login?login_hint=: %d", resp.StatusCode)
		}
	})
}

// TestCORSOnOwnEndpoints: the code exchange and userinfo, which Portier answers itself rather
// than through op's router, keep the CORS rules of the other endpoints, so that a browser
// application (a public client) can still call them; the preflight is answered too.
func TestCORSOnOwnEndpoints(t *testing.T) {
	forEach(t, func(t *testing.T, inst *instance, clock *testenv.Clock) {
		createUser(t, inst.dir, "uma@example.org")
		spa := newRP(t, inst, directory.AppInput{Name: "SPA", Public: true})
		const origin = "https://spa.example.org"
		a, code := spa.code(inst, "uma@example.org")

		pre := testenv.Must(http.NewRequest("OPTIONS", inst.srv.URL+oidc.PathToken, nil))(t)
		pre.Header.Set("Origin", origin)
		pre.Header.Set("Access-Control-Request-Method", "POST")
		pre.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(pre)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("token preflight: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}

		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectPublic},
			"code_verifier": {a.verifier}, "client_id": {spa.app.ID}}
		req := testenv.Must(http.NewRequest("POST", inst.srv.URL+oidc.PathToken, strings.NewReader(form.Encode())))(t)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		var tok map[string]any
		err = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("code exchange from a browser: %d %v %v, Access-Control-Allow-Origin %q", resp.StatusCode, tok, err, resp.Header.Get("Access-Control-Allow-Origin"))
		}

		req = testenv.Must(http.NewRequest("GET", inst.srv.URL+oidc.PathUserinfo, nil))(t)
		req.Header.Set("Origin", origin)
		req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("userinfo from a browser: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		req.Header.Set("Authorization", "Bearer expired-or-not")
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Www-Authenticate") && !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
			t.Errorf("a browser application cannot read the challenge: Access-Control-Expose-Headers %q", resp.Header.Get("Access-Control-Expose-Headers"))
		}
	})
}
