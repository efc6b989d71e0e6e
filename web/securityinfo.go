package web

import (
	"errors"
	"net/http"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/selfservice"
	"github.com/portier-id/portier/signin"
)

// securityData is what the security info pages show.
type securityData struct {
	Methods      []*portier.AuthMethod
	Registration selfservice.Registration
	AllowEmail   bool
	AllowTOTP    bool
	// Register is set when the user was sent here right after signing in, to register.
	Register bool
	// Enrollment is the method being confirmed (securityinfo_confirm).
	Enrollment *selfservice.Enrollment
	Address    string
	// HasEmail and HasTOTP say that a method of the kind is registered: adding another
	// replaces it, so the form offers a change.
	HasEmail, HasTOTP bool
	// Passkeys are the user's passkeys; PasskeysOn says that passkeys work at this base URL.
	Passkeys    []*portier.Passkey
	PasskeysOn  bool
	PasskeyName string
	// Removing is the method or passkey the removal page asks about (securityinfo_remove).
	Removing *removal
}

// removal is a method or passkey about to be removed.
type removal struct {
	ID, Kind, Name string
}

// securityPage fills the security info page for the signed-in user.
func (s *server) securityPage(r *http.Request, name string) (*page, error) {
	u := sessionUser(r)
	p := s.newPage(r, "security.title")
	p.User, p.IsAdmin = u, portier.IsAdmin(u.Roles)
	p.ReturnTo = safeReturnTo(r.FormValue("return_to"))
	st, err := s.Directory.Settings(r.Context())
	if err != nil {
		return nil, err
	}
	ms, err := s.SelfService.Methods(r.Context(), u)
	if err != nil {
		return nil, err
	}
	reg, err := s.SelfService.Registration(r.Context(), u)
	if err != nil {
		return nil, err
	}
	d := &securityData{Methods: ms, Registration: reg, AllowEmail: st.Reset.Allows(portier.MethodEmail),
		AllowTOTP: st.Reset.Allows(portier.MethodTOTP), Register: r.FormValue("register") == "1",
		PasskeysOn: s.Passkeys.Enabled() && st.MFA.Allows(portier.MethodPasskey)}
	for _, m := range ms {
		d.HasEmail = d.HasEmail || m.Kind == portier.MethodEmail
		d.HasTOTP = d.HasTOTP || m.Kind == portier.MethodTOTP
	}
	if d.Passkeys, err = s.Passkeys.List(r.Context(), u); err != nil {
		return nil, err
	}
	p.Data = d
	return p, nil
}

// securityFail shows a refusal or bad input on the page name; other errors go to fail. A
// method or enrollment that is not the user's (ENotFound) is bad input here: the id came
// from the form.
func (s *server) securityFail(w http.ResponseWriter, r *http.Request, name string, err error, fill func(p *page)) {
	if portier.ErrorCode(err) == portier.ENotFound {
		err = portier.Errorf(portier.EInvalid, "%s", portier.ErrorMessage(err))
	}
	if codeOf(err) != portier.EInvalid {
		s.fail(w, r, err)
		return
	}
	p, perr := s.securityPage(r, name)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	if fill != nil {
		fill(p)
	}
	s.formError(w, name, p, err)
}

// securityURL is the security info page, keeping the registration prompt's state.
func securityURL(r *http.Request, done string) string {
	q := "?done=" + done
	if r.FormValue("register") == "1" {
		q += "&register=1"
	}
	if rt := safeReturnTo(r.FormValue("return_to")); rt != "" {
		q += "&return_to=" + urlQueryEscape(rt)
	}
	return "/myaccount/security-info" + q
}

func (s *server) handleSecurityInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.securityPage(r, "securityinfo")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch r.URL.Query().Get("done") {
		case "added":
			p.Notice = p.T.T("security.added")
		case "removed":
			p.Notice = p.T.T("security.removed")
		case "passkey-added":
			p.Notice = p.T.T("passkey.added")
		}
		s.render(w, http.StatusOK, "securityinfo", p)
	})
}

func (s *server) handleSecurityAddEmail() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		address := r.PostFormValue("address")
		lang := s.newPage(r, "security.title").T.Lang()
		id, err := s.SelfService.StartEmail(r.Context(), sessionUser(r), address, s.clientIP(r).String(), lang)
		if err != nil {
			s.securityFail(w, r, "securityinfo", err, func(p *page) { p.Data.(*securityData).Address = address })
			return
		}
		http.Redirect(w, r, "/myaccount/security-info/confirm/"+id+securityQuery(r), http.StatusSeeOther)
	})
}

func (s *server) handleSecurityAddTOTP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.SelfService.StartTOTP(r.Context(), sessionUser(r))
		if err != nil {
			s.securityFail(w, r, "securityinfo", err, nil)
			return
		}
		http.Redirect(w, r, "/myaccount/security-info/confirm/"+id+securityQuery(r), http.StatusSeeOther)
	})
}

// securityQuery carries the registration prompt's state to the next page.
func securityQuery(r *http.Request) string {
	q := ""
	if r.FormValue("register") == "1" {
		q = "?register=1"
	}
	if rt := safeReturnTo(r.FormValue("return_to")); rt != "" {
		if q == "" {
			q = "?"
		} else {
			q += "&"
		}
		q += "return_to=" + urlQueryEscape(rt)
	}
	return q
}

// confirmPage is the page that confirms an enrollment.
func (s *server) confirmPage(w http.ResponseWriter, r *http.Request) (*page, bool) {
	e, err := s.SelfService.Enrollment(r.Context(), sessionUser(r), r.PathValue("id"))
	if err != nil {
		s.securityFail(w, r, "securityinfo", err, nil)
		return nil, false
	}
	p, err := s.securityPage(r, "securityinfo_confirm")
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	p.Data.(*securityData).Enrollment = e
	return p, true
}

func (s *server) handleSecurityConfirmPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := s.confirmPage(w, r); ok {
			s.render(w, http.StatusOK, "securityinfo_confirm", p)
		}
	})
}

// handleSecurityQR serves an authenticator enrollment's key as a QR code image.
func (s *server) handleSecurityQR() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := s.SelfService.Enrollment(r.Context(), sessionUser(r), r.PathValue("id"))
		if err != nil || e.Kind != portier.MethodTOTP {
			http.NotFound(w, r)
			return
		}
		png, err := e.QRCode(256)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(png)
	})
}

func (s *server) handleSecurityConfirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := s.SelfService.Confirm(r.Context(), sessionUser(r), r.PathValue("id"), r.PostFormValue("code"), s.clientIP(r).String())
		var ref *selfservice.Refusal
		switch {
		case err == nil:
			reg, rerr := s.SelfService.Registration(r.Context(), sessionUser(r))
			if rerr == nil && r.FormValue("register") == "1" && !reg.Ask {
				if rt := safeReturnTo(r.FormValue("return_to")); rt != "" {
					http.Redirect(w, r, rt, http.StatusSeeOther)
					return
				}
			}
			http.Redirect(w, r, securityURL(r, "added"), http.StatusSeeOther)
		case errors.As(err, &ref) && ref.Reason == selfservice.ReasonWrongCode:
			if p, ok := s.confirmPage(w, r); ok {
				s.formError(w, "securityinfo_confirm", p, err)
			}
		default:
			s.securityFail(w, r, "securityinfo", err, nil)
		}
	})
}

// removalOf finds the method or passkey id of the signed-in user, for the removal page.
func (s *server) removalOf(r *http.Request, id string) (*removal, error) {
	u := sessionUser(r)
	ms, err := s.SelfService.Methods(r.Context(), u)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.ID == id {
			name := selfservice.MaskAddress(m.Address)
			if m.Kind != portier.MethodEmail {
				name = ""
			}
			return &removal{ID: m.ID, Kind: string(m.Kind), Name: name}, nil
		}
	}
	ps, err := s.Passkeys.List(r.Context(), u)
	if err != nil {
		return nil, err
	}
	for _, pk := range ps {
		if pk.ID == id {
			return &removal{ID: pk.ID, Kind: "passkey", Name: pk.Name}, nil
		}
	}
	return nil, portier.Errorf(portier.EInvalid, "%s", "No such method.")
}

// removePage fills the page that asks to confirm a removal with the current password.
func (s *server) removePage(w http.ResponseWriter, r *http.Request) (*page, bool) {
	rm, err := s.removalOf(r, r.PathValue("id"))
	if err != nil {
		s.securityFail(w, r, "securityinfo", err, nil)
		return nil, false
	}
	p, err := s.securityPage(r, "securityinfo_remove")
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	p.Title = p.T.T("security.remove.title")
	p.Data.(*securityData).Removing = rm
	return p, true
}

// handleSecurityRemovePage asks to confirm the removal of a method or passkey with the
// current password.
func (s *server) handleSecurityRemovePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := s.removePage(w, r); ok {
			s.render(w, http.StatusOK, "securityinfo_remove", p)
		}
	})
}

// handleSecurityRemove removes a method or passkey after checking the current password under
// the same lockout as a sign-in.
func (s *server) handleSecurityRemove() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sessionUser(r)
		rm, err := s.removalOf(r, r.PathValue("id"))
		if err != nil {
			s.securityFail(w, r, "securityinfo", err, nil)
			return
		}
		a := signin.Attempt{
			Username: u.UPN, Password: r.PostFormValue("current_password"), Source: s.clientIP(r),
			UserAgent: r.UserAgent(), Device: s.Engine.ParseDevice(cookieValue(r, deviceCookie)), SignedIn: true, CheckOnly: true,
		}
		out, err := s.Engine.SignIn(r.Context(), a)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if out.Code != portier.CodeSuccess && out.Code != portier.CodePasswordChangeNeeded {
			p, ok := s.removePage(w, r)
			if !ok {
				return
			}
			p.Error = loginError(p.T, out)
			s.render(w, outcomeStatus(w, out, http.StatusBadRequest), "securityinfo_remove", p)
			return
		}
		if rm.Kind == "passkey" {
			err = s.Passkeys.Remove(r.Context(), u, rm.ID, s.clientIP(r).String())
		} else {
			err = s.SelfService.RemoveMethod(r.Context(), u, rm.ID, s.clientIP(r).String())
		}
		if err != nil {
			s.securityFail(w, r, "securityinfo", err, nil)
			return
		}
		http.Redirect(w, r, "/myaccount/security-info?done=removed", http.StatusSeeOther)
	})
}
