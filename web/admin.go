package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/selfservice"
)

// adminNav is the state of the admin center's navigation on one page.
type adminNav struct {
	// Section is the current section: users, new-user, signins, audit, apps, settings.
	Section string
	// Settings reports whether the viewer may open the settings (global admins only).
	Settings bool
	// CreateUsers reports whether the viewer may add users.
	CreateUsers bool
	// Apps reports whether the viewer may manage applications (global admins only).
	Apps bool
}

// templateFuncs are the functions every template may call.
var templateFuncs = template.FuncMap{
	// userURL is the admin center's address of a user; the UPN may hold a slash, hence the escape.
	"userURL": func(upn string) string { return "/admin/users/" + url.PathEscape(upn) },
	// appURL is the admin center's address of an application.
	"appURL":  appURL,
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// maskAddress shows an alternate email address to admins half hidden, as the audit log does.
	"maskAddress": selfservice.MaskAddress,
	// rolesView hands the "roles" template a user's roles with the viewer's translator.
	"rolesView": func(t *translator, roles []portier.Role) any {
		return struct {
			T     *translator
			Roles []portier.Role
		}{t, roles}
	},
	// codes are the sign-in codes the sign-in log's filter offers.
	"codes": func() []int {
		return []int{portier.CodeSuccess, portier.CodeInvalidCredentials, portier.CodeLocked, portier.CodeBlocked,
			portier.CodePasswordChangeNeeded, portier.CodeBadRequest, portier.CodeBusy, portier.CodeServerError}
	},
}

// requireAdmin lets through signed-in users holding any admin role; other signed-in users
// get a 403 page, and anyone else goes to sign in.
func (s *server) requireAdmin(next http.Handler) http.Handler {
	return s.requireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !portier.IsAdmin(sessionUser(r).Roles) {
			s.fail(w, r, errNotAllowed)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// errNotAllowed is a page's own refusal of a viewer who may not do what it offers (the
// directory would refuse it too): the 403 page with its standard text.
var errNotAllowed = &portier.Error{Code: portier.EForbidden}

// adminActor is the signed-in admin as the directory service sees them.
func (s *server) adminActor(r *http.Request) portier.Actor {
	u := sessionUser(r)
	return portier.Actor{ID: u.ID, Name: u.UPN, Roles: u.Roles, Source: s.clientIP(r).String()}
}

// adminPage starts an admin center page.
func (s *server) adminPage(r *http.Request, titleID, section string) *page {
	u := sessionUser(r)
	p := s.newPage(r, titleID)
	p.User, p.IsAdmin = u, true
	p.Admin = &adminNav{
		Section:     section,
		Settings:    portier.Can(u.Roles, portier.ActionEditSettings, nil),
		CreateUsers: portier.Can(u.Roles, portier.ActionCreate, nil),
		Apps:        portier.Can(u.Roles, portier.ActionUpdateApp, nil),
	}
	return p
}

// forbidden is the page that says the viewer may not do this; text is the directory's
// reason, when there is one.
func (s *server) forbidden(r *http.Request, text string) *page {
	p := s.newPage(r, "admin.forbidden.title")
	p.User = userOf(r)
	p.IsAdmin = p.User != nil && portier.IsAdmin(p.User.Roles)
	if text == "" {
		text = p.T.T("admin.forbidden.text")
	}
	p.Error = &pageError{Text: text}
	return p
}

// statusView is one sign-in state of a user, as a badge.
type statusView struct {
	// Key is stable for tests and styles: locked, blocked, must-change, active.
	Key   string
	Text  string
	Until *time.Time
}

// statusesOf lists the states of u, the one that keeps the user out first. A lockout's
// attempt count is that of the failures since the last success: the counter restarts at each
// lockout, and each lockout took threshold failures.
func statusesOf(t *translator, u *portier.User, threshold int) []statusView {
	var out []statusView
	if !u.AccountEnabled {
		out = append(out, statusView{Key: "blocked", Text: t.T("admin.status.blocked")})
	}
	if u.Lockout.Locked && u.Lockout.LockedUntil != nil {
		out = append(out, statusView{Key: "locked", Until: u.Lockout.LockedUntil,
			Text: t.T("admin.status.locked", "Time", u.Lockout.LockedUntil.UTC().Format("15:04"),
				"Count", u.LockoutState.Lockouts*threshold+u.LockoutState.Failures)})
	}
	if u.PasswordProfile.ForceChangePasswordNextSignIn {
		out = append(out, statusView{Key: "must-change", Text: t.T("admin.status.mustchange")})
	}
	if len(out) == 0 {
		out = append(out, statusView{Key: "active", Text: t.T("admin.status.active")})
	}
	return out
}

// userFilters are the filters of the Active users page, in the order they are offered.
var userFilters = []string{"all", "locked", "blocked", "admins"}

// usersPage is what the Active users page shows.
type usersPage struct {
	Filter  string
	Filters []filterLink
	Query   string
	Rows    []userRow
	Total   int
	// NextURL and FirstURL page through the list; empty when there is no such page.
	NextURL  string
	FirstURL string
}

// filterLink is one of the filters above the table.
type filterLink struct {
	Key     string
	Label   string
	URL     string
	Current bool
}

// userRow is one line of the Active users table.
type userRow struct {
	User     *portier.User
	Statuses []statusView
}

// usersPageSize is how many users a page of Active users shows.
const usersPageSize = 50

func (s *server) handleAdminUsers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p := s.adminPage(r, "admin.users.title", "users")
		d := &usersPage{Filter: q.Get("filter"), Query: strings.TrimSpace(q.Get("q"))}
		if len(d.Query) > portier.MaxUPNLength*3 {
			d.Query = d.Query[:portier.MaxUPNLength*3]
		}
		f := portier.UserFilter{Search: d.Query, Limit: usersPageSize, After: q.Get("after")}
		switch d.Filter {
		case "locked":
			f.Status = portier.StatusLocked
		case "blocked":
			f.Status = portier.StatusBlocked
		case "admins":
			f.AdminsOnly = true
		default:
			d.Filter = "all"
		}
		listURL := func(filter, after string) string {
			v := url.Values{}
			if filter != "all" {
				v.Set("filter", filter)
			}
			if d.Query != "" {
				v.Set("q", d.Query)
			}
			if after != "" {
				v.Set("after", after)
			}
			if len(v) == 0 {
				return "/admin/users"
			}
			return "/admin/users?" + v.Encode()
		}
		for _, key := range userFilters {
			d.Filters = append(d.Filters, filterLink{Key: key, Label: p.T.T("admin.filter." + key), URL: listURL(key, ""), Current: key == d.Filter})
		}
		page, err := s.Directory.ListUsers(r.Context(), f)
		if err == nil {
			d.Total, err = s.countUsers(r.Context(), f)
		}
		var st portier.Settings
		if err == nil {
			st, err = s.Directory.Settings(r.Context())
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, u := range page.Users {
			d.Rows = append(d.Rows, userRow{User: u, Statuses: statusesOf(p.T, u, st.Lockout.Threshold)})
		}
		if page.Next != "" {
			d.NextURL = listURL(d.Filter, page.Next)
		}
		if f.After != "" {
			d.FirstURL = listURL(d.Filter, "")
		}
		switch q.Get("done") {
		case "deleted":
			p.Notice = p.T.T("admin.done.deleted")
		}
		p.Data = d
		s.render(w, http.StatusOK, "admin_users", p)
	})
}

// userActions are the actions the viewer may take on the user shown.
type userActions struct {
	Reset, Unlock, SignInStatus, Revoke, Roles, Delete, SecurityInfo bool
}

// More reports whether the More actions menu has anything in it.
func (a userActions) More() bool { return a.SignInStatus || a.Revoke || a.Roles || a.Delete }

// userDetails is what a user's details page shows.
type userDetails struct {
	MFA      *mfaAdminView // the multi-factor part (admin_mfa.go)
	Target   *portier.User
	Statuses []statusView
	Can      userActions
	SignIns  []*portier.SignIn
	// Failed are the failed attempts since the last success, shown when the user is locked.
	Failed []*portier.SignIn
	// Reset is the reset form's state, for the dialog on the page and the page of its own.
	Reset resetForm
	// Roles offers the roles for the roles form.
	Roles []roleChoice
	// Methods are the user's security info for self-service reset.
	Methods []*portier.AuthMethod
}

// roleChoice is one role checkbox.
type roleChoice struct {
	Role    portier.Role
	Checked bool
}

// resetForm is the state of the reset password form.
type resetForm struct {
	Type        bool // the admin types the password instead of generating one
	ForceChange bool
	SignOut     bool
}

// actionsOn lists what actor roles may do to u.
func actionsOn(roles []portier.Role, u *portier.User) userActions {
	status := portier.ActionBlock
	if !u.AccountEnabled {
		status = portier.ActionUnblock
	}
	return userActions{
		Reset:        portier.Can(roles, portier.ActionResetPassword, u.Roles),
		Unlock:       u.Lockout.Locked && portier.Can(roles, portier.ActionUnlock, u.Roles),
		SignInStatus: portier.Can(roles, status, u.Roles),
		Revoke:       portier.Can(roles, portier.ActionRevokeSessions, u.Roles),
		Roles:        portier.Can(roles, portier.ActionEditRoles, u.Roles),
		Delete:       portier.Can(roles, portier.ActionDelete, u.Roles),
		SecurityInfo: portier.Can(roles, portier.ActionResetSecurityInfo, u.Roles),
	}
}

// recentSignIns is how many sign-ins a user's details page lists.
const recentSignIns = 20

// failedSinceSuccess returns, from a user's sign-ins (newest first), the failed attempts
// since the last right password: the story of a lockout.
func failedSinceSuccess(entries []*portier.SignIn) []*portier.SignIn {
	var out []*portier.SignIn
	for _, e := range entries {
		if rightPassword(e.Code) {
			break
		}
		if e.Code == portier.CodeInvalidCredentials || e.Code == portier.CodeLocked {
			out = append(out, e)
		}
	}
	return out
}

// rightPassword reports whether a sign-in code is given only after the right password,
// which clears the lockout count.
func rightPassword(code int) bool {
	return code == portier.CodeSuccess || code == portier.CodeBlocked || code == portier.CodePasswordChangeNeeded
}

// loadUserDetails reads the user of the path and what their page shows; when that fails it
// has answered (404, 503) and returns nil.
func (s *server) loadUserDetails(w http.ResponseWriter, r *http.Request, p *page) *userDetails {
	target, err := s.Directory.User(r.Context(), r.PathValue("upn"))
	err = noSuchUser(err)
	var st portier.Settings
	if err == nil {
		st, err = s.Directory.Settings(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	d := &userDetails{Target: target, Statuses: statusesOf(p.T, target, st.Lockout.Threshold), Can: actionsOn(sessionUser(r).Roles, target),
		Reset: resetForm{ForceChange: true, SignOut: true}}
	for _, role := range portier.Roles {
		d.Roles = append(d.Roles, roleChoice{Role: role, Checked: target.HasRole(role)})
	}
	return d
}

// noSuchUser is err of a call that named a user by the path: a path that is no user name
// (EInvalid) names no user (ENotFound).
func noSuchUser(err error) error {
	if portier.ErrorCode(err) == portier.EInvalid {
		return portier.Errorf(portier.ENotFound, "No such user.")
	}
	return err
}

func (s *server) handleAdminUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.adminPage(r, "admin.user.title", "users")
		d := s.loadUserDetails(w, r, p)
		if d == nil {
			return
		}
		// Enough history to reach back past a lockout's attempts to the last success.
		actor := s.adminActor(r)
		entries, err := s.Directory.SignIns(r.Context(), actor, portier.SignInFilter{UserID: d.Target.ID, Limit: 200})
		if err == nil {
			d.Methods, err = s.Directory.Methods(r.Context(), actor, d.Target.ID)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err == nil {
			d.MFA, err = s.mfaAdmin(r, d)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.SignIns = entries[:min(len(entries), recentSignIns)]
		if d.Target.Lockout.Locked {
			d.Failed = failedSinceSuccess(entries)
		}
		p.Title = d.Target.DisplayName
		p.Notice = doneNotice(p.T, r.URL.Query().Get("done"))
		p.Data = d
		s.render(w, http.StatusOK, "admin_user", p)
	})
}

// doneNotice is the confirmation a page shows after an action redirected to it.
func doneNotice(t *translator, done string) string {
	switch done {
	case "reset", "unlocked", "blocked", "unblocked", "signed-out", "roles", "created", "security-info", "tap-revoked":
		return t.T("admin.done." + done)
	}
	return ""
}
