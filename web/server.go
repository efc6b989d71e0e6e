// Package web is Portier's HTTP edge: the sign-in pages, the admin center, the operational
// endpoints. Handlers decode, call the domain, and encode; the rules live in the domain.
//
// NewServer takes its dependencies in Deps: the services (directory, sign-in engine,
// self-service, OpenID provider), never the store; routes.go lists the whole surface, and
// middleware (server.go, input.go, timeouts.go) bounds, checks and guards each request before a
// handler runs. Every domain error a handler does not answer itself goes to one renderer,
// fail.go: a table from the error's code to its HTTP status and page, plus formError for bad
// input shown again above the form that sent it. Pages are templates/*.html over layout.html;
// *_parts.html hold what pages share (the admin frame, log paging, the new-password fields).
package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"time"

	"github.com/gorilla/csrf"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/metrics"
	"github.com/portier-id/portier/oidc"
	"github.com/portier-id/portier/passkey"
	"github.com/portier-id/portier/selfservice"
	"github.com/portier-id/portier/signin"
)

// Deps are everything the server needs; NewServer takes nothing else.
type Deps struct {
	Log *slog.Logger
	// Directory is the directory service: users, settings, the logs, applications, and the
	// store's readiness. The web edge reads the store only through the services.
	Directory *directory.Service
	Engine    *signin.Engine
	// SelfService is self-service password reset and security info.
	SelfService *selfservice.Service
	// Passkeys registers passkeys and checks their assertions.
	Passkeys *passkey.Service
	Metrics  *metrics.Metrics
	Now      portier.Clock
	// OIDC is the OpenID Connect provider; nil leaves its endpoints out.
	OIDC *oidc.Provider
	// Graph is the Graph-compatible admin API (graph.New), served under /v1.0/; nil leaves it out.
	Graph http.Handler
	// BaseURL is the public URL; an https one makes every cookie Secure.
	BaseURL *url.URL
	// Secret keys the CSRF cookie; shared by every process on one store.
	Secret []byte
	// TrustedProxies are the addresses whose X-Forwarded-For header is believed.
	TrustedProxies []netip.Prefix
	// Timeouts are the request deadlines and /readyz's (unset ones at their defaults); pass
	// the same to HTTPServer for the connection's.
	Timeouts Timeouts
	// BusyHold is how long a sign-in turned away busy is held before its answer is written
	// (zero: DefaultBusyHold; negative: not held), for at most MaxHeldBusy answers at once.
	BusyHold time.Duration
}

// server holds what the handlers share.
type server struct {
	Deps
	cat    *catalogue
	cache  boundedCache[cachedPage]
	pages  *pages
	secure bool
	// imports hold the generated passwords of recent CSV imports until their one download.
	imports importDownloads
	// totals are the large totals of Active users, kept for a while (totals.go).
	totals userTotals
	// ready is /readyz's probe, shared by every probe within readyFor (readyz.go).
	ready readiness
	// busyWriters holds a token for each busy sign-in answer being written (writeBusy).
	busyWriters chan struct{}
	// busyHeld holds a token for each busy sign-in answer being held (holdBusy).
	busyHeld chan struct{}
	// after is the hold's timer: time.After's, replaced in tests.
	after func(time.Duration) (<-chan time.Time, func())
}

// NewServer returns the whole HTTP surface of Portier; routes.go lists it.
func NewServer(d Deps) http.Handler {
	s := &server{Deps: d, cat: newCatalogue(), pages: loadPages(), secure: d.BaseURL != nil && d.BaseURL.Scheme == "https",
		busyWriters: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/4)), busyHeld: make(chan struct{}, MaxHeldBusy), after: realAfter}
	if s.BusyHold == 0 {
		s.BusyHold = DefaultBusyHold
	}
	mux := http.NewServeMux()
	s.addRoutes(mux)
	var h http.Handler = mux
	h = s.plainText(h)
	h = s.csrf(h)
	h = securityHeaders(h)
	h = s.deadlines(h)
	return h
}

// csrf guards every state change with a token in the form field csrf_token; a missing or
// forged one is answered 400 with code 90100 and changes nothing.
func (s *server) csrf(next http.Handler) http.Handler {
	key := hmac.New(sha256.New, s.Secret)
	key.Write([]byte("portier csrf"))
	protect := csrf.Protect(key.Sum(nil),
		csrf.FieldName("csrf_token"),
		csrf.CookieName("portier_csrf"),
		csrf.Path("/"),
		csrf.Secure(s.secure),
		csrf.SameSite(csrf.SameSiteLaxMode),
		csrf.HttpOnly(true),
		csrf.ErrorHandler(http.HandlerFunc(s.csrfFailure)),
	)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Bound what the token check may read of a body before it parses the form.
		r.Body = http.MaxBytesReader(w, r.Body, bodyLimit(r))
		if !s.secure {
			r = csrf.PlaintextHTTPRequest(r)
		}
		if s.exemptFromCSRF(r.URL.Path) {
			r = csrf.UnsafeSkipCheck(r)
		}
		protect.ServeHTTP(w, r)
	})
}

// maxFormBytes bounds a form body: a 1,024-byte password and its neighbours fit many times over.
const maxFormBytes = 64 << 10

// bodyLimit is the bound on r's body: maxFormBytes, unless routes.go's largeBodies names the
// route. It is chosen here, before the CSRF check, because that check reads the body first.
func bodyLimit(r *http.Request) int64 {
	if n, ok := largeBodies[r.URL.Path]; ok && r.Method == http.MethodPost {
		return n
	}
	return maxFormBytes
}

// securityHeaders sets the headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func handleMetrics(m *metrics.Metrics) http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
