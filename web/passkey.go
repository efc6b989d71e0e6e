package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/passkey"
	"github.com/portier-id/portier/signin"
)

// Passkeys (WebAuthn): the pages work in two requests each, both CSRF-guarded POSTs. The
// first (…/options) begins a ceremony and answers the options for navigator.credentials as
// JSON, setting a cookie with the ceremony's ticket; the second is the form that
// static/passkey.js fills with the authenticator's answer and submits. The ticket's cookie
// binds the challenge to this browser: a challenge begun elsewhere is not this browser's to
// answer. Each purpose has its own cookie, scoped to its path, so a sign-in begun in one tab
// does not end a registration begun in another.
const (
	passkeySignInCookie   = "portier_passkey"
	passkeyRegisterCookie = "portier_passkey_register"
)

// Paths of the passkey pages.
const (
	pathPasskeySignIn   = "/login/passkey"
	pathPasskeyRegister = "/myaccount/security-info/passkey"
)

// passkeysAllowed reports whether passkeys work at this base URL and the organisation allows
// them (the multi-factor methods setting): registration, sign-in and second factor alike.
func (s *server) passkeysAllowed(ctx context.Context) (bool, error) {
	if !s.Passkeys.Enabled() {
		return false, nil
	}
	st, err := s.Directory.Settings(ctx)
	return err == nil && st.MFA.Allows(portier.MethodPasskey), err
}

// errPasskeysOff refuses a ceremony when passkeys are off.
var errPasskeysOff = &passkey.Refusal{Reason: passkey.ReasonOff, Detail: "passkeys are not allowed or cannot work at this base URL"}

// passkeyOptions answers a begun ceremony: its options as JSON, its ticket in the cookie.
func (s *server) passkeyOptions(w http.ResponseWriter, r *http.Request, cookie, path string, begin func(ctx context.Context) (*passkey.Challenge, error)) {
	var ch *passkey.Challenge
	ok, err := s.passkeysAllowed(r.Context())
	if err == nil && !ok {
		err = errPasskeysOff
	} else if err == nil {
		ch, err = begin(r.Context())
	}
	var ref *passkey.Refusal
	if errors.As(err, &ref) {
		t := s.newPage(r, "login.title").T
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": ref.Reason, "message": t.T("passkey.err." + ref.Reason)})
		return
	} else if err != nil {
		s.Log.Error("beginning a passkey ceremony", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "unavailable", "message": s.newPage(r, "login.title").T.T("error.unavailable")})
		return
	}
	s.setPasskeyCookie(w, cookie, ch.Ticket, path)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(ch.Options)
}

// setPasskeyCookie sets (or, with an empty ticket, clears) a ceremony's ticket: Strict, since
// only this site's own pages ever answer a ceremony.
func (s *server) setPasskeyCookie(w http.ResponseWriter, name, ticket, path string) {
	c := &http.Cookie{Name: name, Value: ticket, Path: path, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode,
		MaxAge: int(passkey.CeremonyLifetime.Seconds())}
	if ticket == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (s *server) handlePasskeySignInOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.passkeyOptions(w, r, passkeySignInCookie, pathPasskeySignIn, s.Passkeys.BeginSignIn)
	})
}

// passkeyAMR are the methods of a session a passkey opened on its own: the key ("hwk" or
// "swk") and "mfa", since the authenticator verified the user (a PIN or a biometric) besides
// proving possession of the key: two factors in one, as NIST SP 800-63B counts a
// multi-factor cryptographic authenticator.
func passkeyAMR(p *portier.Passkey) []string { return []string{p.AMR(), portier.AMRMFA} }

// handlePasskeySignIn signs in with a passkey, without a user name or password: the form
// static/passkey.js submits with the authenticator's answer (assertion). It answers as the
// password form does: 303 to return_to with a session, or the sign-in page again with the code.
func (s *server) handlePasskeySignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		returnTo := safeReturnTo(r.PostFormValue("return_to"))
		ticket, assertion := cookieValue(r, passkeySignInCookie), r.PostFormValue("assertion")
		device := s.Engine.ParseDevice(cookieValue(r, deviceCookie))
		out, err := s.Engine.SignInPasswordless(r.Context(), signin.Passwordless{
			Method: "passkey", Source: s.clientIP(r).String(), UserAgent: r.UserAgent(), Device: device,
			Language: pickLanguage(r, ""),
			Check: func(ctx context.Context, tx portier.Tx) (signin.PasswordlessResult, error) {
				if ok, err := s.passkeysAllowed(ctx); err != nil || !ok {
					return signin.PasswordlessResult{Detail: errPasskeysOff.Detail}, err
				}
				a, err := s.Passkeys.VerifySignIn(ctx, tx, ticket, assertion)
				var ref *passkey.Refusal
				if errors.As(err, &ref) {
					return signin.PasswordlessResult{User: ref.User, Detail: ref.Detail}, nil
				} else if err != nil {
					return signin.PasswordlessResult{}, err
				}
				return signin.PasswordlessResult{OK: true, User: a.User, AMR: passkeyAMR(a.Passkey),
					Detail: "passkey " + a.Passkey.AMR() + " verified"}, nil
			},
		})
		s.setPasskeyCookie(w, passkeySignInCookie, "", pathPasskeySignIn)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if out.Code == portier.CodeSuccess {
			s.setSessionCookies(w, out.User, out.Session, device)
			if returnTo == "" {
				returnTo = "/myaccount"
			}
			http.Redirect(w, r, returnTo, http.StatusSeeOther)
			return
		}
		p := s.newPage(r, "login.title")
		p.ReturnTo = returnTo
		p.Error = loginError(p.T, out)
		if out.Code == portier.CodeMFAFailed {
			p.Error.Text = p.T.T("passkey.err.signin")
		}
		s.render(w, http.StatusOK, "login", p)
	})
}

func (s *server) handlePasskeyRegisterOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sessionUser(r)
		s.passkeyOptions(w, r, passkeyRegisterCookie, pathPasskeyRegister, func(ctx context.Context) (*passkey.Challenge, error) {
			return s.Passkeys.BeginRegistration(ctx, u, "")
		})
	})
}

// handlePasskeyRegister registers a passkey under Security info: the form static/passkey.js
// submits with its name and the authenticator's answer (credential).
func (s *server) handlePasskeyRegister() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PostFormValue("name")
		_, err := s.Passkeys.Add(r.Context(), sessionUser(r), cookieValue(r, passkeyRegisterCookie), name, r.PostFormValue("credential"), s.clientIP(r).String())
		s.setPasskeyCookie(w, passkeyRegisterCookie, "", pathPasskeyRegister)
		if err != nil {
			s.securityFail(w, r, "securityinfo", err, func(p *page) { p.Data.(*securityData).PasskeyName = name })
			return
		}
		http.Redirect(w, r, securityURL(r, "passkey-added"), http.StatusSeeOther)
	})
}

// Passkeys in the second step of a sign-in (web/mfa.go has the framework): the page of the
// passkey as second factor, and the registration of a passkey as the first second factor.
// Their ceremonies are bound to the pending sign-in (its id), and their cookies are under
// /login, where the pending sign-in's cookie is.
const (
	passkeyMFACookie         = "portier_passkey_mfa"
	passkeyMFARegisterCookie = "portier_passkey_mfa_register"
	pathMFAPasskey           = mfaPath + "/passkey"
	pathMFARegisterPasskey   = mfaRegisterPath + "/passkey"
)

// handleMFAPasskeyPage shows the second step with a passkey.
func (s *server) handleMFAPasskeyPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, secret := s.pending(w, r)
		if p == nil {
			return
		}
		if p.Register || !p.Has(portier.MethodPasskey) {
			s.outOfOrder(w, r)
			return
		}
		s.render(w, http.StatusOK, "mfa", s.mfaPage(r, p, secret, portier.MethodPasskey))
	})
}

// pendingOptions begins a ceremony of the pending sign-in's second step; a step out of order
// is answered 400 in JSON, like any other refusal of the options.
func (s *server) pendingOptions(w http.ResponseWriter, r *http.Request, cookie, path string, register bool,
	begin func(ctx context.Context, u *portier.User, bind string) (*passkey.Challenge, error)) {
	secret := cookieValue(r, mfaCookie)
	p, u, err := s.Engine.Pending(r.Context(), secret)
	if err == nil && (p.Register != register || !register && !p.Has(portier.MethodPasskey) ||
		r.PostFormValue("mfa_state") != s.Engine.FormState(secret)) {
		err = signin.ErrOutOfOrder
	}
	if err == signin.ErrOutOfOrder {
		t := s.newPage(r, "login.title").T
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "out-of-order", "message": t.T("mfa.outoforder")})
		return
	} else if err != nil {
		s.Log.Error("reading a pending sign-in", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "unavailable", "message": s.newPage(r, "login.title").T.T("error.unavailable")})
		return
	}
	s.passkeyOptions(w, r, cookie, path, func(ctx context.Context) (*passkey.Challenge, error) { return begin(ctx, u, p.ID) })
}

func (s *server) handleMFAPasskeyOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.pendingOptions(w, r, passkeyMFACookie, pathMFAPasskey, false, s.Passkeys.BeginSecondFactor)
	})
}

// handleMFAPasskey checks the passkey of the second step: the session opens with the
// password's "pwd", the key's "hwk" or "swk", and "mfa".
func (s *server) handleMFAPasskey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := cookieValue(r, mfaCookie)
		ticket, assertion := cookieValue(r, passkeyMFACookie), r.PostFormValue("assertion")
		out, err := s.Engine.CompleteSecondFactor(r.Context(), signin.SecondFactor{
			Secret: secret, Form: s.formState(r, secret), Method: portier.MethodPasskey,
			Source: s.clientIP(r).String(), UserAgent: r.UserAgent(),
			Check: func(ctx context.Context, tx portier.Tx, p *signin.Pending, u *portier.User) (signin.FactorResult, error) {
				if ok, err := s.passkeysAllowed(ctx); err != nil || !ok {
					return signin.FactorResult{Detail: errPasskeysOff.Detail}, err
				}
				a, err := s.Passkeys.VerifySecondFactor(ctx, tx, u, ticket, assertion, p.ID)
				var ref *passkey.Refusal
				if errors.As(err, &ref) {
					return signin.FactorResult{Detail: ref.Detail}, nil
				} else if err != nil {
					return signin.FactorResult{}, err
				}
				return signin.FactorResult{OK: true, AMR: []string{a.Passkey.AMR()}, Detail: "passkey " + a.Passkey.AMR() + " verified"}, nil
			},
		})
		s.setPasskeyCookie(w, passkeyMFACookie, "", pathMFAPasskey)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.secondFactorAnswer(w, r, out, secret, portier.MethodPasskey)
	})
}

// mfaPasskeyRegisterPage fills the registration of a passkey as the first second factor.
func (s *server) mfaPasskeyRegisterPage(r *http.Request, p *signin.Pending, secret string) *page {
	pg := s.mfaPage(r, p, secret, portier.MethodPasskey)
	pg.Title = pg.T.T("mfa.register.title")
	if st, err := s.Directory.Settings(r.Context()); err == nil {
		pg.Data.(*mfaView).TOTP = st.MFA.Allows(portier.MethodTOTP)
	}
	return pg
}

func (s *server) handleMFARegisterPasskeyPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _, secret := s.pending(w, r)
		if p == nil {
			return
		}
		if ok, err := s.passkeysAllowed(r.Context()); !p.Register || err != nil || !ok {
			s.outOfOrder(w, r)
			return
		}
		s.render(w, http.StatusOK, "mfa_passkey_register", s.mfaPasskeyRegisterPage(r, p, secret))
	})
}

func (s *server) handleMFARegisterPasskeyOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.pendingOptions(w, r, passkeyMFARegisterCookie, pathMFARegisterPasskey, true, s.Passkeys.BeginRegistration)
	})
}

// handleMFARegisterPasskey registers a passkey as the first second factor of a pending
// sign-in; its registration (with user verification) completes the sign-in.
func (s *server) handleMFARegisterPasskey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := cookieValue(r, mfaCookie)
		ticket, name, credential := cookieValue(r, passkeyMFARegisterCookie), r.PostFormValue("name"), r.PostFormValue("credential")
		source := s.clientIP(r).String()
		var refusal error
		out, err := s.Engine.CompleteRegistration(r.Context(), signin.SecondFactor{
			Secret: secret, Form: s.formState(r, secret), Method: portier.MethodPasskey,
			Source: source, UserAgent: r.UserAgent(),
			Check: func(ctx context.Context, tx portier.Tx, p *signin.Pending, u *portier.User) (signin.FactorResult, error) {
				if ok, err := s.passkeysAllowed(ctx); err != nil || !ok {
					refusal = errPasskeysOff
					return signin.FactorResult{Detail: errPasskeysOff.Detail}, err
				}
				pk, err := s.Passkeys.Register(ctx, tx, u, ticket, name, credential, p.ID)
				var ref *passkey.Refusal
				if errors.As(err, &ref) {
					refusal = err
					return signin.FactorResult{Detail: ref.Detail}, nil
				} else if err != nil {
					return signin.FactorResult{}, err
				}
				if err := tx.AppendAudit(ctx, s.Passkeys.SelfEvent(u, portier.ActionRegisterSecurityInfo, source, passkey.Describe(pk))); err != nil {
					return signin.FactorResult{}, err
				}
				return signin.FactorResult{OK: true, AMR: []string{pk.AMR()}, Detail: "passkey " + pk.AMR() + " registered"}, nil
			},
		})
		s.setPasskeyCookie(w, passkeyMFARegisterCookie, "", pathMFARegisterPasskey)
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
			p, _, err := s.Engine.Pending(r.Context(), secret)
			if err != nil {
				s.outOfOrder(w, r)
				return
			}
			pg := s.mfaPasskeyRegisterPage(r, p, secret)
			pg.Error = &pageError{Code: portier.CodeMFAFailed, Text: pg.T.T("passkey.err.failed")}
			if refusal != nil {
				pg.Error.Text = errorText(pg.T, refusal)
			}
			s.render(w, http.StatusOK, "mfa_passkey_register", pg)
		}
	})
}
