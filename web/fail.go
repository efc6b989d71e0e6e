package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/passkey"
	"github.com/portier-id/portier/selfservice"
	"github.com/portier-id/portier/signin"
)

// The one error path of the edge. A domain error that a handler does not turn into a page of
// its own goes to fail, which answers it by the table failures: the HTTP status of its code
// and the page that says it. The one other path is formError, for bad input (or a taken name)
// shown above the form that sent it, again with the status of the table. A handler decides
// only which codes its form shows; it never picks a status.
//
// A few codes are a state rather than a failure where they occur, and the handler answers
// them itself before calling fail: ENotFound of a session is "not signed in" (to /login), of a
// pending password change or an authorization request "expired" (a page that says so).

// failure is how one domain error code is answered.
type failure struct {
	status int
	// page returns the template and the data that say err; name "" answers as for a path
	// that does not exist (the plain 404 of the mux).
	page func(s *server, r *http.Request, err error) (name string, p *page)
}

// failures maps each domain error code to its answer; any other error (a bug, a store that
// failed) is answered as EUnavailable.
var failures = map[string]failure{
	portier.EInvalid:     {http.StatusBadRequest, (*server).badRequestPage},
	portier.EConflict:    {http.StatusConflict, (*server).badRequestPage},
	portier.EForbidden:   {http.StatusForbidden, (*server).forbiddenPage},
	portier.ENotFound:    {http.StatusNotFound, (*server).notFoundPage},
	portier.EUnavailable: {http.StatusServiceUnavailable, (*server).unavailablePage},
	// A password check the hash scheduler turned away (signin.Busy): 503 with Retry-After.
	portier.EBusy:     {http.StatusServiceUnavailable, (*server).busyPage},
	portier.EInternal: {http.StatusServiceUnavailable, (*server).unavailablePage},
}

// codeOf is err's domain code; a self-service refusal (a wrong code, too many tries) is bad input.
func codeOf(err error) string {
	var ref *selfservice.Refusal
	var pk *passkey.Refusal
	if errors.As(err, &ref) || errors.As(err, &pk) {
		return portier.EInvalid
	}
	return portier.ErrorCode(err)
}

// failureOf is the row of failures that answers err.
func failureOf(err error) failure {
	if f, ok := failures[codeOf(err)]; ok {
		return f
	}
	return failures[portier.EUnavailable]
}

// fail answers a request whose domain call failed with err, by the table failures.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	f := failureOf(err)
	name, p := f.page(s, r, err)
	var busy *signin.Busy
	if errors.As(err, &busy) {
		w.Header().Set("Retry-After", strconv.Itoa(busy.RetrySeconds()))
	}
	if name == "" {
		http.NotFound(w, r)
		return
	}
	s.render(w, f.status, name, p)
}

// formError shows the form page name again, p filled as for the form, with why the domain
// refused what it sent (code 90100): err's message, a password rule's or a self-service
// refusal's in the viewer's language. The status is err's in the table: 400 for bad input,
// 409 for a taken name.
func (s *server) formError(w http.ResponseWriter, name string, p *page, err error) {
	p.Error = &pageError{Code: portier.CodeBadRequest, Text: errorText(p.T, err)}
	s.render(w, failureOf(err).status, name, p)
}

// inputError reports whether err is one that the admin center's and the setup's forms show
// above themselves: bad input or a taken name. Others go to fail.
func inputError(err error) bool {
	code := codeOf(err)
	return code == portier.EInvalid || code == portier.EConflict
}

// errorText says err in the viewer's language: a self-service refusal and a password rule by
// their own messages, anything else by the domain's message.
func errorText(t *translator, err error) string {
	var ref *selfservice.Refusal
	if errors.As(err, &ref) {
		return refusalText(t, ref)
	}
	var pk *passkey.Refusal
	if errors.As(err, &pk) {
		return t.T("passkey.err." + pk.Reason)
	}
	return t.Error(err)
}

// badRequestPage is the error page with the domain's reason: bad input no form shows.
func (s *server) badRequestPage(r *http.Request, err error) (string, *page) {
	p := s.newPage(r, "error.title")
	p.Error = &pageError{Code: portier.CodeBadRequest, Text: errorText(p.T, err)}
	return "error", p
}

// forbiddenPage says that the viewer may not do this, with the directory's reason.
func (s *server) forbiddenPage(r *http.Request, err error) (string, *page) {
	return "admin_forbidden", s.forbidden(r, portier.ErrorMessage(err))
}

// notFoundPage is the admin center's page of a user or an application that does not exist
// (any more); outside the admin center, the page itself does not exist (the setup page once
// the directory has users).
func (s *server) notFoundPage(r *http.Request, _ error) (string, *page) {
	var p *page
	switch path := r.URL.Path; {
	case strings.HasPrefix(path, "/admin/apps"):
		p = s.adminPage(r, "apps.notfound.title", "apps")
		p.Error = &pageError{Text: p.T.T("apps.notfound.text")}
	case strings.HasPrefix(path, "/admin/") && userOf(r) != nil:
		p = s.adminPage(r, "admin.notfound.title", "users")
		p.Error = &pageError{Text: p.T.T("admin.notfound.text")}
	default:
		return "", nil
	}
	return "admin_forbidden", p
}

// busyPage says that the server was too busy to check the password, which is neither a
// failure nor a lockout, and when to try again (fail sets the same Retry-After).
func (s *server) busyPage(r *http.Request, err error) (string, *page) {
	p := s.newPage(r, "error.title")
	seconds := 5
	var busy *signin.Busy
	if errors.As(err, &busy) {
		seconds = busy.RetrySeconds()
	}
	p.Error = &pageError{Code: portier.CodeBusy, Text: busyText(p.T, seconds)}
	return "error", p
}

// unavailablePage answers a store that failed (or a bug): nothing was acknowledged. The
// cause goes to the log, never to the page.
func (s *server) unavailablePage(r *http.Request, err error) (string, *page) {
	s.logFailure(r, err)
	p := s.newPage(r, "error.title")
	p.Error = &pageError{Code: 0, Text: p.T.T("error.unavailable")}
	return "error", p
}

// logFailure logs why a request failed. A request its client gave up on (a closed connection
// cancels its context, and the store call under way with it) is no failure of the server: it
// is logged at debug level, so that clients that hang up, a spray's included, do not fill the
// error log. A request that ran past its own deadline is an error like any other.
func (s *server) logFailure(r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		s.Log.Debug("request ended by its client", "path", r.URL.Path, "err", err)
		return
	}
	s.Log.Error("request failed", "path", r.URL.Path, "err", err)
}
