package web

import (
	"encoding/hex"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/csrf"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/signin"
)

// Cookie names.
const (
	sessionCookie = "portier_session"
	deviceCookie  = "portier_device"
	pendingCookie = "portier_pending"
)

func (s *server) setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	} else if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

func (s *server) handleLoginPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.newPage(r, "login.title")
		p.ReturnTo = safeReturnTo(r.URL.Query().Get("return_to"))
		p.Username = loginHint(r)
		switch r.URL.Query().Get("done") {
		case "signed-out":
			p.Notice = p.T.T("login.signedout")
		case "changed":
			p.Notice = p.T.T("login.changed")
		case "idle":
			p.Notice = p.T.T("login.idle")
		case "ended":
			p.Notice = p.T.T("login.ended")
		}
		// A browser that is signed in already is shown who, with a way on and a way out,
		// rather than an empty form.
		if token := cookieValue(r, sessionCookie); token != "" {
			u, _, err := s.session(r, token)
			if err == nil {
				p.User, p.IsAdmin = u, portier.IsAdmin(u.Roles)
				p.Notice = ""
				if p.ReturnTo == "" {
					p.ReturnTo = landingPage(u)
				}
			} else if portier.ErrorCode(err) != portier.ENotFound {
				s.fail(w, r, err)
				return
			}
		}
		s.render(w, http.StatusOK, "login", p)
	})
}

// loginError fills the error box of the sign-in form for an outcome.
func loginError(t *translator, out signin.Outcome) *pageError {
	e := &pageError{Code: out.Code}
	switch out.Code {
	case portier.CodeLocked:
		id := "error.50053"
		if out.Throttled {
			id = "error.50053.source"
		}
		e.Text = t.T(id, "Time", t.ClockSeconds(out.RetryAt), "Zone", t.Abbr(out.RetryAt))
	case portier.CodeBlocked:
		e.Text = t.T("error.50057")
	case portier.CodeBadRequest:
		e.Text = t.T("error.90100")
	case portier.CodeBusy:
		e.Text = busyText(t, retrySeconds(out.RetryAfter))
	default:
		e.Text = t.T("error.50126")
	}
	return e
}

func (s *server) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		begun := time.Now()
		returnTo := safeReturnTo(r.PostFormValue("return_to"))
		a := signin.Attempt{
			Username:  r.PostFormValue("username"),
			Password:  r.PostFormValue("password"),
			Source:    s.clientIP(r),
			UserAgent: r.UserAgent(),
			Device:    s.Engine.ParseDevice(cookieValue(r, deviceCookie)),
			// The session, the last sign-in time and the language are written with the
			// attempt's settlement, in one transaction: a store that fails gets one 503 page
			// and leaves nothing behind.
			StartSession: true,
			Language:     pickLanguage(r, ""),
			RememberMFA:  cookieValue(r, rememberCookie),
			ReturnTo:     returnTo,
			RequireMFA:   appWantsMFA(returnTo),
		}
		out, err := s.Engine.SignIn(r.Context(), a)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch out.Code {
		case portier.CodeSuccess:
			s.setSessionCookies(w, out.User, out.Session, a.Device)
			if returnTo == "" {
				returnTo = landingPage(out.User)
			}
			if out.TAP {
				// A Temporary Access Pass is for registering new methods.
				http.Redirect(w, r, "/myaccount/security-info?tap=1", http.StatusSeeOther)
				return
			}
			// A user without enough security info is asked to register it first, when the
			// organisation wants that; "Not now" goes on to returnTo.
			if ask, err := s.SelfService.AskToRegister(r.Context(), out.User); err == nil && ask {
				returnTo = "/myaccount/security-info?register=1&return_to=" + urlQueryEscape(returnTo)
			}
			http.Redirect(w, r, returnTo, http.StatusSeeOther)
		case portier.CodeMFARequired:
			// A right password, and a second factor to go: no session yet.
			s.startPending(w, r, out.Pending)
		case portier.CodePasswordChangeNeeded:
			s.setCookie(w, pendingCookie, s.Engine.PendingToken(out.User), "/change-password", 10*time.Minute)
			target := "/change-password"
			if returnTo != "" {
				target += "?return_to=" + urlQueryEscape(returnTo)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
		default:
			if out.Code == portier.CodeBusy {
				if !s.holdBusy(r, time.Since(begun)) {
					return
				}
				release, ok := s.writeBusy(r)
				if !ok {
					return
				}
				defer release()
				defer http.NewResponseController(w).Flush()
			}
			p := s.newPage(r, "login.title")
			p.ReturnTo, p.Username = returnTo, strings.TrimSpace(a.Username)
			if len(p.Username) > portier.MaxUsernameBytes {
				p.Username = ""
			}
			p.Error = loginError(p.T, out)
			status := http.StatusOK
			if out.Code == portier.CodeBadRequest {
				status = http.StatusBadRequest
			}
			s.renderCached(w, outcomeStatus(w, out, status), "login", p)
		}
	})
}

// DefaultBusyHold is how long a sign-in turned away busy is held before it is answered, and
// MaxHeldBusy how many such answers are held at once; the ones past it are answered at once.
//
// Turning an attempt away takes no hash and no store read, so a client that sends its next
// attempt as soon as it has an answer (as password-spraying tools do, over a fixed number of
// connections) would get thousands of answers a second, and take the cores the owners' checks
// need. Held for a second, each of its connections gets one. This is pam_faildelay's idea, for
// the busy answer only: every busy answer is held alike, whatever the name (no enumeration by
// timing), nothing is read or written while it is held, and the decision itself is made at
// once. A held answer costs a goroutine and its connection's buffers, about 20 KiB; the bound
// keeps a client with more connections than that from holding more than about 20 MiB.
const (
	DefaultBusyHold = time.Second
	MaxHeldBusy     = 1024
)

// holdBusy holds a busy answer until BusyHold has passed since the attempt began (waited is
// how long ago that was: an attempt turned away at its queue's deadline has waited already),
// unless MaxHeldBusy answers are held already; false when the client left meanwhile, and
// nothing is to be written.
func (s *server) holdBusy(r *http.Request, waited time.Duration) bool {
	if s.BusyHold <= waited {
		return true
	}
	select {
	case s.busyHeld <- struct{}{}:
		defer func() { <-s.busyHeld }()
	default:
		return true
	}
	done, stop := s.after(s.BusyHold - waited)
	defer stop()
	select {
	case <-done:
		return true
	case <-r.Context().Done():
		return false
	}
}

func realAfter(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// writeBusy waits for a turn to write a busy answer, and returns the func that ends it; false
// when the request ended first. Busy answers are written a few at a time (a quarter of the
// cores, at least one), in turn: under a spray they are the bulk of the requests, and each
// one written at once would share the cores with the likely owners' checks, which the
// hashing put first. A spray's answers then wait in line for each other, and only for each
// other, without any delay added: the line moves as fast as a core writes them.
func (s *server) writeBusy(r *http.Request) (release func(), ok bool) {
	select {
	case s.busyWriters <- struct{}{}:
		return func() { <-s.busyWriters }, true
	case <-r.Context().Done():
		return nil, false
	}
}

// outcomeStatus is the HTTP status of a page that shows a refused attempt's outcome: status,
// except for CodeBusy, which is 503 with Retry-After, since a saturated server is neither a
// failure nor a lockout and the browser may simply try again.
func outcomeStatus(w http.ResponseWriter, out signin.Outcome, status int) int {
	if out.Code != portier.CodeBusy {
		return status
	}
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(out.RetryAfter)))
	return http.StatusServiceUnavailable
}

// busyText says that the server was too busy to check the password and to try again in
// seconds.
func busyText(t *translator, seconds int) string {
	if seconds == 1 {
		return t.T("error.busy.1")
	}
	return t.T("error.busy", "Seconds", seconds)
}

// retrySeconds is a busy answer's wait in whole seconds, rounded up, at least 1: the page's
// "try again in N seconds" and the Retry-After header say the same N.
func retrySeconds(d time.Duration) int { return (&signin.Busy{RetryAfter: d}).RetrySeconds() }

// startSession opens a session after a right password and makes this browser familiar to the
// user. When the store fails it answers 503 itself and returns false: the caller does
// nothing more.
func (s *server) startSession(w http.ResponseWriter, r *http.Request, u *portier.User, device signin.Device) bool {
	token, err := s.Engine.StartSession(r.Context(), u, s.clientIP(r).String(), r.UserAgent())
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	s.setSessionCookies(w, u, token, device)
	return true
}

// setSessionCookies sets the cookie of a session of u that is open, and makes this browser
// familiar to u.
func (s *server) setSessionCookies(w http.ResponseWriter, u *portier.User, token string, device signin.Device) {
	s.setCookie(w, sessionCookie, token, "/", 0)
	s.setDevice(w, u, device)
}

// setDevice makes this browser familiar to u, from now on and for signin.DeviceLifetime: the
// device it sent if that is still familiar, a new one otherwise, at u's credential generation.
func (s *server) setDevice(w http.ResponseWriter, u *portier.User, device signin.Device) {
	s.setCookie(w, deviceCookie, s.Engine.DeviceToken(s.Engine.RenewDevice(device, u)), "/", signin.DeviceLifetime)
}

func (s *server) handleForcedChangePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.Engine.PendingUser(r.Context(), cookieValue(r, pendingCookie))
		if err != nil {
			s.expiredChange(w, r, err)
			return
		}
		p := s.newPage(r, "change.title")
		p.Username, p.ReturnTo = u.UPN, safeReturnTo(r.URL.Query().Get("return_to"))
		s.render(w, http.StatusOK, "change", p)
	})
}

func (s *server) handleForcedChange() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := cookieValue(r, pendingCookie)
		returnTo := safeReturnTo(r.PostFormValue("return_to"))
		next, confirm := r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
		p := s.newPage(r, "change.title")
		p.ReturnTo = returnTo
		u, err := s.Engine.PendingUser(r.Context(), token)
		if err != nil {
			s.expiredChange(w, r, err)
			return
		}
		p.Username = u.UPN
		if next != confirm {
			s.formError(w, "change", p, portier.Errorf(portier.EInvalid, "%s", p.T.T("change.mismatch")))
			return
		}
		u, device, err := s.Engine.CompleteForcedChange(r.Context(), token, next, s.clientIP(r).String(), r.UserAgent(),
			s.Engine.ParseDevice(cookieValue(r, deviceCookie)))
		if portier.ErrorCode(err) == portier.EInvalid {
			s.formError(w, "change", p, err)
			return
		} else if err != nil {
			s.expiredChange(w, r, err)
			return
		}
		s.setCookie(w, pendingCookie, "", "/change-password", -1)
		// The new password is the first factor: a second one may still be due.
		secret, err := s.Engine.SecondStep(r.Context(), u, device, cookieValue(r, rememberCookie), pickLanguage(r, ""), returnTo, appWantsMFA(returnTo))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if secret != "" {
			s.startPending(w, r, secret)
			return
		}
		if !s.startSession(w, r, u, device) {
			return
		}
		if returnTo == "" {
			returnTo = landingPage(u)
		}
		http.Redirect(w, r, returnTo, http.StatusSeeOther)
	})
}

// landingPage is where a sign-in without a return_to leads: the admin center's home for a
// user holding an admin role, My account for everyone else.
func landingPage(u *portier.User) string {
	if portier.IsAdmin(u.Roles) {
		return "/admin"
	}
	return "/myaccount"
}

// expiredChange sends a user whose pending change has run out (ENotFound) back to sign in;
// other errors go to fail.
func (s *server) expiredChange(w http.ResponseWriter, r *http.Request, err error) {
	if portier.ErrorCode(err) != portier.ENotFound {
		s.fail(w, r, err)
		return
	}
	p := s.newPage(r, "login.title")
	p.Error = &pageError{Code: portier.CodePasswordChangeNeeded, Text: p.T.T("change.expired")}
	s.render(w, http.StatusOK, "login", p)
}

func (s *server) handleLogoutPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusOK, "logout", s.newPage(r, "logout.title"))
	})
}

func (s *server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Engine.EndSession(r.Context(), cookieValue(r, sessionCookie)); err != nil {
			s.fail(w, r, err)
			return
		}
		s.setCookie(w, sessionCookie, "", "/", -1)
		http.Redirect(w, r, "/login?done=signed-out", http.StatusSeeOther)
	})
}

// csrfFailure answers a state change whose CSRF token is missing or forged: 400 with 90100,
// recorded in the sign-in log when it was a sign-in.
func (s *server) csrfFailure(w http.ResponseWriter, r *http.Request) {
	name := "error"
	p := s.newPage(r, "error.title")
	if r.URL.Path == "/login" {
		name = "login"
		p.Title = p.T.T("login.title")
		s.Engine.RecordBadRequest(r.PostFormValue("username"), s.clientIP(r).String(), r.UserAgent(), "CSRF token: "+csrf.FailureReason(r).Error())
	}
	s.formError(w, name, p, portier.Errorf(portier.EInvalid, "%s", p.T.T("error.90100")))
}

// clientIP returns the address the request came from: the peer, or the last address of
// X-Forwarded-For not itself a trusted proxy when the peer is one.
func (s *server) clientIP(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	addr := peer.Addr().Unmap()
	if !s.trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		hop = hop.Unmap()
		if !s.trusted(hop) {
			return hop
		}
		addr = hop
	}
	return addr
}

func (s *server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sessionRow is one line of the sessions table on /myaccount.
type sessionRow struct {
	ID        string
	Created   time.Time
	LastSeen  time.Time
	Source    string
	UserAgent string
	Current   bool
}

func sessionID(hash []byte) string { return hex.EncodeToString(hash) }
