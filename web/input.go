package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/graph"
)

// multilineFields are the form fields that are textareas, whose lines may end in CR LF.
var multilineFields = map[string]bool{"redirect_uris": true, "post_logout_uris": true}

// uncheckedField reports whether a form field is left to the domain rather than checked as
// text here: passwords, which are only ever hashed, never stored, and which the password
// policy judges (with its own message) rather than this check.
func uncheckedField(name string) bool { return strings.Contains(name, "password") }

// secretField reports whether a field's value must stay out of the logs.
func secretField(name string) bool {
	for _, s := range []string{"password", "token", "secret", "code", "assertion"} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// badText names a field of a request that is not plain text.
type badText struct {
	where, name, value string
}

// checkText is the one check of request text: the path, every query parameter and every
// form field (their names too) must be valid UTF-8 without control characters
// (portier.IsPlainText), a textarea's line breaks excepted. It returns the first field that
// is not, or nil. Everything a request can carry to the store passes here, so that a NUL byte
// or invalid UTF-8 is bad input at the edge (90100) instead of a store error deep inside
// (PostgreSQL refuses both in text).
func checkText(r *http.Request) *badText {
	if !portier.IsPlainText(r.URL.Path, false) {
		return &badText{where: "path", value: r.URL.Path}
	}
	check := func(where string, vals url.Values) *badText {
		for name, vs := range vals {
			if !portier.IsPlainText(name, false) {
				return &badText{where: where, name: name}
			}
			if uncheckedField(name) {
				continue
			}
			for _, v := range vs {
				if !portier.IsPlainText(v, multilineFields[name]) {
					return &badText{where: where, name: name, value: v}
				}
			}
		}
		return nil
	}
	if bad := check("query", r.URL.Query()); bad != nil {
		return bad
	}
	// A multipart form (the CSV import) was parsed by the CSRF check; its file is the
	// import's to judge, line by line.
	return check("form", r.PostForm)
}

// plainText refuses, before any handler runs, a request whose text is not plain
// (checkText): 400 with 90100, the field logged escaped. A refused sign-in is in the sign-in
// log too, its user name escaped.
func (s *server) plainText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PostForm == nil {
			if err := r.ParseForm(); err != nil {
				s.badInput(w, r, &badText{where: "form", value: err.Error()})
				return
			}
		}
		if bad := checkText(r); bad != nil {
			s.badInput(w, r, bad)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// badInput answers a request refused by plainText.
func (s *server) badInput(w http.ResponseWriter, r *http.Request, bad *badText) {
	value := fmt.Sprintf("%q", bad.value)
	if secretField(bad.name) {
		value = "(hidden)"
	}
	s.Log.Warn("refused a request whose text is not plain", "path", fmt.Sprintf("%q", r.URL.Path),
		"in", bad.where, "field", fmt.Sprintf("%q", bad.name), "value", value, "source", s.clientIP(r).String())
	if strings.HasPrefix(r.URL.Path, graph.Prefix) {
		graph.WriteError(w, r, http.StatusBadRequest, "Request_BadRequest", "The request's "+bad.where+" holds text that is not valid UTF-8 or holds a control character.")
		return
	}
	if s.exemptFromCSRF(r.URL.Path) {
		// Other programs (OpenID Connect clients) read errors as JSON.
		writeJSON(w, failures[portier.EInvalid].status, map[string]string{"error": "invalid_request", "error_description": "A parameter is not plain text."})
		return
	}
	name := "error"
	p := s.newPage(r, "error.title")
	p.Here = "/"
	if r.URL.Path == "/login" && r.Method == http.MethodPost {
		name = "login"
		p.Title, p.Here = p.T.T("login.title"), "/login"
		s.Engine.RecordBadRequest(r.PostForm.Get("username"), s.clientIP(r).String(), r.UserAgent(), "not plain text: "+bad.where+" field "+portier.SafeText(bad.name))
	}
	s.formError(w, name, p, portier.Errorf(portier.EInvalid, "%s", p.T.T("error.90100")))
}
