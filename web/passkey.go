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

// passkeyOptions answers a begun ceremony: its options as JSON, its ticket in the cookie.
func (s *server) passkeyOptions(w http.ResponseWriter, r *http.Request, cookie, path string, begin func(ctx context.Context) (*passkey.Challenge, error)) {
	ch, err := begin(r.Context())
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
func passkeyAMR(p *portier.Passkey) []string { return []string{p.AMR(), "mfa"} }

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
		if out.Code == codePasskeyFailed {
			p.Error.Text = p.T.T("passkey.err.signin")
		}
		s.render(w, http.StatusOK, "login", p)
	})
}

// codePasskeyFailed is 500121, a passkey that did not verify.
const codePasskeyFailed = 500121

func (s *server) handlePasskeyRegisterOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sessionUser(r)
		s.passkeyOptions(w, r, passkeyRegisterCookie, pathPasskeyRegister, func(ctx context.Context) (*passkey.Challenge, error) {
			return s.Passkeys.BeginRegistration(ctx, u)
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
