package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
)

// The admin center's changes. Each POST goes through the directory service with the signed-in
// admin as the actor, whatever the page offered: the directory checks the role table again and
// audits a refusal, and a refusal is answered 403. The GET pages of the actions refuse (403)
// what the viewer may not do, so that a page never offers a form that would be refused.

// backToUser redirects to a user's details page with a confirmation.
func backToUser(w http.ResponseWriter, r *http.Request, upn, done string) {
	http.Redirect(w, r, "/admin/users/"+url.PathEscape(upn)+"?done="+done, http.StatusSeeOther)
}

// resetFormFrom reads the reset password form; an unticked checkbox is absent from a form.
func resetFormFrom(r *http.Request) resetForm {
	return resetForm{
		Type:        r.PostFormValue("mode") == "type",
		ForceChange: r.PostFormValue("force_change") == "on",
		SignOut:     r.PostFormValue("sign_out") == "on",
	}
}

// generatedPage is the page that shows a generated password, once.
type generatedPage struct {
	Target   *portier.User
	Password string
	Created  bool
}

func (s *server) handleAdminResetPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.adminPage(r, "admin.reset.title", "users")
		d := s.loadUserDetails(w, r, p)
		if d == nil {
			return
		}
		if !d.Can.Reset {
			s.fail(w, r, errNotAllowed)
			return
		}
		p.Data = d
		s.render(w, http.StatusOK, "admin_reset", p)
	})
}

func (s *server) handleAdminReset() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upn := r.PathValue("upn")
		form := resetFormFrom(r)
		reset := directory.PasswordReset{Generate: !form.Type, ForceChange: form.ForceChange, KeepSessions: !form.SignOut}
		if form.Type {
			reset.Password = r.PostFormValue("password")
		}
		generated, err := s.Directory.ResetPassword(r.Context(), s.adminActor(r), upn, reset)
		if err != nil {
			s.userFormError(w, r, "admin_reset", "admin.reset.title", err, func(d *userDetails) { d.Reset = form })
			return
		}
		if generated == "" {
			backToUser(w, r, upn, "reset")
			return
		}
		target, err := s.Directory.User(r.Context(), upn)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p := s.adminPage(r, "admin.reset.title", "users")
		p.Data = &generatedPage{Target: target, Password: generated}
		s.render(w, http.StatusOK, "admin_generated", p)
	})
}

// handleAdminUserAction runs an action that needs nothing but the user (unlock, revoke
// sessions, require re-register) and goes back to the user's page with its notice.
func (s *server) handleAdminUserAction(act func(ctx context.Context, actor portier.Actor, upn string) error, done string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upn := r.PathValue("upn")
		if err := act(r.Context(), s.adminActor(r), upn); err != nil {
			s.fail(w, r, noSuchUser(err))
			return
		}
		backToUser(w, r, upn, done)
	})
}

// handleAdminActionPage shows the page of one of the More actions (sign-in status, roles,
// delete) when the viewer may take it.
func (s *server) handleAdminActionPage(name, titleID string, allowed func(userActions) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.adminPage(r, titleID, "users")
		d := s.loadUserDetails(w, r, p)
		if d == nil {
			return
		}
		if !allowed(d.Can) {
			s.fail(w, r, errNotAllowed)
			return
		}
		p.Data = d
		s.render(w, http.StatusOK, name, p)
	})
}

func (s *server) handleAdminSignInStatus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upn := r.PathValue("upn")
		blocked := r.PostFormValue("blocked") == "on"
		err := s.Directory.SetSignInStatus(r.Context(), s.adminActor(r), upn, !blocked)
		if err != nil {
			s.userFormError(w, r, "admin_status", "admin.status.title", err, nil)
			return
		}
		done := "unblocked"
		if blocked {
			done = "blocked"
		}
		backToUser(w, r, upn, done)
	})
}

func (s *server) handleAdminRoles() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upn := r.PathValue("upn")
		roles, err := rolesFrom(r)
		if err == nil {
			err = s.Directory.SetRoles(r.Context(), s.adminActor(r), upn, roles)
		}
		if err != nil {
			s.userFormError(w, r, "admin_roles", "admin.roles.title", err, nil)
			return
		}
		backToUser(w, r, upn, "roles")
	})
}

func (s *server) handleAdminDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := s.Directory.DeleteUser(r.Context(), s.adminActor(r), r.PathValue("upn"))
		if err != nil {
			s.userFormError(w, r, "admin_delete", "admin.delete.title", err, nil)
			return
		}
		http.Redirect(w, r, "/admin/users?done=deleted", http.StatusSeeOther)
	})
}

// userFormError answers an action on a user that the directory refused: bad input (the last
// global admin, a password rule) shows the action's page name again with the reason, filled by
// fill when not nil; anything else goes to fail.
func (s *server) userFormError(w http.ResponseWriter, r *http.Request, name, titleID string, err error, fill func(d *userDetails)) {
	if !inputError(err) {
		s.fail(w, r, err)
		return
	}
	p := s.adminPage(r, titleID, "users")
	d := s.loadUserDetails(w, r, p)
	if d == nil {
		return
	}
	if fill != nil {
		fill(d)
	}
	p.Data = d
	s.formError(w, name, p, err)
}

// rolesFrom reads the role checkboxes of a form.
func rolesFrom(r *http.Request) ([]portier.Role, error) {
	if err := r.ParseForm(); err != nil {
		return nil, portier.Errorf(portier.EInvalid, "The form cannot be read.")
	}
	var roles []portier.Role
	for _, v := range r.PostForm["role"] {
		role, err := portier.ParseRole(v)
		if err != nil {
			return nil, err
		}
		roles = append(roles, role)
	}
	return roles, nil
}

// newUserForm is the state of the Add user form.
type newUserForm struct {
	UPN, DisplayName, Mail string
	Type                   bool
	ForceChange            bool
	Roles                  []roleChoice
}

// grantable lists the roles actor roles may give a new user, ticked as in chosen.
func grantable(actor []portier.Role, chosen []portier.Role) []roleChoice {
	var out []roleChoice
	for _, role := range portier.Roles {
		if portier.Can(actor, portier.ActionCreate, []portier.Role{role}) {
			out = append(out, roleChoice{Role: role, Checked: containsRole(chosen, role)})
		}
	}
	return out
}

func containsRole(roles []portier.Role, r portier.Role) bool {
	for _, have := range roles {
		if have == r {
			return true
		}
	}
	return false
}

func (s *server) handleAdminNewUserPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sessionUser(r)
		if !portier.Can(u.Roles, portier.ActionCreate, nil) {
			s.fail(w, r, errNotAllowed)
			return
		}
		p := s.adminPage(r, "admin.new.title", "new-user")
		p.Data = &newUserForm{ForceChange: true, Roles: grantable(u.Roles, nil)}
		s.render(w, http.StatusOK, "admin_new", p)
	})
}

func (s *server) handleAdminNewUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form := &newUserForm{
			UPN: strings.TrimSpace(r.PostFormValue("upn")), DisplayName: r.PostFormValue("display_name"),
			Mail: r.PostFormValue("mail"), Type: r.PostFormValue("mode") == "type",
			ForceChange: r.PostFormValue("force_change") == "on",
		}
		roles, err := rolesFrom(r)
		if err == nil {
			nu := directory.NewUser{UPN: form.UPN, DisplayName: form.DisplayName, Mail: form.Mail, Roles: roles,
				Generate: !form.Type, ForceChange: form.ForceChange}
			if form.Type {
				nu.Password = r.PostFormValue("password")
			}
			var created *portier.User
			var generated string
			created, generated, err = s.Directory.CreateUser(r.Context(), s.adminActor(r), nu)
			if err == nil {
				if generated == "" {
					backToUser(w, r, created.UPN, "created")
					return
				}
				p := s.adminPage(r, "admin.new.title", "new-user")
				p.Data = &generatedPage{Target: created, Password: generated, Created: true}
				s.render(w, http.StatusOK, "admin_generated", p)
				return
			}
		}
		if !inputError(err) {
			s.fail(w, r, err)
			return
		}
		p := s.adminPage(r, "admin.new.title", "new-user")
		form.Roles = grantable(sessionUser(r).Roles, roles)
		p.Data = form
		s.formError(w, "admin_new", p, err)
	})
}
