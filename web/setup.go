package web

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/signin"
)

// setupPage is the one-time setup form: the common page plus the token it carries and the
// display name typed, kept when the form is shown again.
type setupPage struct {
	*page
	Token       string
	DisplayName string
}

// renderSetup renders the setup page; the data is a setupPage, which render does not take.
func (s *server) renderSetup(w http.ResponseWriter, status int, p *setupPage) {
	var buf bytes.Buffer
	if err := s.pages.byName["setup"].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.Log.Error("rendering a page", "page", "setup", "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	writePage(w, status, buf.Bytes())
}

// setupRefusal answers a setup request the directory refused before any change: a bad token
// (EForbidden) gets the setup page saying so, without the form; the rest goes to fail, which
// answers a plain 404 once the directory has users (the page no longer exists). It reports
// whether it answered.
func (s *server) setupRefusal(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case portier.ErrorCode(err) == portier.EForbidden:
		p := &setupPage{page: s.newPage(r, "setup.title")}
		p.Error = &pageError{Code: portier.CodeBadRequest, Text: p.T.T("setup.invalid")}
		s.renderSetup(w, failureOf(err).status, p)
	default:
		s.fail(w, r, err)
	}
	return true
}

func (s *server) handleSetupPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if s.setupRefusal(w, r, s.Directory.CheckSetupToken(r.Context(), token)) {
			return
		}
		s.renderSetup(w, http.StatusOK, &setupPage{page: s.newPage(r, "setup.title"), Token: token})
	})
}

// handleSetup creates the first global admin with a setup token, signs the admin in and
// sends them to the admin center.
func (s *server) handleSetup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.PostFormValue("token")
		p := &setupPage{page: s.newPage(r, "setup.title"), Token: token, DisplayName: r.PostFormValue("display_name")}
		p.Username = strings.TrimSpace(r.PostFormValue("username"))
		pw := r.PostFormValue("password")
		if pw != r.PostFormValue("confirm_password") {
			// Only a holder of a valid token learns that the passwords differ.
			if s.setupRefusal(w, r, s.Directory.CheckSetupToken(r.Context(), token)) {
				return
			}
			p.Error = &pageError{Code: portier.CodeBadRequest, Text: p.T.T("setup.mismatch")}
			s.renderSetup(w, failures[portier.EInvalid].status, p)
			return
		}
		source := s.clientIP(r).String()
		u, err := s.Directory.CompleteSetup(r.Context(), token, source, directory.NewUser{
			UPN: p.Username, DisplayName: p.DisplayName, Password: pw,
		})
		if inputError(err) {
			p.Error = &pageError{Code: portier.CodeBadRequest, Text: p.T.Error(err)}
			s.renderSetup(w, failureOf(err).status, p)
			return
		} else if s.setupRefusal(w, r, err) {
			return
		}
		session, err := s.Engine.StartSession(r.Context(), u, source, r.UserAgent())
		if err != nil {
			// The admin exists; only the automatic sign-in failed, and /login still works.
			s.fail(w, r, err)
			return
		}
		s.setCookie(w, sessionCookie, session, "/", 0)
		s.setDevice(w, u, signin.Device{})
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	})
}
