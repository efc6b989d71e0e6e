package testserver

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/portier-id/portier/internal/testenv"
)

// Browser is a cookie-keeping HTTP client that does not follow redirects, so that a test
// sees every answer.
type Browser struct {
	T      testing.TB
	Client *http.Client
	Base   *url.URL
	// Header is added to every request (a forged X-Forwarded-For, say).
	Header http.Header
	// Host, when set, is sent as the Host header instead of Base's.
	Host string
}

// NewBrowser returns a browser with an empty cookie jar, talking to base.
func NewBrowser(t testing.TB, base string) *Browser {
	jar := testenv.Must(cookiejar.New(nil))(t)
	u := testenv.Must(url.Parse(base))(t)
	return &Browser{T: t, Base: u, Header: http.Header{},
		Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Request builds a request for target (a path, or an absolute URL) with b's headers; a form
// is sent url-encoded.
func (b *Browser) Request(method, target string, form url.Values) *http.Request {
	u, err := b.Base.Parse(target)
	if err != nil {
		b.T.Fatalf("%s: %v", target, err)
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		b.T.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range b.Header {
		req.Header[k] = vs
	}
	if b.Host != "" {
		req.Host = b.Host
	}
	return req
}

// Send sends req and returns the answer with its body read; safe in goroutines, unlike Do.
func (b *Browser) Send(req *http.Request) (*http.Response, string, error) {
	resp, err := b.Client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, string(raw), err
}

// Do sends a request and returns the answer with its body.
func (b *Browser) Do(method, target string, form url.Values) (*http.Response, string) {
	b.T.Helper()
	resp, body, err := b.Send(b.Request(method, target, form))
	if err != nil {
		b.T.Fatalf("%s %s: %v", method, target, err)
	}
	return resp, body
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// Token fetches the page at path and returns the CSRF token of its form.
func (b *Browser) Token(path string) string {
	b.T.Helper()
	_, body := b.Do("GET", path, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.T.Fatalf("no csrf_token on %s", path)
	}
	return m[1]
}

// Post sends form to path with the CSRF token of the page at from.
func (b *Browser) Post(from, path string, form url.Values) (*http.Response, string) {
	b.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.Token(from))
	return b.Do("POST", path, form)
}

// Login fills in the sign-in form.
func (b *Browser) Login(user, pw string) (*http.Response, string) {
	b.T.Helper()
	return b.Post("/login", "/login", url.Values{"username": {user}, "password": {pw}})
}

// WithoutCSRF removes the CSRF tokens from a page, the one part that differs between two
// answers to the same request.
func WithoutCSRF(page string) string { return csrfField.ReplaceAllString(page, "") }

var errorCode = regexp.MustCompile(`data-error-code="(\d+)"`)

// ErrorCode returns a page's data-error-code, or "".
func ErrorCode(body string) string {
	if m := errorCode.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

var recoverStep = regexp.MustCompile(`data-recover-step="([a-z]+)"`)

// RecoverStep returns a /recover page's data-recover-step, or "".
func RecoverStep(body string) string {
	if m := recoverStep.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// TOTP returns an authenticator app's code for secret at a time.
func TOTP(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	return testenv.Must(totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}))(t)
}

var refreshTo = regexp.MustCompile(`^0; url=(.+)$`)

// Authorize walks the browser through an OpenID Connect authorization request, signing in as
// upn with pw at the sign-in form, until the application's redirect URI is reached; it
// returns that URL, or fails the test with the page where the walk stopped.
func (b *Browser) Authorize(start, redirectURI, upn, pw string) *url.URL {
	b.T.Helper()
	next := start
	for hops := 0; hops < 20; hops++ {
		if strings.HasPrefix(next, redirectURI) {
			return testenv.Must(url.Parse(next))(b.T)
		}
		resp, body := b.Do("GET", next, nil)
		at := resp.Request.URL
		switch {
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			next = resolve(b.T, at, resp.Header.Get("Location"))
			continue
		case resp.StatusCode == http.StatusOK && resp.Header.Get("Refresh") != "":
			m := refreshTo.FindStringSubmatch(resp.Header.Get("Refresh"))
			if m == nil {
				b.T.Fatalf("Refresh header %q", resp.Header.Get("Refresh"))
			}
			next = resolve(b.T, at, m[1])
			continue
		case resp.StatusCode == http.StatusOK && at.Path == "/login":
			m := csrfField.FindStringSubmatch(body)
			if m == nil {
				b.T.Fatal("no csrf_token on /login")
			}
			form := url.Values{"username": {upn}, "password": {pw}, "csrf_token": {m[1]}, "return_to": {at.Query().Get("return_to")}}
			if resp, body = b.Do("POST", "/login", form); resp.StatusCode == http.StatusSeeOther {
				next = resolve(b.T, at, resp.Header.Get("Location"))
				continue
			}
		}
		b.T.Fatalf("authorization stopped at %s: status %d code %s", at, resp.StatusCode, ErrorCode(body))
	}
	b.T.Fatalf("authorization of %s did not end after 20 hops", start)
	return nil
}

func resolve(t testing.TB, base *url.URL, ref string) string {
	u, err := base.Parse(ref)
	if err != nil {
		t.Fatalf("%s: %v", ref, fmt.Errorf("bad location: %w", err))
	}
	return u.String()
}
