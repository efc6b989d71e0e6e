// Package testserver runs a whole Portier server for tests of its HTTP surface: every part
// wired as `portier serve` wires it (sign-in engine, self-service, mailer, OpenID Connect
// provider, web handler) on a real loopback listener, with a real SMTP server receiving its
// mail; and a Browser that keeps cookies and fills in the CSRF token of each form as a
// person's browser would. Tests drive it only through HTTP and read only what a person
// would see (pages, mail, /metrics), plus the store for assertions.
package testserver

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/graph"
	"github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/internal/testenv"
	pmail "github.com/portier-id/portier/mail"
	"github.com/portier-id/portier/mail/smtptest"
	"github.com/portier-id/portier/metrics"
	"github.com/portier-id/portier/oidc"
	"github.com/portier-id/portier/signin"
	"github.com/portier-id/portier/web"
)

// Password is the password Instance.CreateUser gives every user.
const Password = "correct horse battery staple"

// Options choose what differs from `portier serve`'s defaults.
type Options struct {
	// Clock is the server's clock; nil gives a new testenv.Clock. Instances over one shared
	// store should share it.
	Clock *testenv.Clock
	// TrustedProxies are serve's --trusted-proxies.
	TrustedProxies []netip.Prefix
	// LockMemory is how long the engine answers "locked" from memory (zero: its default).
	LockMemory time.Duration
	// UnlockSeenWithin is the engine's bound on seeing another process's unlock late (zero: 5 ms).
	UnlockSeenWithin time.Duration
	// SaturatedWait bounds the engine's waits before it answers "busy" (zero: its default).
	SaturatedWait time.Duration
	// Admission sizes the engine's hash slots and class queues (zero: the engine's defaults).
	Admission signin.AdmissionConfig
	// Timeouts are the request deadlines (zero: serve's defaults).
	Timeouts web.Timeouts
	// Keys are the OpenID Connect signing keys' policy; zero gives small, fast test keys.
	Keys oidc.KeyPolicy
	// GraphRate is each application's rate on the Graph-compatible API (zero: its default).
	GraphRate graph.Rate
	// Host, if set, is the host name of the base URL instead of the loopback address
	// (e.g. "localhost", which resolves to it): passkeys need a domain name as relying party.
	Host string
	// MFARequired is the mfa-required setting the instance starts with. Empty starts with
	// "none", so that the tests of everything but multi-factor sign-in sign admins in with a
	// password alone; the tests of multi-factor sign-in set it (the product's default is
	// "admins").
	MFARequired string
}

// Instance is one running Portier server ("process") over a store.
type Instance struct {
	// URL is the server's base URL, and its configured public URL (--base-url).
	URL   string
	Store portier.Store
	Dir   *directory.Service
	Clock *testenv.Clock
	// Mail is the SMTP server the instance sends all its mail to.
	Mail *smtptest.Server
	// Server is the listener and handler, for benchmarks that call the handler directly.
	Server   *httptest.Server
	Metrics  *metrics.Metrics
	Recorder *signin.Recorder
	// App is the whole application, for tests that drive a service directly.
	App *app.App
}

// testKeys are small signing keys: fast to make, and rotation is not what these tests look at.
var testKeys = oidc.KeyPolicy{SignFor: 30 * 24 * time.Hour, PublishAhead: 48 * time.Hour, KeepAfter: 48 * time.Hour, Bits: 1024}

// Start runs a server over store until the test ends. Password hashing is cheap
// (testenv.Hasher); everything else is as in production.
func Start(t testing.TB, store portier.Store, o Options) *Instance {
	t.Helper()
	if o.Clock == nil {
		o.Clock = testenv.NewClock()
	}
	if o.Keys.SignFor == 0 {
		o.Keys = testKeys
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("PORTIER_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	smtp := smtptest.Start(t, smtptest.Options{User: "portier", Password: "mail-secret"})
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close) // closing an unstarted or already closed server is harmless
	hostPort := srv.Listener.Addr().String()
	if o.Host != "" {
		_, port, _ := strings.Cut(hostPort, ":")
		hostPort = o.Host + ":" + port
	}
	base := testenv.Must(url.Parse("http://" + hostPort))(t)
	setMFA(t, store, o.MFARequired)
	ctx, stop := context.WithCancel(context.Background())
	a, err := app.New(ctx, app.Config{
		Store: store, Hasher: testenv.Hasher(), Now: o.Clock.Now, Log: log, BaseURL: base, TrustedProxies: o.TrustedProxies,
		Mail:    pmail.Config{URL: "smtp://portier:mail-secret@" + smtp.Addr, From: "portier@example.org", TLS: smtp.ClientTLS, Log: log},
		Process: "test", LockMemory: o.LockMemory, UnlockSeenWithin: o.UnlockSeenWithin, SaturatedWait: o.SaturatedWait, Admission: o.Admission, Timeouts: o.Timeouts, OIDCKeys: o.Keys,
		GraphRate: o.GraphRate,
	})
	if err != nil {
		stop()
		t.Fatal(err)
	}
	srv.Config.Handler = a.Handler
	if err := a.Start(ctx); err != nil {
		stop()
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		stop()
		srv.Close()
		if err := a.Close(context.Background()); err != nil {
			t.Errorf("closing the application: %v", err)
		}
	})
	return &Instance{URL: base.String(), Store: store, Dir: a.Directory, Clock: o.Clock, Mail: smtp, Server: srv, Metrics: a.Metrics, Recorder: a.Recorder, App: a}
}

// setMFA stores the mfa-required setting an instance starts with (Options.MFARequired), before
// the application reads its settings, and unaudited: the tests' setting, not an admin's act.
// A store that holds settings already (a second instance) keeps them.
func setMFA(t testing.TB, store portier.Store, required string) {
	t.Helper()
	ctx := context.Background()
	err := store.Tx(ctx, func(tx portier.Tx) error {
		raw, err := tx.Setting(ctx, portier.SettingsKey)
		if err != nil || raw != nil {
			return err
		}
		st := portier.DefaultSettings()
		st.MFA.Required = cmp.Or(required, portier.MFANone)
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		return tx.PutSetting(ctx, portier.SettingsKey, b)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// CreateUser creates a user with Password, as `portier users create` would.
func (in *Instance) CreateUser(t testing.TB, u directory.NewUser) *portier.User {
	t.Helper()
	if u.DisplayName == "" {
		u.DisplayName = "User " + u.UPN
	}
	if u.Password == "" {
		u.Password = Password
	}
	created, _, err := in.Dir.CreateUser(context.Background(), portier.CLIActor("test"), u)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// FlushSignIns writes the sign-in log entries still buffered.
func (in *Instance) FlushSignIns(t testing.TB) {
	t.Helper()
	if err := in.Recorder.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Metric returns the sum of every series of a counter on /metrics, as Prometheus scrapes it.
func (in *Instance) Metric(t testing.TB, name string) float64 {
	t.Helper()
	_, body := NewBrowser(t, in.URL).Do("GET", "/metrics", nil)
	series := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{[^}]*\})? (\S+)$`)
	sum := 0.0
	for _, m := range series.FindAllStringSubmatch(body, -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("metric %s: %v", name, err)
		}
		sum += v
	}
	return sum
}

// Mail is a message as a person reads it: decoded subject and body.
type Mail struct {
	To, Subject, Body string
}

// Mails returns every message the SMTP server has received, oldest first.
func (in *Instance) Mails(t testing.TB) []Mail {
	t.Helper()
	var out []Mail
	for _, r := range in.Mail.Messages() {
		out = append(out, ReadMail(t, r))
	}
	return out
}

// ReadMail decodes one message the SMTP server received, as a person reads it.
func ReadMail(t testing.TB, r smtptest.Received) Mail {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("parsing a mail: %v", err)
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	raw := testenv.Must(io.ReadAll(body))(t)
	subject := testenv.Must(new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")))(t)
	return Mail{To: strings.Join(r.To, ","), Subject: subject, Body: string(raw)}
}

// WaitMail waits for a mail to addr whose subject or body contains want and returns it.
func (in *Instance) WaitMail(t testing.TB, addr, want string) Mail {
	t.Helper()
	var found Mail
	WaitFor(t, "a mail to "+addr+" with "+strconv.Quote(want), func() bool {
		for _, m := range in.Mails(t) {
			if m.To == addr && (strings.Contains(m.Subject, want) || strings.Contains(m.Body, want)) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

var codeSubject = regexp.MustCompile(`\b(\d{8})\b`)

// Codes returns the verification codes mailed to addr so far, oldest first.
func (in *Instance) Codes(t testing.TB, addr string) []string {
	t.Helper()
	var out []string
	for _, m := range in.Mails(t) {
		if c := codeSubject.FindStringSubmatch(m.Subject); m.To == addr && c != nil {
			out = append(out, c[1])
		}
	}
	return out
}

// NextCode waits for a code mailed to addr beyond the known ones and returns it.
func (in *Instance) NextCode(t testing.TB, addr string, known []string) string {
	t.Helper()
	var code string
	WaitFor(t, "a new code mailed to "+addr, func() bool {
		if codes := in.Codes(t, addr); len(codes) > len(known) {
			code = codes[len(codes)-1]
		}
		return code != ""
	})
	return code
}

// SignedIn returns a new browser signed in as upn with Password.
func (in *Instance) SignedIn(t testing.TB, upn string) *Browser {
	t.Helper()
	b := NewBrowser(t, in.URL)
	if resp, body := b.Login(upn, Password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: status %d code %s", upn, resp.StatusCode, ErrorCode(body))
	}
	return b
}

// AddEmail registers an alternate address for b's user on /myaccount/security-info, with
// the code that arrives there.
func (in *Instance) AddEmail(t testing.TB, b *Browser, addr string) {
	t.Helper()
	known := in.Codes(t, addr)
	resp, _ := b.Post("/myaccount/security-info", "/myaccount/security-info/email", url.Values{"address": {addr}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("adding %s: status %d", addr, resp.StatusCode)
	}
	page := resp.Header.Get("Location")
	resp, body := b.Post(page, strings.SplitN(page, "?", 2)[0], url.Values{"code": {in.NextCode(t, addr, known)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirming %s: status %d %s", addr, resp.StatusCode, body)
	}
}

var totpSecret = regexp.MustCompile(`data-totp-secret>([A-Z2-7]+)<`)

// AddAuthenticator registers an authenticator app for b's user, confirming it with the code
// of the current step (so that step is used up), and returns its secret.
func (in *Instance) AddAuthenticator(t testing.TB, b *Browser) string {
	t.Helper()
	resp, _ := b.Post("/myaccount/security-info", "/myaccount/security-info/totp", url.Values{})
	page := resp.Header.Get("Location")
	_, body := b.Do("GET", page, nil)
	m := totpSecret.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no authenticator key on %s", page)
	}
	resp, body = b.Post(page, page, url.Values{"code": {TOTP(t, m[1], in.Clock.Now())}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirming the app: status %d %s", resp.StatusCode, body)
	}
	return m[1]
}

// WaitFor polls cond for up to 10 seconds: mail goes out after the request that queued it,
// and a message between processes arrives after the transaction that sent it.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// RegisterAtSignIn signs in as upn with Password in b, for a user who must use a second
// factor and has none: it registers an authenticator app on the registration page of the
// sign-in, confirms it with the code of the current step (so that step is used up), and
// returns its secret. b is signed in then.
func (in *Instance) RegisterAtSignIn(t testing.TB, b *Browser, upn string) string {
	t.Helper()
	resp, body := b.Login(upn, Password)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/mfa" {
		t.Fatalf("sign-in of %s: status %d to %q, code %s", upn, resp.StatusCode, resp.Header.Get("Location"), ErrorCode(body))
	}
	_, body = b.Do("GET", "/login/mfa/register", nil)
	m := totpSecret.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no authenticator key on the registration page: %s", body)
	}
	resp, body = b.Post("/login/mfa/register", "/login/mfa/register", url.Values{"code": {TOTP(t, m[1], in.Clock.Now())}, "mfa_state": {MFAState(body)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("registering at sign-in: status %d code %s", resp.StatusCode, ErrorCode(body))
	}
	return m[1]
}

// SignedInMFA returns a new browser signed in as upn with Password and a code of the
// authenticator secret at the instance's clock (the caller moves the clock past a step used).
func (in *Instance) SignedInMFA(t testing.TB, upn, secret string) *Browser {
	t.Helper()
	b := NewBrowser(t, in.URL)
	resp, body := b.Login(upn, Password)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/mfa" {
		t.Fatalf("sign-in of %s: status %d to %q, code %s", upn, resp.StatusCode, resp.Header.Get("Location"), ErrorCode(body))
	}
	_, body = b.Do("GET", "/login/mfa/totp", nil)
	resp, body = b.Post("/login/mfa/totp", "/login/mfa/totp", url.Values{"code": {TOTP(t, secret, in.Clock.Now())}, "mfa_state": {MFAState(body)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second factor of %s: status %d code %s", upn, resp.StatusCode, ErrorCode(body))
	}
	return b
}

var mfaState = regexp.MustCompile(`name="mfa_state" value="([^"]+)"`)

// MFAState returns the mfa_state field of a second step's page, or "".
func MFAState(body string) string {
	if m := mfaState.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}
