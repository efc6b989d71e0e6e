package web

import (
	"net/http"
)

// addRoutes lists Portier's whole HTTP surface.
func (s *server) addRoutes(mux *http.ServeMux) {
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(s.Store))
	mux.Handle("GET /metrics", handleMetrics(s.Metrics))
	mux.Handle("GET /static/", handleStatic())
	mux.Handle("GET /language", s.handleLanguage())

	mux.Handle("GET /{$}", http.RedirectHandler("/myaccount", http.StatusSeeOther))
	mux.Handle("GET /login", s.handleLoginPage())
	mux.Handle("POST /login", s.handleLogin())
	mux.Handle("GET /change-password", s.handleForcedChangePage())
	mux.Handle("POST /change-password", s.handleForcedChange())
	mux.Handle("GET /logout", s.handleLogoutPage())
	mux.Handle("POST /logout", s.handleLogout())

	mux.Handle("GET /myaccount", s.requireSession(s.handleMyAccount()))
	mux.Handle("POST /myaccount/password", s.requireSession(s.handleMyPassword()))
	mux.Handle("POST /myaccount/sessions/{id}/end", s.requireSession(s.handleEndSession()))
	mux.Handle("POST /myaccount/sessions/end-all", s.requireSession(s.handleEndAllSessions()))
}
