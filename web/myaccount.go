package web

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/signin"
)

type ctxKey int

const (
	userKey ctxKey = iota
	tokenKey
)

// requireSession lets signed-in users through and sends the others to /login.
func (s *server) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := cookieValue(r, sessionCookie)
		u, idle, err := s.session(r, token)
		if portier.ErrorCode(err) == portier.ENotFound { // not signed in, or no longer
			s.setCookie(w, sessionCookie, "", "/", -1)
			// A browser that sent a session cookie had a session: the sign-in page says why it
			// ended (unused too long, or ended by the user elsewhere or an admin).
			var query []string
			if r.Method == http.MethodGet {
				query = append(query, "return_to="+urlQueryEscape(r.URL.RequestURI()))
			}
			if idle {
				query = append(query, "done=idle")
			} else if token != "" {
				query = append(query, "done=ended")
			}
			target := "/login"
			if len(query) > 0 {
				target += "?" + strings.Join(query, "&")
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), userKey, u)
		ctx = context.WithValue(ctx, tokenKey, token)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// session returns the signed-in user of a session cookie, or ENotFound; idle reports that the
// session ended for going unused too long (an admin's sooner than anyone's), so the sign-in page
// can say so.
func (s *server) session(r *http.Request, token string) (u *portier.User, idle bool, err error) {
	u, _, err = s.Engine.Session(r.Context(), token)
	return u, errors.Is(err, signin.ErrIdle), err
}

func sessionUser(r *http.Request) *portier.User { return r.Context().Value(userKey).(*portier.User) }
func sessionToken(r *http.Request) string       { return r.Context().Value(tokenKey).(string) }

// userOf is the signed-in user of r, or nil on a page that needs no session.
func userOf(r *http.Request) *portier.User {
	u, _ := r.Context().Value(userKey).(*portier.User)
	return u
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// myAccountPage fills the /myaccount page for the signed-in user.
func (s *server) myAccountPage(r *http.Request) (*page, error) {
	u := sessionUser(r)
	p := s.newPage(r, "myaccount.title")
	p.User, p.IsAdmin = u, portier.IsAdmin(u.Roles)
	sessions, err := s.Engine.Sessions(r.Context(), u)
	if err != nil {
		return nil, err
	}
	reg, err := s.SelfService.Registration(r.Context(), u)
	if err != nil {
		return nil, err
	}
	p.Data = reg.Have
	current := signin.SessionHash(sessionToken(r))
	for _, ss := range sessions {
		p.Sessions = append(p.Sessions, sessionRow{
			ID: sessionID(ss.IDHash), Created: ss.Created, LastSeen: ss.LastSeen, Source: ss.Source,
			UserAgent: ss.UserAgent, Current: subtle.ConstantTimeCompare(ss.IDHash, current) == 1,
		})
	}
	return p, nil
}

func (s *server) handleMyAccount() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.myAccountPage(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if r.URL.Query().Get("done") == "changed" {
			p.Notice = p.T.T("myaccount.changed")
		}
		s.render(w, http.StatusOK, "myaccount", p)
	})
}

// handleMyPassword changes the password of the signed-in user: the current password is
// checked under the same lockout as a sign-in, then the user's other sessions end.
func (s *server) handleMyPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := sessionUser(r)
		next, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
		// again shows the page again with why the change was refused: bad input err, or else
		// the outcome of the check of the current password.
		again := func(out signin.Outcome, err error) {
			p, perr := s.myAccountPage(r)
			if perr != nil {
				s.fail(w, r, perr)
				return
			}
			if err != nil {
				s.formError(w, "myaccount", p, err)
				return
			}
			p.Error = loginError(p.T, out)
			s.render(w, outcomeStatus(w, out, http.StatusBadRequest), "myaccount", p)
		}
		if next != confirm {
			again(signin.Outcome{}, portier.Errorf(portier.EInvalid, "%s", s.newPage(r, "myaccount.title").T.T("change.mismatch")))
			return
		}
		a := signin.Attempt{
			Username: u.UPN, Password: r.PostFormValue("current_password"), Source: s.clientIP(r),
			UserAgent: r.UserAgent(), Device: s.Engine.ParseDevice(cookieValue(r, deviceCookie)), SignedIn: true,
		}
		out, err := s.Engine.ChangePassword(r.Context(), a, next)
		if portier.ErrorCode(err) == portier.EInvalid {
			again(out, err)
			return
		} else if err != nil {
			s.fail(w, r, err)
			return
		}
		if out.Code != portier.CodeSuccess {
			again(out, nil)
			return
		}
		if err := s.Engine.EndOtherSessions(r.Context(), u, sessionToken(r)); err != nil {
			s.fail(w, r, err)
			return
		}
		// The change made every device cookie of the user unfamiliar; this browser, which
		// knew the password, stays familiar (with its own counter, if it had one).
		dev := a.Device
		if out.Familiar {
			dev.Generation = out.User.CredentialGeneration
		}
		s.setDevice(w, out.User, dev)
		http.Redirect(w, r, "/myaccount?done=changed", http.StatusSeeOther)
	})
}

func (s *server) handleEndSession() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hash, err := hex.DecodeString(r.PathValue("id"))
		if err != nil || len(hash) != 32 {
			http.Redirect(w, r, "/myaccount", http.StatusSeeOther)
			return
		}
		err = s.Engine.EndSessionByHash(r.Context(), sessionUser(r), hash)
		if err != nil && portier.ErrorCode(err) != portier.ENotFound {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/myaccount", http.StatusSeeOther)
	})
}

func (s *server) handleEndAllSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Engine.SignOutEverywhere(r.Context(), sessionUser(r), s.clientIP(r).String()); err != nil {
			s.fail(w, r, err)
			return
		}
		s.setCookie(w, sessionCookie, "", "/", -1)
		http.Redirect(w, r, "/login?done=signed-out", http.StatusSeeOther)
	})
}

// handleLanguage sets the language switch's cookie and goes back where the viewer was.
func (s *server) handleLanguage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := r.URL.Query().Get("lang")
		if lang == "en" || lang == "nl" {
			c := &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, Secure: s.secure, SameSite: http.SameSiteLaxMode}
			http.SetCookie(w, c)
		}
		back := safeReturnTo(r.URL.Query().Get("return_to"))
		if back == "" {
			back = "/login"
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	})
}
