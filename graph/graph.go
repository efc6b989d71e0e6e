// Package graph is Portier's Microsoft Graph-compatible admin API: /v1.0/users and the audit
// logs, answered as Microsoft Graph answers them, so that the scripts and SDKs administrators
// already use for the unlock procedure work against Portier: the requests Microsoft's Go SDK
// sends, and the answers it parses (issue 14's wire specification, graph-api.md).
//
// Callers are applications acting on their own behalf: they get an access token with the
// OAuth 2.0 client credentials grant (oidc package) and send it as a bearer token; its roles
// claim holds their application permissions (Graph's names), which every endpoint checks.
// Every action goes through the directory service, with its role checks (an application
// reaches accounts as a user admin would: portier.AppActor), its audit entries and its
// effects on every process.
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/oidc"
	"github.com/portier-id/portier/password"
)

// Prefix is the path under which the API is served.
const Prefix = "/v1.0/"

// TokenVerifier checks application access tokens (the oidc package's Provider).
type TokenVerifier interface {
	VerifyAppToken(ctx context.Context, raw string) (*oidc.AppToken, error)
}

// Rate is the request rate each application may make, per process: Burst requests at once,
// refilled at PerSecond.
type Rate struct {
	PerSecond float64
	Burst     int
}

// DefaultRate lets a script page through a large directory at full speed while keeping a
// runaway loop from starving sign-ins.
var DefaultRate = Rate{PerSecond: 50, Burst: 500}

// Config is what New needs.
type Config struct {
	Directory *directory.Service
	Tokens    TokenVerifier
	// BaseURL is Portier's public URL (serve --base-url): @odata.context and @odata.nextLink
	// are built from it.
	BaseURL *url.URL
	// Secret keys the MAC of $skiptoken; shared by every process on one store.
	Secret []byte
	Now    portier.Clock
	Log    *slog.Logger
	// Rate is each application's rate limit; zero means DefaultRate.
	Rate Rate
}

// api holds what the handlers share.
type api struct {
	Config
	base string // BaseURL without its trailing slash

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// New returns the handler of every path under Prefix.
func New(c Config) http.Handler {
	if c.Rate.PerSecond == 0 {
		c.Rate = DefaultRate
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	a := &api{Config: c, base: strings.TrimSuffix(c.BaseURL.String(), "/"), limiters: map[string]*rate.Limiter{}}
	mux := http.NewServeMux()
	read := []string{portier.PermUserRead, portier.PermUserReadWrite}
	write := []string{portier.PermUserReadWrite}
	logs := []string{portier.PermAuditLogRead}
	mux.Handle("GET /v1.0/users", a.authorized(read, a.listUsers))
	mux.Handle("POST /v1.0/users", a.authorized(write, a.createUser))
	mux.Handle("GET /v1.0/users/{key}", a.authorized(read, a.getUser))
	// PATCH checks the permission of each property it changes (patchPermissions).
	mux.Handle("PATCH /v1.0/users/{key}", a.authorized(nil, a.updateUser))
	mux.Handle("DELETE /v1.0/users/{key}", a.authorized(write, a.deleteUser))
	mux.Handle("POST /v1.0/users/{key}/revokeSignInSessions", a.authorized(
		[]string{portier.PermUserRevokeSessions, portier.PermUserReadWrite}, a.revokeSessions))
	mux.Handle("POST /v1.0/users/{key}/"+UnlockAction, a.authorized(
		[]string{portier.PermUserUnlock, portier.PermUserReadWrite}, a.unlock))
	mux.Handle("GET /v1.0/auditLogs/signIns", a.authorized(logs, a.listSignIns))
	mux.Handle("GET /v1.0/auditLogs/directoryAudits", a.authorized(logs, a.listDirectoryAudits))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, badRequest("Request_BadRequest", "Unsupported request: %s %s. Portier answers /v1.0/users and /v1.0/auditLogs.", r.Method, r.URL.EscapedPath()))
	}))
	return a.headers(mux)
}

// UnlockAction is the bound action that clears a user's lockout and nothing else, in
// Portier's namespace: POST /v1.0/users/{id}/portier.unlock.
const UnlockAction = "portier.unlock"

// LockoutProperty is the Portier extension property of a user holding its lockout state,
// read with $select: {"locked": bool, "lockedUntil": time or null, "failedAttempts": n}.
const LockoutProperty = "portierLockout"

// requestIDs are a request's ids, as Graph echoes them in headers and error bodies.
type requestIDs struct{ request, client string }

type ctxKey int

const (
	keyIDs ctxKey = iota
	keyClientIP
	keyActor
	keyToken
)

// WithClientIP records the client's address (the web edge knows which proxies to believe),
// which the audit log keeps for the application's actions.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, keyClientIP, ip)
}

// headers gives every answer its request ids and Graph's content type.
func (a *api) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := requestIDs{request: portier.NewID()}
		if c := r.Header.Get("client-request-id"); c != "" && len(c) <= 100 && portier.IsPlainText(c, false) {
			ids.client = c
		} else {
			ids.client = ids.request
		}
		w.Header().Set("request-id", ids.request)
		w.Header().Set("client-request-id", ids.client)
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyIDs, ids)))
	})
}

// authorized checks the bearer token, the application's rate and, unless perms is nil (the
// handler checks itself), that the token holds one of perms; then runs h with the
// application as the actor.
func (a *api) authorized(perms []string, h func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r)
		if !ok {
			a.fail(w, r, unauthorized("Access token is empty."))
			return
		}
		tok, err := a.Tokens.VerifyAppToken(r.Context(), raw)
		var te *oidc.TokenError
		if errors.As(err, &te) {
			a.fail(w, r, unauthorized(te.Message))
			return
		} else if err != nil {
			a.fail(w, r, err)
			return
		}
		if wait, ok := a.allow(tok.App.ID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			a.fail(w, r, &apiError{status: http.StatusTooManyRequests, code: "TooManyRequests",
				message: "Too many requests from this application: try again in " + strconv.Itoa(wait) + " seconds."})
			return
		}
		if perms != nil && !holds(tok, perms...) {
			a.fail(w, r, denied(perms))
			return
		}
		ip, _ := r.Context().Value(keyClientIP).(string)
		actor := portier.AppActor(tok.App, ip)
		ctx := context.WithValue(context.WithValue(r.Context(), keyActor, actor), keyToken, tok)
		h(w, r.WithContext(ctx))
	})
}

// bearer returns the token of an Authorization: Bearer header; false when there is none.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// holds reports whether the token carries any of perms.
func holds(tok *oidc.AppToken, perms ...string) bool {
	for _, p := range perms {
		if slices.Contains(tok.Roles, p) {
			return true
		}
	}
	return false
}

func actorOf(r *http.Request) portier.Actor { return r.Context().Value(keyActor).(portier.Actor) }

func tokenOf(r *http.Request) *oidc.AppToken { return r.Context().Value(keyToken).(*oidc.AppToken) }

// allow takes one request from the application's bucket; when it is empty it returns how
// many whole seconds until a request would be allowed.
func (a *api) allow(appID string) (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	lim, ok := a.limiters[appID]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(a.Rate.PerSecond), a.Rate.Burst)
		a.limiters[appID] = lim
	}
	now := a.Now()
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return 60, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return int(math.Ceil(d.Seconds())), false
	}
	return 0, true
}

// apiError is an answer in Graph's error shape.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: sprintf(format, args...)}
}

func unsupported(format string, args ...any) *apiError {
	return badRequest("Request_UnsupportedQuery", format, args...)
}

func unauthorized(message string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", message: message}
}

func denied(perms []string) *apiError {
	return &apiError{status: http.StatusForbidden, code: "Authorization_RequestDenied",
		message: "Insufficient privileges to complete the operation. This needs one of the application permissions " + strings.Join(perms, ", ") + "."}
}

func notFound(key string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "Request_ResourceNotFound",
		message: "Resource '" + key + "' does not exist or one of its queried reference-property objects are not present."}
}

// graphError turns a directory error into Graph's: bad input 400, a taken name 400 in
// Graph's words, refused 403, missing 404, and the store's trouble 503 (which the SDKs retry).
func graphError(err error, key string) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var rule *password.RuleError
	msg := portier.ErrorMessage(err)
	switch portier.ErrorCode(err) {
	case portier.EInvalid:
		if errors.As(err, &rule) {
			return badRequest("Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password. %s", msg)
		}
		return badRequest("Request_BadRequest", "%s", msg)
	case portier.EConflict:
		return badRequest("Request_BadRequest", "Another object with the same value for property userPrincipalName already exists.")
	case portier.EForbidden:
		return &apiError{status: http.StatusForbidden, code: "Authorization_RequestDenied",
			message: "Insufficient privileges to complete the operation. " + msg}
	case portier.ENotFound:
		return notFound(key)
	}
	return &apiError{status: http.StatusServiceUnavailable, code: "ServiceNotAvailable", message: "The directory cannot be reached; try again."}
}

// fail answers err in Graph's error shape.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := graphError(err, r.PathValue("key"))
	if ae.status == http.StatusServiceUnavailable {
		a.Log.Error("graph: request failed", "method", r.Method, "path", r.URL.EscapedPath(), "err", err)
		w.Header().Set("Retry-After", "5")
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+a.base+`/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="invalid_token"`)
	}
	WriteError(w, r, ae.status, ae.code, ae.message)
}

// WriteError answers in Graph's error shape,
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}: for the
// web edge too, which refuses some requests before they reach the API.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	ids, _ := r.Context().Value(keyIDs).(requestIDs)
	if ids.request == "" { // refused before the API's own middleware ran
		ids.request = portier.NewID()
		ids.client = ids.request
		if c := r.Header.Get("client-request-id"); c != "" && len(c) <= 100 && portier.IsPlainText(c, false) {
			ids.client = c
		}
		w.Header().Set("request-id", ids.request)
		w.Header().Set("client-request-id", ids.client)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]string{
			"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": ids.request, "client-request-id": ids.client,
		},
	}})
}

// contentType is Graph's, which the SDKs accept as JSON.
const contentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return // the client went away; nothing to tell it
	}
}
