package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/signin"
)

// signInLog returns the user's sign-in log, oldest first.
func signInLog(t *testing.T, in *testserver.Instance, userID string) []*portier.SignIn {
	t.Helper()
	in.FlushSignIns(t)
	entries, err := in.Store.ListSignIns(context.Background(), portier.SignInFilter{UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(entries)
	return entries
}

func codes(entries []*portier.SignIn) []int {
	var out []int
	for _, e := range entries {
		out = append(out, e.Code)
	}
	return out
}

// sessionAMR returns the methods of b's session.
func sessionAMR(t *testing.T, in *testserver.Instance, b *testserver.Browser) []string {
	t.Helper()
	for _, c := range b.Client.Jar.Cookies(b.Base) {
		if c.Name == "portier_session" {
			s, err := in.Store.SessionByHash(context.Background(), signin.SessionHash(c.Value))
			if err != nil {
				t.Fatal(err)
			}
			return s.AMR
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// wrongCode returns a six-digit code that is none of the authenticator's codes around now.
func wrongCode(t *testing.T, secret string, now time.Time, n int) string {
	right := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		right[testserver.TOTP(t, secret, now.Add(d))] = true
	}
	for i := n; ; i++ {
		if c := fmt.Sprintf("%06d", 111111*(i%9+1)+i/9); !right[c] {
			return c
		}
	}
}

// TestMFAAuthenticatorAtSignIn: with mfa-required=all, a user without a second factor is
// taken from the right password to register one, with no session until it is verified; from
// then on a right password leads to the second step, with no session yet, where a wrong code
// answers 500121, a used code is refused, and a right code of a later step signs in (303 to
// return_to) with the session's amr "pwd otp mfa". The sign-in log has 50074, then the
// second factor's results.
func TestMFAAuthenticatorAtSignIn(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{MFARequired: portier.MFAAll})
		u := in.CreateUser(t, directory.NewUser{UPN: "ada@example.org"})

		// Registration at sign-in: no session before the first code is right.
		b := testserver.NewBrowser(t, in.URL)
		resp, _ := b.Login("ada@example.org", testserver.Password)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/mfa" {
			t.Fatalf("right password: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := b.Do("GET", "/myaccount", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a session before the second factor: /myaccount answered %d", resp.StatusCode)
		}
		resp, _ = b.Do("GET", "/login/mfa", nil)
		if loc := resp.Header.Get("Location"); loc != "/login/mfa/register" {
			t.Fatalf("no method registered: sent to %q", loc)
		}
		_, page := b.Do("GET", "/login/mfa/register", nil)
		secret := strings.TrimSuffix(strings.SplitN(strings.SplitN(page, "data-totp-secret>", 2)[1], "<", 2)[0], "<")
		resp, page = b.Post("/login/mfa/register", "/login/mfa/register", url.Values{"code": {wrongCode(t, secret, in.Clock.Now(), 0)}, "mfa_state": {testserver.MFAState(page)}})
		if code := testserver.ErrorCode(page); resp.StatusCode != http.StatusOK || code != "500121" {
			t.Fatalf("wrong first code: status %d code %s", resp.StatusCode, code)
		}
		resp, _ = b.Post("/login/mfa/register", "/login/mfa/register", url.Values{"code": {testserver.TOTP(t, secret, in.Clock.Now())}, "mfa_state": {testserver.MFAState(page)}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/myaccount" {
			t.Fatalf("right first code: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if amr := sessionAMR(t, in, b); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("session amr after registration = %v", amr)
		}
		if resp, _ := b.Do("GET", "/myaccount", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("/myaccount after registration: %d", resp.StatusCode)
		}

		// The second step, in another browser, going to a return_to.
		used := testserver.TOTP(t, secret, in.Clock.Now())
		b2 := testserver.NewBrowser(t, in.URL)
		resp, _ = b2.Post("/login", "/login", url.Values{"username": {"ada@example.org"}, "password": {testserver.Password}, "return_to": {"/myaccount/security-info"}})
		if resp.Header.Get("Location") != "/login/mfa" {
			t.Fatalf("right password: to %q", resp.Header.Get("Location"))
		}
		resp, _ = b2.Do("GET", "/login/mfa", nil)
		if loc := resp.Header.Get("Location"); loc != "/login/mfa/totp" {
			t.Fatalf("second step: sent to %q", loc)
		}
		_, page = b2.Do("GET", "/login/mfa/totp", nil)
		if !strings.Contains(page, `data-mfa-method="totp"`) {
			t.Fatal("the second step's form has no data-mfa-method=\"totp\"")
		}
		state := testserver.MFAState(page)
		for i, code := range []string{wrongCode(t, secret, in.Clock.Now(), 1), used} {
			resp, page = b2.Post("/login/mfa/totp", "/login/mfa/totp", url.Values{"code": {code}, "mfa_state": {state}})
			if got := testserver.ErrorCode(page); resp.StatusCode != http.StatusOK || got != "500121" || !strings.Contains(page, `data-mfa-method="totp"`) {
				t.Fatalf("code %d (wrong, then used): status %d code %s", i, resp.StatusCode, got)
			}
		}
		in.Clock.Advance(30 * time.Second)
		resp, _ = b2.Post("/login/mfa/totp", "/login/mfa/totp", url.Values{"code": {testserver.TOTP(t, secret, in.Clock.Now())}, "mfa_state": {state}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/myaccount/security-info" {
			t.Fatalf("right code: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if amr := sessionAMR(t, in, b2); !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
			t.Fatalf("session amr = %v", amr)
		}
		got := codes(signInLog(t, in, u.ID))
		want := []int{50074, 500121, 0, 50074, 500121, 500121, 0}
		if !slices.Equal(got, want) {
			t.Fatalf("sign-in log codes = %v, want %v", got, want)
		}
		for _, e := range signInLog(t, in, u.ID)[4:] {
			if !strings.Contains(e.Detail, "authenticator app") {
				t.Errorf("second factor entry %d does not name the method: %q", e.Code, e.Detail)
			}
		}
	})
}

// TestMFAPolicy: under "admins" a plain user signs in with a password alone and an admin
// must pass a second factor; under "none" nobody is asked.
func TestMFAPolicy(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{MFARequired: portier.MFAAdmins})
		in.CreateUser(t, directory.NewUser{UPN: "plain@example.org"})
		in.CreateUser(t, directory.NewUser{UPN: "help@example.org", Roles: []portier.Role{portier.RoleHelpdeskAdmin}})
		to := func(upn string) string {
			resp, _ := testserver.NewBrowser(t, in.URL).Login(upn, testserver.Password)
			return resp.Header.Get("Location")
		}
		if loc := to("plain@example.org"); loc != "/myaccount" {
			t.Fatalf("admins policy: a plain user went to %q", loc)
		}
		if loc := to("help@example.org"); loc != "/login/mfa" {
			t.Fatalf("admins policy: a helpdesk admin went to %q", loc)
		}
		if _, err := in.Dir.UpdateSettings(context.Background(), portier.CLIActor("test"), func(st *portier.Settings) error {
			st.MFA.Required = portier.MFANone
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if loc := to("help@example.org"); loc != "/admin" {
			t.Fatalf("none policy: an admin went to %q, want the admin center", loc)
		}
	})
}

// TestMFAStepsOutOfOrder: the second step without the first, with another browser's form,
// and a replayed form after the sign-in completed answer 90100 and change nothing.
func TestMFAStepsOutOfOrder(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{MFARequired: portier.MFAAll})
		ada := in.CreateUser(t, directory.NewUser{UPN: "ada@example.org"})
		in.CreateUser(t, directory.NewUser{UPN: "bob@example.org"})
		adaSecret := in.RegisterAtSignIn(t, testserver.NewBrowser(t, in.URL), "ada@example.org")
		in.RegisterAtSignIn(t, testserver.NewBrowser(t, in.URL), "bob@example.org")
		in.Clock.Advance(30 * time.Second)
		before := len(signInLog(t, in, ada.ID))

		// No first step: a fresh browser posts a right code.
		fresh := testserver.NewBrowser(t, in.URL)
		resp, page := fresh.Post("/login", "/login/mfa/totp", url.Values{"code": {testserver.TOTP(t, adaSecret, in.Clock.Now())}})
		if resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(page) != "90100" {
			t.Fatalf("second step without the first: status %d code %s", resp.StatusCode, testserver.ErrorCode(page))
		}
		if _, page := fresh.Do("GET", "/login/mfa/totp", nil); testserver.ErrorCode(page) != "90100" {
			t.Fatal("the second step's page without the first did not answer 90100")
		}

		// Another browser's half-finished sign-in: Ada's form state posted with Bob's pending cookie.
		a := testserver.NewBrowser(t, in.URL)
		resp, _ = a.Login("ada@example.org", testserver.Password)
		var pendingCookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "portier_mfa" {
				pendingCookie = c
			}
		}
		_, page = a.Do("GET", "/login/mfa/totp", nil)
		adaState := testserver.MFAState(page)
		bob := testserver.NewBrowser(t, in.URL)
		bob.Login("bob@example.org", testserver.Password)
		resp, page = bob.Post("/login/mfa/totp", "/login/mfa/totp", url.Values{"code": {testserver.TOTP(t, adaSecret, in.Clock.Now())}, "mfa_state": {adaState}})
		if resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(page) != "90100" {
			t.Fatalf("another browser's form: status %d code %s", resp.StatusCode, testserver.ErrorCode(page))
		}

		// Ada completes; her form replayed with her old cookie finds it used up.
		code := testserver.TOTP(t, adaSecret, in.Clock.Now())
		form := url.Values{"code": {code}, "mfa_state": {adaState}}
		resp, _ = a.Post("/login/mfa/totp", "/login/mfa/totp", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("Ada's right code: status %d", resp.StatusCode)
		}
		in.Clock.Advance(30 * time.Second)
		replay := testserver.NewBrowser(t, in.URL)
		replay.Client.Jar.SetCookies(replay.Base.JoinPath("/login"), []*http.Cookie{{Name: "portier_mfa", Value: pendingCookie.Value, Path: "/login"}})
		form.Set("code", testserver.TOTP(t, adaSecret, in.Clock.Now()))
		resp, page = replay.Post("/login", "/login/mfa/totp", form)
		if resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(page) != "90100" {
			t.Fatalf("replayed form: status %d code %s", resp.StatusCode, testserver.ErrorCode(page))
		}
		if _, err := in.Store.SessionByHash(context.Background(), nil); err == nil {
			t.Fatal("impossible session")
		}
		got := codes(signInLog(t, in, ada.ID)[before:])
		if want := []int{50074, 0}; !slices.Equal(got, want) {
			t.Fatalf("Ada's sign-in log after the attacks = %v, want %v (only her own sign-in)", got, want)
		}
	})
}

// TestMFAAuthenticatorLocks: wrong codes at the second step count on the authenticator's
// own counter under the lockout policy, every one; at the threshold the answer is 50053 with
// a text that names the authenticator, and then even a right code is refused.
func TestMFAAuthenticatorLocks(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{MFARequired: portier.MFAAll})
		if _, err := in.Dir.UpdateSettings(context.Background(), portier.CLIActor("test"), func(st *portier.Settings) error {
			st.Lockout.Threshold = 3
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		in.CreateUser(t, directory.NewUser{UPN: "ada@example.org"})
		secret := in.RegisterAtSignIn(t, testserver.NewBrowser(t, in.URL), "ada@example.org")
		in.Clock.Advance(30 * time.Second)
		b := testserver.NewBrowser(t, in.URL)
		b.Login("ada@example.org", testserver.Password)
		wrong := wrongCode(t, secret, in.Clock.Now(), 2)
		var page string
		for i := 0; i < 3; i++ {
			_, page = b.Post("/login/mfa/totp", "/login/mfa/totp", url.Values{"code": {wrong}})
			if want := map[bool]string{true: "50053", false: "500121"}[i == 2]; testserver.ErrorCode(page) != want {
				t.Fatalf("wrong code %d (the same each time): code %s, want %s", i+1, testserver.ErrorCode(page), want)
			}
		}
		if !strings.Contains(page, "authenticator app is locked") {
			t.Fatalf("the lock's text does not name the authenticator: %s", page)
		}
		_, page = b.Post("/login/mfa/totp", "/login/mfa/totp", url.Values{"code": {testserver.TOTP(t, secret, in.Clock.Now())}})
		if testserver.ErrorCode(page) != "50053" {
			t.Fatalf("a right code while locked: code %s", testserver.ErrorCode(page))
		}
	})
}

// TestTemporaryAccessPass: a pass typed into the password field signs in (amr "otp mfa",
// straight to Security info, no second step even where one is required); a one-time pass
// works once, a multi-use one until it expires, a revoked or expired one is a wrong password
// and counts like one. Every step is audited.
func TestTemporaryAccessPass(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{MFARequired: portier.MFAAll})
		u := in.CreateUser(t, directory.NewUser{UPN: "lost@example.org"})
		ctx := context.Background()
		helpdesk := portier.Actor{Name: "help@example.org", Roles: []portier.Role{portier.RoleHelpdeskAdmin}}
		signIn := func(pass string) (string, string, *testserver.Browser) {
			b := testserver.NewBrowser(t, in.URL)
			resp, page := b.Login("lost@example.org", pass)
			return resp.Header.Get("Location"), testserver.ErrorCode(page), b
		}

		once, err := in.Dir.CreateTAP(ctx, helpdesk, "lost@example.org", 0, true)
		if err != nil {
			t.Fatal(err)
		}
		if once.Expires.Sub(once.Created) != time.Hour || len(once.Pass) != 16 {
			t.Fatalf("default pass: lifetime %v, length %d", once.Expires.Sub(once.Created), len(once.Pass))
		}
		tok, err := store.ListTokens(ctx, portier.TokenFilter{Kinds: []string{portier.TokenTAP}, UserID: u.ID})
		if err != nil || len(tok) != 1 || strings.Contains(tok[0].ID+string(tok[0].Data), once.Pass) {
			t.Fatalf("the pass is not stored hashed: %v %v", tok, err)
		}
		loc, _, b := signIn(once.Pass)
		if loc != "/myaccount/security-info?tap=1" {
			t.Fatalf("one-time pass: sent to %q", loc)
		}
		if amr := sessionAMR(t, in, b); !slices.Equal(amr, []string{"otp", "mfa"}) {
			t.Fatalf("pass session amr = %v", amr)
		}
		if _, code, _ := signIn(once.Pass); code != "50126" {
			t.Fatalf("one-time pass used twice: code %s", code)
		}

		multi, err := in.Dir.CreateTAP(ctx, helpdesk, "lost@example.org", 2*time.Hour, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if loc, code, _ := signIn(multi.Pass); loc != "/myaccount/security-info?tap=1" {
				t.Fatalf("multi-use pass, use %d: to %q code %s", i+1, loc, code)
			}
		}
		in.Clock.Advance(2*time.Hour + time.Second)
		if _, code, _ := signIn(multi.Pass); code != "50126" {
			t.Fatalf("expired pass: code %s", code)
		}

		revoked, err := in.Dir.CreateTAP(ctx, helpdesk, "lost@example.org", 10*time.Minute, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Dir.RevokeTAPs(ctx, helpdesk, "lost@example.org"); err != nil {
			t.Fatal(err)
		}
		if _, code, _ := signIn(revoked.Pass); code != "50126" {
			t.Fatalf("revoked pass: code %s", code)
		}
		if _, err := in.Dir.CreateTAP(ctx, helpdesk, "lost@example.org", 5*time.Minute, false); portier.ErrorCode(err) != portier.EInvalid {
			t.Fatalf("a 5-minute pass: %v", err)
		}
		if _, err := in.Dir.CreateTAP(ctx, portier.Actor{Name: "nobody", Roles: nil}, "lost@example.org", 0, false); portier.ErrorCode(err) != portier.EForbidden {
			t.Fatalf("a pass by a plain user: %v", err)
		}
		counter, err := store.Lockout(ctx, u.ID, "")
		if err != nil || counter.Failures != 2 { // the expired and the revoked pass, after the last right one
			t.Fatalf("wrong passes counted %d failures, want 2 (%v)", counter.Failures, err)
		}
		events, err := store.ListAudit(ctx, portier.AuditFilter{TargetID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[portier.Action]int{}
		for _, ev := range events {
			seen[ev.Action+"/"+portier.Action(ev.Outcome)]++
			if strings.Contains(ev.Detail, once.Pass) || strings.Contains(ev.Detail, multi.Pass) {
				t.Fatal("a pass is in the audit log")
			}
		}
		if seen[portier.ActionCreateTAP+"/success"] != 3 || seen[portier.ActionCreateTAP+"/refused"] != 1 ||
			seen[portier.ActionUseTAP+"/success"] != 3 || seen[portier.ActionRevokeTAP+"/success"] != 1 {
			t.Fatalf("audited: %v", seen)
		}
	})
}

var tapPass = regexp.MustCompile(`data-tap-pass>([^<]+)<`)

// TestHelpdeskTAPForLostPhone: a helpdesk admin creates a Temporary Access Pass on the user's
// page for a user who lost their phone (after "Require re-register multi-factor
// authentication"); the user signs in with it under mfa-required=all, lands on Security info
// and registers a new authenticator, whose codes then pass the second step. The user page
// lists the method with its kind and last use; the global admin sets the policy on the
// Settings page.
func TestHelpdeskTAPForLostPhone(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{MFARequired: portier.MFANone})
		in.CreateUser(t, directory.NewUser{UPN: "global@example.org", Roles: []portier.Role{portier.RoleGlobalAdmin}})
		in.CreateUser(t, directory.NewUser{UPN: "help@example.org", Roles: []portier.Role{portier.RoleHelpdeskAdmin}})
		in.CreateUser(t, directory.NewUser{UPN: "lost@example.org"})
		in.AddAuthenticator(t, in.SignedIn(t, "lost@example.org"))

		global := in.SignedIn(t, "global@example.org")
		_, page := global.Do("GET", "/admin/settings", nil)
		if !strings.Contains(page, `name="mfa_required"`) {
			t.Fatal("the settings page has no multi-factor policy")
		}
		form := url.Values{}
		for _, f := range []string{"org_name", "default_language", "lockout_threshold", "lockout_duration", "lockout_max_duration", "lockout_decay",
			"source_threshold", "source_window", "password_min_length", "session_idle", "session_absolute", "admin_session_idle", "sspr_scope", "sspr_methods_required", "time_zone"} {
			m := regexp.MustCompile(`name="` + f + `"[^>]*value="([^"]*)"`).FindStringSubmatch(page)
			if m != nil {
				form.Set(f, m[1])
			}
		}
		form.Set("default_language", "en")
		form.Set("sspr_scope", "all")
		form.Set("sspr_methods_required", "1")
		form.Set("sspr_email", "on")
		form.Set("sspr_totp", "on")
		form.Set("mfa_required", "all")
		form.Set("mfa_totp", "on")
		form.Set("mfa_remember_days", "0")
		if resp, page := global.Post("/admin/settings", "/admin/settings", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving the policy: %d %s", resp.StatusCode, testserver.ErrorCode(page))
		}
		if st, _ := in.Dir.Settings(context.Background()); st.MFA.Required != portier.MFAAll {
			t.Fatalf("policy after saving: %q", st.MFA.Required)
		}

		// The helpdesk admin signs in (all: first registering a second factor of their own).
		help := testserver.NewBrowser(t, in.URL)
		in.RegisterAtSignIn(t, help, "help@example.org")
		_, page = help.Do("GET", "/admin/users/lost@example.org", nil)
		if !strings.Contains(page, `data-auth-method="totp"`) || !strings.Contains(page, `data-action="create-tap"`) {
			t.Fatal("the user page lists no authenticator or offers no pass")
		}
		if resp, _ := help.Post("/admin/users/lost@example.org", "/admin/users/lost@example.org/security-info/reset", url.Values{}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("require re-register: %d", resp.StatusCode)
		}
		resp, page := help.Post("/admin/users/lost@example.org", "/admin/users/lost@example.org/tap", url.Values{"lifetime": {"1h"}, "one_time": {"on"}})
		m := tapPass.FindStringSubmatch(page)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("creating a pass: %d", resp.StatusCode)
		}
		pass := html.UnescapeString(m[1])

		// The user signs in with the pass and registers a new authenticator.
		user := testserver.NewBrowser(t, in.URL)
		resp, _ = user.Login("lost@example.org", pass)
		if loc := resp.Header.Get("Location"); loc != "/myaccount/security-info?tap=1" {
			t.Fatalf("sign-in with the pass: to %q", loc)
		}
		secret := in.AddAuthenticator(t, user)
		in.Clock.Advance(30 * time.Second)
		in.SignedInMFA(t, "lost@example.org", secret)
		_, page = help.Do("GET", "/admin/users/lost@example.org", nil)
		if !strings.Contains(page, `data-auth-method="totp"`) || strings.Contains(page, "data-tap>") {
			t.Fatal("after the new registration the user page shows no authenticator, or the used-up pass")
		}
	})
}

// TestRememberMFA: with "remember multi-factor" on, a browser that passed the second factor
// and asked to be remembered skips it at its next sign-in (that session's amr is "pwd" alone,
// so an application that asks for multi-factor still gets the second step), another browser
// does not, and a sign-out everywhere ends it.
func TestRememberMFA(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{MFARequired: portier.MFAAll})
		ctx := context.Background()
		if _, err := in.Dir.UpdateSettings(ctx, portier.CLIActor("test"), func(st *portier.Settings) error {
			st.MFA.RememberDays = 30
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		in.CreateUser(t, directory.NewUser{UPN: "ada@example.org"})
		secret := in.RegisterAtSignIn(t, testserver.NewBrowser(t, in.URL), "ada@example.org")
		in.Clock.Advance(30 * time.Second)

		b := testserver.NewBrowser(t, in.URL)
		b.Login("ada@example.org", testserver.Password)
		_, page := b.Do("GET", "/login/mfa/totp", nil)
		if !strings.Contains(page, `name="remember"`) {
			t.Fatal("no remember choice on the second step")
		}
		resp, _ := b.Post("/login/mfa/totp", "/login/mfa/totp", url.Values{"code": {testserver.TOTP(t, secret, in.Clock.Now())}, "remember": {"1"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("second factor: %d", resp.StatusCode)
		}
		b.Post("/logout", "/logout", url.Values{})
		in.Clock.Advance(24 * time.Hour)
		if resp, _ := b.Login("ada@example.org", testserver.Password); resp.Header.Get("Location") != "/myaccount" {
			t.Fatalf("remembered browser, a day later: to %q", resp.Header.Get("Location"))
		}
		if resp, _ := testserver.NewBrowser(t, in.URL).Login("ada@example.org", testserver.Password); resp.Header.Get("Location") != "/login/mfa" {
			t.Fatalf("another browser: to %q", resp.Header.Get("Location"))
		}
		if err := in.Dir.RevokeSessions(ctx, portier.CLIActor("test"), "ada@example.org"); err != nil {
			t.Fatal(err)
		}
		if resp, _ := b.Login("ada@example.org", testserver.Password); resp.Header.Get("Location") != "/login/mfa" {
			t.Fatalf("remembered browser after a sign-out everywhere: to %q", resp.Header.Get("Location"))
		}
	})
}
