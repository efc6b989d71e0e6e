package oidc

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/portier-id/portier"
)

// authRequest is an authorization request, kept in the store as a TokenAuthRequest from
// /oauth2/authorize until its code is issued, and then, with the code, as a TokenCode.
// It implements op.AuthRequest.
type authRequest struct {
	ID                  string                   `json:"id"`
	ClientID            string                   `json:"clientId"`
	RedirectURI         string                   `json:"redirectUri"`
	State               string                   `json:"state,omitempty"`
	Nonce               string                   `json:"nonce,omitempty"`
	Scopes              []string                 `json:"scopes"`
	ResponseType        oidc.ResponseType        `json:"responseType"`
	ResponseMode        oidc.ResponseMode        `json:"responseMode,omitempty"`
	CodeChallenge       string                   `json:"codeChallenge,omitempty"`
	CodeChallengeMethod oidc.CodeChallengeMethod `json:"codeChallengeMethod,omitempty"`
	Prompt              []string                 `json:"prompt,omitempty"`
	// MaxAge is in seconds; nil when the client set none. prompt=login makes it 0.
	MaxAge    *uint     `json:"maxAge,omitempty"`
	LoginHint string    `json:"loginHint,omitempty"`
	Created   time.Time `json:"created"`
	// ACRValues are the client's acr_values: ACRMFA (or one of its aliases) asks for a
	// multi-factor sign-in.
	ACRValues []string `json:"acrValues,omitempty"`
	// AMR are the methods of the session that completed the request (RFC 8176).
	AMR []string `json:"amr,omitempty"`

	// Set when the user has signed in for the request.
	UserID   string    `json:"userId,omitempty"`
	AuthTime time.Time `json:"authTime,omitzero"`
	// SessionHash is the Portier session that completed the request: only its browser may
	// collect the code.
	SessionHash []byte `json:"sessionHash,omitempty"`
	IsDone      bool   `json:"done,omitempty"`

	// Set on the TokenCode: whether the code was exchanged, and the exchange's time.
	Used    bool      `json:"used,omitempty"`
	Granted time.Time `json:"granted,omitzero"`

	// codeID and family are the TokenCode's row when the request was found by its code.
	codeID string
	family string
}

func (a *authRequest) GetID() string         { return a.ID }
func (a *authRequest) GetACR() string        { return acrOf(a.AMR) }
func (a *authRequest) GetAMR() []string      { return amrOf(a.AMR) }
func (a *authRequest) GetAudience() []string { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.AuthTime
}
func (a *authRequest) GetClientID() string { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: a.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.UserID }
func (a *authRequest) Done() bool                         { return a.IsDone }

func (a *authRequest) promptNone() bool { return slices.Contains(a.Prompt, oidc.PromptNone) }

// grant is what an access or refresh token carries in its Data: the grant it belongs to.
type grant struct {
	Scopes   []string  `json:"scopes"`
	AuthTime time.Time `json:"authTime"`
	// Granted is when the code was exchanged: a revocation of the user's sessions after it
	// ends every token of the grant.
	Granted time.Time `json:"granted"`
	// Used marks a refresh token that was already exchanged for a new one: presenting it
	// again is reuse, and ends the family.
	Used bool `json:"used,omitempty"`
	// Session is the hash of the Portier session that signed in, for a grant bound to it
	// (boundRequest): its refresh tokens work only while that session lives.
	Session []byte `json:"session,omitempty"`
	// AMR are the methods of the sign-in that made the grant.
	AMR []string `json:"amr,omitempty"`
}

// refreshRequest is a refresh token being exchanged; it implements op.RefreshTokenRequest.
type refreshRequest struct {
	tokenID  string // the TokenRefresh row's id
	family   string
	userID   string
	clientID string
	grant    grant
	scopes   []string
}

func (r *refreshRequest) GetAMR() []string            { return amrOf(r.grant.AMR) }
func (r *refreshRequest) GetAudience() []string       { return []string{r.clientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.grant.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.scopes }
func (r *refreshRequest) GetSubject() string          { return r.userID }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.scopes = s }

// boundRequest is the code exchange of a confidential client that did not ask for
// offline_access. It gets a refresh token all the same, bound to the Portier session that
// signed in, so that a relying party with the usual scopes (oauth2-proxy and mod_auth_openidc
// ask for "openid email profile") can refresh, and learns of a block, a reset or a sign-out
// at its next refresh instead of keeping its own session for days. op issues a refresh token
// in the code flow only for offline_access, so boundRequest shows op that scope; the token
// response names the scopes asked for (serveCodeExchange).
type boundRequest struct{ *authRequest }

func (b *boundRequest) GetScopes() []string {
	return append(slices.Clip(b.Scopes), oidc.ScopeOfflineAccess)
}

// sessionBound reports whether the code exchange of ar by a client with the auth method gets
// a refresh token bound to the session: a confidential client's, without offline_access.
func sessionBound(ar *authRequest, auth oidc.AuthMethod) bool {
	return auth != oidc.AuthMethodNone && ar.ResponseType == oidc.ResponseTypeCode &&
		len(ar.SessionHash) > 0 && !slices.Contains(ar.Scopes, oidc.ScopeOfflineAccess)
}

// Authentication context classes (acr) Portier puts in ID tokens: a sign-in with a password (or
// another single factor) alone, and one with more than one factor.
const (
	ACRPassword = "urn:portier:acr:pwd"
	ACRMFA      = "urn:portier:acr:mfa"
)

// acrMFAAliases are the acr_values that ask for a multi-factor sign-in: Portier's own, OpenID
// PAPE's multi-factor policy, and the plain "mfa".
var acrMFAAliases = []string{ACRMFA, "http://schemas.openid.net/pape/policies/2007/06/multi-factor", "mfa"}

// wantsMFA reports whether acr_values ask for a multi-factor sign-in.
func wantsMFA(values []string) bool {
	for _, v := range values {
		if slices.Contains(acrMFAAliases, v) {
			return true
		}
	}
	return false
}

// amrOf is the amr claim of a sign-in whose session had amr: a session from before
// multi-factor sign-in was opened with a password.
func amrOf(amr []string) []string {
	if len(amr) == 0 {
		return []string{portier.AMRPassword}
	}
	return amr
}

// acrOf is the acr claim of a sign-in whose session had amr.
func acrOf(amr []string) string {
	if slices.Contains(amr, portier.AMRMFA) {
		return ACRMFA
	}
	return ACRPassword
}
