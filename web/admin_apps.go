package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
)

// The admin center's Applications pages: the OpenID Connect clients that sign their users in
// through Portier. Only global admins see them; every change goes through the directory
// service, which checks the role again and audits a refusal.

// appURL is the admin center's address of an application.
func appURL(id string) string { return "/admin/apps/" + url.PathEscape(id) }

// mayManageApps reports whether the viewer may see and change applications.
func mayManageApps(r *http.Request) bool {
	return portier.Can(sessionUser(r).Roles, portier.ActionUpdateApp, nil)
}

// appsGuard refuses (403) a viewer who may not manage applications, before any page of the
// section is read.
func (s *server) appsGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !mayManageApps(r) {
			s.fail(w, r, errNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// appForm is the state of the Register an application and Edit forms: URIs as typed, one per line.
type appForm struct {
	// App is the application edited; nil on the register form.
	App                      *portier.App
	Name                     string
	RedirectURIs, PostLogout string
	Public, AssignedOnly     bool
	ClientCredentials        bool
	NameMaxChars             int
}

func appFormOf(app *portier.App) *appForm {
	return &appForm{App: app, Name: app.Name, RedirectURIs: strings.Join(app.RedirectURIs, "\n"),
		PostLogout: strings.Join(app.PostLogoutURIs, "\n"), Public: app.Public, AssignedOnly: app.AssignedOnly,
		ClientCredentials: app.ClientCredentials, NameMaxChars: directory.MaxAppNameLength}
}

func appFormFrom(r *http.Request) *appForm {
	return &appForm{
		Name: r.PostFormValue("name"), RedirectURIs: r.PostFormValue("redirect_uris"),
		PostLogout: r.PostFormValue("post_logout_uris"), Public: r.PostFormValue("public") == "on",
		AssignedOnly: r.PostFormValue("assigned_only") == "on", NameMaxChars: directory.MaxAppNameLength,
		ClientCredentials: r.PostFormValue("client_credentials") == "on",
	}
}

// input is the form as the directory service takes it; empty lines are dropped there.
func (f *appForm) input() directory.AppInput {
	return directory.AppInput{Name: f.Name, RedirectURIs: lines(f.RedirectURIs), PostLogoutURIs: lines(f.PostLogout),
		Public: f.Public, AssignedOnly: f.AssignedOnly, ClientCredentials: f.ClientCredentials}
}

// lines splits a textarea's value into its lines, whatever the browser's line ends.
func lines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
}

// appsList is what the Applications page shows.
type appsList struct {
	Apps []*portier.App
}

func (s *server) handleAdminApps() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apps, err := s.Directory.ListApps(r.Context(), s.adminActor(r))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p := s.adminPage(r, "apps.title", "apps")
		if r.URL.Query().Get("done") == "deleted" {
			p.Notice = p.T.T("apps.done.deleted")
		}
		p.Data = &appsList{Apps: apps}
		s.render(w, http.StatusOK, "admin_apps", p)
	})
}

func (s *server) handleAdminNewAppPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.adminPage(r, "apps.new.title", "apps")
		p.Data = &appForm{NameMaxChars: directory.MaxAppNameLength}
		s.render(w, http.StatusOK, "admin_app_form", p)
	})
}

// appSecretPage shows a client secret, once: after registering a confidential application
// or replacing its secret.
type appSecretPage struct {
	App     *portier.App
	Secret  string
	Created bool
	// Discovery is the provider's discovery document, for the application's configuration.
	Discovery string
}

func (s *server) handleAdminNewApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := appFormFrom(r)
		app, secret, err := s.Directory.CreateApp(r.Context(), s.adminActor(r), form.input())
		if err != nil {
			s.appFormError(w, r, "apps.new.title", form, err)
			return
		}
		p := s.adminPage(r, "apps.new.title", "apps")
		if secret == "" {
			http.Redirect(w, r, appURL(app.ID)+"?done=created", http.StatusSeeOther)
			return
		}
		p.Title = p.T.T("apps.secret.created")
		p.Data = &appSecretPage{App: app, Secret: secret, Created: true, Discovery: s.discoveryURL()}
		s.render(w, http.StatusOK, "admin_app_secret", p)
	})
}

// discoveryURL is where applications find the provider's configuration; "" without a base URL.
func (s *server) discoveryURL() string {
	if s.BaseURL == nil {
		return ""
	}
	return strings.TrimSuffix(s.BaseURL.String(), "/") + "/.well-known/openid-configuration"
}

// appDetails is what an application's page shows.
type appDetails struct {
	App       *portier.App
	Users     []*portier.User
	Discovery string
	// AssignUPN is the user name typed in the assign form, kept when it failed.
	AssignUPN string
	// Permissions is the API permissions section, for an application acting on its own behalf.
	Permissions *apiPermissions
}

// apiPermissions is the Applications > API permissions section of an application's page.
type apiPermissions struct {
	TenantID, TokenEndpoint, APIBase string
	Rows                             []permissionRow
}

// permissionRow is one application permission, with what it allows in the viewer's language.
type permissionRow struct {
	Name, Description string
	Granted           bool
}

// permissionText names each permission's description in the locales.
var permissionText = map[string]string{
	portier.PermUserRead: "user-read", portier.PermUserReadWrite: "user-readwrite",
	portier.PermUserEnableDisable: "enable-disable", portier.PermUserPassword: "password",
	portier.PermUserRevokeSessions: "revoke", portier.PermAuditLogRead: "auditlog", portier.PermUserUnlock: "unlock",
}

// permissionsOf builds the API permissions section of app, nil when it does not act on its own behalf.
func (s *server) permissionsOf(r *http.Request, app *portier.App, t *translator) *apiPermissions {
	if !app.ClientCredentials || s.OIDC == nil {
		return nil
	}
	base := strings.TrimSuffix(s.OIDC.Issuer(), "/")
	out := &apiPermissions{TenantID: s.OIDC.TenantID(), TokenEndpoint: base + "/oauth2/token", APIBase: base + "/v1.0"}
	for _, p := range portier.AppPermissions {
		out.Rows = append(out.Rows, permissionRow{Name: p, Description: t.T("apps.perm." + permissionText[p]),
			Granted: slices.Contains(app.Permissions, p)})
	}
	return out
}

// handleAdminAppPermissions saves the API permissions form: the ticked permissions are
// granted, the others removed, through the directory service (global admins only, audited).
func (s *server) handleAdminAppPermissions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ticked := r.PostForm["permission"]
		var remove []string
		for _, p := range portier.AppPermissions {
			if !slices.Contains(ticked, p) {
				remove = append(remove, p)
			}
		}
		if _, err := s.Directory.SetAppPermissions(r.Context(), s.adminActor(r), r.PathValue("id"), ticked, remove); err != nil {
			s.appPageError(w, r, "", err)
			return
		}
		http.Redirect(w, r, appURL(r.PathValue("id"))+"?done=permissions", http.StatusSeeOther)
	})
}

// loadApp reads the application of the path with its assigned users; it answers 403, 404
// or 503 itself and then returns nil.
func (s *server) loadApp(w http.ResponseWriter, r *http.Request) *appDetails {
	actor := s.adminActor(r)
	app, err := s.Directory.App(r.Context(), actor, r.PathValue("id"))
	var users []*portier.User
	if err == nil {
		users, err = s.Directory.ListAppUsers(r.Context(), actor, app.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	d := &appDetails{App: app, Users: users, Discovery: s.discoveryURL()}
	d.Permissions = s.permissionsOf(r, app, s.newPage(r, "apps.app.title").T)
	return d
}

func (s *server) handleAdminApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.loadApp(w, r)
		if d == nil {
			return
		}
		p := s.adminPage(r, "apps.app.title", "apps")
		p.Title = d.App.Name
		switch done := r.URL.Query().Get("done"); done {
		case "created", "saved", "assigned", "unassigned", "permissions":
			p.Notice = p.T.T("apps.done." + done)
		}
		p.Data = d
		s.render(w, http.StatusOK, "admin_app", p)
	})
}

func (s *server) handleAdminEditAppPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.loadApp(w, r)
		if d == nil {
			return
		}
		p := s.adminPage(r, "apps.edit.title", "apps")
		p.Data = appFormOf(d.App)
		s.render(w, http.StatusOK, "admin_app_form", p)
	})
}

func (s *server) handleAdminEditApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, id := s.adminActor(r), r.PathValue("id")
		form := appFormFrom(r)
		// The client type cannot change and the form does not offer it: keep the current one.
		// A refused actor cannot read it, and goes on to be refused (and audited) by UpdateApp.
		app, err := s.Directory.App(r.Context(), actor, id)
		if err == nil {
			form.Public, form.App = app.Public, app
		}
		if _, err = s.Directory.UpdateApp(r.Context(), actor, id, form.input()); err != nil {
			s.appFormError(w, r, "apps.edit.title", form, err)
			return
		}
		http.Redirect(w, r, appURL(id)+"?done=saved", http.StatusSeeOther)
	})
}

// appConfirm is a page that asks before a change that cannot be undone.
type appConfirm struct {
	App *portier.App
	// Kind is delete or secret: it picks the texts, the form's address and its button.
	Kind string
}

func (s *server) handleAdminAppConfirmPage(kind, titleID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.loadApp(w, r)
		if d == nil {
			return
		}
		if kind == "secret" && d.App.Public {
			http.Redirect(w, r, appURL(d.App.ID), http.StatusSeeOther) // a public client has no secret
			return
		}
		p := s.adminPage(r, titleID, "apps")
		p.Data = &appConfirm{App: d.App, Kind: kind}
		s.render(w, http.StatusOK, "admin_app_confirm", p)
	})
}

func (s *server) handleAdminDeleteApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Directory.DeleteApp(r.Context(), s.adminActor(r), r.PathValue("id")); err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/apps?done=deleted", http.StatusSeeOther)
	})
}

func (s *server) handleAdminAppSecret() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := s.adminActor(r)
		secret, err := s.Directory.NewAppSecret(r.Context(), actor, r.PathValue("id"))
		if err != nil { // bad input: a public client, which has no secret to replace
			s.appPageError(w, r, "", err)
			return
		}
		app, err := s.Directory.App(r.Context(), actor, r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p := s.adminPage(r, "apps.secret.new", "apps")
		p.Data = &appSecretPage{App: app, Secret: secret, Discovery: s.discoveryURL()}
		s.render(w, http.StatusOK, "admin_app_secret", p)
	})
}

// handleAdminAppAssign assigns (or, with assigned false, unassigns) the user named in the
// form's upn field; an unknown or malformed user name is shown on the application's page.
func (s *server) handleAdminAppAssign(assigned bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upn := strings.TrimSpace(r.PostFormValue("upn"))
		err := s.Directory.SetAppAssigned(r.Context(), s.adminActor(r), r.PathValue("id"), upn, assigned)
		if err != nil {
			if portier.ErrorCode(err) == portier.ENotFound {
				// A user name that names no user is bad input. The application may be what is
				// missing: appPageError then answers 404.
				err = portier.Errorf(portier.EInvalid, "%s", portier.ErrorMessage(err))
			}
			s.appPageError(w, r, upn, err)
			return
		}
		done := "assigned"
		if !assigned {
			done = "unassigned"
		}
		http.Redirect(w, r, appURL(r.PathValue("id"))+"?done="+done, http.StatusSeeOther)
	})
}

// appFormError answers a register or edit form the directory refused: bad input shows the
// form again with the reason, anything else goes to fail.
func (s *server) appFormError(w http.ResponseWriter, r *http.Request, titleID string, form *appForm, err error) {
	if !inputError(err) {
		s.fail(w, r, err)
		return
	}
	p := s.adminPage(r, titleID, "apps")
	p.Data = form
	s.formError(w, "admin_app_form", p, err)
}

// appPageError answers an action on an application the directory refused: bad input shows
// the application's page again with the reason, anything else goes to fail. upn is the user
// name typed in the assign form, if that was the action.
func (s *server) appPageError(w http.ResponseWriter, r *http.Request, upn string, err error) {
	if !inputError(err) {
		s.fail(w, r, err)
		return
	}
	d := s.loadApp(w, r)
	if d == nil {
		return
	}
	p := s.adminPage(r, "apps.app.title", "apps")
	p.Title = d.App.Name
	switch {
	case upn == "" && r.PostForm.Has("upn"):
		err = portier.Errorf(portier.EInvalid, "%s", p.T.T("apps.assign.empty"))
	case upn != "":
		err = portier.Errorf(portier.EInvalid, "%s", p.T.T("apps.assign.nouser", "UPN", upn))
		d.AssignUPN = upn
	}
	p.Data = d
	s.formError(w, "admin_app", p, err)
}
