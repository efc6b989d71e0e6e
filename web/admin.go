package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
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
	// timeZones are the time zones the settings page suggests; any IANA name is taken.
	"timeZones": func() []string { return suggestedZones },
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
// attempt count is u.Lockout.FailedAttempts, the one definition every view shows.
func statusesOf(t *translator, u *portier.User) []statusView {
	var out []statusView
	if !u.AccountEnabled {
		out = append(out, statusView{Key: "blocked", Text: t.T("admin.status.blocked")})
	}
	if u.Lockout.Locked && u.Lockout.LockedUntil != nil {
		out = append(out, statusView{Key: "locked", Until: u.Lockout.LockedUntil,
			Text: t.T("admin.status.locked", "Time", t.Clock(*u.Lockout.LockedUntil),
				"Count", u.Lockout.FailedAttempts)})
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
var userFilters = []string{"all", "locked", "blocked", "must-change", "admins"}

// usersPage is what the Active users page shows.
type usersPage struct {
	Filter  string
	Filters []filterLink
	Query   string
	Rows    []userRow
	Total   int
	// TotalMore says that there are more than Total users (a large search's first view).
	TotalMore bool
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
		case "must-change":
			f.Status = portier.StatusMustChange
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
			d.Total, d.TotalMore, err = s.countUsers(r.Context(), f)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, u := range page.Users {
			d.Rows = append(d.Rows, userRow{User: u, Statuses: statusesOf(p.T, u)})
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
	// Failed are the attempts of the lockout episode, newest first, shown when the user is
	// locked: the wrong passwords that led to it, the one that locked, and the attempts
	// refused since.
	Failed []*portier.SignIn
	// Episode is the lockout in one sentence; nil when the user is not locked.
	Episode *lockoutEpisode
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

// lockoutEpisode is a lockout told in one sentence: until when, after how many wrong
// passwords, from where, at what kind of browser, between which times.
type lockoutEpisode struct {
	Until       time.Time
	Wrong       int
	Sources     []string
	Familiar    bool
	First, Last time.Time
	// Known is false when the attempt that locked is no longer in the log read.
	Known bool
}

// episodeOf returns, from a user's sign-ins (newest first), the attempts of the current
// lockout episode, newest first, and the episode: the attempt that locked (the newest lockout
// in the log), the wrong passwords at the same kind of browser that led to it (as the sign-in
// log's causes: back to a right password, an earlier lockout or a gap the count decays in),
// and the attempts made since. An earlier, expired lockout is not part of it.
func episodeOf(entries []*portier.SignIn, policy lockout.Policy) ([]*portier.SignIn, *lockoutEpisode) {
	ep := &lockoutEpisode{}
	at := -1
	for i, e := range entries {
		if isLockout(e) {
			at = i
			break
		}
		if rightPassword(e.Code) {
			break
		}
	}
	if at < 0 {
		return nil, ep
	}
	lock := entries[at]
	var out []*portier.SignIn
	for _, e := range entries[:at] {
		if e.Code == portier.CodeInvalidCredentials || e.Code == portier.CodeLocked {
			out = append(out, e)
		}
	}
	out = append(out, lock)
	ep.Known, ep.Familiar, ep.Wrong, ep.First, ep.Last = true, lock.FamiliarDevice, 1, lock.Time, lock.Time
	seen := map[string]bool{lock.Source: true}
	ep.Sources = []string{lock.Source}
	last := lock.Time
	for _, x := range entries[at+1:] {
		if ep.Wrong >= policy.Threshold || rightPassword(x.Code) || isLockout(x) || last.Sub(x.Time) >= policy.Decay {
			break
		}
		if x.Code == portier.CodeInvalidCredentials && x.HashComputed && x.FamiliarDevice == lock.FamiliarDevice {
			out = append(out, x)
			ep.Wrong++
			ep.First, last = x.Time, x.Time
			if !seen[x.Source] {
				seen[x.Source] = true
				ep.Sources = append(ep.Sources, x.Source)
			}
		}
	}
	return out, ep
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
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	d := &userDetails{Target: target, Statuses: statusesOf(p.T, target), Can: actionsOn(sessionUser(r).Roles, target),
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
			st, err := s.Directory.Settings(r.Context())
			if err != nil {
				s.fail(w, r, err)
				return
			}
			d.Failed, d.Episode = episodeOf(entries, st.Lockout)
			d.Episode.Until = *d.Target.Lockout.LockedUntil
			// The count is the one definition (Lockout.FailedAttempts): the wrong passwords
			// that made the lock, as the list, the CLI, the mail and the API say it. The
			// log gives the sources and the times.
			if n := d.Target.Lockout.FailedAttempts; n > 0 {
				d.Episode.Wrong = n
			}
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

// suggestedZones are offered on the settings page: the zones of the languages Portier speaks
// and their neighbours, and UTC. Any other IANA name may be typed.
var suggestedZones = []string{"UTC", "Europe/Amsterdam", "Europe/Brussels", "Europe/London", "Europe/Dublin",
	"Europe/Berlin", "Europe/Paris", "Europe/Luxembourg", "America/Curacao", "America/Paramaribo", "America/Aruba",
	"America/New_York", "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney"}

// Sentence tells the episode in the viewer's language and time zone, for example: "Locked until
// 02:03 CET after 10 wrong passwords from 198.51.100.23 (unfamiliar browser) between 01:01
// and 01:03; the user's familiar browsers can still sign in."
func (ep *lockoutEpisode) Sentence(t *translator) string {
	if !ep.Known {
		return t.T("admin.episode.unknown", "Until", t.Clock(ep.Until))
	}
	from := ep.Sources[0]
	if n := len(ep.Sources); n > 1 {
		shown := ep.Sources[:min(n, 3)]
		from = t.T("admin.episode.sources", "Count", n, "List", strings.Join(shown, ", ")+map[bool]string{true: ", …", false: ""}[n > 3])
	}
	browser := t.T("admin.episode.unfamiliar")
	if ep.Familiar {
		browser = t.T("admin.episode.familiar")
	}
	s := t.T("admin.episode", "Until", t.Clock(ep.Until), "Count", ep.Wrong, "From", from, "Browser", browser,
		"First", t.Hour(ep.First), "Last", t.Hour(ep.Last))
	if !ep.Familiar {
		s += t.T("admin.episode.stillin")
	}
	return s + "."
}
