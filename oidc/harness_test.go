package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/oidc"
)

const goodPassword = "correct horse battery staple"

// instance is one Portier server (one "process") with its OpenID provider, over a store.
type instance struct {
	store portier.Store
	srv   *httptest.Server
	dir   *directory.Service
}

func newInstance(t testing.TB, store portier.Store, clock *testenv.Clock, keys oidc.KeyPolicy) *instance {
	t.Helper()
	in := testserver.Start(t, store, testserver.Options{Clock: clock, Keys: keys})
	return &instance{store: store, srv: in.Server, dir: in.Dir}
}

// testKeys are small, fast keys for tests that do not look at rotation.
var testKeys = oidc.KeyPolicy{SignFor: 30 * 24 * time.Hour, PublishAhead: 48 * time.Hour, KeepAfter: 48 * time.Hour, Bits: 1024}

var cli = portier.CLIActor("test")

func createUser(t testing.TB, dir *directory.Service, upn string, roles ...portier.Role) *portier.User {
	t.Helper()
	u, _, err := dir.CreateUser(context.Background(), cli, directory.NewUser{
		UPN: upn, DisplayName: "Test " + upn, Mail: upn, Password: goodPassword, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// rp is a relying party: an application registered in Portier, using go-oidc and x/oauth2.
type rp struct {
	t        testing.TB
	app      *portier.App
	secret   string
	provider *gooidc.Provider
	conf     *oauth2.Config
	verifier *gooidc.IDTokenVerifier
	issuer   string
}

const redirectConfidential = "https://app.example.org/callback"
const redirectPublic = "http://127.0.0.1/callback"

func newRP(t testing.TB, inst *instance, in directory.AppInput) *rp {
	t.Helper()
	ctx := context.Background()
	if in.Name == "" {
		in.Name = "Test app"
	}
	if len(in.RedirectURIs) == 0 {
		in.RedirectURIs = []string{redirectConfidential}
		if in.Public {
			in.RedirectURIs = []string{redirectPublic}
		}
	}
	app, secret, err := inst.dir.CreateApp(ctx, cli, in)
	if err != nil {
		t.Fatal(err)
	}
	return connectRP(t, inst.srv.URL, app, secret)
}

// connectRP makes a relying party of an existing application against a server.
func connectRP(t testing.TB, issuer string, app *portier.App, secret string) *rp {
	t.Helper()
	provider, err := gooidc.NewProvider(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := &oauth2.Config{
		ClientID: app.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: app.RedirectURIs[0],
		Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess},
	}
	return &rp{t: t, app: app, secret: secret, provider: provider, conf: conf,
		verifier: provider.Verifier(&gooidc.Config{ClientID: app.ID}), issuer: issuer}
}

// authRequest is one authorization request the relying party starts.
type authRequest struct {
	url, state, nonce, verifier string
}

func (r *rp) authURL(opts ...oauth2.AuthCodeOption) authRequest {
	a := authRequest{state: random(), nonce: random(), verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), gooidc.Nonce(a.nonce)}, opts...)
	a.url = r.conf.AuthCodeURL(a.state, opts...)
	return a
}

func random() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// exchange trades the code of an authorization response for tokens and verifies the ID token.
func (r *rp) exchange(a authRequest, resp *url.URL) (*oauth2.Token, *gooidc.IDToken, error) {
	r.t.Helper()
	q := resp.Query()
	if q.Get("state") != a.state {
		r.t.Fatalf("state %q, want %q", q.Get("state"), a.state)
	}
	if q.Get("iss") != r.issuer {
		r.t.Fatalf("iss in the authorization response = %q, want %q (RFC 9207)", q.Get("iss"), r.issuer)
	}
	tok, err := r.conf.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		return nil, nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		return nil, nil, err
	}
	if id.Nonce != a.nonce {
		r.t.Fatalf("nonce %q, want %q", id.Nonce, a.nonce)
	}
	return tok, id, nil
}

// refresh uses a refresh token once.
func (r *rp) refresh(refreshToken string) (*oauth2.Token, error) {
	return r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// introspect asks whether an access token is active (RFC 7662), as the application.
func (r *rp) introspect(accessToken string) map[string]any {
	r.t.Helper()
	req := testenv.Must(http.NewRequest("POST", r.issuer+oidc.PathIntrospect, strings.NewReader(url.Values{"token": {accessToken}}.Encode())))(r.t)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.app.ID), url.QueryEscape(r.secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		r.t.Fatalf("introspection answered %d: %v", resp.StatusCode, err)
	}
	return out
}

func active(m map[string]any) bool { b, _ := m["active"].(bool); return b }

// userinfo asks the userinfo endpoint with an access token.
func (r *rp) userinfo(accessToken string) (*gooidc.UserInfo, error) {
	return r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}))
}

// browser is testserver's browser that, walking an authorization, also gets through the
// forced change-password page.
type browser struct {
	*testserver.Browser
	// newPassword is chosen when the forced change-password page (50055) comes up.
	newPassword string
	// mfaCode, when set, gives the authenticator code typed at the second step of a sign-in;
	// mfaSteps counts those steps.
	mfaCode  func() string
	mfaSteps int
}

func newBrowser(t testing.TB, base string) *browser {
	return &browser{Browser: testserver.NewBrowser(t, base)}
}

func (b *browser) do(method, target string, form url.Values) (*http.Response, string) {
	b.T.Helper()
	return b.Do(method, target, form)
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	return testenv.Must(url.Parse(s))(t)
}

var (
	csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	refreshTo = regexp.MustCompile(`^0; url=(.+)$`)
)

// outcome is where a browser's authorization request ended.
type outcome struct {
	// Callback is the authorization response at the application's redirect URI, if reached.
	Callback *url.URL
	// Status, Body and Code are the last Portier page otherwise (Code its data-error-code).
	Status int
	Body   string
	Code   string
	// Logins counts the sign-in forms filled in on the way.
	Logins int
	// Continued reports whether a page sent the browser on by a fresh navigation (Refresh).
	Continued bool
}

// authorize walks a browser through an authorization request, signing in as upn with pw at
// every sign-in form on the way (none when upn is empty), until the application's redirect
// URI is reached or Portier shows a page that does not go on.
func (b *browser) authorize(start, redirectURI, upn, pw string) outcome {
	b.T.Helper()
	var out outcome
	next := start
	for hops := 0; hops < 20; hops++ {
		if strings.HasPrefix(next, redirectURI) {
			out.Callback = mustParse(b.T, next)
			return out
		}
		resp, body := b.do("GET", next, nil)
		loc := resp.Header.Get("Location")
		switch {
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			next = resp.Request.URL.ResolveReference(mustParse(b.T, loc)).String()
			continue
		case resp.StatusCode == http.StatusOK && resp.Header.Get("Refresh") != "":
			m := refreshTo.FindStringSubmatch(resp.Header.Get("Refresh"))
			if m == nil {
				b.T.Fatalf("Refresh header %q", resp.Header.Get("Refresh"))
			}
			out.Continued = true
			next = resp.Request.URL.ResolveReference(mustParse(b.T, m[1])).String()
			continue
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/login" && upn != "":
			m := csrfField.FindStringSubmatch(body)
			if m == nil {
				b.T.Fatal("no csrf_token on /login")
			}
			out.Logins++
			form := url.Values{"username": {upn}, "password": {pw}, "csrf_token": {m[1]}, "return_to": {resp.Request.URL.Query().Get("return_to")}}
			resp, body = b.do("POST", "/login", form)
			if resp.StatusCode == http.StatusSeeOther {
				next = resp.Request.URL.ResolveReference(mustParse(b.T, resp.Header.Get("Location"))).String()
				continue
			}
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/login/mfa/totp" && b.mfaCode != nil:
			m := csrfField.FindStringSubmatch(body)
			if m == nil {
				b.T.Fatal("no csrf_token on /login/mfa/totp")
			}
			b.mfaSteps++
			resp, body = b.do("POST", "/login/mfa/totp", url.Values{"code": {b.mfaCode()}, "csrf_token": {m[1]}, "mfa_state": {testserver.MFAState(body)}})
			if resp.StatusCode == http.StatusSeeOther {
				next = resp.Request.URL.ResolveReference(mustParse(b.T, resp.Header.Get("Location"))).String()
				continue
			}
		case resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/change-password" && b.newPassword != "":
			m := csrfField.FindStringSubmatch(body)
			if m == nil {
				b.T.Fatal("no csrf_token on /change-password")
			}
			form := url.Values{"new_password": {b.newPassword}, "confirm_password": {b.newPassword}, "csrf_token": {m[1]},
				"return_to": {resp.Request.URL.Query().Get("return_to")}}
			resp, body = b.do("POST", "/change-password", form)
			if resp.StatusCode == http.StatusSeeOther {
				next = resp.Request.URL.ResolveReference(mustParse(b.T, resp.Header.Get("Location"))).String()
				continue
			}
		}
		out.Status, out.Body = resp.StatusCode, body
		out.Code = testserver.ErrorCode(body)
		return out
	}
	b.T.Fatalf("authorization of %s did not end after 20 hops", start)
	return out
}
