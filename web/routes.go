package web

import (
	"net/http"

	"github.com/portier-id/portier/directory"
)

// largeBodies are the POST paths whose body may be bigger than maxFormBytes, with their bound:
// a CSV file of users as big as the directory service takes, plus the multipart framing.
var largeBodies = map[string]int64{
	"/admin/users/import": directory.MaxImportBytes + maxFormBytes,
}

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
	mux.Handle("GET /setup", s.handleSetupPage())
	mux.Handle("POST /setup", s.handleSetup())

	mux.Handle("GET /myaccount", s.requireSession(s.handleMyAccount()))
	mux.Handle("POST /myaccount/password", s.requireSession(s.handleMyPassword()))
	mux.Handle("POST /myaccount/sessions/{id}/end", s.requireSession(s.handleEndSession()))
	mux.Handle("POST /myaccount/sessions/end-all", s.requireSession(s.handleEndAllSessions()))

	// The admin center: every page for admin roles only; each change goes through the directory service.
	admin := s.requireAdmin
	mux.Handle("GET /admin", admin(http.RedirectHandler("/admin/users", http.StatusSeeOther)))
	mux.Handle("GET /admin/{$}", admin(http.RedirectHandler("/admin/users", http.StatusSeeOther)))
	mux.Handle("GET /admin/users", admin(s.handleAdminUsers()))
	mux.Handle("GET /admin/users/new", admin(s.handleAdminNewUserPage()))
	mux.Handle("POST /admin/users/new", admin(s.handleAdminNewUser()))
	mux.Handle("GET /admin/users/import", admin(s.handleAdminImportPage()))
	mux.Handle("POST /admin/users/import", admin(s.handleAdminImport())) // body bound: largeBodies
	mux.Handle("POST /admin/users/import/passwords/{id}", admin(s.handleAdminImportPasswords()))
	mux.Handle("GET /admin/users/{upn}", admin(s.handleAdminUser()))
	mux.Handle("GET /admin/users/{upn}/reset-password", admin(s.handleAdminResetPage()))
	mux.Handle("POST /admin/users/{upn}/reset-password", admin(s.handleAdminReset()))
	mux.Handle("POST /admin/users/{upn}/unlock", admin(s.handleAdminUnlock()))
	mux.Handle("POST /admin/users/{upn}/revoke-sessions", admin(s.handleAdminRevoke()))
	mux.Handle("GET /admin/users/{upn}/sign-in-status", admin(s.handleAdminActionPage("admin_status", "admin.status.title", func(a userActions) bool { return a.SignInStatus })))
	mux.Handle("POST /admin/users/{upn}/sign-in-status", admin(s.handleAdminSignInStatus()))
	mux.Handle("GET /admin/users/{upn}/roles", admin(s.handleAdminActionPage("admin_roles", "admin.roles.title", func(a userActions) bool { return a.Roles })))
	mux.Handle("POST /admin/users/{upn}/roles", admin(s.handleAdminRoles()))
	mux.Handle("GET /admin/users/{upn}/delete", admin(s.handleAdminActionPage("admin_delete", "admin.delete.title", func(a userActions) bool { return a.Delete })))
	mux.Handle("POST /admin/users/{upn}/delete", admin(s.handleAdminDelete()))
	mux.Handle("GET /admin/signins", admin(s.handleAdminSignIns()))
	mux.Handle("GET /admin/audit", admin(s.handleAdminAudit()))
	mux.Handle("GET /admin/settings", admin(s.handleAdminSettingsPage()))
	mux.Handle("POST /admin/settings", admin(s.handleAdminSettings()))
}
