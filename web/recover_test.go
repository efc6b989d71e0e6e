package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// received is a mail as a person reads it: decoded subject and body.
type received = testserver.Mail

// mailsTo waits for n mails in all and returns those to addr.
func mailsTo(t testing.TB, in *instance, n int, addr string) []received {
	t.Helper()
	var out []received
	for _, r := range in.mail.Wait(t, n) {
		if m := testserver.ReadMail(t, r); m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// delivered waits until the outbox is empty: every mail queued so far (in the transaction of
// the request that caused it, so before its answer) has reached the SMTP server.
func delivered(t testing.TB, in *instance) {
	t.Helper()
	testserver.WaitFor(t, "the outbox to empty", func() bool {
		queued, err := in.store.ListTokens(context.Background(), portier.TokenFilter{Kinds: []string{portier.TokenMail}})
		return err == nil && len(queued) == 0
	})
}

// addEmail registers an alternate address for the signed-in user, with the code that arrives.
func addEmail(t testing.TB, in *instance, b *browser, addr string) {
	t.Helper()
	b.withLang()
	in.ts.AddEmail(t, b.Browser, addr)
}

// addAuthenticator registers an authenticator app and returns its secret.
func addAuthenticator(t testing.TB, in *instance, b *browser) string {
	t.Helper()
	b.withLang()
	return in.ts.AddAuthenticator(t, b.Browser)
}

// recoverAs starts a self-service reset for name in b and returns the verify page.
func recoverAs(t testing.TB, b *browser, name string) string {
	t.Helper()
	resp, _ := b.post("/recover", "/recover", url.Values{"username": {name}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/recover/verify" {
		t.Fatalf("POST /recover %s: status %d", name, resp.StatusCode)
	}
	_, body := b.do("GET", "/recover/verify", nil)
	return body
}

func auditedSelf(t testing.TB, store portier.Store, action portier.Action) []*portier.AuditEvent {
	t.Helper()
	evs, err := store.ListAudit(context.Background(), portier.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestSelfServiceUnlockAndReset(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		ctx := context.Background()
		_, _, err := in.dir.CreateUser(ctx, portier.CLIActor("test"), directory.NewUser{UPN: "ann@example.org", DisplayName: "Ann Jansen", Mail: "ann@example.org", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		owner := signedIn(t, in, "ann@example.org")
		addEmail(t, in, owner, "ann.private@example.net")
		if evs := auditedSelf(t, store, portier.ActionRegisterSecurityInfo); len(evs) != 1 {
			t.Fatalf("%d register-security-info audit entries, want 1", len(evs))
		}

		// A stranger locks the account: one lockout mail per episode, to both addresses.
		lock(t, in, "ann@example.org")
		var lockMails []received
		for _, m := range mailsTo(t, in, 3, "ann.private@example.net") {
			if strings.Contains(m.Subject, "locked") {
				lockMails = append(lockMails, m)
			}
		}
		if len(lockMails) != 1 || !strings.Contains(lockMails[0].Body, "/recover/report?token=") || !strings.Contains(lockMails[0].Body, "127.0.0.1") {
			t.Fatalf("lockout mail: %+v", lockMails)
		}
		if strings.Contains(lockMails[0].Body, goodPassword) || strings.Contains(lockMails[0].Body, "wrong guess") {
			t.Fatal("the lockout mail holds a password")
		}

		// The owner unlocks without a new password.
		b := newBrowser(t, in.srv.URL)
		if s := testserver.RecoverStep(recoverAs(t, b, "Ann@Example.org")); s != "verify" {
			t.Fatalf("step %q, want verify", s)
		}
		known := in.ts.Codes(t, "ann.private@example.net")
		resp, _ := b.post("/recover/verify", "/recover/email", url.Values{"address": {"ann.private@example.net"}})
		if resp.Header.Get("Location") != "/recover/verify?sent=1" {
			t.Fatalf("send: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		emailed := in.ts.NextCode(t, "ann.private@example.net", known)
		b.post("/recover/verify", "/recover/code", url.Values{"code": {emailed}})
		_, body := b.do("GET", "/recover/choose", nil)
		if testserver.RecoverStep(body) != "choose" || !strings.Contains(body, `data-action="unlock"`) {
			t.Fatalf("choose page step %q", testserver.RecoverStep(body))
		}
		// The code is used up: replaying it is refused.
		_, replay := b.post("/recover/choose", "/recover/code", url.Values{"code": {emailed}})
		if !strings.Contains(replay, "No code is waiting") {
			t.Fatal("a used code was not refused as used")
		}
		_, body = b.post("/recover/choose", "/recover/unlock", url.Values{})
		if testserver.RecoverStep(body) != "unlocked" {
			t.Fatalf("after unlock: step %q", testserver.RecoverStep(body))
		}
		if resp, body := newBrowser(t, in.srv.URL).login("ann@example.org", goodPassword, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in after self-service unlock: %d code %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		if evs := auditedSelf(t, store, portier.ActionSelfServiceUnlock); len(evs) != 1 || evs[0].Target != "ann@example.org" {
			t.Fatalf("self-service unlock audit: %+v", evs)
		}

		// Locked again, the owner chooses a new password; other sessions end.
		clock.Advance(2 * time.Hour)
		lock(t, in, "ann@example.org")
		b = newBrowser(t, in.srv.URL)
		recoverAs(t, b, "ann@example.org")
		known = in.ts.Codes(t, "ann.private@example.net")
		b.post("/recover/verify", "/recover/email", url.Values{"address": {"ann.private@example.net"}})
		b.post("/recover/verify", "/recover/code", url.Values{"code": {in.ts.NextCode(t, "ann.private@example.net", known)}})
		const next = "a brand new passphrase for ann"
		_, body = b.post("/recover/choose", "/recover/password", url.Values{"new_password": {goodPassword}, "confirm_password": {goodPassword}, "sign_out_everywhere": {"on"}})
		if !strings.Contains(body, "must differ from the current one") {
			t.Fatal("the current password was accepted as the new one")
		}
		_, body = b.post("/recover/choose", "/recover/password", url.Values{"new_password": {next}, "confirm_password": {next}, "sign_out_everywhere": {"on"}})
		if testserver.RecoverStep(body) != "reset" {
			t.Fatalf("after reset: step %q %s", testserver.RecoverStep(body), body)
		}
		if resp, _ := owner.do("GET", "/myaccount", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the owner's other session still works after the reset: %d", resp.StatusCode)
		}
		if resp, body := newBrowser(t, in.srv.URL).login("ann@example.org", next, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in with the new password: %d code %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		// The owner's browser was familiar before the reset; its old device cookie is not now.
		if resp, body := owner.login("ann@example.org", next, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in at the owner's browser: %d code %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		testenv.NoErr(t, in.rec.Flush(ctx))
		if last, err := store.ListSignIns(ctx, portier.SignInFilter{Limit: 1}); err != nil || len(last) != 1 || last[0].FamiliarDevice {
			t.Fatalf("the owner's browser still familiar after a self-service reset: %+v, %v", last, err)
		}
		if evs := auditedSelf(t, store, portier.ActionSelfServiceReset); len(evs) != 1 {
			t.Fatalf("%d self-service reset audit entries", len(evs))
		}
		// The reset notice reaches the user, and its delivery is audited.
		testserver.WaitFor(t, "the reset notice", func() bool {
			notices := 0
			for _, m := range mailsTo(t, in, 0, "ann@example.org") {
				if strings.Contains(m.Subject, "password was reset") {
					notices++
				}
			}
			return notices == 1
		})
		testserver.WaitFor(t, "the audit entry of the reset notice", func() bool {
			for _, ev := range auditedSelf(t, store, portier.ActionNotifyUser) {
				if strings.Contains(ev.Detail, "self-service reset sent to an***@example.org") {
					return true
				}
			}
			return false
		})
	})
}

func TestSelfServiceCodes(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		createUser(t, in.dir, "bob@example.org", false)
		addEmail(t, in, signedIn(t, in, "bob@example.org"), "bob@example.net")

		t.Run("an unknown name walks the same pages and gets no mail", func(t *testing.T) {
			norm := func(s string) string {
				s = testserver.WithoutCSRF(s)
				return strings.ReplaceAll(strings.ReplaceAll(s, "bob@example.org", "X"), "nobody@example.org", "X")
			}
			kb, ub := newBrowser(t, in.srv.URL), newBrowser(t, in.srv.URL)
			kv, uv := recoverAs(t, kb, "bob@example.org"), recoverAs(t, ub, "nobody@example.org")
			if norm(kv) != norm(uv) {
				t.Fatal("the verify pages differ for a known and an unknown name")
			}
			before := len(in.mail.Messages())
			r1, _ := kb.post("/recover/verify", "/recover/email", url.Values{"address": {"someone@example.net"}})
			r2, _ := ub.post("/recover/verify", "/recover/email", url.Values{"address": {"someone@example.net"}})
			if r1.StatusCode != r2.StatusCode || r1.Header.Get("Location") != r2.Header.Get("Location") {
				t.Fatalf("send answers differ: %d %q / %d %q", r1.StatusCode, r1.Header.Get("Location"), r2.StatusCode, r2.Header.Get("Location"))
			}
			_, kp := kb.post("/recover/verify", "/recover/code", url.Values{"code": {"12345678"}})
			_, up := ub.post("/recover/verify", "/recover/code", url.Values{"code": {"12345678"}})
			if norm(kp) != norm(up) || !strings.Contains(kp, "4 tries left") {
				t.Fatal("wrong-code pages differ for a known and an unknown name")
			}
			delivered(t, in)
			if got := len(in.mail.Messages()); got != before {
				t.Fatalf("%d mails sent for addresses that are no one's", got-before)
			}
		})
		t.Run("wrong codes: the fifth kills the code", func(t *testing.T) {
			b := newBrowser(t, in.srv.URL)
			recoverAs(t, b, "bob@example.org")
			known := in.ts.Codes(t, "bob@example.net")
			b.post("/recover/verify", "/recover/email", url.Values{"address": {"BOB@example.net"}})
			right := in.ts.NextCode(t, "bob@example.net", known)
			for i := 0; i < 5; i++ {
				b.post("/recover/verify", "/recover/code", url.Values{"code": {"00000000"}})
			}
			_, body := b.post("/recover/verify", "/recover/code", url.Values{"code": {right}})
			if !strings.Contains(body, "no longer works") {
				t.Fatal("the right code worked after 5 wrong tries")
			}
		})
		t.Run("an expired code is refused", func(t *testing.T) {
			b := newBrowser(t, in.srv.URL)
			recoverAs(t, b, "bob@example.org")
			known := in.ts.Codes(t, "bob@example.net")
			b.post("/recover/verify", "/recover/email", url.Values{"address": {"bob@example.net"}})
			right := in.ts.NextCode(t, "bob@example.net", known)
			clock.Advance(11 * time.Minute)
			_, body := b.post("/recover/verify", "/recover/code", url.Values{"code": {right}})
			if !strings.Contains(body, "has expired") {
				t.Fatal("a code older than 10 minutes worked")
			}
		})
		t.Run("sending is limited per source address", func(t *testing.T) {
			clock.Advance(2 * time.Hour)
			// 20 codes an hour from one address, whatever names it types (5 each at most).
			var last *http.Response
			var body string
			for i := 0; i < 21; i++ {
				b := newBrowser(t, in.srv.URL)
				recoverAs(t, b, fmt.Sprintf("someone%d@example.org", i))
				last, body = b.post("/recover/verify", "/recover/email", url.Values{"address": {"someone@example.net"}})
				if i < 20 && last.StatusCode != http.StatusSeeOther {
					t.Fatalf("code %d from the address refused: %d", i+1, last.StatusCode)
				}
			}
			if last.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Too many codes") {
				t.Fatalf("the 21st code in an hour from one address: status %d", last.StatusCode)
			}
		})
		t.Run("starting resets is limited per source address", func(t *testing.T) {
			clock.Advance(2 * time.Hour)
			b := newBrowser(t, in.srv.URL)
			for i := 0; i < 60; i++ {
				recoverAs(t, b, fmt.Sprintf("start%d@example.org", i))
			}
			resp, body := b.post("/recover", "/recover", url.Values{"username": {"bob@example.org"}})
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Too many password resets were started") {
				t.Fatalf("the 61st reset in an hour from one address: status %d", resp.StatusCode)
			}
		})
		t.Run("sending is limited per user", func(t *testing.T) {
			clock.Advance(2 * time.Hour)
			b := newBrowser(t, in.srv.URL)
			recoverAs(t, b, "bob@example.org")
			var last *http.Response
			var body string
			for i := 0; i < 6; i++ {
				last, body = b.post("/recover/verify", "/recover/email", url.Values{"address": {"bob@example.net"}})
			}
			if last.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Too many codes") {
				t.Fatalf("the sixth code in an hour: status %d", last.StatusCode)
			}
			if evs := auditedSelf(t, store, portier.ActionSSPRBlocked); len(evs) == 0 {
				t.Fatal("no 'blocked from self-service password reset' audit entry")
			}
		})
	})
}

func TestSelfServiceAuthenticatorApp(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		ctx := context.Background()
		_, _, err := in.dir.CreateUser(ctx, portier.CLIActor("test"), directory.NewUser{UPN: "eve@example.org", DisplayName: "Eve Admin", Password: goodPassword, Roles: []portier.Role{portier.RoleHelpdeskAdmin}})
		if err != nil {
			t.Fatal(err)
		}
		owner := signedIn(t, in, "eve@example.org")
		secret := addAuthenticator(t, in, owner)
		at := func(when time.Time) string { return testserver.TOTP(t, secret, when) }

		// An admin needs two methods: the app alone is not enough.
		clock.Advance(time.Minute)
		b := newBrowser(t, in.srv.URL)
		recoverAs(t, b, "eve@example.org")
		first := at(clock.Now())
		b.post("/recover/verify", "/recover/totp", url.Values{"code": {first}})
		_, body := b.do("GET", "/recover/verify", nil)
		if testserver.RecoverStep(body) != "verify" || !strings.Contains(body, `data-passed="1"`) || !strings.Contains(body, "of the 2 methods") {
			t.Fatalf("an admin passed with one method: step %q", testserver.RecoverStep(body))
		}

		// The same code cannot be replayed in its window, in another reset.
		b2 := newBrowser(t, in.srv.URL)
		recoverAs(t, b2, "eve@example.org")
		_, body = b2.post("/recover/verify", "/recover/totp", url.Values{"code": {first}})
		if !strings.Contains(body, "That code is not right") {
			t.Fatal("a used authenticator code was accepted again")
		}
		// Wrong codes count on the authenticator's own counter: the password still works.
		for i := 0; i < 12; i++ {
			_, body = b2.post("/recover/verify", "/recover/totp", url.Values{"code": {fmt.Sprintf("%06d", 100000+i)}})
		}
		if !strings.Contains(body, "Too many wrong authenticator codes") {
			t.Fatal("wrong authenticator codes were never stopped")
		}
		if resp, body := newBrowser(t, in.srv.URL).login("eve@example.org", goodPassword, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("the password no longer works after wrong authenticator codes: code %s", testserver.ErrorCode(body))
		}
		// After the app, the email too: then the admin is through.
		addEmail(t, in, owner, "eve@example.net")
		known := in.ts.Codes(t, "eve@example.net")
		b.post("/recover/verify", "/recover/email", url.Values{"address": {"eve@example.net"}})
		b.post("/recover/verify", "/recover/code", url.Values{"code": {in.ts.NextCode(t, "eve@example.net", known)}})
		resp, _ := b.do("GET", "/recover/verify", nil)
		if resp.Header.Get("Location") != "/recover/choose" {
			t.Fatalf("two methods passed, yet not through: %d", resp.StatusCode)
		}
	})
}

func TestLockoutReport(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		ctx := context.Background()
		_, _, err := in.dir.CreateUser(ctx, portier.CLIActor("test"), directory.NewUser{UPN: "kim@example.org", DisplayName: "Kim", Mail: "kim@example.org", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		lock(t, in, "kim@example.org")
		// Doubling lockouts in the same episode send nothing more.
		clock.Advance(2 * time.Minute)
		lock(t, in, "kim@example.org")
		delivered(t, in)
		ms := mailsTo(t, in, 1, "kim@example.org")
		if len(ms) != 1 {
			t.Fatalf("%d lockout mails in one episode, want 1", len(ms))
		}
		link := regexp.MustCompile(`/recover/report\?token=[0-9a-f]+`).FindString(ms[0].Body)
		b := newBrowser(t, in.srv.URL)
		_, body := b.do("GET", link, nil)
		if testserver.RecoverStep(body) != "report" {
			t.Fatalf("report page step %q", testserver.RecoverStep(body))
		}
		token := strings.TrimPrefix(link, "/recover/report?token=")
		resp, _ := b.post(link, "/recover/report", url.Values{"token": {token}})
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/recover?reported=1&username=kim%40example.org") {
			t.Fatalf("after the report: %d %q", resp.StatusCode, loc)
		}
		entries := testenv.Must(store.ListSignIns(ctx, portier.SignInFilter{UserID: mustUserID(t, in, "kim@example.org")}))(t)
		flagged := 0
		for _, e := range entries {
			if e.Reported {
				flagged++
			}
		}
		if flagged < 10 {
			t.Fatalf("%d sign-ins flagged, want the episode's failures", flagged)
		}
		if evs := auditedSelf(t, store, portier.ActionReportLockout); len(evs) != 1 {
			t.Fatalf("%d report audit entries", len(evs))
		}
		// The link works once.
		_, body = b.do("GET", link, nil)
		if !strings.Contains(body, "already used") {
			t.Fatal("a used report link still works")
		}
	})
}

func mustUserID(t testing.TB, in *instance, upn string) string {
	t.Helper()
	u, err := in.dir.User(context.Background(), upn)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestSelfServiceSettings(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		ctx := context.Background()
		add := func(upn, mail string, roles ...portier.Role) {
			if _, _, err := in.dir.CreateUser(ctx, portier.CLIActor("test"), directory.NewUser{UPN: upn, DisplayName: upn, Mail: mail, Password: goodPassword, Roles: roles}); err != nil {
				t.Fatal(err)
			}
		}
		add("boss@example.org", "boss@example.org", portier.RoleGlobalAdmin)
		add("help@example.org", "help@example.org", portier.RoleHelpdeskAdmin)
		add("piet@example.org", "piet@example.org")
		set := func(change func(st *portier.Settings)) {
			if _, err := in.dir.UpdateSettings(ctx, portier.CLIActor("test"), func(st *portier.Settings) error { change(st); return nil }); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("registration is asked right after sign-in when required", func(t *testing.T) {
			set(func(st *portier.Settings) { st.Reset.RequireRegistration = true })
			defer set(func(st *portier.Settings) { st.Reset.RequireRegistration = false })
			b := newBrowser(t, in.srv.URL)
			resp, _ := b.login("piet@example.org", goodPassword, url.Values{"return_to": {"/myaccount?tab=1"}})
			if loc := resp.Header.Get("Location"); loc != "/myaccount/security-info?register=1&return_to=%2Fmyaccount%3Ftab%3D1" {
				t.Fatalf("after sign-in: %q", loc)
			}
			_, body := b.do("GET", "/myaccount/security-info?register=1&return_to=%2Fmyaccount%3Ftab%3D1", nil)
			if !strings.Contains(body, "data-register") || !strings.Contains(body, `href="/myaccount?tab=1" data-skip`) {
				t.Fatal("the registration prompt is missing, or has no way on")
			}
			addEmail(t, in, b, "piet@example.net")
			// Registered: the next sign-in goes straight on.
			resp, _ = newBrowser(t, in.srv.URL).login("piet@example.org", goodPassword, nil)
			if loc := resp.Header.Get("Location"); loc != "/myaccount" {
				t.Fatalf("after registering, sign-in went to %q", loc)
			}
		})

		t.Run("mail speaks the language the user signs in with", func(t *testing.T) {
			b := newBrowser(t, in.srv.URL)
			b.lang = "nl-NL"
			b.login("piet@example.org", goodPassword, nil)
			lock(t, in, "piet@example.org")
			testserver.WaitFor(t, "a Dutch lockout mail", func() bool {
				for _, m := range mailsTo(t, in, 0, "piet@example.org") {
					if strings.Contains(m.Subject, "is vergrendeld") && strings.Contains(m.Body, "Dit was ik niet") {
						return true
					}
				}
				return false
			})
		})

		t.Run("an admin's own reset is told to every global admin", func(t *testing.T) {
			help := signedIn(t, in, "help@example.org")
			addEmail(t, in, help, "help@example.net")
			secret := addAuthenticator(t, in, help)
			clock.Advance(time.Minute)
			b := newBrowser(t, in.srv.URL)
			recoverAs(t, b, "help@example.org")
			known := in.ts.Codes(t, "help@example.net")
			b.post("/recover/verify", "/recover/email", url.Values{"address": {"help@example.net"}})
			b.post("/recover/verify", "/recover/code", url.Values{"code": {in.ts.NextCode(t, "help@example.net", known)}})
			b.post("/recover/verify", "/recover/totp", url.Values{"code": {testserver.TOTP(t, secret, clock.Now())}})
			const next = "orange tractor sings at midnight"
			_, body := b.post("/recover/choose", "/recover/password", url.Values{"new_password": {next}, "confirm_password": {next}})
			if testserver.RecoverStep(body) != "reset" {
				t.Fatalf("admin reset: step %q", testserver.RecoverStep(body))
			}
			testserver.WaitFor(t, "the notice to the global admin", func() bool {
				for _, m := range mailsTo(t, in, 0, "boss@example.org") {
					if strings.Contains(m.Body, "help@example.org") && strings.Contains(m.Subject, "reset their own password") {
						return true
					}
				}
				return false
			})
			testserver.WaitFor(t, "the audit entry of the admin notice", func() bool {
				evs := auditedSelf(t, store, portier.ActionNotifyAdmins)
				return len(evs) == 1 && evs[0].Target == "boss@example.org"
			})
			for _, m := range mailsTo(t, in, 0, "help@example.org") {
				if strings.Contains(m.Subject, "reset their own password") {
					t.Fatal("a helpdesk admin was told as if a global admin")
				}
			}
		})

		t.Run("outside the scope: never through, and audited", func(t *testing.T) {
			set(func(st *portier.Settings) { st.Reset.Scope = portier.ResetNonAdmins })
			defer set(func(st *portier.Settings) { st.Reset.Scope = portier.ResetAll })
			b := newBrowser(t, in.srv.URL)
			recoverAs(t, b, "help@example.org")
			known := in.ts.Codes(t, "help@example.net")
			b.post("/recover/verify", "/recover/email", url.Values{"address": {"help@example.net"}})
			delivered(t, in)
			if len(in.ts.Codes(t, "help@example.net")) != len(known) {
				t.Fatal("a code was sent to an admin outside the self-service scope")
			}
			found := false
			for _, ev := range auditedSelf(t, store, portier.ActionSSPRBlocked) {
				found = found || ev.Target == "help@example.org" && strings.Contains(ev.Detail, "scope")
			}
			if !found {
				t.Fatal("no 'blocked from self-service password reset' entry for the admin")
			}
		})

		t.Run("off for everyone", func(t *testing.T) {
			set(func(st *portier.Settings) { st.Reset.Scope = portier.ResetNone })
			defer set(func(st *portier.Settings) { st.Reset.Scope = portier.ResetAll })
			_, body := newBrowser(t, in.srv.URL).do("GET", "/recover", nil)
			if testserver.RecoverStep(body) != "off" {
				t.Fatalf("step %q with self-service off", testserver.RecoverStep(body))
			}
		})
	})
}

func TestAdminRequiresReRegistration(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		ctx := context.Background()
		for _, u := range []struct {
			upn  string
			role portier.Role
		}{{"desk@example.org", portier.RoleHelpdeskAdmin}, {"root@example.org", portier.RoleGlobalAdmin}, {"lost@example.org", ""}} {
			nu := directory.NewUser{UPN: u.upn, DisplayName: u.upn, Password: goodPassword}
			if u.role != "" {
				nu.Roles = []portier.Role{u.role}
			}
			if _, _, err := in.dir.CreateUser(ctx, portier.CLIActor("test"), nu); err != nil {
				t.Fatal(err)
			}
		}
		lost := signedIn(t, in, "lost@example.org")
		addEmail(t, in, lost, "lost@example.net")
		addAuthenticator(t, in, lost)
		root := signedIn(t, in, "root@example.org")
		addEmail(t, in, root, "root@example.net")

		desk := signedIn(t, in, "desk@example.org")
		_, body := desk.do("GET", "/admin/users/lost@example.org", nil)
		if !strings.Contains(body, `data-methods="2"`) || !strings.Contains(body, "lo***@example.net") || strings.Contains(body, "lost@example.net") {
			t.Fatal("the user's page does not show the two methods, address half hidden")
		}
		resp, _ := desk.post("/admin/users/lost@example.org", "/admin/users/lost@example.org/security-info/reset", url.Values{})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("re-register: %d", resp.StatusCode)
		}
		if ms := testenv.Must(store.ListMethods(ctx, mustUserID(t, in, "lost@example.org")))(t); len(ms) != 0 {
			t.Fatalf("%d methods left after re-register", len(ms))
		}
		// A helpdesk admin may not do it to a global admin: refused, audited, nothing removed.
		resp, _ = desk.post("/admin/users/desk@example.org", "/admin/users/root@example.org/security-info/reset", url.Values{})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("helpdesk re-register of a global admin: %d", resp.StatusCode)
		}
		if ms := testenv.Must(store.ListMethods(ctx, mustUserID(t, in, "root@example.org")))(t); len(ms) != 1 {
			t.Fatal("a refused re-register removed methods")
		}
		outcomes := map[string]int{}
		for _, ev := range auditedSelf(t, store, portier.ActionResetSecurityInfo) {
			outcomes[ev.Outcome]++
		}
		if outcomes[portier.OutcomeSuccess] != 1 || outcomes[portier.OutcomeRefused] != 1 {
			t.Fatalf("audit outcomes %v", outcomes)
		}
	})
}

// TestOTPGuessingIsCountedAndLocks replays Zitadel CVE-2025-64102 (OTP guessing not counted):
// three wrong authenticator codes typed in turn, which the "a repeated wrong value counts once"
// rule let a guesser cycle for ever, must each count, lock, be audited and be mailed.
func TestOTPGuessingIsCountedAndLocks(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		ctx := context.Background()
		if _, _, err := in.dir.CreateUser(ctx, portier.CLIActor("test"), directory.NewUser{UPN: "otto@example.org", DisplayName: "Otto", Mail: "otto@example.org", Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		secret := addAuthenticator(t, in, signedIn(t, in, "otto@example.org"))
		clock.Advance(time.Minute)
		at := func(when time.Time) string { return testserver.TOTP(t, secret, when) }
		right := map[string]bool{}
		for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
			right[at(clock.Now().Add(d))] = true
		}
		var wrong []string
		for i := 0; len(wrong) < 3; i++ {
			if c := fmt.Sprintf("%06d", 111111*(i+1)%1000000); !right[c] {
				wrong = append(wrong, c)
			}
		}
		b := newBrowser(t, in.srv.URL)
		recoverAs(t, b, "otto@example.org")
		var body string
		for i := 0; i < 10; i++ { // the default threshold
			if strings.Contains(body, "Too many wrong authenticator codes") {
				t.Fatalf("locked after %d wrong codes, before the threshold", i)
			}
			_, body = b.post("/recover/verify", "/recover/totp", url.Values{"code": {wrong[i%3]}})
		}
		if !strings.Contains(body, "Too many wrong authenticator codes") {
			t.Fatal("three wrong codes cycled ten times did not lock")
		}
		// Locked: even the right code is not taken now.
		_, body = b.post("/recover/verify", "/recover/totp", url.Values{"code": {at(clock.Now())}})
		if !strings.Contains(body, "Too many wrong authenticator codes") {
			t.Fatal("the right code was taken while the authenticator counter was locked")
		}
		var audited bool
		for _, ev := range auditedSelf(t, store, portier.ActionSSPRBlocked) {
			audited = audited || ev.Target == "otto@example.org" && strings.Contains(ev.Detail, "wrong authenticator codes") && ev.Outcome == portier.OutcomeRefused
		}
		if !audited {
			t.Fatal("the authenticator lock is not in the audit log")
		}
		testserver.WaitFor(t, "the mail about the wrong codes", func() bool {
			for _, m := range mailsTo(t, in, 0, "otto@example.org") {
				if strings.Contains(m.Subject, "Wrong authenticator codes") && strings.Contains(m.Body, "127.0.0.1") {
					return true
				}
			}
			return false
		})
	})
}

// TestOTPReplayInDriftWindow replays the one-time-code advisories' replay mechanism: a right
// authenticator code used once is refused again inside its drift window, also with white space
// or a leading zero added, and a used email code is refused in any spelling.
func TestOTPReplayInDriftWindow(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		createUser(t, in.dir, "rita@example.org", false)
		owner := signedIn(t, in, "rita@example.org")
		secret := addAuthenticator(t, in, owner)
		addEmail(t, in, owner, "rita@example.net")
		clock.Advance(time.Minute)
		code := testserver.TOTP(t, secret, clock.Now())

		b := newBrowser(t, in.srv.URL)
		recoverAs(t, b, "rita@example.org")
		b.post("/recover/verify", "/recover/totp", url.Values{"code": {code}})
		if resp, _ := b.do("GET", "/recover/verify", nil); resp.Header.Get("Location") != "/recover/choose" {
			t.Fatalf("the right authenticator code did not pass: %d", resp.StatusCode)
		}
		clock.Advance(20 * time.Second) // still inside the code's window (one step of skew either side)
		for _, replay := range []string{code, " " + code[:3] + " " + code[3:] + "\t", "0" + code, code + "\u00a0"} {
			b2 := newBrowser(t, in.srv.URL)
			recoverAs(t, b2, "rita@example.org")
			b2.post("/recover/verify", "/recover/totp", url.Values{"code": {replay}})
			if resp, _ := b2.do("GET", "/recover/verify", nil); resp.Header.Get("Location") == "/recover/choose" {
				t.Fatalf("the used authenticator code %q passed again", replay)
			}
		}

		b3 := newBrowser(t, in.srv.URL)
		recoverAs(t, b3, "rita@example.org")
		known := in.ts.Codes(t, "rita@example.net")
		b3.post("/recover/verify", "/recover/email", url.Values{"address": {"rita@example.net"}})
		mailed := in.ts.NextCode(t, "rita@example.net", known)
		b3.post("/recover/verify", "/recover/code", url.Values{"code": {" " + mailed[:4] + " " + mailed[4:] + " "}})
		// Rita has an authenticator app, a second factor of sign-in: the mailed code passes one
		// method, and the reset waits for the authenticator too.
		if resp, body := b3.do("GET", "/recover/verify", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-passed="1"`) {
			t.Fatalf("the mailed code, typed with spaces, did not pass: %d", resp.StatusCode)
		}
		for _, replay := range []string{mailed, "\t" + mailed, "0" + mailed} {
			resp, body := b3.post("/recover/verify", "/recover/code", url.Values{"code": {replay}})
			if resp.StatusCode == http.StatusBadRequest && strings.Contains(body, `data-error-code="90100"`) {
				continue // a control character is refused at the edge, before any code is looked at
			}
			if !strings.Contains(body, "No code is waiting") {
				t.Fatalf("the used email code %q was not refused as used", replay)
			}
		}
	})
}
