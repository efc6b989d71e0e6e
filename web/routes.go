package web

import (
	"net/http"
	"strings"

	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/graph"
	"github.com/portier-id/portier/oidc"
)

// largeBodies are the POST paths whose body may be bigger than maxFormBytes, with their bound:
// a CSV file of users as big as the directory service takes, plus the multipart framing.
var largeBodies = map[string]int64{
	"/admin/users/import": directory.MaxImportBytes + maxFormBytes,
}

// csrfExempt are the paths other programs POST to, authenticating themselves (OpenID Connect
// clients with their secret or PKCE), where a browser's CSRF token has no place.
var csrfExempt = map[string]bool{
	oidc.PathAuthorize: true, oidc.PathToken: true, oidc.PathIntrospect: true,
	oidc.PathUserinfo: true, oidc.PathRevoke: true, oidc.PathEndSession: true,
}

// exemptFromCSRF reports whether path is one that other programs call with credentials of
// their own (csrfExempt, the Graph-compatible API's bearer tokens, the token endpoint under
// the tenant id), never with Portier's cookies.
func (s *server) exemptFromCSRF(path string) bool {
	return csrfExempt[path] || strings.HasPrefix(path, graph.Prefix) ||
		s.OIDC != nil && path == s.OIDC.TenantPath(oidc.TenantTokenSuffix)
}

// addRoutes lists Portier's whole HTTP surface.
func (s *server) addRoutes(mux *http.ServeMux) {
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /metrics", handleMetrics(s.Metrics))
	mux.Handle("GET /static/", handleStatic())
	mux.Handle("GET /language", s.handleLanguage())

	// OpenID Connect (oidc/): the protocol endpoints answer any method, so that op answers
	// CORS preflights and wrong methods itself; continue, callback and logout use the session.
	if p := s.OIDC; p != nil {
		mux.Handle("GET "+oidc.PathDiscovery, p)
		mux.Handle(oidc.PathAuthorize, p)
		mux.Handle("GET "+oidc.PathContinue, s.handleOIDCContinue())
		mux.Handle("GET "+oidc.PathCallback, s.handleOIDCCallback())
		mux.Handle(oidc.PathToken, p)
		mux.Handle(oidc.PathIntrospect, p)
		mux.Handle(oidc.PathUserinfo, p)
		mux.Handle(oidc.PathRevoke, p)
		mux.Handle(oidc.PathKeys, p)
		mux.Handle(oidc.PathEndSession, s.handleOIDCLogout())
		// Microsoft's identity library finds the token endpoint under the tenant id.
		mux.Handle(p.TenantPath(oidc.TenantTokenSuffix), p)
		mux.Handle("GET "+p.TenantPath(oidc.TenantDiscoverySuffix), p)
	}

	// The Microsoft Graph-compatible admin API (graph/): bearer tokens, Graph's shapes.
	if s.Graph != nil {
		mux.Handle(graph.Prefix, s.withClientIP(s.Graph))
	}

	mux.Handle("GET /{$}", http.RedirectHandler("/myaccount", http.StatusSeeOther))
	mux.Handle("GET /login", s.handleLoginPage())
	mux.Handle("POST /login", s.handleLogin())
	mux.Handle("POST "+pathPasskeySignIn+"/options", s.handlePasskeySignInOptions())
	mux.Handle("POST "+pathPasskeySignIn, s.handlePasskeySignIn())
	// The second step of a sign-in (multi-factor): the pending sign-in is in the portier_mfa cookie.
	mux.Handle("GET "+mfaPath, s.handleMFA())
	mux.Handle("GET "+mfaPath+"/totp", s.handleMFATOTPPage())
	mux.Handle("POST "+mfaPath+"/totp", s.handleMFATOTP())
	mux.Handle("GET "+mfaRegisterPath, s.handleMFARegisterPage())
	mux.Handle("GET "+mfaRegisterPath+"/qr.png", s.handleMFARegisterQR())
	mux.Handle("POST "+mfaRegisterPath, s.handleMFARegister())
	mux.Handle("GET "+pathMFAPasskey, s.handleMFAPasskeyPage())
	mux.Handle("POST "+pathMFAPasskey+"/options", s.handleMFAPasskeyOptions())
	mux.Handle("POST "+pathMFAPasskey, s.handleMFAPasskey())
	mux.Handle("GET "+pathMFARegisterPasskey, s.handleMFARegisterPasskeyPage())
	mux.Handle("POST "+pathMFARegisterPasskey+"/options", s.handleMFARegisterPasskeyOptions())
	mux.Handle("POST "+pathMFARegisterPasskey, s.handleMFARegisterPasskey())
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
	mux.Handle("GET /myaccount/security-info", s.requireSession(s.handleSecurityInfo()))
	mux.Handle("POST /myaccount/security-info/email", s.requireSession(s.handleSecurityAddEmail()))
	mux.Handle("POST /myaccount/security-info/totp", s.requireSession(s.handleSecurityAddTOTP()))
	mux.Handle("GET /myaccount/security-info/confirm/{id}", s.requireSession(s.handleSecurityConfirmPage()))
	mux.Handle("GET /myaccount/security-info/confirm/{id}/qr.png", s.requireSession(s.handleSecurityQR()))
	mux.Handle("POST /myaccount/security-info/confirm/{id}", s.requireSession(s.handleSecurityConfirm()))
	mux.Handle("POST "+pathPasskeyRegister+"/options", s.requireSession(s.handlePasskeyRegisterOptions()))
	mux.Handle("POST "+pathPasskeyRegister, s.requireSession(s.handlePasskeyRegister()))
	mux.Handle("GET /myaccount/security-info/remove/{id}", s.requireSession(s.handleSecurityRemovePage()))
	mux.Handle("POST /myaccount/security-info/remove/{id}", s.requireSession(s.handleSecurityRemove()))

	// Self-service password reset and unlock; the browser's progress is in the portier_recover cookie.
	mux.Handle("GET /recover", s.handleRecoverStart())
	mux.Handle("POST /recover", s.handleRecoverBegin())
	mux.Handle("GET /recover/verify", s.handleRecoverVerify())
	mux.Handle("POST /recover/email", s.handleRecoverSend())
	mux.Handle("POST /recover/code", s.handleRecoverCode())
	mux.Handle("POST /recover/totp", s.handleRecoverTOTP())
	mux.Handle("GET /recover/choose", s.handleRecoverChoose())
	mux.Handle("POST /recover/unlock", s.handleRecoverUnlock())
	mux.Handle("POST /recover/password", s.handleRecoverPassword())
	mux.Handle("GET /recover/report", s.handleReportPage())
	mux.Handle("POST /recover/report", s.handleReport())

	// The admin center: every page for admin roles only; each change goes through the directory service.
	admin := s.requireAdmin
	mux.Handle("GET /admin", admin(s.handleAdminHome()))
	mux.Handle("GET /admin/{$}", admin(http.RedirectHandler("/admin", http.StatusSeeOther)))
	mux.Handle("GET /admin/users", admin(s.handleAdminUsers()))
	mux.Handle("GET /admin/users/new", admin(s.handleAdminNewUserPage()))
	mux.Handle("POST /admin/users/new", admin(s.handleAdminNewUser()))
	mux.Handle("GET /admin/users/import", admin(s.handleAdminImportPage()))
	mux.Handle("POST /admin/users/import", admin(s.handleAdminImport())) // body bound: largeBodies
	mux.Handle("POST /admin/users/import/passwords/{id}", admin(s.handleAdminImportPasswords()))
	mux.Handle("POST /admin/users/bulk", admin(s.handleAdminBulk()))
	mux.Handle("GET /admin/users/{upn}", admin(s.handleAdminUser()))
	mux.Handle("GET /admin/users/{upn}/reset-password", admin(s.handleAdminResetPage()))
	mux.Handle("POST /admin/users/{upn}/reset-password", admin(s.handleAdminReset()))
	mux.Handle("POST /admin/users/{upn}/unlock", admin(s.handleAdminUserAction(s.Directory.Unlock, "unlocked")))
	mux.Handle("POST /admin/users/{upn}/revoke-sessions", admin(s.handleAdminUserAction(s.Directory.RevokeSessions, "signed-out")))
	mux.Handle("POST /admin/users/{upn}/security-info/reset", admin(s.handleAdminUserAction(s.Directory.ResetSecurityInfo, "security-info")))
	mux.Handle("POST /admin/users/{upn}/tap", admin(s.handleAdminCreateTAP()))
	mux.Handle("POST /admin/users/{upn}/tap/revoke", admin(s.handleAdminRevokeTAP()))
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

	// Applications (OpenID Connect clients), for global admins: the pages refuse others before
	// reading anything; each POST is refused, and audited, by the directory service.
	apps := func(h http.Handler) http.Handler { return admin(s.appsGuard(h)) }
	mux.Handle("GET /admin/apps", apps(s.handleAdminApps()))
	mux.Handle("GET /admin/apps/new", apps(s.handleAdminNewAppPage()))
	mux.Handle("POST /admin/apps/new", admin(s.handleAdminNewApp()))
	mux.Handle("GET /admin/apps/{id}", apps(s.handleAdminApp()))
	mux.Handle("GET /admin/apps/{id}/edit", apps(s.handleAdminEditAppPage()))
	mux.Handle("POST /admin/apps/{id}/edit", admin(s.handleAdminEditApp()))
	mux.Handle("GET /admin/apps/{id}/secret", apps(s.handleAdminAppConfirmPage("secret", "apps.secret.new")))
	mux.Handle("POST /admin/apps/{id}/secret", admin(s.handleAdminAppSecret()))
	mux.Handle("GET /admin/apps/{id}/delete", apps(s.handleAdminAppConfirmPage("delete", "apps.delete.title")))
	mux.Handle("POST /admin/apps/{id}/delete", admin(s.handleAdminDeleteApp()))
	mux.Handle("POST /admin/apps/{id}/users", admin(s.handleAdminAppAssign(true)))
	mux.Handle("POST /admin/apps/{id}/users/remove", admin(s.handleAdminAppAssign(false)))
	mux.Handle("POST /admin/apps/{id}/permissions", admin(s.handleAdminAppPermissions()))
}

// withClientIP tells the Graph API the client's address, as this edge reads it (trusted
// proxies included), for its audit entries.
func (s *server) withClientIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(graph.WithClientIP(r.Context(), s.clientIP(r).String())))
	})
}
