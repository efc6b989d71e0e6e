package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
)

// TestWhereSignInLeads: an admin who signs in lands on the admin center's home, anyone else
// on My account; a signed-in browser that opens /login is told who is signed in and offered
// Continue and Sign out instead of an empty form; a browser whose session an admin ended is
// sent to /login with a line saying so. Counts of one are singular.
func TestWhereSignInLeads(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "help@example.org", "Help Desk", portier.RoleHelpdeskAdmin)
		addUser(t, in.dir, "anna@example.org", "Anna Jansen")

		for upn, want := range map[string]string{"help@example.org": "/admin", "anna@example.org": "/myaccount"} {
			b := newBrowser(t, in.srv.URL)
			if resp, _ := b.login(upn, goodPassword, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
				t.Errorf("%s signs in: status %d to %q, want 303 to %s", upn, resp.StatusCode, resp.Header.Get("Location"), want)
			}
			// A return_to still wins.
			other := newBrowser(t, in.srv.URL)
			if resp, _ := other.login(upn, goodPassword, map[string][]string{"return_to": {"/myaccount/security-info"}}); resp.Header.Get("Location") != "/myaccount/security-info" {
				t.Errorf("%s with return_to: to %q", upn, resp.Header.Get("Location"))
			}
		}

		anna := signedIn(t, in, "anna@example.org")
		_, page := anna.do("GET", "/login", nil)
		if !strings.Contains(page, `data-signed-in="anna@example.org"`) || !strings.Contains(page, `href="/myaccount" data-action="continue"`) ||
			!strings.Contains(page, `action="/logout"`) || strings.Contains(page, `name="password"`) {
			t.Fatal("a signed-in browser at /login is not shown who is signed in with Continue and Sign out")
		}
		help := signedIn(t, in, "help@example.org")
		if _, page := help.do("GET", "/login?return_to=%2Fadmin%2Fusers", nil); !strings.Contains(page, `href="/admin/users" data-action="continue"`) {
			t.Fatal("Continue does not lead to return_to")
		}

		// The helpdesk admin signs Anna out everywhere; her browser is told why it is at /login.
		testenv.NoErr(t, in.dir.RevokeSessions(context.Background(), portier.CLIActor("test"), "anna@example.org"))
		resp, _ := anna.do("GET", "/myaccount", nil)
		if loc := resp.Header.Get("Location"); loc != "/login?return_to=%2Fmyaccount&done=ended" {
			t.Fatalf("ended session: to %q", loc)
		}
		if _, page := anna.do("GET", "/login?return_to=%2Fmyaccount&done=ended", nil); !strings.Contains(page, "Your session has ended") || !strings.Contains(page, `name="password"`) {
			t.Fatal("the sign-in page does not say the session ended")
		}
		// A browser that never had a session gets the plain form.
		fresh := newBrowser(t, in.srv.URL)
		if resp, _ := fresh.do("GET", "/myaccount", nil); resp.Header.Get("Location") != "/login?return_to=%2Fmyaccount" {
			t.Fatalf("no session: to %q", resp.Header.Get("Location"))
		}

		// One user is "1 user", in English and Dutch; a success has no "0" before its name.
		_, one := help.do("GET", "/admin/users?q=anna", nil)
		if !strings.Contains(one, ">1 user</p>") {
			t.Error(`one user found is not "1 user"`)
		}
		help.lang = "nl"
		_, een := help.do("GET", "/admin/users?q=anna", nil)
		if !strings.Contains(een, ">1 gebruiker</p>") {
			t.Error(`one user found is not "1 gebruiker"`)
		}
		help.lang = ""
		testenv.NoErr(t, in.rec.Flush(context.Background()))
		_, log := help.do("GET", "/admin/signins?code=0", nil)
		if strings.Contains(log, `data-code="0">0</span>`) || !strings.Contains(log, `data-code="0"></span> Success`) {
			t.Error(`a success is shown as "0 Success"`)
		}
	})
}
