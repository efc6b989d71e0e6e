package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/selfservice"
)

// recoverCookie holds the secret of the browser's self-service reset in progress.
const recoverCookie = "portier_recover"

// recoverData is what the /recover pages show beyond the common page fields.
type recoverData struct {
	// Step is "name", "verify", "choose", "password", "unlocked", "reset", "blocked", "report" or "off".
	Step       string
	View       *selfservice.FlowView
	AllowEmail bool
	AllowTOTP  bool
	// Address is the alternate address as typed, to show it back.
	Address string
	// KeepChecked is the "sign out everywhere" box's state.
	SignOutEverywhere bool
	ReportToken       string
	ReportUPN         string
}

// recoverPage starts a /recover page.
func (s *server) recoverPage(r *http.Request, step string) *page {
	p := s.newPage(r, "recover.title")
	st, err := s.Directory.Settings(r.Context())
	if err != nil {
		st = portier.DefaultSettings()
	}
	p.Data = &recoverData{Step: step, AllowEmail: st.Reset.Allows(portier.MethodEmail), AllowTOTP: st.Reset.Allows(portier.MethodTOTP), SignOutEverywhere: true}
	return p
}

// recoverFail shows a refusal or bad input on the page of step; other errors go to fail.
func (s *server) recoverFail(w http.ResponseWriter, r *http.Request, p *page, err error) {
	if codeOf(err) != portier.EInvalid {
		s.fail(w, r, err)
		return
	}
	var ref *selfservice.Refusal
	if errors.As(err, &ref) && ref.Reason == selfservice.ReasonExpired {
		s.setCookie(w, recoverCookie, "", "/recover", -1)
	}
	s.formError(w, "recover", p, err)
}

// refusalText says a refusal in the viewer's language.
func refusalText(t *translator, ref *selfservice.Refusal) string {
	return t.T("recover.err."+ref.Reason, "Time", t.Clock(ref.RetryAt), "Zone", "UTC", "Left", ref.TriesLeft)
}

func (s *server) handleRecoverStart() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.recoverPage(r, "name")
		p.Username = strings.TrimSpace(r.URL.Query().Get("username"))
		if len(p.Username) > 256 {
			p.Username = ""
		}
		if r.URL.Query().Get("reported") == "1" {
			p.Notice = p.T.T("recover.reported")
		}
		st, err := s.Directory.Settings(r.Context())
		if err == nil && st.Reset.Scope == portier.ResetNone {
			p.Data.(*recoverData).Step = "off"
		}
		s.render(w, http.StatusOK, "recover", p)
	})
}

func (s *server) handleRecoverBegin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PostFormValue("username")
		secret, err := s.SelfService.Begin(r.Context(), name, s.clientIP(r).String())
		if err != nil {
			p := s.recoverPage(r, "name")
			var ref *selfservice.Refusal
			if errors.As(err, &ref) && ref.Reason == selfservice.ReasonDisabled {
				p.Data.(*recoverData).Step = "off"
			}
			s.recoverFail(w, r, p, err)
			return
		}
		s.setCookie(w, recoverCookie, secret, "/recover", selfservice.FlowLifetime)
		http.Redirect(w, r, "/recover/verify", http.StatusSeeOther)
	})
}

// flowPage loads the browser's reset in progress into a page of step; on a refusal it has
// answered already and returns nil.
func (s *server) flowPage(w http.ResponseWriter, r *http.Request, step string) *page {
	p := s.recoverPage(r, step)
	v, err := s.SelfService.View(r.Context(), cookieValue(r, recoverCookie))
	if err != nil {
		p.Data.(*recoverData).Step = "name"
		s.recoverFail(w, r, p, err)
		return nil
	}
	p.Data.(*recoverData).View = v
	p.Username = v.Name
	return p
}

func (s *server) handleRecoverVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.flowPage(w, r, "verify")
		if p == nil {
			return
		}
		if p.Data.(*recoverData).View.Verified {
			http.Redirect(w, r, "/recover/choose", http.StatusSeeOther)
			return
		}
		if r.URL.Query().Get("sent") == "1" {
			p.Notice = p.T.T("recover.sent")
		}
		s.render(w, http.StatusOK, "recover", p)
	})
}

// afterCheck answers a method's check: on to the next step, or the refusal on the verify page.
func (s *server) afterCheck(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		http.Redirect(w, r, "/recover/verify", http.StatusSeeOther)
		return
	}
	p := s.flowPage(w, r, "verify")
	if p == nil {
		return
	}
	s.recoverFail(w, r, p, err)
}

func (s *server) handleRecoverSend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		address := r.PostFormValue("address")
		err := s.SelfService.SendCode(r.Context(), cookieValue(r, recoverCookie), address, s.clientIP(r).String())
		if err == nil {
			http.Redirect(w, r, "/recover/verify?sent=1", http.StatusSeeOther)
			return
		}
		p := s.flowPage(w, r, "verify")
		if p == nil {
			return
		}
		p.Data.(*recoverData).Address = address
		s.recoverFail(w, r, p, err)
	})
}

func (s *server) handleRecoverCode() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.afterCheck(w, r, s.SelfService.CheckCode(r.Context(), cookieValue(r, recoverCookie), r.PostFormValue("code")))
	})
}

func (s *server) handleRecoverTOTP() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.afterCheck(w, r, s.SelfService.CheckTOTP(r.Context(), cookieValue(r, recoverCookie), r.PostFormValue("code"), s.clientIP(r).String()))
	})
}

func (s *server) handleRecoverChoose() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.flowPage(w, r, "choose")
		if p == nil {
			return
		}
		d := p.Data.(*recoverData)
		switch {
		case !d.View.Verified:
			http.Redirect(w, r, "/recover/verify", http.StatusSeeOther)
			return
		case d.View.Blocked:
			d.Step = "blocked"
		case !d.View.CanUnlock:
			d.Step = "password"
		}
		s.render(w, http.StatusOK, "recover", p)
	})
}

func (s *server) handleRecoverUnlock() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.SelfService.Unlock(r.Context(), cookieValue(r, recoverCookie), s.clientIP(r).String())
		if err != nil {
			p := s.flowPage(w, r, "choose")
			if p == nil {
				return
			}
			s.recoverFail(w, r, p, err)
			return
		}
		s.recoverDone(w, r, "unlocked", u)
	})
}

func (s *server) handleRecoverPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
		signOut := r.PostFormValue("sign_out_everywhere") == "on"
		fail := func(err error) {
			p := s.flowPage(w, r, "password")
			if p == nil {
				return
			}
			p.Data.(*recoverData).SignOutEverywhere = signOut
			s.recoverFail(w, r, p, err)
		}
		if next != confirm {
			fail(portier.Errorf(portier.EInvalid, "%s", s.newPage(r, "recover.title").T.T("change.mismatch")))
			return
		}
		u, err := s.SelfService.Reset(r.Context(), cookieValue(r, recoverCookie), next, !signOut, s.clientIP(r).String())
		if err != nil {
			fail(err)
			return
		}
		s.recoverDone(w, r, "reset", u)
	})
}

// recoverDone ends the browser's reset ("unlocked" or "reset") and says so.
func (s *server) recoverDone(w http.ResponseWriter, r *http.Request, step string, u *portier.User) {
	s.setCookie(w, recoverCookie, "", "/recover", -1)
	p := s.recoverPage(r, step)
	p.Username = u.UPN
	s.render(w, http.StatusOK, "recover", p)
}

// handleReportPage shows the "This wasn't me" confirmation of a lockout mail's link; the
// report itself is a POST, so that a mail scanner following links reports nothing.
func (s *server) handleReportPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.recoverPage(r, "report")
		token := r.URL.Query().Get("token")
		upn, err := s.SelfService.ReportTarget(r.Context(), token)
		if err != nil {
			p.Data.(*recoverData).Step = "name"
			s.recoverFail(w, r, p, err)
			return
		}
		d := p.Data.(*recoverData)
		d.ReportToken, d.ReportUPN = token, upn
		s.render(w, http.StatusOK, "recover", p)
	})
}

func (s *server) handleReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upn, err := s.SelfService.Report(r.Context(), r.PostFormValue("token"), s.clientIP(r).String())
		if err != nil {
			p := s.recoverPage(r, "name")
			s.recoverFail(w, r, p, err)
			return
		}
		http.Redirect(w, r, "/recover?reported=1&username="+urlQueryEscape(upn), http.StatusSeeOther)
	})
}
