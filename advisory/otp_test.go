package advisory

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/selfservice"
)

// recoverFlow starts a self-service reset for upn in a new browser.
func recoverFlow(t *testing.T, in *testserver.Instance, upn string) *testserver.Browser {
	t.Helper()
	b := testserver.NewBrowser(t, in.URL)
	if resp, _ := b.Post("/recover", "/recover", url.Values{"username": {upn}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /recover %s: status %d", upn, resp.StatusCode)
	}
	return b
}

// verified reports whether b's reset has passed enough methods to choose a password.
func verified(t *testing.T, b *testserver.Browser) bool {
	t.Helper()
	resp, _ := b.Do("GET", "/recover/verify", nil)
	return resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == "/recover/choose"
}

// variants are a used code replayed as people (and scripts) type it: with spaces around and
// inside, and with a leading or trailing zero added.
func variants(code string) []string {
	half := len(code) / 2
	return []string{code, " " + code, code + " ", code[:half] + " " + code[half:], code[:half] + "-" + code[half:], "0" + code, code + "0"}
}

// refusedTOTP reports whether a /recover/totp answer refused the code: as wrong, or because
// wrong codes locked the method.
func refusedTOTP(body string) bool {
	return strings.Contains(body, "That code is not right") || strings.Contains(body, "Too many wrong authenticator codes")
}

// TestOneTimeCodeReplay replays the one-time-code replays reported across the field
// (RFC 6238 section 5.2): a used code accepted again inside the drift window, or again when
// retyped with whitespace or a leading zero, or an earlier step's code accepted after a
// later one was used; and a mailed code used twice, or in another reset.
func TestOneTimeCodeReplay(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		in := testserver.Start(t, b.Open(t), testserver.Options{})
		in.CreateUser(t, directory.NewUser{UPN: "app@example.org"})
		in.CreateUser(t, directory.NewUser{UPN: "mail@example.org"})
		secret := in.AddAuthenticator(t, in.SignedIn(t, "app@example.org"))
		in.AddEmail(t, in.SignedIn(t, "mail@example.org"), "mail@example.net")

		t.Run("authenticator code", func(t *testing.T) {
			in.Clock.Advance(30 * time.Second) // past the step used to register the app
			code := testserver.TOTP(t, secret, in.Clock.Now())
			first := recoverFlow(t, in, "app@example.org")
			first.Post("/recover/verify", "/recover/totp", url.Values{"code": {code}})
			if !verified(t, first) {
				t.Fatal("the authenticator code did not pass")
			}
			replay := recoverFlow(t, in, "app@example.org")
			for _, c := range variants(code) {
				if _, body := replay.Post("/recover/verify", "/recover/totp", url.Values{"code": {c}}); !refusedTOTP(body) {
					t.Errorf("used code replayed as %q: not refused", c)
				}
			}
			// The next step: the used code is still inside the drift window, and refused.
			in.Clock.Advance(30 * time.Second)
			replay.Post("/recover/verify", "/recover/totp", url.Values{"code": {code}})
			// A code of the step after this one is used; then this step's, earlier, is refused.
			later := recoverFlow(t, in, "app@example.org")
			later.Post("/recover/verify", "/recover/totp", url.Values{"code": {testserver.TOTP(t, secret, in.Clock.Now().Add(30*time.Second))}})
			if !verified(t, later) {
				t.Fatal("the code of the next step (inside the drift window) did not pass")
			}
			replay.Post("/recover/verify", "/recover/totp", url.Values{"code": {testserver.TOTP(t, secret, in.Clock.Now())}})
			if verified(t, replay) {
				t.Fatal("a replayed or earlier authenticator code passed")
			}
		})

		t.Run("mailed code", func(t *testing.T) {
			flow := recoverFlow(t, in, "mail@example.org")
			known := in.Codes(t, "mail@example.net")
			flow.Post("/recover/verify", "/recover/email", url.Values{"address": {"mail@example.net"}})
			code := in.NextCode(t, "mail@example.net", known)
			flow.Post("/recover/verify", "/recover/code", url.Values{"code": {code}})
			if !verified(t, flow) {
				t.Fatal("the mailed code did not pass")
			}
			for _, c := range variants(code) {
				if resp, body := flow.Post("/recover/choose", "/recover/code", url.Values{"code": {c}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No code is waiting") {
					t.Errorf("used code replayed as %q in its own reset: status %d", c, resp.StatusCode)
				}
			}
			// In another reset of the same user, with a fresh code waiting, the old one is wrong.
			other := recoverFlow(t, in, "mail@example.org")
			known = in.Codes(t, "mail@example.net")
			other.Post("/recover/verify", "/recover/email", url.Values{"address": {"mail@example.net"}})
			fresh := in.NextCode(t, "mail@example.net", known)
			for _, c := range []string{code, " " + code, "0" + fresh} {
				if _, body := other.Post("/recover/verify", "/recover/code", url.Values{"code": {c}}); !strings.Contains(body, "That code is not right") {
					t.Errorf("code %q in another reset: not refused as wrong", c)
				}
			}
			if verified(t, other) {
				t.Fatal("an old mailed code passed another reset")
			}
			other.Post("/recover/verify", "/recover/code", url.Values{"code": {fresh}})
			if !verified(t, other) {
				t.Fatal("the fresh code no longer passes after the refused replays")
			}
		})
	})
}

// TestCVE_2025_64102_ZitadelOTPGuessingUncounted replays Zitadel CVE-2025-64102: wrong
// one-time codes are not counted, so an attacker may guess them without end. Wrong
// authenticator codes at /recover/totp must lock the method within the threshold, be
// audited, and keep the right code out; cycling a few codes must count every try.
func TestCVE_2025_64102_ZitadelOTPGuessingUncounted(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		in := testserver.Start(t, b.Open(t), testserver.Options{})
		st, err := in.Dir.Settings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		guess := func(t *testing.T, upn string, codes func(i int) string) {
			in.CreateUser(t, directory.NewUser{UPN: upn})
			secret := in.AddAuthenticator(t, in.SignedIn(t, upn))
			in.Clock.Advance(30 * time.Second)
			attacker := recoverFlow(t, in, upn)
			locked := -1
			for i := 0; i < 3*st.Lockout.Threshold && locked < 0; i++ {
				_, body := attacker.Post("/recover/verify", "/recover/totp", url.Values{"code": {codes(i)}})
				if strings.Contains(body, "Too many wrong authenticator codes") {
					locked = i + 1
				}
			}
			if locked < 0 || locked > st.Lockout.Threshold {
				t.Fatalf("wrong authenticator codes locked the method after %d tries, want at most the threshold %d (-1: never)", locked, st.Lockout.Threshold)
			}
			// The right code is refused now, in this reset and in a fresh one.
			right := testserver.TOTP(t, secret, in.Clock.Now())
			for _, b := range []*testserver.Browser{attacker, recoverFlow(t, in, upn)} {
				if _, body := b.Post("/recover/verify", "/recover/totp", url.Values{"code": {right}}); !strings.Contains(body, "Too many wrong authenticator codes") || verified(t, b) {
					t.Fatal("the right authenticator code passed while the method is locked")
				}
			}
			evs, err := in.Store.ListAudit(t.Context(), portier.AuditFilter{Action: portier.ActionSSPRBlocked})
			if err != nil {
				t.Fatal(err)
			}
			audited := false
			for _, ev := range evs {
				audited = audited || ev.Target == upn && strings.Contains(ev.Detail, "authenticator codes")
			}
			if !audited {
				t.Fatalf("no audit entry blocking %s from self-service after wrong authenticator codes", upn)
			}
		}
		t.Run("distinct codes", func(t *testing.T) {
			guess(t, "distinct@example.org", func(i int) string { return fmt.Sprintf("%06d", 100000+i) })
		})
		// Issue 10 item 2: a repeated wrong code counted once, so three codes cycled for ever.
		t.Run("three codes cycled", func(t *testing.T) {
			cycle := []string{"111111", "222222", "333333"}
			guess(t, "cycled@example.org", func(i int) string { return cycle[i%len(cycle)] })
		})
		// A mailed code: every wrong try counts, repeated or not, and the fifth kills the code.
		t.Run("mailed code, two codes cycled", func(t *testing.T) {
			in.CreateUser(t, directory.NewUser{UPN: "mailed@example.org"})
			in.AddEmail(t, in.SignedIn(t, "mailed@example.org"), "mailed@example.net")
			attacker := recoverFlow(t, in, "mailed@example.org")
			known := in.Codes(t, "mailed@example.net")
			attacker.Post("/recover/verify", "/recover/email", url.Values{"address": {"mailed@example.net"}})
			right := in.NextCode(t, "mailed@example.net", known)
			for i := range selfservice.CodeTries {
				attacker.Post("/recover/verify", "/recover/code", url.Values{"code": {[]string{"11111111", "22222222"}[i%2]}})
			}
			if _, body := attacker.Post("/recover/verify", "/recover/code", url.Values{"code": {right}}); !strings.Contains(body, "no longer works") || verified(t, attacker) {
				t.Fatalf("the right mailed code after %d wrong tries was not refused", selfservice.CodeTries)
			}
		})
	})
}
