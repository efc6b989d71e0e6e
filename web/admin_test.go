package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// addUser creates a user with roles and the test password, as the operator's CLI would.
func addUser(t testing.TB, dir *directory.Service, upn, name string, roles ...portier.Role) {
	t.Helper()
	_, _, err := dir.CreateUser(context.Background(), portier.CLIActor("test"),
		directory.NewUser{UPN: upn, DisplayName: name, Password: goodPassword, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
}

// signedIn returns a browser signed in as upn.
func signedIn(t testing.TB, in *instance, upn string) *browser {
	t.Helper()
	return &browser{Browser: in.ts.SignedIn(t, upn)}
}

// lock makes wrong sign-ins at upn from a fresh browser until the account locks.
func lock(t testing.TB, in *instance, upn string) {
	t.Helper()
	b := newBrowser(t, in.srv.URL)
	var body string
	for i := 0; i < 10; i++ {
		_, body = b.login(upn, fmt.Sprintf("wrong guess number %d", i), nil)
	}
	if testserver.ErrorCode(body) != "50053" {
		t.Fatalf("%s after 10 wrong passwords: code %s, want 50053", upn, testserver.ErrorCode(body))
	}
	testenv.NoErr(t, in.rec.Flush(context.Background()))
}

// post sends a form with the CSRF token of the page at from.
func (b *browser) post(from, path string, form url.Values) (*http.Response, string) {
	b.T.Helper()
	b.withLang()
	return b.Post(from, path, form)
}

var userRow = regexp.MustCompile(`<tr data-user="([^"]+)" data-status="([^"]+)"`)

// listed returns the users of an Active users page, with their status.
func listed(body string) map[string]string {
	out := map[string]string{}
	for _, m := range userRow.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// audited returns the audit entries of an action on target, newest first.
func audited(t testing.TB, dir *directory.Service, action portier.Action, target string) []*portier.AuditEvent {
	t.Helper()
	all, err := dir.ListAudit(context.Background(), portier.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	var out []*portier.AuditEvent
	for _, ev := range all {
		if ev.Target == target {
			out = append(out, ev)
		}
	}
	return out
}

func TestAdminAccess(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		addUser(t, in.dir, "plain@example.org", "Plain User")
		addUser(t, in.dir, "help@example.org", "Help Desk", portier.RoleHelpdeskAdmin)

		resp, _ := newBrowser(t, in.srv.URL).do("GET", "/admin/users?filter=locked", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?return_to="+url.QueryEscape("/admin/users?filter=locked") {
			t.Fatalf("not signed in: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}

		plain := signedIn(t, in, "plain@example.org")
		for _, path := range []string{"/admin", "/admin/users", "/admin/signins", "/admin/users/plain@example.org"} {
			if resp, body := plain.do("GET", path, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `data-error="forbidden"`) {
				t.Errorf("plain user GET %s: status %d, want 403 with a page saying so", path, resp.StatusCode)
			}
		}
		if resp, _ := plain.post("/myaccount", "/admin/users/plain@example.org/unlock", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("plain user POST unlock: status %d, want 403", resp.StatusCode)
		}

		help := signedIn(t, in, "help@example.org")
		if resp, _ := help.do("GET", "/admin", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/users" {
			t.Fatalf("/admin: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := help.do("GET", "/admin/users", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `data-user="plain@example.org"`) {
			t.Fatalf("/admin/users: status %d", resp.StatusCode)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") || !strings.Contains(body, `<script src="/static/admin.js" defer></script>`) {
			t.Fatal("the page has inline script, or lacks its external script")
		}
		if strings.Contains(body, `href="/admin/settings"`) || strings.Contains(body, `href="/admin/users/new"`) {
			t.Fatal("a helpdesk admin is offered settings or adding users")
		}
		if resp, _ := help.do("GET", "/admin/settings", nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("helpdesk admin GET /admin/settings: %d, want 403", resp.StatusCode)
		}
		if resp, _ := help.do("GET", "/static/admin.js", nil); resp.StatusCode != 200 {
			t.Fatalf("/static/admin.js: %d", resp.StatusCode)
		}
	})
}

func TestAdminSessionIdleTimeout(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		addUser(t, in.dir, "admin@example.org", "Admin", portier.RoleUserAdmin)
		addUser(t, in.dir, "plain@example.org", "Plain")
		admin, plain := signedIn(t, in, "admin@example.org"), signedIn(t, in, "plain@example.org")

		clock.Advance(29 * time.Minute)
		if resp, _ := admin.do("GET", "/admin/users", nil); resp.StatusCode != 200 {
			t.Fatalf("after 29 minutes idle: %d, want 200", resp.StatusCode)
		}
		clock.Advance(31 * time.Minute)
		resp, _ := admin.do("GET", "/admin/users", nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?return_to=") {
			t.Fatalf("after 31 minutes idle: status %d location %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
		}
		// The session is gone, not only the admin pages: /myaccount would otherwise refresh it.
		if resp, _ := admin.do("GET", "/myaccount", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("admin's /myaccount after the idle timeout: %d, want a redirect", resp.StatusCode)
		}
		if resp, _ := plain.do("GET", "/myaccount", nil); resp.StatusCode != 200 {
			t.Fatalf("a plain user's session ended with the admin idle timeout: %d", resp.StatusCode)
		}
	})
}

func TestActiveUsersListFilterSearchPaging(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		ctx := context.Background()
		addUser(t, in.dir, "admin@example.org", "Admin", portier.RoleUserAdmin)
		for i := 0; i < 55; i++ {
			addUser(t, in.dir, fmt.Sprintf("user%02d@example.org", i), fmt.Sprintf("Person %02d", i))
		}
		addUser(t, in.dir, "zoe@example.org", "Zoë de Vries")
		lock(t, in, "user07@example.org")
		if err := in.dir.SetSignInStatus(ctx, portier.CLIActor("test"), "user08@example.org", false); err != nil {
			t.Fatal(err)
		}
		createUser(t, in.dir, "must@example.org", true)
		b := signedIn(t, in, "admin@example.org")

		_, body := b.do("GET", "/admin/users", nil)
		rows := listed(body)
		if len(rows) != 50 || !strings.Contains(body, `data-total="58"`) {
			t.Fatalf("first page: %d rows, total %v; want 50 of 58", len(rows), regexp.MustCompile(`data-total="\d+"`).FindString(body))
		}
		if rows["user07@example.org"] != "locked" || rows["user08@example.org"] != "blocked" || rows["must@example.org"] != "must-change" || rows["user09@example.org"] != "active" {
			t.Fatalf("statuses: %v", rows)
		}
		lockedText := fmt.Sprintf("Locked until %s (10 attempts)", clock.Now().Add(time.Minute).Format("15:04"))
		if !strings.Contains(body, lockedText) || !strings.Contains(body, "Sign-in blocked") || !strings.Contains(body, "Must change password") {
			t.Fatalf("the page lacks %q or the other status texts:\n%s", lockedText, regexp.MustCompile(`(?s)<tr data-user="user07.*?</tr>`).FindString(body))
		}
		next := regexp.MustCompile(`href="([^"]+)" data-page="next"`).FindStringSubmatch(body)
		if next == nil || strings.Contains(body, `data-page="first"`) {
			t.Fatal("the first page has no Next link, or has a First page link")
		}
		_, body2 := b.do("GET", strings.ReplaceAll(next[1], "&amp;", "&"), nil)
		rows2 := listed(body2)
		if len(rows2) != 8 || strings.Contains(body2, `data-page="next"`) || !strings.Contains(body2, `data-page="first"`) {
			t.Fatalf("second page: %d rows, want 8, a First page link and no Next", len(rows2))
		}
		for upn := range rows2 {
			if _, dup := rows[upn]; dup {
				t.Fatalf("%s is on both pages", upn)
			}
		}

		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"filter=locked", []string{"user07@example.org"}},
			{"filter=blocked", []string{"user08@example.org"}},
			{"filter=admins", []string{"admin@example.org"}},
			{"q=user1", []string{"user10@example.org", "user11@example.org", "user12@example.org", "user13@example.org", "user14@example.org",
				"user15@example.org", "user16@example.org", "user17@example.org", "user18@example.org", "user19@example.org"}},
			{"q=ZO", []string{"zoe@example.org"}},
			{"q=user0&filter=locked", []string{"user07@example.org"}},
			{"q=nobody", nil},
		} {
			_, body := b.do("GET", "/admin/users?"+tc.query, nil)
			var got []string
			for upn := range listed(body) {
				got = append(got, upn)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) || !strings.Contains(body, fmt.Sprintf(`data-total="%d"`, len(tc.want))) {
				t.Errorf("%s: got %v, want %v", tc.query, got, tc.want)
			}
		}
	})
}

func TestUserDetailsShowLockout(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "help@example.org", "Help Desk", portier.RoleHelpdeskAdmin)
		addUser(t, in.dir, "anna@example.org", "Anna Jansen")
		// A success first: the story of the lockout starts after it.
		signedIn(t, in, "anna@example.org")
		lock(t, in, "anna@example.org")
		b := signedIn(t, in, "help@example.org")

		_, body := b.do("GET", "/admin/users/anna@example.org", nil)
		if n := strings.Count(body, "data-failed-attempt="); n != 10 {
			t.Fatalf("%d failed attempts shown, want 10 (9 wrong passwords and the one that locked)", n)
		}
		if !strings.Contains(body, `<td data-source>127.0.0.1</td>`) || !strings.Contains(body, "Unfamiliar browser") {
			t.Fatal("the failed attempts do not say where they came from and from what browser")
		}
		if n := strings.Count(body, "data-signin="); n != 11 {
			t.Fatalf("%d recent sign-ins, want 11", n)
		}
		if !strings.Contains(body, `data-action="unlock"`) || !strings.Contains(body, `data-action="reset-password"`) {
			t.Fatal("a helpdesk admin is not offered unlock and reset on a locked plain user")
		}
		if strings.Contains(body, `data-action="edit-sign-in-status"`) || strings.Contains(body, `data-action="delete-user"`) || strings.Contains(body, `data-action="edit-roles"`) {
			t.Fatal("a helpdesk admin is offered what only user and global admins may do")
		}
		// The sign-in log marks the lockout and lists the attempts that caused it.
		_, log := b.do("GET", "/admin/signins?user=anna@example.org", nil)
		if !strings.Contains(log, `data-lockout`) || !strings.Contains(log, `data-causes="9"`) {
			t.Fatal("the sign-in log does not show the lockout with its 9 earlier attempts")
		}
		_, only := b.do("GET", "/admin/signins?code=50053", nil)
		if strings.Count(only, `data-code="50053" class="lockout"`) != 1 || strings.Contains(only, `data-code="50126"`) {
			t.Fatal("the code filter does not keep only the lockout")
		}
		if resp, _ := b.do("GET", "/admin/users/nobody@example.org", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown user: %d, want 404", resp.StatusCode)
		}
	})
}

func TestHelpdeskResetsPasswordAndUnlocks(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "help@example.org", "Help Desk", portier.RoleHelpdeskAdmin)
		addUser(t, in.dir, "piet@example.org", "Piet Bakker")
		addUser(t, in.dir, "kees@example.org", "Kees Smit")
		piet := signedIn(t, in, "piet@example.org")
		lock(t, in, "piet@example.org")
		b := signedIn(t, in, "help@example.org")

		_, page := b.do("GET", "/admin/users/piet@example.org/reset-password", nil)
		for _, want := range []string{`id="force-change" name="force_change" value="on" checked`, `id="sign-out" name="sign_out" value="on" checked`, `id="mode-generate" name="mode" value="generate" checked`} {
			if !strings.Contains(page, want) {
				t.Fatalf("the reset page lacks the default %s", want)
			}
		}
		resp, body := b.post("/admin/users/piet@example.org/reset-password", "/admin/users/piet@example.org/reset-password",
			url.Values{"mode": {"generate"}, "force_change": {"on"}, "sign_out": {"on"}})
		m := regexp.MustCompile(`id="generated-password" type="text" value="([^"]+)"`).FindStringSubmatch(body)
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("reset: status %d, no generated password shown", resp.StatusCode)
		}
		generated := m[1]
		if _, again := b.do("GET", "/admin/users/piet@example.org", nil); strings.Contains(again, generated) {
			t.Fatal("the generated password is shown again")
		}
		if resp, _ := piet.do("GET", "/myaccount", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatal("the reset did not sign the user out everywhere")
		}
		// The reset unlocked the account, and the user must choose a new password.
		resp, body = newBrowser(t, in.srv.URL).login("piet@example.org", generated, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/change-password") {
			t.Fatalf("sign-in with the generated password: status %d code %s location %q", resp.StatusCode, testserver.ErrorCode(body), resp.Header.Get("Location"))
		}
		evs := audited(t, in.dir, portier.ActionResetPassword, "piet@example.org")
		if len(evs) != 1 || evs[0].Outcome != portier.OutcomeSuccess || evs[0].Actor != "help@example.org" || evs[0].Source != "127.0.0.1" || strings.Contains(evs[0].Detail, generated) {
			t.Fatalf("audit of the reset: %+v", evs)
		}

		// A typed password, keeping sessions and not forcing a change.
		kees := signedIn(t, in, "kees@example.org")
		resp, _ = b.post("/admin/users/kees@example.org/reset-password", "/admin/users/kees@example.org/reset-password",
			url.Values{"mode": {"type"}, "password": {"a typed passphrase for this one"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("typed reset: %d", resp.StatusCode)
		}
		if resp, _ := kees.do("GET", "/myaccount", nil); resp.StatusCode != 200 {
			t.Fatal("unticking 'sign out everywhere' still signed the user out")
		}
		if resp, _ := newBrowser(t, in.srv.URL).login("kees@example.org", "a typed passphrase for this one", nil); resp.Header.Get("Location") != "/myaccount" {
			t.Fatal("the typed password does not sign in straight away")
		}
		resp, body = b.post("/admin/users/kees@example.org/reset-password", "/admin/users/kees@example.org/reset-password",
			url.Values{"mode": {"type"}, "password": {"short"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "15") {
			t.Fatalf("too short a typed password: status %d", resp.StatusCode)
		}

		// Unlock.
		lock(t, in, "kees@example.org")
		resp, _ = b.post("/admin/users/kees@example.org", "/admin/users/kees@example.org/unlock", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/users/kees@example.org?done=unlocked" {
			t.Fatalf("unlock: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, body := newBrowser(t, in.srv.URL).login("kees@example.org", "a typed passphrase for this one", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in after unlock: code %s", testserver.ErrorCode(body))
		}
		if _, body := b.do("GET", "/admin/users/kees@example.org", nil); strings.Contains(body, `data-action="unlock"`) {
			t.Fatal("Unlock is offered on an account that is not locked")
		}
	})
}

func TestHelpdeskCannotActOnGlobalAdmin(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "help@example.org", "Help Desk", portier.RoleHelpdeskAdmin)
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		b := signedIn(t, in, "help@example.org")

		resp, body := b.do("GET", "/admin/users/boss@example.org", nil)
		if resp.StatusCode != 200 || strings.Contains(body, `data-action="reset-password"`) || strings.Contains(body, `data-action="more-actions"`) {
			t.Fatalf("status %d; a helpdesk admin is offered actions on a global admin", resp.StatusCode)
		}
		if resp, _ := b.do("GET", "/admin/users/boss@example.org/reset-password", nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("reset page: %d, want 403", resp.StatusCode)
		}
		for _, forged := range []struct {
			path   string
			form   url.Values
			action portier.Action
		}{
			{"/admin/users/boss@example.org/reset-password", url.Values{"mode": {"type"}, "password": {"the helpdesk took over this"}}, portier.ActionResetPassword},
			{"/admin/users/boss@example.org/revoke-sessions", nil, portier.ActionRevokeSessions},
			{"/admin/users/boss@example.org/sign-in-status", url.Values{"blocked": {"on"}}, portier.ActionBlock},
			{"/admin/users/boss@example.org/delete", nil, portier.ActionDelete},
			{"/admin/users/boss@example.org/roles", nil, portier.ActionEditRoles},
		} {
			resp, _ := b.post("/myaccount", forged.path, forged.form)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("forged POST %s: status %d, want 403", forged.path, resp.StatusCode)
			}
			evs := audited(t, in.dir, forged.action, "boss@example.org")
			if len(evs) != 1 || evs[0].Outcome != portier.OutcomeRefused || evs[0].Actor != "help@example.org" {
				t.Errorf("audit of forged %s: %+v, want one refused entry", forged.action, evs)
			}
		}
		// Nothing changed: the global admin still signs in with the old password, roles intact.
		if resp, _ := signedIn(t, in, "boss@example.org").do("GET", "/admin/users", nil); resp.StatusCode != 200 {
			t.Fatal("the global admin lost access")
		}
		// The audit log page shows the refusals, filtered.
		boss := signedIn(t, in, "boss@example.org")
		_, log := boss.do("GET", "/admin/audit?outcome=refused", nil)
		if n := strings.Count(log, `data-outcome="refused"`); n != 5 || strings.Contains(log, `data-outcome="success"`) {
			t.Fatalf("audit page with outcome=refused: %d refused rows, want 5 and no others", n)
		}
	})
}

func TestUserAdminBlocksAndUnblocks(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "useradmin@example.org", "User Admin", portier.RoleUserAdmin)
		addUser(t, in.dir, "jan@example.org", "Jan de Boer")
		jan := signedIn(t, in, "jan@example.org")
		b := signedIn(t, in, "useradmin@example.org")

		_, details := b.do("GET", "/admin/users/jan@example.org", nil)
		if !strings.Contains(details, `data-action="edit-sign-in-status"`) || !strings.Contains(details, `<summary data-action="more-actions">More actions</summary>`) {
			t.Fatal("More actions > Edit sign-in status is not offered to a user admin")
		}
		_, page := b.do("GET", "/admin/users/jan@example.org/sign-in-status", nil)
		if !strings.Contains(page, `<label for="blocked">Block this user from signing in</label>`) || strings.Contains(page, `name="blocked" value="on" checked`) {
			t.Fatal("the sign-in status page lacks an unticked 'Block this user from signing in'")
		}
		resp, _ := b.post("/admin/users/jan@example.org/sign-in-status", "/admin/users/jan@example.org/sign-in-status", url.Values{"blocked": {"on"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("block: %d", resp.StatusCode)
		}
		if resp, _ := jan.do("GET", "/myaccount", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatal("the blocked user's open session still works")
		}
		if _, body := jan.login("jan@example.org", goodPassword, nil); testserver.ErrorCode(body) != "50057" {
			t.Fatalf("sign-in of the blocked user: code %s, want 50057", testserver.ErrorCode(body))
		}
		_, list := b.do("GET", "/admin/users?filter=blocked", nil)
		if listed(list)["jan@example.org"] != "blocked" {
			t.Fatal("the blocked user is not under Sign-in blocked")
		}
		resp, _ = b.post("/admin/users/jan@example.org/sign-in-status", "/admin/users/jan@example.org/sign-in-status", nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("unblock: %d", resp.StatusCode)
		}
		if resp, body := jan.login("jan@example.org", goodPassword, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in after unblock: code %s", testserver.ErrorCode(body))
		}
		if evs := audited(t, in.dir, portier.ActionBlock, "jan@example.org"); len(evs) != 1 || evs[0].Outcome != portier.OutcomeSuccess {
			t.Fatalf("audit of the block: %+v", evs)
		}
	})
}

func TestAddUserShowsGeneratedPasswordOnce(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "useradmin@example.org", "User Admin", portier.RoleUserAdmin)
		b := signedIn(t, in, "useradmin@example.org")

		_, page := b.do("GET", "/admin/users/new", nil)
		if !strings.Contains(page, `value="user-admin"`) || strings.Contains(page, `value="global-admin"`) {
			t.Fatal("the Add user page offers the wrong roles to a user admin")
		}
		resp, body := b.post("/admin/users/new", "/admin/users/new", url.Values{"upn": {"New.Person@Example.org"}, "display_name": {"New Person"},
			"role": {"helpdesk-admin"}, "mode": {"generate"}, "force_change": {"on"}})
		m := regexp.MustCompile(`id="generated-password" type="text" value="([^"]+)"`).FindStringSubmatch(body)
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("add user: status %d, no generated password", resp.StatusCode)
		}
		u, err := in.dir.User(context.Background(), "new.person@example.org")
		if err != nil || !u.HasRole(portier.RoleHelpdeskAdmin) || !u.PasswordProfile.ForceChangePasswordNextSignIn {
			t.Fatalf("created user: %+v, %v", u, err)
		}
		if resp, _ := newBrowser(t, in.srv.URL).login("new.person@example.org", m[1], nil); !strings.HasPrefix(resp.Header.Get("Location"), "/change-password") {
			t.Fatal("the new user does not have to change the generated password")
		}
		resp, body = b.post("/admin/users/new", "/admin/users/new", url.Values{"upn": {"new.person@example.org"}, "display_name": {"Again"}, "mode": {"generate"}})
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `value="new.person@example.org"`) {
			t.Fatalf("taken UPN: status %d, want 409 with the form kept", resp.StatusCode)
		}
		resp, _ = b.post("/admin/users/new", "/admin/users/new", url.Values{"upn": {"boss2@example.org"}, "display_name": {"Boss"}, "role": {"global-admin"}, "mode": {"generate"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("user admin creating a global admin: %d, want 403", resp.StatusCode)
		}
		if _, err := in.dir.User(context.Background(), "boss2@example.org"); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatal("the refused user was created")
		}
	})
}

func TestSettingsChangeTakesEffect(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		addUser(t, in.dir, "useradmin@example.org", "User Admin", portier.RoleUserAdmin)
		addUser(t, in.dir, "target@example.org", "Target")
		b := signedIn(t, in, "boss@example.org")

		_, page := b.do("GET", "/admin/settings", nil)
		form := url.Values{}
		for _, m := range regexp.MustCompile(`<input id="[^"]+" name="([^"]+)" type="(?:text|number)"(?: min="\d+")?(?: max="\d+")? value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
			form.Set(m[1], m[2])
		}
		if form.Get("lockout_threshold") != "10" || form.Get("lockout_duration") != "1m" || form.Get("admin_session_idle") != "30m" || len(form) != 12 { // 11, and the multi-factor remember days
			t.Fatalf("settings form values: %v", form)
		}
		form.Set("default_language", "en")
		// The self-service reset fieldset: selects and checkboxes, as the browser sends them.
		form.Set("sspr_scope", "non-admins")
		form.Set("sspr_methods_required", "2")
		form.Set("sspr_email", "on")
		form.Set("sspr_totp", "on")
		form.Set("lockout_email", "on")
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("lockout_duration", "a while")
		if resp, body := b.post("/admin/settings", "/admin/settings", bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "First lockout duration") {
			t.Fatalf("unreadable duration: status %d", resp.StatusCode)
		}
		form.Set("lockout_threshold", "3")
		if resp, _ := b.post("/admin/settings", "/admin/settings", form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("save settings: %d", resp.StatusCode)
		}
		st := testenv.Must(in.dir.Settings(context.Background()))(t)
		if st.Lockout.Threshold != 3 || st.Lockout.Duration != time.Minute || st.AdminSessionIdle != 30*time.Minute {
			t.Fatalf("settings after save: %+v", st)
		}
		if st.Reset.Scope != portier.ResetNonAdmins || st.Reset.MethodsRequired != 2 || st.Reset.AllowUnlock || !st.LockoutEmail || st.Reset.NotifyUser {
			t.Fatalf("self-service settings after save: %+v (lockout email %v)", st.Reset, st.LockoutEmail)
		}
		stranger := newBrowser(t, in.srv.URL)
		var body string
		for i := 0; i < 3; i++ {
			_, body = stranger.login("target@example.org", fmt.Sprintf("wrong guess %d", i), nil)
		}
		if testserver.ErrorCode(body) != "50053" {
			t.Fatalf("after 3 wrong passwords with threshold 3: code %s, want 50053", testserver.ErrorCode(body))
		}

		ua := signedIn(t, in, "useradmin@example.org")
		if resp, _ := ua.do("GET", "/admin/settings", nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("user admin GET settings: %d, want 403", resp.StatusCode)
		}
		form.Set("lockout_threshold", "50")
		if resp, _ := ua.post("/myaccount", "/admin/settings", form); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("user admin POST settings: %d, want 403", resp.StatusCode)
		}
		if st := testenv.Must(in.dir.Settings(context.Background()))(t); st.Lockout.Threshold != 3 {
			t.Fatal("a user admin changed the settings")
		}
		evs := audited(t, in.dir, portier.ActionEditSettings, "settings")
		if len(evs) != 3 || evs[0].Outcome != portier.OutcomeRefused || evs[1].Outcome != portier.OutcomeSuccess || evs[2].Outcome != portier.OutcomeFailure {
			t.Fatalf("settings audit: %+v", evs)
		}
	})
}

func TestAdminCenterInDutch(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "useradmin@example.org", "Beheerder", portier.RoleUserAdmin)
		addUser(t, in.dir, "els@example.org", "Els Visser")
		lock(t, in, "els@example.org")
		b := signedIn(t, in, "useradmin@example.org")
		b.lang = "nl-NL,nl;q=0.9"

		_, list := b.do("GET", "/admin/users", nil)
		for _, want := range []string{`lang="nl"`, "Gebruikers", "Actieve gebruikers", "Vergrendeld tot", "Weergavenaam"} {
			if !strings.Contains(list, want) {
				t.Errorf("Active users in Dutch lacks %q", want)
			}
		}
		_, details := b.do("GET", "/admin/users/els@example.org", nil)
		for _, want := range []string{"Wachtwoord opnieuw instellen", "Meer acties", "Aanmeldstatus bewerken", "Ontgrendelen", "Onbekende browser"} {
			if !strings.Contains(details, want) {
				t.Errorf("user details in Dutch lack %q", want)
			}
		}
		_, status := b.do("GET", "/admin/users/els@example.org/sign-in-status", nil)
		if !strings.Contains(status, "Deze gebruiker blokkeren voor aanmelden") {
			t.Error("the sign-in status page is not in Dutch")
		}
	})
}

func TestLocaleCataloguesHaveTheSameKeys(t *testing.T) {
	keys := func(lang string) map[string]string {
		paths := testenv.Must(filepath.Glob("locales/*" + lang + ".json"))(t)
		m := map[string]string{}
		for _, path := range paths {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			part := map[string]string{}
			if err := json.Unmarshal(raw, &part); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					t.Errorf("%s: %s is in two %s catalogues", path, k, lang)
				}
				m[k] = v
			}
		}
		return m
	}
	en, nl := keys("en"), keys("nl")
	for k := range en {
		if _, ok := nl[k]; !ok {
			t.Errorf("%s is in en.json, not in nl.json", k)
		}
	}
	for k := range nl {
		if _, ok := en[k]; !ok {
			t.Errorf("%s is in nl.json, not in en.json", k)
		}
	}
	for k, want := range map[string]string{"admin.nav.users": "Gebruikers", "admin.nav.activeusers": "Actieve gebruikers",
		"admin.reset.title": "Wachtwoord opnieuw instellen", "admin.more": "Meer acties", "admin.status.title": "Aanmeldstatus bewerken"} {
		if nl[k] != want {
			t.Errorf("nl %s = %q, want the contract's %q", k, nl[k], want)
		}
	}
}

func TestLogExportsAreCSV(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		addUser(t, in.dir, "csv@example.org", "Cee Ess Vee")
		// A typed user name is the attacker's to choose: a spreadsheet must not run it.
		newBrowser(t, in.srv.URL).login("=sum(a1)@example.org", "wrong password here", nil)
		newBrowser(t, in.srv.URL).login("csv@example.org", "wrong password here", nil)
		b := signedIn(t, in, "boss@example.org")
		testenv.NoErr(t, in.rec.Flush(context.Background()))
		b.post("/admin/users/csv@example.org", "/admin/users/csv@example.org/unlock", nil)

		parse := func(path string) [][]string {
			t.Helper()
			resp, body := b.do("GET", path, nil)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("%s: status %d type %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			records, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if err != nil {
				t.Fatalf("%s does not parse as CSV: %v", path, err)
			}
			return records
		}
		signins := parse("/admin/signins?format=csv")
		if len(signins) != 4 || signins[0][0] != "createdDateTime" || signins[0][4] != "errorCode" {
			t.Fatalf("sign-ins CSV: %v", signins)
		}
		var codes, names []string
		for _, rec := range signins[1:] {
			codes, names = append(codes, rec[4]), append(names, rec[1])
		}
		slices.Sort(codes)
		if !slices.Equal(codes, []string{"0", "50126", "50126"}) || !slices.Contains(names, "'=sum(a1)@example.org") {
			t.Fatalf("sign-ins CSV codes %v names %v", codes, names)
		}
		if only := parse("/admin/signins?format=csv&code=50126&user=csv@example.org"); len(only) != 2 || only[1][1] != "csv@example.org" {
			t.Fatalf("filtered sign-ins CSV: %v", only)
		}
		audit := parse("/admin/audit?format=csv")
		if audit[0][0] != "activityDateTime" || len(audit) != 4 {
			t.Fatalf("audit CSV: %v", audit)
		}
		if unlock := parse("/admin/audit?format=csv&action=user.unlock&actor=boss@example.org"); len(unlock) != 2 || unlock[1][3] != "user.unlock" || unlock[1][1] != "boss@example.org" {
			t.Fatalf("filtered audit CSV: %v", unlock)
		}
		if resp, _ := b.do("GET", "/admin/signins?code=abc", nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("unreadable code filter: %d, want 400", resp.StatusCode)
		}
	})
}
