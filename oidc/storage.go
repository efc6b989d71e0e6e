package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
)

// Lifetimes the settings do not cover.
const (
	// authRequestLifetime bounds the sign-in of one authorization request, a forced password
	// change included.
	authRequestLifetime = time.Hour
	// codeLifetime bounds an authorization code between its issue and its exchange (RFC 6749
	// recommends at most 10 minutes).
	codeLifetime = 2 * time.Minute
	// idTokenLifetime is the life of an ID token; keys stay published well beyond it.
	idTokenLifetime = time.Hour
	// sessionTouchEvery is how stale a session's LastSeen may get before a refresh bound to
	// it writes it again, as a page view does (signin.Engine.Session).
	sessionTouchEvery = time.Minute
)

// Whether a code exchange issues a refresh token, and which.
type refreshKind int

const (
	noRefresh      refreshKind = iota
	offlineRefresh             // offline_access: the refresh token outlives the session
	sessionRefresh             // boundRequest: the refresh token ends with the session
)

// oidcKinds are the token kinds that stand for a grant to an application.
var oidcKinds = []string{portier.TokenCode, portier.TokenAccess, portier.TokenRefresh}

// storage implements op.Storage on the store.
type storage struct {
	store Store
	dir   *directory.Service
	now   portier.Clock
	keys  *keyRing
}

var _ op.Storage = (*storage)(nil)

// errGrant is the answer for a code or refresh token that is unknown, expired, used or revoked.
func errGrant(desc string) error { return oidc.ErrInvalidGrant().WithDescription("%s", desc) }

// hashID is the store id of a token standing for a secret: the hex SHA-256 of the secret.
func hashID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// newSecret returns 256 random bits, base64url.
func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func decode[T any](t *portier.Token) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(t.Data, v); err != nil {
		return nil, portier.Errorf(portier.EInternal, "token %s of kind %s cannot be read: %v", t.ID, t.Kind, err)
	}
	return v, nil
}

func encode(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// usable reports whether u may still hold tokens of a sign-in made at authTime: the account
// is enabled and its sessions were not revoked (block, reset, sign-out everywhere) since.
func usable(u *portier.User, authTime time.Time) bool {
	return u.AccountEnabled && !authTime.Before(u.SessionsValidFrom)
}

// CreateAuthRequest keeps a validated authorization request, after Portier's own rules:
// the query response mode only, the code flow, PKCE with S256 for public clients (and S256
// whenever PKCE is used).
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	app, err := s.store.App(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	switch {
	case req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery:
		return nil, oidc.ErrInvalidRequest().WithDescription("Only response_mode=query is supported.")
	case !slices.Contains(req.Scopes, oidc.ScopeOpenID):
		return nil, oidc.ErrInvalidScope().WithDescription("The scope must include openid.")
	case app.Public && req.CodeChallenge == "":
		return nil, oidc.ErrInvalidRequest().WithDescription("A public client must use PKCE: code_challenge with code_challenge_method=S256.")
	case req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256.")
	}
	now := s.now()
	ar := &authRequest{
		ID: newRequestID(), ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State, Nonce: req.Nonce,
		Scopes: req.Scopes, ResponseType: req.ResponseType, ResponseMode: req.ResponseMode,
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: req.CodeChallengeMethod,
		Prompt: req.Prompt, MaxAge: req.MaxAge, LoginHint: req.LoginHint, Created: now, ACRValues: req.ACRValues,
	}
	t := &portier.Token{Kind: portier.TokenAuthRequest, ID: ar.ID, AppID: app.ID, Data: encode(ar), Created: now, Expires: now.Add(authRequestLifetime)}
	if err := s.store.Tx(ctx, func(tx portier.Tx) error { return tx.InsertToken(ctx, t) }); err != nil {
		return nil, err
	}
	return ar, nil
}

func (s *storage) authRequest(ctx context.Context, q grantReader, id string) (*authRequest, *portier.Token, error) {
	t, err := q.Token(ctx, portier.TokenAuthRequest, id)
	if err != nil {
		return nil, nil, err
	}
	if !s.now().Before(t.Expires) {
		return nil, nil, portier.Errorf(portier.ENotFound, "The sign-in request has expired.")
	}
	ar, err := decode[authRequest](t)
	return ar, t, err
}

// AuthRequestByID returns a pending authorization request.
func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	ar, _, err := s.authRequest(ctx, s.store, id)
	if err != nil {
		return nil, err
	}
	return ar, nil
}

// AuthRequestByCode returns the request a code was issued for. A code presented again after
// its exchange is a replay: every token issued from it is revoked.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	t, err := s.store.Token(ctx, portier.TokenCode, hashID(code))
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, errGrant("The code is unknown or expired.")
	} else if err != nil {
		return nil, err
	}
	ar, err := decode[authRequest](t)
	if err != nil {
		return nil, err
	}
	if ar.Used {
		if err := s.revokeFamily(ctx, t.Family); err != nil {
			return nil, err
		}
		return nil, errGrant("The code was already used; the tokens issued from it are revoked.")
	}
	if !s.now().Before(t.Expires) {
		return nil, errGrant("The code is unknown or expired.")
	}
	ar.codeID, ar.family = t.ID, t.Family
	return ar, nil
}

// SaveAuthCode turns a completed request into a code. The request is removed with it, so a
// second callback for the same request gets no second code.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.store.Tx(ctx, func(tx portier.Tx) error {
		t, err := tx.TokenForUpdate(ctx, portier.TokenAuthRequest, id)
		if err != nil {
			return err
		}
		ar, err := decode[authRequest](t)
		if err != nil {
			return err
		}
		if !ar.IsDone || ar.UserID == "" {
			return oidc.ErrInteractionRequired()
		}
		now := s.now()
		c := &portier.Token{
			Kind: portier.TokenCode, ID: hashID(code), UserID: ar.UserID, AppID: ar.ClientID, Family: newRequestID(),
			Data: encode(ar), Created: now, Expires: now.Add(codeLifetime),
		}
		if err := tx.InsertToken(ctx, c); err != nil {
			return err
		}
		return tx.DeleteToken(ctx, portier.TokenAuthRequest, id)
	})
}

// DeleteAuthRequest removes a request. The code row of an exchanged request stays, marked
// used, so that a replay is recognised.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.store.Tx(ctx, func(tx portier.Tx) error { return tx.DeleteToken(ctx, portier.TokenAuthRequest, id) })
}

// CreateAccessToken exchanges a code for an access token (no offline_access).
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	ar, ok := req.(*authRequest)
	if !ok || ar.codeID == "" {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	access, _, exp, err := s.exchangeCode(ctx, ar, noRefresh)
	return access, exp, err
}

// CreateAccessAndRefreshTokens exchanges a code, or rotates a refresh token: the presented
// one is marked used and a new one issued in the same family.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if current == "" {
		switch ar := req.(type) {
		case *authRequest:
			if ar.codeID != "" {
				return s.exchangeCode(ctx, ar, offlineRefresh)
			}
		case *boundRequest:
			if ar.codeID != "" {
				return s.exchangeCode(ctx, ar.authRequest, sessionRefresh)
			}
		}
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	rr, ok := req.(*refreshRequest)
	if !ok {
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	return s.rotate(ctx, rr)
}

func (s *storage) exchangeCode(ctx context.Context, ar *authRequest, kind refreshKind) (access, refresh string, exp time.Time, err error) {
	st, err := s.dir.Settings(ctx)
	if err != nil {
		return "", "", time.Time{}, err
	}
	var replay bool
	now := s.now()
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		t, err := tx.TokenForUpdate(ctx, portier.TokenCode, ar.codeID)
		if portier.ErrorCode(err) == portier.ENotFound {
			return errGrant("The code is unknown, expired or revoked.")
		} else if err != nil {
			return err
		}
		locked, err := decode[authRequest](t)
		if err != nil {
			return err
		}
		if locked.Used {
			// Two exchanges raced: the second is a replay all the same.
			replay = true
			_, err := tx.DeleteTokens(ctx, portier.TokenFilter{Family: t.Family})
			return err
		}
		u, err := tx.UserByID(ctx, t.UserID)
		if portier.ErrorCode(err) == portier.ENotFound || err == nil && !usable(u, locked.AuthTime) {
			return errGrant("The user can no longer sign in.")
		} else if err != nil {
			return err
		}
		g := grant{Scopes: locked.Scopes, AuthTime: locked.AuthTime, Granted: now, AMR: locked.AMR}
		refreshExpires := now.Add(st.RefreshTokenLifetime)
		if kind == sessionRefresh {
			g.Session = locked.SessionHash
			sess, err := liveSession(ctx, tx, g.Session, u, now, st)
			if err != nil {
				return err
			}
			refreshExpires = earlier(refreshExpires, sess.Expires)
		}
		locked.Used, locked.Granted = true, now
		t.Data = encode(locked)
		// The used code stays as long as the grant may live, so that a replay is recognised.
		t.Expires = now.Add(st.AccessTokenLifetime)
		if kind != noRefresh {
			t.Expires = refreshExpires
		}
		if err := tx.UpdateToken(ctx, t); err != nil {
			return err
		}
		if access, exp, err = s.insertAccess(ctx, tx, t, g, locked.Scopes, now, st); err != nil {
			return err
		}
		if kind != noRefresh {
			refresh, err = s.insertRefresh(ctx, tx, t, g, now, refreshExpires)
		}
		return err
	})
	if err == nil && replay {
		err = errGrant("The code was already used; the tokens issued from it are revoked.")
	}
	return access, refresh, exp, err
}

func (s *storage) rotate(ctx context.Context, rr *refreshRequest) (access, refresh string, exp time.Time, err error) {
	st, err := s.dir.Settings(ctx)
	if err != nil {
		return "", "", time.Time{}, err
	}
	var reused bool
	now := s.now()
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		t, err := tx.TokenForUpdate(ctx, portier.TokenRefresh, rr.tokenID)
		if portier.ErrorCode(err) == portier.ENotFound {
			return errGrant("The refresh token is unknown, expired or revoked.")
		} else if err != nil {
			return err
		}
		g, err := decode[grant](t)
		if err != nil {
			return err
		}
		if g.Used {
			reused = true
			_, err := tx.DeleteTokens(ctx, portier.TokenFilter{Family: t.Family})
			return err
		}
		if !now.Before(t.Expires) {
			return errGrant("The refresh token has expired.")
		}
		u, err := tx.UserByID(ctx, t.UserID)
		if portier.ErrorCode(err) == portier.ENotFound || err == nil && !usable(u, g.AuthTime) {
			return errGrant("The user can no longer sign in.")
		} else if err != nil {
			return err
		}
		refreshExpires := now.Add(st.RefreshTokenLifetime)
		if len(g.Session) > 0 {
			sess, err := liveSession(ctx, tx, g.Session, u, now, st)
			if err != nil {
				return err
			}
			// The application's use is the user's activity: it keeps the session from idling.
			if now.Sub(sess.LastSeen) >= sessionTouchEvery {
				if err := tx.TouchSession(ctx, sess.IDHash, now); err != nil {
					return err
				}
			}
			refreshExpires = earlier(refreshExpires, sess.Expires)
		}
		used := *g
		used.Used = true
		t.Data = encode(used)
		if err := tx.UpdateToken(ctx, t); err != nil {
			return err
		}
		if access, exp, err = s.insertAccess(ctx, tx, t, *g, rr.scopes, now, st); err != nil {
			return err
		}
		refresh, err = s.insertRefresh(ctx, tx, t, *g, now, refreshExpires)
		return err
	})
	if err == nil && reused {
		err = errGrant("The refresh token was already used; every token of its grant is revoked.")
	}
	return access, refresh, exp, err
}

// insertAccess adds an access token to the family of from and returns its secret id, which
// op seals into the opaque bearer token. The expiry returned is on the wall clock, which op
// uses for expires_in; the stored one is on the service's clock.
func (s *storage) insertAccess(ctx context.Context, tx portier.Tx, from *portier.Token, g grant, scopes []string, now time.Time, st portier.Settings) (string, time.Time, error) {
	secret := newSecret()
	g.Scopes = scopes
	g.Used = false
	t := &portier.Token{
		Kind: portier.TokenAccess, ID: hashID(secret), UserID: from.UserID, AppID: from.AppID, Family: from.Family,
		Data: encode(g), Created: now, Expires: now.Add(st.AccessTokenLifetime),
	}
	if err := tx.InsertToken(ctx, t); err != nil {
		return "", time.Time{}, err
	}
	return secret, time.Now().Add(st.AccessTokenLifetime), nil
}

// insertRefresh adds a refresh token, valid until expires, to the family of from.
func (s *storage) insertRefresh(ctx context.Context, tx portier.Tx, from *portier.Token, g grant, now, expires time.Time) (string, error) {
	secret := newSecret()
	g.Used = false
	t := &portier.Token{
		Kind: portier.TokenRefresh, ID: hashID(secret), UserID: from.UserID, AppID: from.AppID, Family: from.Family,
		Data: encode(g), Created: now, Expires: expires,
	}
	return secret, tx.InsertToken(ctx, t)
}

// liveSession returns the Portier session with the hash if a grant of u bound to it may still
// refresh: the session exists (signing out, "sign out everywhere", a block and a reset delete
// it), is within its absolute life, and was not idle longer than u's limit. invalid_grant
// otherwise.
func liveSession(ctx context.Context, q grantReader, hash []byte, u *portier.User, now time.Time, st portier.Settings) (*portier.Session, error) {
	sess, err := q.SessionByHash(ctx, hash)
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, errGrant("The sign-in session has ended.")
	} else if err != nil {
		return nil, err
	}
	if sess.UserID != u.ID || !now.Before(sess.Expires) || sess.Created.Before(u.SessionsValidFrom) ||
		now.Sub(sess.LastSeen) >= st.SessionIdleFor(u.Roles) {
		return nil, errGrant("The sign-in session has ended.")
	}
	return sess, nil
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// revokeFamily ends every token of one grant.
func (s *storage) revokeFamily(ctx context.Context, family string) error {
	if family == "" {
		return nil
	}
	return s.store.Tx(ctx, func(tx portier.Tx) error {
		_, err := tx.DeleteTokens(ctx, portier.TokenFilter{Family: family})
		return err
	})
}

// TokenRequestByRefreshToken returns the grant of a refresh token. A refresh token presented
// after it was rotated is reuse: its whole family is revoked.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.store.Token(ctx, portier.TokenRefresh, hashID(token))
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, errGrant("The refresh token is unknown, expired or revoked.")
	} else if err != nil {
		return nil, err
	}
	g, err := decode[grant](t)
	if err != nil {
		return nil, err
	}
	if g.Used {
		if err := s.revokeFamily(ctx, t.Family); err != nil {
			return nil, err
		}
		return nil, errGrant("The refresh token was already used; every token of its grant is revoked.")
	}
	if !s.now().Before(t.Expires) {
		return nil, errGrant("The refresh token has expired.")
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if portier.ErrorCode(err) == portier.ENotFound || err == nil && !usable(u, g.AuthTime) {
		return nil, errGrant("The user can no longer sign in.")
	} else if err != nil {
		return nil, err
	}
	// An application made assigned-only since the grant admits only its assigned users.
	if app, err := s.store.App(ctx, t.AppID); err != nil {
		return nil, errGrant("The application is gone.")
	} else if app.AssignedOnly {
		if ok, err := s.store.AppAssigned(ctx, app.ID, u.ID); err != nil {
			return nil, err
		} else if !ok {
			return nil, errGrant("The user is not assigned to the application.")
		}
	}
	return &refreshRequest{tokenID: t.ID, family: t.Family, userID: t.UserID, clientID: t.AppID, grant: *g, scopes: g.Scopes}, nil
}

// TerminateSession ends every token the user holds for the client.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	if userID == "" || clientID == "" {
		return nil
	}
	return s.store.Tx(ctx, func(tx portier.Tx) error {
		_, err := tx.DeleteTokens(ctx, portier.TokenFilter{UserID: userID, AppID: clientID, Kinds: oidcKinds})
		return err
	})
}

// RevokeToken revokes an access token (given by its secret id) or a refresh token (given
// whole, as GetRefreshTokenInfo returns it); a refresh token takes its whole family along.
// An unknown token is no error (RFC 7009, section 2.2).
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	id := hashID(tokenOrID)
	for _, kind := range []string{portier.TokenRefresh, portier.TokenAccess} {
		t, err := s.store.Token(ctx, kind, id)
		if portier.ErrorCode(err) == portier.ENotFound {
			continue
		} else if err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		if t.AppID != clientID {
			return oidc.ErrInvalidClient().WithDescription("The token was not issued to this client.")
		}
		err = s.store.Tx(ctx, func(tx portier.Tx) error {
			if kind == portier.TokenRefresh {
				_, err := tx.DeleteTokens(ctx, portier.TokenFilter{Family: t.Family})
				return err
			}
			return tx.DeleteToken(ctx, kind, id)
		})
		if err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	return nil
}

// GetRefreshTokenInfo names a refresh token of the client for revocation.
func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, err := s.store.Token(ctx, portier.TokenRefresh, hashID(token))
	if portier.ErrorCode(err) == portier.ENotFound || err == nil && t.AppID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	} else if err != nil {
		return "", "", err
	}
	return t.UserID, token, nil
}

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	return s.keys.SigningKey(ctx)
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) { return s.keys.KeySet(ctx) }

// GetClientByClientID returns the application as an op.Client.
func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	app, err := s.store.App(ctx, id)
	if err != nil {
		return nil, err
	}
	return &client{app: app}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret against its SHA-256, in
// constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	app, err := s.store.App(ctx, id)
	if portier.ErrorCode(err) == portier.ENotFound {
		return oidc.ErrInvalidClient().WithDescription("Client authentication failed.")
	} else if err != nil {
		return err
	}
	if !directory.CheckClientSecret(app, secret) {
		return oidc.ErrInvalidClient().WithDescription("Client authentication failed.")
	}
	return nil
}

// SetUserinfoFromScopes fills the ID token's claims.
func (s *storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	fillUserinfo(info, u, scopes)
	return nil
}

// errInactive is accessToken's answer for a token that is unknown, expired or revoked, or whose
// user may no longer sign in.
var errInactive = errors.New("the access token is not active")

// accessToken returns the live access token with the secret id, and its user; an error when
// it is unknown, expired or revoked, or its user may no longer sign in.
func (s *storage) accessToken(ctx context.Context, tokenID, subject string) (*portier.Token, *grant, *portier.User, error) {
	inactive := errInactive
	t, err := s.store.Token(ctx, portier.TokenAccess, hashID(tokenID))
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, nil, nil, inactive
	} else if err != nil {
		return nil, nil, nil, err
	}
	if !s.now().Before(t.Expires) || t.UserID != subject {
		return nil, nil, nil, inactive
	}
	g, err := decode[grant](t)
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := s.store.UserByID(ctx, t.UserID)
	if portier.ErrorCode(err) == portier.ENotFound || err == nil && !usable(u, g.AuthTime) {
		return nil, nil, nil, inactive
	} else if err != nil {
		return nil, nil, nil, err
	}
	return t, g, u, nil
}

// SetUserinfoFromToken would answer /oauth2/userinfo for op; Portier answers it itself
// (Provider.serveUserinfo), and this stays for op.Storage.
func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	_, g, u, err := s.accessToken(ctx, tokenID, subject)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("The access token is not active.")
	}
	fillUserinfo(info, u, g.Scopes)
	return nil
}

// SetIntrospectionFromToken answers introspection of a live access token issued to the
// asking client; anything else is inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, g, u, err := s.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if t.AppID != clientID {
		return errors.New("token of another client")
	}
	info := new(oidc.UserInfo)
	fillUserinfo(info, u, g.Scopes)
	resp.SetUserInfo(info)
	resp.Scope = g.Scopes
	resp.ClientID = t.AppID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(t.Expires)
	resp.IssuedAt = oidc.FromTime(t.Created)
	resp.AuthTime = oidc.FromTime(g.AuthTime)
	resp.Subject = u.ID
	resp.Audience = []string{t.AppID}
	resp.Issuer = op.IssuerFromContext(ctx)
	resp.Username = u.UPN
	return nil
}

// GetPrivateClaimsFromScopes adds the roles to JWT access tokens (Portier issues opaque ones).
func (s *storage) GetPrivateClaimsFromScopes(ctx context.Context, userID, _ string, _ []string) (map[string]any, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"roles": roleNames(u)}, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrUnauthorizedClient().WithDescription("JWT client authentication is not supported.")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

func (s *storage) Health(ctx context.Context) error { return s.store.Ping(ctx) }

// fillUserinfo sets the claims of u that scopes ask for; sub and roles always.
func fillUserinfo(info *oidc.UserInfo, u *portier.User, scopes []string) {
	info.Subject = u.ID
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.DisplayName
		info.PreferredUsername = u.UPN
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Mail != "" {
		info.Email = u.Mail
	}
	info.AppendClaims("roles", roleNames(u))
}

func roleNames(u *portier.User) []string {
	out := make([]string, 0, len(u.Roles))
	for _, r := range u.Roles {
		out = append(out, string(r))
	}
	return out
}
