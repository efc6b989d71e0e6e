package web

import (
	"net/http"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/oidc"
)

// oidcSession returns the browser's signed-in user and session, both nil when there is none.
func (s *server) oidcSession(r *http.Request) (*portier.User, *portier.Session, error) {
	u, sess, err := s.Engine.Session(r.Context(), cookieValue(r, sessionCookie))
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, nil, nil
	}
	return u, sess, err
}

// handleOIDCContinue is where an authorization request goes once op accepted it, and where
// /login sends the browser back: it signs the user in through /login with everything of
// Portier's sign-in (lockout, block, forced change), applies prompt, max_age and the
// application's assignment rule, then has op issue the code.
func (s *server) handleOIDCContinue() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, sess, err := s.oidcSession(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		step, err := s.OIDC.Resume(r.Context(), r.URL.Query().Get("id"), u, sess)
		if err != nil {
			s.oidcExpired(w, r, err)
			return
		}
		switch step.Kind {
		case oidc.StepLogin, oidc.StepClientError:
			http.Redirect(w, r, step.URL, http.StatusFound)
		case oidc.StepRefuse:
			s.oidcError(w, r, portier.EForbidden, step.Code, "oidc.50105", step.App.Name)
		case oidc.StepIssue:
			if r.URL.Query().Get(oidc.ContinueParam) == "" {
				http.Redirect(w, r, step.URL, http.StatusFound)
				return
			}
			// This request ends the redirects of the sign-in form's POST. Chromium applies
			// CSP form-action to every redirect that follows a form submission, so a redirect
			// from here on to the application would be blocked: the browser goes on by a fresh
			// navigation (the Refresh header, or the link for browsers that ignore it).
			p := s.newPage(r, "oidc.continue.title")
			p.User = u
			p.Data = map[string]string{"App": step.App.Name, "URL": step.URL}
			w.Header().Set("Refresh", "0; url="+step.URL)
			s.render(w, http.StatusOK, "oidc_continue", p)
		}
	})
}

// handleOIDCCallback lets op issue the code, to the browser that signed in for the request only.
func (s *server) handleOIDCCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sess, err := s.oidcSession(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.OIDC.CheckCallback(r.Context(), r.URL.Query().Get("id"), sess); err != nil {
			s.oidcExpired(w, r, err)
			return
		}
		s.OIDC.ServeHTTP(w, r)
	})
}

// handleOIDCLogout is RP-initiated logout. With an id_token_hint naming the signed-in user it
// signs the browser out and ends the user's tokens for the application, then goes to the
// registered post_logout_redirect_uri; without one, a signed-in browser is asked first
// (/logout), so that a bare link cannot sign anyone out.
func (s *server) handleOIDCLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		lo, err := s.OIDC.ParseLogout(r)
		if err != nil {
			s.oidcError(w, r, portier.EInvalid, portier.CodeBadRequest, "oidc.logout.invalid", "")
			return
		}
		u, _, err := s.oidcSession(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if u != nil {
			if lo.UserID != u.ID {
				http.Redirect(w, r, "/logout", http.StatusFound)
				return
			}
			if err := s.Engine.EndSession(r.Context(), cookieValue(r, sessionCookie)); err != nil {
				s.fail(w, r, err)
				return
			}
			s.setCookie(w, sessionCookie, "", "/", -1)
		}
		if lo.UserID != "" && lo.ClientID != "" {
			if err := s.OIDC.EndTokens(r.Context(), lo.UserID, lo.ClientID); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		http.Redirect(w, r, lo.RedirectURI, http.StatusFound)
	})
}

// oidcExpired answers an authorization request that is unknown or has run out (ENotFound): the
// browser's request is bad, and the page says to start again from the application. Other
// errors go to fail.
func (s *server) oidcExpired(w http.ResponseWriter, r *http.Request, err error) {
	if portier.ErrorCode(err) != portier.ENotFound {
		s.fail(w, r, err)
		return
	}
	s.oidcError(w, r, portier.EInvalid, portier.CodeBadRequest, "oidc.expired", "")
}

// oidcError shows the error page of a sign-in to an application that cannot go on: the
// status is that of the domain code kind (bad input, forbidden), code the sign-in code shown.
func (s *server) oidcError(w http.ResponseWriter, r *http.Request, kind string, code int, textID, app string) {
	p := s.newPage(r, "error.title")
	p.Error = &pageError{Code: code, Text: p.T.T(textID, "App", app)}
	s.render(w, failures[kind].status, "error", p)
}

// loginHint is the user name an application suggested for the sign-in form (login_hint,
// passed on by oidc.Provider.Resume), or "" when it is no valid user name; any page may link
// to /login with one, so it is checked here, and the template escapes it.
func loginHint(r *http.Request) string {
	hint, err := portier.NormalizeUPN(r.URL.Query().Get(oidc.LoginHintParam))
	if err != nil {
		return ""
	}
	return hint
}
