package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/mail/smtptest"
	"github.com/portier-id/portier/metrics"
	"github.com/portier-id/portier/signin"
)

const goodPassword = "correct horse battery staple"

// instance is one Portier server (one "process") over a store.
type instance struct {
	srv   *httptest.Server
	dir   *directory.Service
	m     *metrics.Metrics
	rec   *signin.Recorder
	mail  *smtptest.Server // the real SMTP server this instance sends its mail to
	store portier.Store
	ts    *testserver.Instance // the same server, for testserver's helpers
}

func newInstance(t testing.TB, store portier.Store, clock *testenv.Clock) *instance {
	t.Helper()
	return newInstanceWith(t, store, clock, signin.Config{})
}

// newInstanceWith is newInstance with engine settings (LockMemory, SaturatedWait, Admission) of the test's choosing.
func newInstanceWith(t testing.TB, store portier.Store, clock *testenv.Clock, extra signin.Config) *instance {
	t.Helper()
	in := testserver.Start(t, store, testserver.Options{Clock: clock, LockMemory: extra.LockMemory, SaturatedWait: extra.SaturatedWait, UnlockSeenWithin: extra.UnlockSeenWithin, Admission: extra.Admission})
	return &instance{srv: in.Server, dir: in.Dir, m: in.Metrics, rec: in.Recorder, mail: in.Mail, store: store, ts: in}
}

// browser is testserver's browser with a language: lang, when set, is sent as
// Accept-Language with every request the test makes through it.
type browser struct {
	*testserver.Browser
	lang string
}

func newBrowser(t testing.TB, base string) *browser {
	return &browser{Browser: testserver.NewBrowser(t, base)}
}

// withLang puts b's language into the headers every request carries.
func (b *browser) withLang() {
	if b.lang != "" {
		b.Header.Set("Accept-Language", b.lang)
	} else {
		b.Header.Del("Accept-Language")
	}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.T.Helper()
	b.withLang()
	return b.Do(method, path, form)
}

// token fetches a page and returns its CSRF token.
func (b *browser) token(path string) string {
	b.T.Helper()
	b.withLang()
	return b.Token(path)
}

func (b *browser) login(user, pw string, extra url.Values) (*http.Response, string) {
	b.T.Helper()
	form := url.Values{"username": {user}, "password": {pw}, "csrf_token": {b.token("/login")}}
	for k, v := range extra {
		form[k] = v
	}
	return b.do("POST", "/login", form)
}

func createUser(t testing.TB, dir *directory.Service, upn string, force bool) {
	t.Helper()
	_, _, err := dir.CreateUser(context.Background(), portier.CLIActor("test"), directory.NewUser{UPN: upn, DisplayName: "Web User", Password: goodPassword, ForceChange: force})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLoginPages(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		createUser(t, in.dir, "web@example.org", false)

		t.Run("right password sets a session and redirects", func(t *testing.T) {
			b := newBrowser(t, in.srv.URL)
			resp, _ := b.login("web@example.org", goodPassword, nil)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/myaccount" {
				t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "portier_session" {
					session = c
				}
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
				t.Fatalf("session cookie = %+v", session)
			}
			resp, body := b.do("GET", "/myaccount", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "web@example.org") {
				t.Fatalf("/myaccount: %d", resp.StatusCode)
			}
		})
		t.Run("return_to keeps local paths only", func(t *testing.T) {
			for rt, want := range map[string]string{"/myaccount?tab=1": "/myaccount?tab=1", "//evil.example": "/myaccount", "https://evil.example/": "/myaccount", "/\\evil": "/myaccount"} {
				b := newBrowser(t, in.srv.URL)
				resp, _ := b.login("web@example.org", goodPassword, url.Values{"return_to": {rt}})
				if got := resp.Header.Get("Location"); got != want {
					t.Errorf("return_to %q: redirected to %q, want %q", rt, got, want)
				}
			}
		})
		t.Run("unknown and known users get the same page", func(t *testing.T) {
			b := newBrowser(t, in.srv.URL)
			r1, known := b.login("web@example.org", "not the right one at all", nil)
			r2, unknown := b.login("nobody@example.org", "not the right one at all", nil)
			if r1.StatusCode != r2.StatusCode || testserver.ErrorCode(known) != "50126" || testserver.ErrorCode(unknown) != "50126" {
				t.Fatalf("known %d/%s unknown %d/%s", r1.StatusCode, testserver.ErrorCode(known), r2.StatusCode, testserver.ErrorCode(unknown))
			}
			norm := func(s string) string {
				s = testserver.WithoutCSRF(s)
				return strings.ReplaceAll(strings.ReplaceAll(s, "web@example.org", "X"), "nobody@example.org", "X")
			}
			if norm(known) != norm(unknown) {
				t.Fatal("the pages for a known and an unknown user differ")
			}
		})
		t.Run("missing or forged CSRF token is 90100 and changes nothing", func(t *testing.T) {
			b := newBrowser(t, in.srv.URL)
			b.token("/login")
			before := testutil.ToFloat64(in.m.PasswordVerifications)
			u0 := testenv.Must(in.dir.User(context.Background(), "web@example.org"))(t)
			for _, tok := range []string{"", "forged-token-value"} {
				form := url.Values{"username": {"web@example.org"}, "password": {"wrong wrong wrong wrong"}}
				if tok != "" {
					form.Set("csrf_token", tok)
				}
				resp, body := b.do("POST", "/login", form)
				if resp.StatusCode != 400 || testserver.ErrorCode(body) != "90100" {
					t.Fatalf("token %q: status %d code %s", tok, resp.StatusCode, testserver.ErrorCode(body))
				}
			}
			if testutil.ToFloat64(in.m.PasswordVerifications) != before {
				t.Fatal("a hash was computed for a request with a bad CSRF token")
			}
			u := testenv.Must(in.dir.User(context.Background(), "web@example.org"))(t)
			if u.Lockout.FailedAttempts != u0.Lockout.FailedAttempts {
				t.Fatalf("failed attempts went from %d to %d", u0.Lockout.FailedAttempts, u.Lockout.FailedAttempts)
			}
			testenv.NoErr(t, in.rec.Flush(context.Background()))
			entries := testenv.Must(store.ListSignIns(context.Background(), portier.SignInFilter{Code: ptr(portier.CodeBadRequest)}))(t)
			if len(entries) < 2 {
				t.Fatalf("%d sign-in log entries with 90100, want 2", len(entries))
			}
		})
		t.Run("over-long password is 90100 without a hash", func(t *testing.T) {
			b := newBrowser(t, in.srv.URL)
			before := testutil.ToFloat64(in.m.PasswordVerifications)
			resp, body := b.login("web@example.org", strings.Repeat("x", 1025), nil)
			if resp.StatusCode != 400 || testserver.ErrorCode(body) != "90100" || testutil.ToFloat64(in.m.PasswordVerifications) != before {
				t.Fatalf("status %d code %s", resp.StatusCode, testserver.ErrorCode(body))
			}
		})
		t.Run("Dutch page and locked message", func(t *testing.T) {
			createUser(t, in.dir, "nl@example.org", false)
			b := newBrowser(t, in.srv.URL)
			b.lang = "nl-NL,nl;q=0.9,en;q=0.5"
			_, page := b.do("GET", "/login", nil)
			if !strings.Contains(page, "Aanmelden") || !strings.Contains(page, `lang="nl"`) {
				t.Fatal("the sign-in page is not in Dutch")
			}
			var body string
			for i := 0; i < 10; i++ {
				_, body = b.login("nl@example.org", "fout wachtwoord nummer "+string(rune('a'+i)), nil)
			}
			if testserver.ErrorCode(body) != "50053" || !strings.Contains(body, "vergrendeld") || !strings.Contains(body, clock.Now().Add(60e9).Format("15:04:05")) {
				t.Fatalf("locked page: code %s", testserver.ErrorCode(body))
			}
		})
		t.Run("forced change leads to the change page, then in", func(t *testing.T) {
			createUser(t, in.dir, "force@example.org", true)
			b := newBrowser(t, in.srv.URL)
			resp, _ := b.login("force@example.org", goodPassword, nil)
			if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/change-password") {
				t.Fatalf("status %d location %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			if resp, _ := b.do("GET", "/myaccount", nil); resp.StatusCode != 303 {
				t.Fatal("a session exists before the password was changed")
			}
			tok := b.token("/change-password")
			resp, body := b.do("POST", "/change-password", url.Values{"csrf_token": {tok}, "new_password": {"short"}, "confirm_password": {"short"}})
			if resp.StatusCode != 400 || !strings.Contains(body, "15") {
				t.Fatalf("short password: status %d", resp.StatusCode)
			}
			tok = b.token("/change-password")
			resp, _ = b.do("POST", "/change-password", url.Values{"csrf_token": {tok}, "new_password": {"a fresh passphrase for work"}, "confirm_password": {"a fresh passphrase for work"}})
			if resp.StatusCode != 303 || resp.Header.Get("Location") != "/myaccount" {
				t.Fatalf("change: status %d", resp.StatusCode)
			}
			if resp, _ := b.do("GET", "/myaccount", nil); resp.StatusCode != 200 {
				t.Fatalf("/myaccount after the change: %d", resp.StatusCode)
			}
		})
	})
}

func ptr[T any](v T) *T { return &v }

func TestBlockEndsSessionOnEveryProcess(t *testing.T) {
	for _, backend := range testenv.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			open := backend.OpenShared(t)
			clock := testenv.NewClock()
			one, two := newInstance(t, open(), clock), newInstance(t, open(), clock)
			createUser(t, one.dir, "shared@example.org", false)
			b := newBrowser(t, one.srv.URL)
			if resp, _ := b.login("shared@example.org", goodPassword, nil); resp.StatusCode != 303 {
				t.Fatalf("sign-in: %d", resp.StatusCode)
			}
			// The same browser talks to the second process: cookies are per host, not per port.
			b2 := &browser{Browser: &testserver.Browser{T: t, Client: b.Client, Base: testenv.Must(url.Parse(two.srv.URL))(t), Header: http.Header{}}}
			if resp, _ := b2.do("GET", "/myaccount", nil); resp.StatusCode != 200 {
				t.Fatalf("session on the second process: %d", resp.StatusCode)
			}
			if err := one.dir.SetSignInStatus(context.Background(), portier.CLIActor("test"), "shared@example.org", false); err != nil {
				t.Fatal(err)
			}
			if resp, _ := b2.do("GET", "/myaccount", nil); resp.StatusCode != 303 {
				t.Fatalf("blocked user's session on the second process: %d, want redirect to sign-in", resp.StatusCode)
			}
			_, body := b2.login("shared@example.org", goodPassword, nil)
			if testserver.ErrorCode(body) != "50057" {
				t.Fatalf("sign-in of blocked user: code %s, want 50057", testserver.ErrorCode(body))
			}
		})
	}
}

func TestFamiliarBrowserOverHTTP(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		createUser(t, in.dir, "own@example.org", false)
		owner := newBrowser(t, in.srv.URL)
		if resp, _ := owner.login("own@example.org", goodPassword, nil); resp.StatusCode != 303 {
			t.Fatal("owner's first sign-in failed")
		}
		// A stranger, without the owner's device cookie, locks the account.
		stranger := newBrowser(t, in.srv.URL)
		var body string
		for i := 0; i < 10; i++ {
			_, body = stranger.login("own@example.org", "guess number "+string(rune('a'+i)), nil)
		}
		if testserver.ErrorCode(body) != "50053" {
			t.Fatalf("stranger after 10 guesses: code %s, want 50053", testserver.ErrorCode(body))
		}
		if _, body := stranger.login("own@example.org", goodPassword, nil); testserver.ErrorCode(body) != "50053" {
			t.Fatal("the stranger's browser got in with the right password while locked")
		}
		// The owner, at the usual browser, still gets in.
		if resp, body := owner.login("own@example.org", goodPassword, nil); resp.StatusCode != 303 {
			t.Fatalf("owner at the familiar browser: status %d code %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		// The owner's browser has its own count: ten wrong passwords there lock it too.
		for i := 0; i < 10; i++ {
			_, body = owner.login("own@example.org", "owner typo "+string(rune('a'+i)), nil)
		}
		if testserver.ErrorCode(body) != "50053" {
			t.Fatalf("familiar browser after 10 wrong passwords: code %s, want 50053", testserver.ErrorCode(body))
		}
	})
}

func TestMalformedFormsAre90100(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		createUser(t, in.dir, "form@example.org", false)
		b := newBrowser(t, in.srv.URL)
		before := testutil.ToFloat64(in.m.PasswordVerifications)
		for name, form := range map[string]url.Values{
			"empty form":         {},
			"invalid UTF-8":      {"username": {"form@example.org"}, "password": {"bad\xff\xfe password here"}},
			"missing password":   {"username": {"form@example.org"}},
			"missing username":   {"password": {goodPassword}},
			"over-long username": {"username": {strings.Repeat("u", 5000) + "@example.org"}, "password": {goodPassword}},
		} {
			form.Set("csrf_token", b.token("/login"))
			resp, body := b.do("POST", "/login", form)
			if resp.StatusCode != 400 || testserver.ErrorCode(body) != "90100" {
				t.Errorf("%s: status %d code %s, want 400 and 90100", name, resp.StatusCode, testserver.ErrorCode(body))
			}
		}
		if testutil.ToFloat64(in.m.PasswordVerifications) != before {
			t.Fatal("a malformed form got a password hash")
		}
		// A body over the form limit is refused too.
		huge := url.Values{"csrf_token": {b.token("/login")}, "username": {"form@example.org"}, "password": {strings.Repeat("p", 100<<10)}}
		if resp, _ := b.do("POST", "/login", huge); resp.StatusCode != 400 {
			t.Fatalf("100 KiB form: status %d, want 400", resp.StatusCode)
		}
	})
}

func TestMyAccountSessionsAndPasswordChange(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		createUser(t, in.dir, "me@example.org", false)
		laptop, phone := newBrowser(t, in.srv.URL), newBrowser(t, in.srv.URL)
		laptop.login("me@example.org", goodPassword, nil)
		phone.login("me@example.org", goodPassword, nil)
		_, page := laptop.do("GET", "/myaccount", nil)
		if n := strings.Count(page, "data-session="); n != 2 {
			t.Fatalf("%d sessions listed, want 2", n)
		}
		tok := laptop.token("/myaccount")
		resp, body := laptop.do("POST", "/myaccount/password", url.Values{"csrf_token": {tok}, "current_password": {"not my password at all"},
			"new_password": {"my new passphrase is long"}, "confirm_password": {"my new passphrase is long"}})
		if resp.StatusCode != 400 || testserver.ErrorCode(body) != "50126" {
			t.Fatalf("wrong current password: status %d code %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		tok = laptop.token("/myaccount")
		resp, _ = laptop.do("POST", "/myaccount/password", url.Values{"csrf_token": {tok}, "current_password": {goodPassword},
			"new_password": {"my new passphrase is long"}, "confirm_password": {"my new passphrase is long"}})
		if resp.StatusCode != 303 {
			t.Fatalf("password change: status %d", resp.StatusCode)
		}
		if resp, _ := phone.do("GET", "/myaccount", nil); resp.StatusCode != 303 {
			t.Fatal("the other session survived a password change")
		}
		if resp, _ := laptop.do("GET", "/myaccount", nil); resp.StatusCode != 200 {
			t.Fatal("the changing session was signed out")
		}
		tok = laptop.token("/myaccount")
		laptop.do("POST", "/myaccount/sessions/end-all", url.Values{"csrf_token": {tok}})
		if resp, _ := laptop.do("GET", "/myaccount", nil); resp.StatusCode != 303 {
			t.Fatal("sign out everywhere left this session")
		}
		if resp, _ := newBrowser(t, in.srv.URL).login("me@example.org", "my new passphrase is long", nil); resp.StatusCode != 303 {
			t.Fatal("the new password does not sign in")
		}
	})
}

func TestPasswordRulesSpeakTheViewersLanguage(t *testing.T) {
	store := testenv.Backends()[0].Open(t)
	in := newInstance(t, store, testenv.NewClock())
	createUser(t, in.dir, "taal@example.org", true)
	b := newBrowser(t, in.srv.URL)
	b.lang = "nl"
	b.login("taal@example.org", goodPassword, nil)
	tok := b.token("/change-password")
	resp, body := b.do("POST", "/change-password", url.Values{"csrf_token": {tok}, "new_password": {"kort"}, "confirm_password": {"kort"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "Het wachtwoord is te kort: het moet minstens 15 tekens lang zijn.") {
		t.Fatalf("status %d; the Dutch rule message is missing", resp.StatusCode)
	}
}

// TestUnlockReachesEveryProcessAtOnce: process one answers a locked account from memory (for
// an hour here); an unlock or reset made on process two lets the right password in on process
// one at its very next attempt, with no wait for a message, on PostgreSQL and with two
// processes on one SQLite file alike.
func TestUnlockReachesEveryProcessAtOnce(t *testing.T) {
	for _, backend := range testenv.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			open := backend.OpenShared(t)
			clock := testenv.NewClock()
			// An hour of lock memory, and no lateness allowed: only the store counter, read by
			// the very next attempt, can explain a success.
			long := signin.Config{LockMemory: time.Hour, UnlockSeenWithin: -1}
			one, two := newInstanceWith(t, open(), clock, long), newInstanceWith(t, open(), clock, long)
			for _, upn := range []string{"held@example.org", "reset@example.org"} {
				createUser(t, one.dir, upn, false)
				lock(t, one, upn)
				// Answered from process one's memory now.
				if _, body := newBrowser(t, one.srv.URL).login(upn, goodPassword, nil); testserver.ErrorCode(body) != "50053" {
					t.Fatalf("%s: code %s, want 50053", upn, testserver.ErrorCode(body))
				}
			}
			ctx := context.Background()
			if err := two.dir.Unlock(ctx, portier.CLIActor("test"), "held@example.org"); err != nil {
				t.Fatal(err)
			}
			if _, err := two.dir.ResetPassword(ctx, portier.CLIActor("test"), "reset@example.org", directory.PasswordReset{Password: goodPassword + " again"}); err != nil {
				t.Fatal(err)
			}
			for upn, pw := range map[string]string{"held@example.org": goodPassword, "reset@example.org": goodPassword + " again"} {
				if resp, body := newBrowser(t, one.srv.URL).login(upn, pw, nil); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("%s right after process two's unlock: status %d code %s, want a sign-in", upn, resp.StatusCode, testserver.ErrorCode(body))
				}
			}
		})
	}
}
