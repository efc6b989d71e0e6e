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
)

// TestCVE_2023_39522_AuthentikRecoveryRevealsUsers replays authentik CVE-2023-39522: the
// recovery flow answers differently for a name that is a user, so it tells who exists.
// Every kind of name walks the same pages, byte for byte but for the CSRF token and the
// name typed, with the same status codes and the same next steps.
func TestCVE_2023_39522_AuthentikRecoveryRevealsUsers(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		in := testserver.Start(t, b.Open(t), testserver.Options{})
		in.CreateUser(t, directory.NewUser{UPN: "ready@example.org", Mail: "ready@example.org"})
		owner := in.SignedIn(t, "ready@example.org")
		in.AddEmail(t, owner, "ready@example.net")
		in.AddAuthenticator(t, owner)
		in.CreateUser(t, directory.NewUser{UPN: "bare@example.org"})
		in.CreateUser(t, directory.NewUser{UPN: "desk@example.org", Roles: []portier.Role{portier.RoleHelpdeskAdmin}})
		in.CreateUser(t, directory.NewUser{UPN: "gone@example.org"})
		if err := in.Dir.SetSignInStatus(t.Context(), portier.CLIActor("test"), "gone@example.org", false); err != nil {
			t.Fatal(err)
		}
		mailsBefore := len(in.Mails(t))

		// walk goes through every step a stranger can reach and returns what each answered.
		walk := func(name string) []string {
			b := testserver.NewBrowser(t, in.URL)
			var seen []string
			record := func(resp *http.Response, body string) {
				page := strings.ReplaceAll(testserver.WithoutCSRF(body), name, "NAME")
				seen = append(seen, fmt.Sprintf("%d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), page))
			}
			record(b.Post("/recover", "/recover", url.Values{"username": {name}}))
			record(b.Do("GET", "/recover/verify", nil))
			// An address that is nobody's, as an attacker would try.
			record(b.Post("/recover/verify", "/recover/email", url.Values{"address": {"guess@example.net"}}))
			record(b.Do("GET", "/recover/verify?sent=1", nil))
			record(b.Post("/recover/verify", "/recover/code", url.Values{"code": {"12345678"}}))
			record(b.Post("/recover/verify", "/recover/totp", url.Values{"code": {"123456"}}))
			record(b.Do("GET", "/recover/choose", nil))
			return seen
		}
		unknown := walk("nobody@example.org")
		for _, name := range []string{"ready@example.org", "bare@example.org", "desk@example.org", "gone@example.org"} {
			got := walk(name)
			for i := range unknown {
				if got[i] != unknown[i] {
					t.Errorf("step %d differs for %s and for a name that is no user:\n%s\n---\n%s", i, name, got[i], unknown[i])
				}
			}
		}
		if len(in.Mails(t)) != mailsBefore {
			t.Fatal("a mail was sent for an address that is nobody's")
		}
	})
}

// TestKeycloak45388_ResetClearsLockout replays Keycloak issue 45388: a successful password
// reset leaves the lockout (and its failure count) in place, so the new password is refused.
// Both an admin's reset and a self-service reset must let the new password in at once.
func TestKeycloak45388_ResetClearsLockout(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		// An hour of lock memory: the reset must reach the engine, not wait for it to expire.
		in := testserver.Start(t, b.Open(t), testserver.Options{LockMemory: time.Hour, UnlockSeenWithin: -1})
		in.CreateUser(t, directory.NewUser{UPN: "desk@example.org", Roles: []portier.Role{portier.RoleHelpdeskAdmin}})
		in.CreateUser(t, directory.NewUser{UPN: "piet@example.org"})
		in.CreateUser(t, directory.NewUser{UPN: "kees@example.org"})
		in.AddEmail(t, in.SignedIn(t, "kees@example.org"), "kees@example.net")
		st := testenv.Must(in.Dir.Settings(t.Context()))(t)
		lockOut := func(t *testing.T, upn string) {
			t.Helper()
			attacker := testserver.NewBrowser(t, in.URL)
			for i := range st.Lockout.Threshold {
				attacker.Login(upn, fmt.Sprintf("wrong guess number %d", i))
			}
			if _, body := testserver.NewBrowser(t, in.URL).Login(upn, testserver.Password); testserver.ErrorCode(body) != "50053" {
				t.Fatalf("%s not locked: code %q", upn, testserver.ErrorCode(body))
			}
		}
		// signsInAtOnce checks the new password, and that the failure count went with the lock:
		// threshold-1 wrong passwords later, the right one still gets in.
		signsInAtOnce := func(t *testing.T, upn, pw string) {
			t.Helper()
			if resp, body := testserver.NewBrowser(t, in.URL).Login(upn, pw); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/myaccount" {
				t.Fatalf("%s with the new password right after the reset: status %d code %q", upn, resp.StatusCode, testserver.ErrorCode(body))
			}
			stranger := testserver.NewBrowser(t, in.URL)
			for i := range st.Lockout.Threshold - 1 {
				stranger.Login(upn, fmt.Sprintf("another wrong guess %d", i))
			}
			if resp, body := stranger.Login(upn, pw); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s after %d wrong passwords following the reset: code %q", upn, st.Lockout.Threshold-1, testserver.ErrorCode(body))
			}
		}

		t.Run("admin reset", func(t *testing.T) {
			lockOut(t, "piet@example.org")
			desk := in.SignedIn(t, "desk@example.org")
			page := "/admin/users/piet@example.org/reset-password"
			const next = "orange tractor sings at midnight"
			if resp, _ := desk.Post(page, page, url.Values{"mode": {"type"}, "password": {next}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("admin reset: status %d", resp.StatusCode)
			}
			signsInAtOnce(t, "piet@example.org", next)
		})
		t.Run("self-service reset", func(t *testing.T) {
			lockOut(t, "kees@example.org")
			b := testserver.NewBrowser(t, in.URL)
			b.Post("/recover", "/recover", url.Values{"username": {"kees@example.org"}})
			known := in.Codes(t, "kees@example.net")
			b.Post("/recover/verify", "/recover/email", url.Values{"address": {"kees@example.net"}})
			b.Post("/recover/verify", "/recover/code", url.Values{"code": {in.NextCode(t, "kees@example.net", known)}})
			const next = "violet lantern hums before dawn"
			_, body := b.Post("/recover/choose", "/recover/password", url.Values{"new_password": {next}, "confirm_password": {next}})
			if testserver.RecoverStep(body) != "reset" {
				t.Fatalf("self-service reset: step %q", testserver.RecoverStep(body))
			}
			signsInAtOnce(t, "kees@example.org", next)
		})
	})
}
