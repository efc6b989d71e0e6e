package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
)

// The OAuth 2.0 client credentials grant (RFC 6749, section 4.4) for applications that act on
// their own behalf through the Graph-compatible API, as Microsoft's identity platform issues
// it: the scope is a resource's "/.default" (every permission granted to the application), and
// the access token is a JWT signed with the provider's keys, whose roles claim holds the
// application permissions. Portier answers the grant itself rather than through op, whose
// client credentials tokens carry neither roles nor Microsoft's audience.

// Audiences of the application tokens: Microsoft Graph's resource (its URI or its application
// id), which the SDKs ask for, or Portier's own base URL.
const (
	GraphResource = "https://graph.microsoft.com"
	graphAppID    = "00000003-0000-0000-c000-000000000000"
)

// AppTokenLifetime is the life of an application access token: Microsoft's hour, as its
// expires_in of 3599 says.
const AppTokenLifetime = 3599 * time.Second

// appClaims are the claims of an application token beyond the registered ones, named as in
// Microsoft's tokens.
type appClaims struct {
	AppID       string   `json:"appid"`
	AZP         string   `json:"azp"`
	AppName     string   `json:"app_displayname"`
	Roles       []string `json:"roles"`
	TenantID    string   `json:"tid"`
	ObjectID    string   `json:"oid"`
	IdentityTyp string   `json:"idtyp"`
	Version     string   `json:"ver"`
}

// tokenError writes an OAuth 2.0 error response (RFC 6749, section 5.2).
func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="portier"`)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// clientCredentials reads the client's id and secret from HTTP Basic (form-encoded, RFC 6749
// section 2.3.1) or from the form.
func clientCredentials(r *http.Request) (id, secret string) {
	if u, p, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(u)
		secret, err2 := url.QueryUnescape(p)
		if err1 == nil && err2 == nil {
			return id, secret
		}
		return "", ""
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
}

// audienceOf returns the audience a client credentials scope asks for, or false when the
// scope is not one Portier serves. OpenID scopes that Microsoft's libraries may add are
// ignored; what remains must be exactly one resource's "/.default".
func (p *Provider) audienceOf(scope string) (string, bool) {
	var resources []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		resources = append(resources, s)
	}
	if len(resources) != 1 {
		return "", false
	}
	switch res, ok := strings.CutSuffix(resources[0], "/.default"); {
	case !ok:
		return "", false
	case strings.EqualFold(res, GraphResource), strings.EqualFold(res, graphAppID):
		return GraphResource, true
	case strings.EqualFold(strings.TrimSuffix(res, "/"), p.issuer):
		return p.issuer, true
	}
	return "", false
}

// serveClientCredentials answers grant_type=client_credentials. Unknown form parameters
// (Microsoft's libraries send claims, client_info and others) are ignored.
func (p *Provider) serveClientCredentials(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint takes POST.")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "The form cannot be read.")
		return
	}
	ctx := r.Context()
	id, secret := clientCredentials(r)
	if id == "" || secret == "" {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed: give client_id and client_secret.")
		return
	}
	app, err := p.storage.store.App(ctx, id)
	if err != nil && portier.ErrorCode(err) != portier.ENotFound {
		p.log.Error("client credentials: reading the application failed", "err", err)
		tokenError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The store cannot be reached; try again.")
		return
	}
	if !directory.CheckClientSecret(app, secret) {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	if !app.ClientCredentials {
		tokenError(w, http.StatusBadRequest, "unauthorized_client", "The application is not registered to act on its own behalf (client credentials).")
		return
	}
	aud, ok := p.audienceOf(r.PostForm.Get("scope"))
	if !ok {
		tokenError(w, http.StatusBadRequest, "invalid_scope", "The scope must be https://graph.microsoft.com/.default or "+p.issuer+"/.default: client credentials take a resource's /.default scope only (AADSTS1002012).")
		return
	}
	token, err := p.signAppToken(ctx, app, aud)
	if err != nil {
		p.log.Error("client credentials: signing the token failed", "err", err)
		tokenError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The token cannot be issued now; try again.")
		return
	}
	seconds := int(AppTokenLifetime / time.Second)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"token_type": "Bearer", "expires_in": seconds, "ext_expires_in": seconds, "access_token": token,
	})
}

// signAppToken returns an access token for the application, signed with the key that signs now.
func (p *Provider) signAppToken(ctx context.Context, app *portier.App, aud string) (string, error) {
	key, err := p.storage.keys.SigningKey(ctx)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key.Key()},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", key.ID()))
	if err != nil {
		return "", err
	}
	now := p.now()
	var jti [16]byte
	rand.Read(jti[:])
	std := jwt.Claims{
		Issuer: p.issuer, Subject: app.ID, Audience: jwt.Audience{aud}, ID: hex.EncodeToString(jti[:]),
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(AppTokenLifetime)),
	}
	roles := app.Permissions
	if roles == nil {
		roles = []string{}
	}
	custom := appClaims{AppID: app.ID, AZP: app.ID, AppName: app.Name, Roles: roles, TenantID: p.tenant,
		ObjectID: app.ID, IdentityTyp: "app", Version: "2.0"}
	return jwt.Signed(signer).Claims(std).Claims(custom).Serialize()
}

// AppToken is a verified application access token.
type AppToken struct {
	// App is the application as registered now.
	App *portier.App
	// Roles are the token's permissions that the application still holds: a permission
	// removed since the token was issued no longer counts.
	Roles []string
	// Audience is the token's audience (GraphResource or Portier's base URL).
	Audience string
	Expires  time.Time
}

// TokenError says why an access token is refused; its message is fit to show the caller.
type TokenError struct{ Message string }

func (e *TokenError) Error() string { return e.Message }

// maxTokenBytes bounds the bearer token Portier parses: its own are under 2 kB.
const maxTokenBytes = 8 << 10

// VerifyAppToken checks an application access token: its signature by one of the provider's
// published keys, issuer, audience and lifetime on the provider's clock, and that its
// application still exists and acts on its own behalf. A *TokenError says what is wrong;
// any other error is the store's.
func (p *Provider) VerifyAppToken(ctx context.Context, raw string) (*AppToken, error) {
	if raw == "" {
		return nil, &TokenError{"Access token is empty."}
	}
	malformed := &TokenError{"IDX14100: JWT is not well formed: the token needs to be in JWS Compact Serialization Format."}
	if len(raw) > maxTokenBytes || strings.Count(raw, ".") != 2 {
		return nil, malformed
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return nil, malformed
	}
	keys, err := p.storage.keys.current(ctx)
	if err != nil {
		return nil, err
	}
	now := p.now()
	var pub *rsa.PublicKey
	for _, k := range keys {
		if k.ID == tok.Headers[0].KeyID && !k.Created.After(now) && now.Before(k.Expires) {
			pub = &k.priv.PublicKey
		}
	}
	badSignature := &TokenError{"Access token validation failure: the signature is not one of this server's keys."}
	if pub == nil {
		return nil, badSignature
	}
	var std jwt.Claims
	var custom appClaims
	if err := tok.Claims(pub, &std, &custom); err != nil {
		return nil, badSignature
	}
	audience := ""
	for _, a := range []string{GraphResource, graphAppID, p.issuer} {
		if std.Audience.Contains(a) {
			audience = a
		}
	}
	switch {
	case std.Issuer != p.issuer:
		return nil, &TokenError{"Access token validation failure. Invalid issuer."}
	case audience == "" || custom.IdentityTyp != "app":
		return nil, &TokenError{"Access token validation failure. Invalid audience."}
	case std.Expiry == nil || !now.Before(std.Expiry.Time()):
		return nil, &TokenError{"Lifetime validation failed, the token is expired."}
	case std.NotBefore != nil && now.Add(time.Minute).Before(std.NotBefore.Time()):
		return nil, &TokenError{"Lifetime validation failed, the token is not yet valid."}
	}
	app, err := p.storage.store.App(ctx, std.Subject)
	if portier.ErrorCode(err) == portier.ENotFound || err == nil && !app.ClientCredentials {
		return nil, &TokenError{"Access token validation failure: the application no longer exists or no longer acts on its own behalf."}
	} else if err != nil {
		return nil, err
	}
	var roles []string
	for _, r := range custom.Roles {
		if slices.Contains(app.Permissions, r) {
			roles = append(roles, r)
		}
	}
	return &AppToken{App: app, Roles: roles, Audience: audience, Expires: std.Expiry.Time()}, nil
}

// TenantID returns the organisation's tenant id, under which Microsoft's identity library
// finds the token endpoint (TenantPath).
func (p *Provider) TenantID() string { return p.tenant }

// TenantPath returns the path under the tenant that Microsoft's identity library uses for
// suffix ("/oauth2/v2.0/token", "/v2.0/.well-known/openid-configuration").
func (p *Provider) TenantPath(suffix string) string { return "/" + p.tenant + suffix }

// The paths under /{tenant} that Microsoft's identity library (MSAL) asks for.
const (
	TenantTokenSuffix     = "/oauth2/v2.0/token"
	TenantDiscoverySuffix = "/v2.0/.well-known/openid-configuration"
)

// tenantDiscovery is the OpenID configuration MSAL reads under the tenant: the token endpoint
// under the tenant, and an issuer on Portier's host, as MSAL requires of an authority.
func (p *Provider) tenantDiscovery() ([]byte, error) {
	return json.Marshal(map[string]any{
		"issuer":                                p.issuer + "/" + p.tenant + "/v2.0",
		"authorization_endpoint":                p.issuer + PathAuthorize,
		"token_endpoint":                        p.issuer + p.TenantPath(TenantTokenSuffix),
		"jwks_uri":                              p.issuer + PathKeys,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"tenant_region_scope":                   nil,
	})
}
