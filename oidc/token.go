package oidc

import (
	"net/http"

	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// serveCodeExchange answers the authorization_code grant at the token endpoint. It is
// op.CodeExchange, made of op's own steps, with one difference: a confidential client that
// did not ask for offline_access gets a refresh token bound to the session (boundRequest).
func (p *Provider) serveCodeExchange(w http.ResponseWriter, r *http.Request) {
	req, err := op.ParseAccessTokenRequest(r, p.op.Decoder())
	if err != nil {
		op.RequestError(w, r, err, p.log)
		return
	}
	if req.Code == "" {
		op.RequestError(w, r, oidc.ErrInvalidRequest().WithDescription("The code is missing."), p.log)
		return
	}
	ar, client, err := op.ValidateAccessTokenRequest(r.Context(), req, p.op)
	if err != nil {
		op.RequestError(w, r, err, p.log)
		return
	}
	granted := ar.GetScopes()
	if a, ok := ar.(*authRequest); ok && sessionBound(a, client.AuthMethod()) {
		ar = &boundRequest{a}
	}
	resp, err := op.CreateTokenResponse(r.Context(), ar, client, p.op, true, req.Code, "")
	if err != nil {
		op.RequestError(w, r, err, p.log)
		return
	}
	resp.Scope = granted
	httphelper.MarshalJSON(w, resp)
}
