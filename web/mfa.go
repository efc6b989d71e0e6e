package web

import (
	"context"
	"net/http"
	"net/url"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/oidc"
	"github.com/portier-id/portier/signin"
)

// Cookies of multi-factor sign-in.
const (
	// mfaCookie holds the secret of a pending sign-in between its first and second factor
	// (signin.Pending); only the second step's pages under /login see it.
	mfaCookie = "portier_mfa"
	// rememberCookie spares the second factor at a browser that passed it, when the
	// organisation allows (signin.RememberToken).
	rememberCookie = "portier_mfa_remember"
)

// mfaPath is the second step's page of a method ("totp", "passkey"); mfaRegisterPath is the
// registration of a first second factor during a pending sign-in.
const (
	mfaPath         = "/login/mfa"
	mfaRegisterPath = "/login/mfa/register"
)

// mfaView is what the second step's pages show.
type mfaView struct {
	// Method is the method of the form (data-mfa-method): "totp" or "passkey".
	Method portier.MethodKind
	// State is the form state (signin.Engine.FormState) the form posts as mfa_state.
	State string
	// Others are the user's other methods ("Use another method").
	Others []portier.MethodKind
	// RememberDays, when above 0, offers "Don't ask again on this browser for N days".
	RememberDays int
	// Enrollment is the authenticator being registered (the registration page).
	EnrollmentSecret string
	// Passkey offers the registration of a passkey instead (the registration page).
	Passkey bool
	// TOTP offers the registration of an authenticator app (the registration page).
	TOTP bool
}

// startPending sets the cookie of a pending sign-in and sends the browser to its second step.
func (s *server) startPending(w http.ResponseWriter, r *http.Request, secret string) {
	s.setCookie(w, mfaCookie, secret, "/login", signin.PendingLifetime)
	http.Redirect(w, r, mfaPath, http.StatusSeeOther)
}

// outOfOrder answers a second step reached out of order (signin.ErrOutOfOrder): the sign-in
// form, with 90100, and nothing changed.
func (s *server) outOfOrder(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "login.title")
	p.Error = &pageError{Code: portier.CodeBadRequest, Text: p.T.T("mfa.outoforder")}
	s.render(w, http.StatusBadRequest, "login", p)
}

// pending loads the browser's pending sign-in for a page of the second step; on an error it
// has answered, and returns nil.
func (s *server) pending(w http.ResponseWriter, r *http.Request) (*signin.Pending, *portier.User, string) {
	secret := cookieValue(r, mfaCookie)
	p, u, err := s.Engine.Pending(r.Context(), secret)
	if err == signin.ErrOutOfOrder {
		s.outOfOrder(w, r)
		return nil, nil, ""
	} else if err != nil {
		s.fail(w, r, err)
		return nil, nil, ""
	}
	return p, u, secret
}

// handleMFA sends the browser to the page of its pending sign-in's first method, or to the
// registration of one.
func (s *server) handleMFA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, _ := s.pending(w, r)
		if p == nil {
			return
		}
		if p.Register || len(p.Methods) == 0 {
			http.Redirect(w, r, mfaRegisterPath, http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, mfaPath+"/"+string(p.Methods[0]), http.StatusSeeOther)
	})
}

// mfaPage fills the page of the second step for method k.
func (s *server) mfaPage(r *http.Request, p *signin.Pending, secret string, k portier.MethodKind) *page {
	pg := s.newPage(r, "mfa.title")
	pg.ReturnTo = p.ReturnTo
	v := &mfaView{Method: k, State: s.Engine.FormState(secret)}
	for _, m := range p.Methods {
		if m != k {
			v.Others = append(v.Others, m)
		}
	}
	if st, err := s.Directory.Settings(r.Context()); err == nil {
		v.RememberDays = st.MFA.RememberDays
	}
	pg.Data = v
	return pg
}

func (s *server) handleMFATOTPPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, secret := s.pending(w, r)
		if p == nil {
			return
		}
		if p.Register || !p.Has(portier.MethodTOTP) {
			s.outOfOrder(w, r)
			return
		}
		s.render(w, http.StatusOK, "mfa", s.mfaPage(r, p, secret, portier.MethodTOTP))
	})
}

// formState is the form state a second step posted; a client that posts none (a script that
// sends only the contract's fields) is held to its cookie alone.
func (s *server) formState(r *http.Request, secret string) string {
	if v := r.PostFormValue("mfa_state"); v != "" {
		return v
	}
	return s.Engine.FormState(secret)
}

func (s *server) handleMFATOTP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := cookieValue(r, mfaCookie)
		code := r.PostFormValue("code")
		source := s.clientIP(r).String()
		out, err := s.Engine.CompleteSecondFactor(r.Context(), signin.SecondFactor{
			Secret: secret, Form: s.formState(r, secret), Method: portier.MethodTOTP,
			Source: source, UserAgent: r.UserAgent(),
			Check: func(ctx context.Context, tx portier.Tx, p *signin.Pending, u *portier.User) (signin.FactorResult, error) {
				st, err := s.Directory.Settings(ctx)
				if err != nil {
					return signin.FactorResult{}, err
				}
				v, err := s.SelfService.SecondFactorTOTP(ctx, tx, st, u, code, source)
				switch {
				case err != nil:
					return signin.FactorResult{}, err
				case v.OK:
					return signin.FactorResult{OK: true, AMR: []string{portier.AMROTP}, Detail: "right code"}, nil
				case v.Locked:
					return signin.FactorResult{Locked: true, RetryAt: v.RetryAt, Detail: "authenticator locked after too many wrong codes"}, nil
				}
				return signin.FactorResult{Detail: "wrong code"}, nil
			},
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.secondFactorAnswer(w, r, out, secret, portier.MethodTOTP)
	})
}

// secondFactorAnswer answers a try at the second step: on success the session's cookies and
// a 303 to where the sign-in goes; a failure re-shows the method's page with its code.
func (s *server) secondFactorAnswer(w http.ResponseWriter, r *http.Request, out signin.FactorOutcome, secret string, k portier.MethodKind) {
	switch out.Code {
	case portier.CodeSuccess:
		s.finishSignIn(w, r, out)
	case portier.CodeBadRequest:
		s.outOfOrder(w, r)
	default:
		pg := s.mfaPage(r, out.Pending, secret, k)
		pg.Error = &pageError{Code: out.Code, Text: pg.T.T("mfa.wrong." + string(k))}
		if out.Code == portier.CodeLocked {
			pg.Error.Text = pg.T.T("mfa.locked."+string(k), "Time", pg.T.Clock(out.RetryAt), "Zone", "UTC")
		}
		s.render(w, http.StatusOK, "mfa", pg)
	}
}

// finishSignIn ends a completed second step: the pending cookie goes, the session's cookies
// are set (and the remember cookie when asked for and allowed), and the browser goes on to
// where the sign-in was going, or to register security info when the organisation asks.
func (s *server) finishSignIn(w http.ResponseWriter, r *http.Request, out signin.FactorOutcome) {
	s.setCookie(w, mfaCookie, "", "/login", -1)
	device := s.Engine.ParseDevice(cookieValue(r, deviceCookie))
	s.setCookie(w, sessionCookie, out.Session, "/", 0)
	renewed := s.Engine.RenewDevice(device, out.User)
	s.setCookie(w, deviceCookie, s.Engine.DeviceToken(renewed), "/", signin.DeviceLifetime)
	if st, err := s.Directory.Settings(r.Context()); err == nil && st.MFA.RememberDays > 0 && r.PostFormValue("remember") == "1" {
		s.setCookie(w, rememberCookie, s.Engine.RememberToken(out.User, renewed.ID), "/login", st.MFA.Remember())
	}
	returnTo := out.ReturnTo
	if returnTo == "" {
		returnTo = "/myaccount"
	}
	if ask, err := s.SelfService.AskToRegister(r.Context(), out.User); err == nil && ask {
		returnTo = "/myaccount/security-info?register=1&return_to=" + urlQueryEscape(returnTo)
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// handleMFARegisterPage shows the registration of a first second factor during a pending
// sign-in: the authenticator app's key (an enrollment started on first view, kept in the
// pending sign-in), and the passkey's registration when passkeys are allowed.
func (s *server) handleMFARegisterPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, u, secret := s.pending(w, r)
		if p == nil {
			return
		}
		if !p.Register {
			s.outOfOrder(w, r)
			return
		}
		s.renderMFARegister(w, r, p, u, secret, false)
	})
}

// renderMFARegister shows the registration of a first second factor during the pending
// sign-in p, with the methods the organisation allows (the authenticator app's key from an
// enrollment started on first view), saying so when the first code posted was wrong.
func (s *server) renderMFARegister(w http.ResponseWriter, r *http.Request, p *signin.Pending, u *portier.User, secret string, wrong bool) {
	st, err := s.Directory.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg := s.mfaPage(r, p, secret, portier.MethodTOTP)
	pg.Title = pg.T.T("mfa.register.title")
	if wrong {
		pg.Error = &pageError{Code: portier.CodeMFAFailed, Text: pg.T.T("mfa.wrong.totp")}
	}
	v := pg.Data.(*mfaView)
	v.Passkey, v.TOTP = st.MFA.Allows(portier.MethodPasskey), st.MFA.Allows(portier.MethodTOTP)
	if v.TOTP {
		if v.EnrollmentSecret, err = s.pendingEnrollment(r.Context(), p, u, secret); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, http.StatusOK, "mfa_register", pg)
}

// pendingEnrollment returns the key of the authenticator being registered in the pending
// sign-in p, starting its enrollment on first use.
func (s *server) pendingEnrollment(ctx context.Context, p *signin.Pending, u *portier.User, secret string) (string, error) {
	if p.Enrollment != "" {
		if e, err := s.SelfService.Enrollment(ctx, u, p.Enrollment); err == nil {
			return e.Secret, nil
		}
	}
	id, err := s.SelfService.StartTOTP(ctx, u)
	if err != nil {
		return "", err
	}
	err = s.Engine.UpdatePending(ctx, secret, s.Engine.FormState(secret), func(p *signin.Pending, _ *portier.User) error {
		p.Enrollment = id
		return nil
	})
	if err != nil {
		return "", err
	}
	p.Enrollment = id
	e, err := s.SelfService.Enrollment(ctx, u, id)
	if err != nil {
		return "", err
	}
	return e.Secret, nil
}

func (s *server) handleMFARegisterQR() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, u, err := s.Engine.Pending(r.Context(), cookieValue(r, mfaCookie))
		if err != nil || !p.Register || p.Enrollment == "" {
			http.NotFound(w, r)
			return
		}
		e, err := s.SelfService.Enrollment(r.Context(), u, p.Enrollment)
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

func (s *server) handleMFARegister() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := cookieValue(r, mfaCookie)
		code := r.PostFormValue("code")
		source := s.clientIP(r).String()
		out, err := s.Engine.CompleteRegistration(r.Context(), signin.SecondFactor{
			Secret: secret, Form: s.formState(r, secret), Method: portier.MethodTOTP,
			Source: source, UserAgent: r.UserAgent(),
			Check: func(ctx context.Context, tx portier.Tx, p *signin.Pending, u *portier.User) (signin.FactorResult, error) {
				if p.Enrollment == "" {
					return signin.FactorResult{Detail: "no authenticator being registered"}, nil
				}
				_, refusal, err := s.SelfService.ConfirmIn(ctx, tx, u, p.Enrollment, code, source)
				if err != nil {
					return signin.FactorResult{}, err
				}
				if refusal != nil {
					return signin.FactorResult{Detail: "wrong first code"}, nil
				}
				return signin.FactorResult{OK: true, AMR: []string{portier.AMROTP}, Detail: "authenticator app registered"}, nil
			},
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch out.Code {
		case portier.CodeSuccess:
			s.finishSignIn(w, r, out)
		case portier.CodeBadRequest:
			s.outOfOrder(w, r)
		default:
			// The enrollment may be used up (too many wrong first codes): the page starts a new one.
			p, u, err := s.Engine.Pending(r.Context(), secret)
			if err != nil {
				s.outOfOrder(w, r)
				return
			}
			s.renderMFARegister(w, r, p, u, secret, true)
		}
	})
}

// appWantsMFA reports whether the sign-in goes on to an OpenID Connect authorization request
// that asked for a multi-factor sign-in (oidc.MFAParam in its return_to).
func appWantsMFA(returnTo string) bool {
	u, err := url.Parse(returnTo)
	return err == nil && u.Path == oidc.PathContinue && u.Query().Get(oidc.MFAParam) == "1"
}
