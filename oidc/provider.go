// Package oidc is Portier's OpenID Connect provider: github.com/zitadel/oidc's op package
// (OpenID-certified) speaks the protocol, and this package gives it Portier's store, sign-in
// and policies. Applications (portier.App) are the clients; codes, access and refresh tokens
// are portier.Tokens, so that a block, reset or revocation on any process ends them at once;
// signing keys live in the store, so that every process signs with and publishes the same keys.
package oidc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
)

// The provider's paths, below the issuer (Portier's base URL).
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathAuthorize  = "/oauth2/authorize"
	PathCallback   = "/oauth2/authorize/callback" // op issues the code here
	PathContinue   = "/oauth2/authorize/continue" // Portier signs the user in here (Provider.Resume)
	PathToken      = "/oauth2/token"
	PathIntrospect = "/oauth2/introspect"
	PathUserinfo   = "/oauth2/userinfo"
	PathRevoke     = "/oauth2/revoke"
	PathEndSession = "/oauth2/logout"
	PathKeys       = "/oauth2/keys"
)

// cryptoKeySetting names the store setting holding the key that seals opaque access tokens;
// every process sharing the store uses the same one.
const cryptoKeySetting = "oidc.crypto-key"

// Config is what New needs.
type Config struct {
	// Issuer is Portier's base URL (serve --base-url); https, or http for development.
	Issuer    string
	Store     Store
	Directory *directory.Service
	Now       portier.Clock
	Log       *slog.Logger
	// Keys is the rotation of signing keys; the zero value means DefaultKeyPolicy.
	Keys KeyPolicy
}

// Provider is the OpenID Connect provider. Its ServeHTTP answers the protocol endpoints;
// the web package mounts it and drives the sign-in step through Resume.
type Provider struct {
	issuer    string
	op        *op.Provider
	storage   *storage
	now       portier.Clock
	log       *slog.Logger
	discovery []byte
	// userinfo and codeExchange are Portier's own handlers of op's endpoints.
	userinfo, codeExchange http.Handler
}

// New returns a provider over the store. It creates the shared sealing key on first use.
func New(ctx context.Context, c Config) (*Provider, error) {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Keys.SignFor == 0 {
		c.Keys = DefaultKeyPolicy()
	}
	if c.Keys.Bits == 0 {
		c.Keys.Bits = 2048
	}
	issuer := strings.TrimSuffix(c.Issuer, "/")
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("the issuer %q is not an http(s) URL", c.Issuer)
	}
	if u.Path != "" {
		return nil, fmt.Errorf("the issuer %q may not have a path: Portier serves its endpoints at the root", c.Issuer)
	}
	key, err := loadCryptoKey(ctx, c.Store)
	if err != nil {
		return nil, err
	}
	st := &storage{store: c.Store, dir: c.Directory, now: c.Now, keys: &keyRing{store: c.Store, now: c.Now, policy: c.Keys}}
	config := &op.Config{
		CryptoKey:                key,
		DefaultLogoutRedirectURI: "/login?done=signed-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English, language.Dutch},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "amr", "at_hash", "c_hash",
			"azp", "name", "preferred_username", "email", "roles"},
	}
	opts := []op.Option{
		op.WithCustomEndpoints(op.NewEndpoint(PathAuthorize), op.NewEndpoint(PathToken), op.NewEndpoint(PathUserinfo),
			op.NewEndpoint(PathRevoke), op.NewEndpoint(PathEndSession), op.NewEndpoint(PathKeys)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
		op.WithLogger(c.Log),
		op.WithCORSOptions(corsOptions()),
	}
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	o, err := op.NewProvider(config, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, err
	}
	p := &Provider{issuer: issuer, op: o, storage: st, now: c.Now, log: c.Log}
	if p.discovery, err = p.discoveryDocument(); err != nil {
		return nil, err
	}
	// Portier answers these two itself, with the CORS rules op applies to the others.
	p.userinfo = cors.New(*corsOptions()).Handler(http.HandlerFunc(p.serveUserinfo))
	p.codeExchange = cors.New(*corsOptions()).Handler(http.HandlerFunc(p.serveCodeExchange))
	return p, nil
}

// corsOptions are the CORS rules of the endpoints applications call from a browser: token,
// userinfo, revocation and keys, from any origin, but never with Portier's cookies: those
// endpoints take no cookie, and a page of another origin must not read what a
// cookie-carrying request would answer.
func corsOptions() *cors.Options {
	return &cors.Options{
		AllowedOrigins: []string{"*"},
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost},
		AllowedHeaders: []string{"Accept", "Accept-Language", "Authorization", "Content-Type"},
		// A browser application reads the challenge of a refused access token (RFC 6750).
		ExposedHeaders: []string{"WWW-Authenticate"},
	}
}

// loadCryptoKey returns the shared sealing key, creating it if the store has none; two
// processes racing to create it agree on the first one stored.
func loadCryptoKey(ctx context.Context, store settingStore) ([32]byte, error) {
	var key [32]byte
	var fresh [32]byte
	rand.Read(fresh[:])
	err := store.Tx(ctx, func(tx portier.Tx) error {
		_, err := tx.InsertSetting(ctx, cryptoKeySetting, fresh[:])
		return err
	})
	if err != nil {
		return key, err
	}
	b, err := store.Setting(ctx, cryptoKeySetting)
	if err != nil {
		return key, err
	}
	if len(b) != len(key) {
		return key, fmt.Errorf("the stored %s has %d bytes, not %d", cryptoKeySetting, len(b), len(key))
	}
	copy(key[:], b)
	return key, nil
}

// Issuer returns the issuer identifier.
func (p *Provider) Issuer() string { return p.issuer }

// ServeHTTP answers the protocol endpoints (every Path* but PathContinue).
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathDiscovery:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(p.discovery)
	case PathAuthorize:
		// op.Authorize, not op's router, so that Portier's validation (authorizer) applies.
		r = r.WithContext(op.ContextWithIssuer(r.Context(), p.issuer))
		op.Authorize(&issuerWriter{ResponseWriter: w, issuer: p.issuer}, r, authorizer{p.op})
	case PathCallback:
		p.op.ServeHTTP(&issuerWriter{ResponseWriter: w, issuer: p.issuer}, r)
	case PathToken:
		// RFC 6749, section 5.1: no cache may keep a token response, nor its errors.
		noStore(w)
		if r.FormValue("grant_type") == string(oidc.GrantTypeCode) {
			p.codeExchange.ServeHTTP(w, r.WithContext(op.ContextWithIssuer(r.Context(), p.issuer)))
			return
		}
		p.op.ServeHTTP(w, r)
	case PathUserinfo:
		p.userinfo.ServeHTTP(w, r)
	case PathIntrospect:
		// An introspection answer names the user, as userinfo does.
		noStore(w)
		p.op.ServeHTTP(w, r)
	default:
		p.op.ServeHTTP(w, r)
	}
}

// noStore forbids every cache to keep the response (RFC 6749, section 5.1; Pragma for
// HTTP/1.0 caches).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// authorizer is op's provider with Portier's validation of authorization requests in place
// of op's (op.AuthorizeValidator).
type authorizer struct{ *op.Provider }

// ValidateAuthRequest is op's validation, except that a response type other than code is
// answered unsupported_response_type (RFC 6749, section 4.1.2.1): Portier supports no other,
// for any client, so op's unauthorized_client ("this client may not") would mislead. That
// answer goes only to a redirect URI registered for the client, and, for the response types
// that expect their answer in the fragment, there (OAuth 2.0 Multiple Response Type Encoding
// Practices, section 5; RFC 6749, section 4.2.2.1).
func (a authorizer) ValidateAuthRequest(ctx context.Context, req *oidc.AuthRequest, st op.Storage, v *op.IDTokenHintVerifier) (string, error) {
	client, err := st.GetClientByClientID(ctx, req.ClientID)
	if err != nil {
		return "", oidc.ErrInvalidRequestRedirectURI().WithDescription("The client is unknown.").WithParent(err)
	}
	if req.ResponseType == "" || req.ResponseType == oidc.ResponseTypeCode {
		return op.ValidateAuthRequestClient(ctx, req, client, v)
	}
	// The redirect URI is checked as for a code request, the one kind Portier would answer there.
	if err := op.ValidateAuthReqRedirectURI(client, req.RedirectURI, oidc.ResponseTypeCode); err != nil {
		return "", err
	}
	if req.ResponseMode == "" && inFragment(req.ResponseType) {
		req.ResponseMode = oidc.ResponseModeFragment
	}
	return "", &oidc.Error{ErrorType: "unsupported_response_type", Description: "Only the authorization code flow (response_type=code) is supported."}
}

// inFragment reports whether the default response mode of a response type is the fragment:
// that of every type that returns a token or an ID token.
func inFragment(rt oidc.ResponseType) bool {
	for _, part := range strings.Fields(string(rt)) {
		if part == "token" || part == "id_token" {
			return true
		}
	}
	return false
}

// discoveryDocument is op's discovery document, trimmed to what Portier does and with the
// RFC 9207 flag added; it does not change while the process runs, so it is built once.
func (p *Provider) discoveryDocument() ([]byte, error) {
	ctx := op.ContextWithIssuer(context.Background(), p.issuer)
	d := op.CreateDiscoveryConfig(ctx, p.op, p.storage)
	d.DeviceAuthorizationEndpoint = ""
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	d.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	d.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic}
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.RequestObjectSigningAlgValuesSupported = nil
	d.IDTokenSigningAlgValuesSupported = []string{"RS256"}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	doc["authorization_response_iss_parameter_supported"] = true // RFC 9207
	doc["prompt_values_supported"] = []string{"none", "login"}
	doc["acr_values_supported"] = []string{ACRPassword, ACRMFA}
	return json.Marshal(doc)
}

// issuerWriter adds iss to every authorization response (RFC 9207), success or error: op
// redirects to the client only there, and to Portier's own pages by relative paths.
type issuerWriter struct {
	http.ResponseWriter
	issuer string
	wrote  bool
}

func (w *issuerWriter) WriteHeader(code int) {
	if !w.wrote && (code == http.StatusFound || code == http.StatusSeeOther) {
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") {
			w.Header().Set("Location", withIssuer(loc, w.issuer))
		}
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *issuerWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// withIssuer adds iss to the authorization response in loc, in the query or in the fragment,
// wherever the response is.
func withIssuer(loc, issuer string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	isResponse := func(v url.Values) bool { return v.Has("code") || v.Has("error") }
	if q := u.Query(); isResponse(q) {
		q.Set("iss", issuer)
		u.RawQuery = q.Encode()
		return u.String()
	}
	if f, err := url.ParseQuery(u.EscapedFragment()); err == nil && isResponse(f) {
		f.Set("iss", issuer)
		// Encode escapes already: set RawFragment too, or String would escape it again.
		u.RawFragment = f.Encode()
		u.Fragment, _ = url.PathUnescape(u.RawFragment)
		return u.String()
	}
	return loc
}

// StepKind is what the browser does next in an authorization request.
type StepKind int

// The steps of Resume.
const (
	// StepLogin: sign in (again) at /login; Step.URL is the /login address that comes back.
	StepLogin StepKind = iota
	// StepIssue: the request is complete; Step.URL is the local address that issues the
	// code and sends the browser to the application.
	StepIssue
	// StepClientError: the request ends with an error for the application (prompt=none
	// without a session); Step.URL is the application's redirect URI with it.
	StepClientError
	// StepRefuse: the user may not sign in to the application; Step.Code says why.
	StepRefuse
)

// CodeNotAssigned is the refusal of a user not assigned to an application that admits only
// assigned users (Entra's AADSTS50105).
const CodeNotAssigned = 50105

// Step is Resume's answer.
type Step struct {
	Kind StepKind
	URL  string
	Code int
	App  *portier.App
}

// ContinueParam marks the continue address when /login sends the browser back to it: that
// request ends a form submission's redirects, so the next hop to the application must be a
// fresh navigation for browsers that apply CSP form-action to redirects.
const ContinueParam = "from"

// LoginHintParam carries the authorization request's login_hint to /login, which fills in
// the user name with it; only a valid user name is passed on.
const LoginHintParam = "login_hint"

// MFAParam marks, in the return_to of a sign-in for an authorization request, that the
// application asks for a multi-factor sign-in (acr_values).
const MFAParam = "mfa"

// Resume decides the next step of the authorization request id for a browser whose signed-in
// user and session are u and sess (both nil when not signed in). ENotFound when the request is
// unknown or expired.
func (p *Provider) Resume(ctx context.Context, id string, u *portier.User, sess *portier.Session) (Step, error) {
	ar, _, err := p.storage.authRequest(ctx, p.storage.store, id)
	if err != nil {
		return Step{}, err
	}
	app, err := p.storage.store.App(ctx, ar.ClientID)
	if err != nil {
		return Step{}, err
	}
	step := Step{App: app}
	now := p.now()
	login := func() (Step, error) {
		if ar.promptNone() {
			step.Kind, step.URL = StepClientError, p.errorURL(ar, oidc.ErrLoginRequired().WithDescription("The user is not signed in."))
			return step, nil
		}
		back := PathContinue + "?id=" + url.QueryEscape(id) + "&" + ContinueParam + "=login"
		if wantsMFA(ar.ACRValues) {
			// The application asks for more than one factor: the sign-in asks for a second
			// one whatever the organisation's policy for this user (Resume checks the
			// session's methods, so dropping the mark only leads back here).
			back += "&" + MFAParam + "=1"
		}
		step.Kind, step.URL = StepLogin, "/login?return_to="+url.QueryEscape(back)
		if hint, err := portier.NormalizeUPN(ar.LoginHint); ar.LoginHint != "" && err == nil {
			step.URL += "&" + LoginHintParam + "=" + url.QueryEscape(hint)
		}
		return step, nil
	}
	if u == nil || sess == nil {
		return login()
	}
	if ar.MaxAge != nil {
		// A sign-in made for this request satisfies any max_age (and prompt=login, which op
		// turned into max_age=0), however long it took.
		age := now.Sub(sess.Created)
		if sess.Created.Before(ar.Created) && age > time.Duration(*ar.MaxAge)*time.Second {
			return login()
		}
	}
	if wantsMFA(ar.ACRValues) && !sess.MultiFactor() {
		return login()
	}
	if app.AssignedOnly {
		ok, err := p.storage.store.AppAssigned(ctx, app.ID, u.ID)
		if err != nil {
			return Step{}, err
		}
		if !ok {
			if ar.promptNone() {
				step.Kind, step.URL = StepClientError, p.errorURL(ar, oidc.ErrAccessDenied().WithDescription("The user is not assigned to the application."))
				return step, nil
			}
			step.Kind, step.Code = StepRefuse, CodeNotAssigned
			return step, nil
		}
	}
	err = p.storage.store.Tx(ctx, func(tx portier.Tx) error {
		t, err := tx.TokenForUpdate(ctx, portier.TokenAuthRequest, id)
		if err != nil {
			return err
		}
		locked, err := decode[authRequest](t)
		if err != nil {
			return err
		}
		locked.UserID, locked.AuthTime, locked.SessionHash, locked.IsDone = u.ID, sess.Created, sess.IDHash, true
		locked.AMR = sess.AMR
		t.UserID, t.Data = u.ID, encode(locked)
		return tx.UpdateToken(ctx, t)
	})
	if err != nil {
		return Step{}, err
	}
	step.Kind, step.URL = StepIssue, PathCallback+"?id="+url.QueryEscape(id)
	return step, nil
}

// errorURL is the authorization error response for ar, with iss (RFC 9207).
func (p *Provider) errorURL(ar *authRequest, e *oidc.Error) string {
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		return "/"
	}
	q := u.Query()
	q.Set("error", string(e.ErrorType))
	if e.Description != "" {
		q.Set("error_description", e.Description)
	}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	q.Set("iss", p.issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// CheckCallback reports whether the browser of session sess may collect the code of the
// request id: only the browser that signed in for it may. ENotFound otherwise.
func (p *Provider) CheckCallback(ctx context.Context, id string, sess *portier.Session) error {
	ar, _, err := p.storage.authRequest(ctx, p.storage.store, id)
	if err != nil {
		return err
	}
	if sess == nil || !ar.IsDone || string(ar.SessionHash) != string(sess.IDHash) {
		return portier.Errorf(portier.ENotFound, "This sign-in request belongs to another browser.")
	}
	return nil
}

// Logout is the outcome of an RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0).
type Logout struct {
	// UserID is the user the id_token_hint names; empty without a hint.
	UserID string
	// ClientID is the application asking.
	ClientID string
	// RedirectURI is where to send the browser afterwards: the registered
	// post_logout_redirect_uri (with state), or Portier's signed-out page.
	RedirectURI string
}

// ParseLogout validates an end-session request: the id_token_hint (expired ones accepted,
// as the specification allows), and the post_logout_redirect_uri against the application's.
func (p *Provider) ParseLogout(r *http.Request) (*Logout, error) {
	ctx := op.ContextWithIssuer(r.Context(), p.issuer)
	req, err := op.ParseEndSessionRequest(r, p.op.Decoder())
	if err != nil {
		return nil, err
	}
	s, err := op.ValidateEndSessionRequest(ctx, req, p.op)
	if err != nil {
		return nil, err
	}
	return &Logout{UserID: s.UserID, ClientID: s.ClientID, RedirectURI: s.RedirectURI}, nil
}

// EndTokens ends every token the user holds for the application (RP-initiated logout).
func (p *Provider) EndTokens(ctx context.Context, userID, clientID string) error {
	return p.storage.TerminateSession(ctx, userID, clientID)
}
