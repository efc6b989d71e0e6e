package oidc

import (
	"errors"
	"net/http"
	"strings"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// bearerError is a refusal of the userinfo endpoint as RFC 6750, section 3 has it: the
// status, and the error code ("" for a request that carried no token at all).
type bearerError struct {
	status int
	code   string
	desc   string
}

var (
	errNoToken        = bearerError{status: http.StatusUnauthorized}
	errUnreadable     = bearerError{http.StatusBadRequest, "invalid_request", "The request cannot be read."}
	errTwoTokens      = bearerError{http.StatusBadRequest, "invalid_request", "The access token was given more than once."}
	errMalformedToken = bearerError{http.StatusUnauthorized, "invalid_token", "The access token is malformed."}
	errInactiveToken  = bearerError{http.StatusUnauthorized, "invalid_token", "The access token is expired or revoked."}
)

// serveUserinfo answers /oauth2/userinfo (OpenID Connect Core, section 5.3) in place of op,
// which answers a revoked or expired token 403 access_denied and leaves out the Bearer
// challenge: a relying party reads 401 with error="invalid_token" as "refresh, or sign in
// again" (RFC 6750, section 3.1), and anything else as a fault.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	token, refusal := bearerToken(r)
	if refusal != nil {
		p.refuseBearer(w, *refusal)
		return
	}
	plain, err := p.op.Crypto().Decrypt(token)
	tokenID, subject, ok := strings.Cut(plain, ":")
	if err != nil || !ok {
		p.refuseBearer(w, errMalformedToken)
		return
	}
	_, g, u, err := p.storage.accessToken(r.Context(), tokenID, subject)
	if errors.Is(err, errInactive) {
		p.refuseBearer(w, errInactiveToken)
		return
	} else if err != nil {
		p.log.Error("userinfo failed", "err", err)
		httphelper.MarshalJSONWithStatus(w, oidc.ErrServerError().WithDescription("The user's data cannot be read now."), http.StatusServiceUnavailable)
		return
	}
	info := new(oidc.UserInfo)
	fillUserinfo(info, u, g.Scopes)
	httphelper.MarshalJSON(w, info)
}

// bearerToken returns the access token of a request, from the Authorization header or the
// form body (RFC 6750, section 2; the query too, as op took it), or why there is none.
func bearerToken(r *http.Request) (string, *bearerError) {
	var tokens []string
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		tokens = append(tokens, strings.TrimSpace(token))
	}
	if err := r.ParseForm(); err != nil {
		return "", &errUnreadable
	}
	tokens = append(tokens, r.Form["access_token"]...)
	switch len(tokens) {
	case 0:
		return "", &errNoToken
	case 1:
		if tokens[0] == "" {
			return "", &errMalformedToken
		}
		return tokens[0], nil
	default:
		return "", &errTwoTokens
	}
}

// refuseBearer answers a refused userinfo request with its challenge, and the same error
// as JSON for clients that read the body.
func (p *Provider) refuseBearer(w http.ResponseWriter, e bearerError) {
	challenge := "Bearer"
	if e.code != "" {
		challenge += ` error="` + e.code + `", error_description="` + e.desc + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	var body any
	if e.code != "" {
		body = map[string]string{"error": e.code, "error_description": e.desc}
	}
	httphelper.MarshalJSONWithStatus(w, body, e.status)
}
