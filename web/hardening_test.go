package web_test

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/signin"
)

// Issue 10 item 1: a NUL byte in a sign-in name, with or without a CSRF token, is bad input
// (400, 90100) at the edge, and the sign-in log keeps the attempt escaped, so the log goes on
// being written on PostgreSQL.
func TestNULInLoginIsBadRequest(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		createUser(t, in.dir, "nul@example.org", false)
		b := newBrowser(t, in.srv.URL)
		before := testutil.ToFloat64(in.m.PasswordVerifications)
		for name, form := range map[string]url.Values{
			"NUL, empty password": {"username": {"nul\x00@example.org"}, "password": {""}, "csrf_token": {b.token("/login")}},
			"NUL, a password":     {"username": {"nul@example.org\x00"}, "password": {goodPassword}, "csrf_token": {b.token("/login")}},
			"escape character":    {"username": {"nul@example.org\x1b[2J"}, "password": {goodPassword}, "csrf_token": {b.token("/login")}},
			"NUL in return_to":    {"username": {"nul@example.org"}, "password": {goodPassword}, "return_to": {"/myaccount\x00"}, "csrf_token": {b.token("/login")}},
			"no CSRF token":       {"username": {"csrf\x00@example.org"}, "password": {""}},
		} {
			resp, body := b.do("POST", "/login", form)
			if resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(body) != "90100" {
				t.Errorf("%s: status %d code %s, want 400 and 90100", name, resp.StatusCode, testserver.ErrorCode(body))
			}
			if resp.Header.Get("Location") != "" || len(resp.Cookies()) > 1 {
				t.Errorf("%s: signed in anyway", name)
			}
		}
		if testutil.ToFloat64(in.m.PasswordVerifications) != before {
			t.Fatal("a name with a control character got a password hash")
		}
		if err := in.rec.Flush(context.Background()); err != nil {
			t.Fatalf("the sign-in log cannot be written after NUL names: %v", err)
		}
		for _, want := range []string{`"nul\x00@example.org"`, `"csrf\x00@example.org"`} {
			if got := testenv.Must(store.ListSignIns(context.Background(), portier.SignInFilter{Username: want}))(t); len(got) != 1 || got[0].Code != portier.CodeBadRequest {
				t.Fatalf("sign-in log entries for %s: %d, want one 90100", want, len(got))
			}
		}
		// The log is not wedged: a sign-in after them is written.
		if resp, _ := b.login("nul@example.org", goodPassword, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("right password after the NUL names: status %d", resp.StatusCode)
		}
		if err := in.rec.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := testenv.Must(store.ListSignIns(context.Background(), portier.SignInFilter{Username: "nul@example.org", Code: ptr(portier.CodeSuccess)}))(t); len(got) != 1 {
			t.Fatalf("the success after the NUL names is not in the log: %d", len(got))
		}
	})
}

// Issue 10 item 1: a NUL byte (or invalid UTF-8) in the admin center's searches and filters is
// bad input (400, 90100), not a store error (503 on PostgreSQL).
func TestControlCharactersInAdminQueriesAreBadRequests(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "root@example.org", "Root", portier.RoleGlobalAdmin)
		b := signedIn(t, in, "root@example.org")
		for _, path := range []string{
			"/admin/users?q=%00", "/admin/users?q=r%00oot", "/admin/users?after=%00", "/admin/users?q=%FF",
			"/admin/signins?user=%00", "/admin/signins?source=%00", "/admin/audit?actor=%00",
			"/admin/users/root%00@example.org",
		} {
			resp, body := b.do("GET", path, nil)
			if resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(body) != "90100" {
				t.Errorf("GET %s: status %d code %s, want 400 and 90100", path, resp.StatusCode, testserver.ErrorCode(body))
			}
		}
		// Plain text and a textarea's line breaks still pass.
		if resp, _ := b.do("GET", "/admin/users?q=root", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("plain search: status %d", resp.StatusCode)
		}
		resp, body := b.post("/admin/apps/new", "/admin/apps/new", url.Values{"name": {"Wiki"}, "redirect_uris": {"https://wiki.example.org/cb\r\nhttps://wiki.example.org/cb2"}})
		if resp.StatusCode != http.StatusOK || testserver.ErrorCode(body) != "" {
			t.Fatalf("an application with two redirect URIs on two lines: status %d code %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		if resp, body := b.post("/admin/apps/new", "/admin/apps/new", url.Values{"name": {"Wi\x00ki"}, "redirect_uris": {"https://wiki.example.org/cb"}}); resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(body) != "90100" {
			t.Fatalf("an application name with NUL: status %d code %s", resp.StatusCode, testserver.ErrorCode(body))
		}
	})
}

// Issue 10 item 16: a sign-in that waited in vain for the checks in flight is answered 503
// with Retry-After and 99503, not 50053, and nothing of it is remembered.
func TestBusySignInIs503WithRetryAfter(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		clock := testenv.NewClock()
		in := newInstanceWith(t, store, clock, signin.Config{SaturatedWait: 50 * time.Millisecond})
		createUser(t, in.dir, "stall@example.org", false)
		u := testenv.Must(in.dir.User(ctx, "stall@example.org"))(t)
		inFlight := lockout.State{Failures: 10, LastFailure: clock.Now()}
		if err := store.Tx(ctx, func(tx portier.Tx) error { return tx.PutLockout(ctx, u.ID, "", inFlight) }); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, in.srv.URL)
		resp, body := b.login("stall@example.org", goodPassword, nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || testserver.ErrorCode(body) != "99503" {
			t.Fatalf("busy sign-in: status %d Retry-After %q code %s, want 503, a Retry-After and 99503", resp.StatusCode, resp.Header.Get("Retry-After"), testserver.ErrorCode(body))
		}
		if err := store.Tx(ctx, func(tx portier.Tx) error { return tx.PutLockout(ctx, u.ID, "", lockout.State{}) }); err != nil {
			t.Fatal(err)
		}
		if resp, body := b.login("stall@example.org", goodPassword, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after the stall: status %d code %s, want a sign-in", resp.StatusCode, testserver.ErrorCode(body))
		}
	})
}

// Issue 10 item 9: when the session cannot be written the user gets one 503 page and nothing
// else: no cookie, no redirect, no last sign-in time.
func TestLoginWhoseSessionCannotBeWrittenIsOne503(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		faults := testenv.NewFaults(store)
		in := newInstance(t, faults, testenv.NewClock())
		createUser(t, in.dir, "fail@example.org", false)
		b := newBrowser(t, in.srv.URL)
		b.lang = "nl"
		faults.FailWhen(func(method, _ string) error {
			if method == "InsertSession" {
				return testenv.Unavailable()
			}
			return nil
		})
		resp, body := b.login("fail@example.org", goodPassword, nil)
		faults.FailWhen(nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
			t.Fatalf("status %d location %q, want one 503 page", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, c := range resp.Cookies() {
			if c.Name == "portier_session" || c.Name == "portier_device" {
				t.Fatalf("cookie %s set by a failed sign-in", c.Name)
			}
		}
		if strings.Count(body, "</html>") != 1 {
			t.Fatal("the answer is not one page")
		}
		u := testenv.Must(in.dir.User(ctx, "fail@example.org"))(t)
		sessions := testenv.Must(store.ListSessions(ctx, u.ID))(t)
		if u.LastSignIn != nil || u.Language == "nl" || len(sessions) != 0 {
			t.Fatalf("a failed sign-in left last sign-in %v, language %q, %d sessions", u.LastSignIn, u.Language, len(sessions))
		}
		if resp, _ := b.login("fail@example.org", goodPassword, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in once the store works: status %d", resp.StatusCode)
		}
		u = testenv.Must(in.dir.User(ctx, "fail@example.org"))(t)
		if u.LastSignIn == nil || u.Language != "nl" {
			t.Fatalf("after the sign-in: last sign-in %v language %q", u.LastSignIn, u.Language)
		}
	})
}

// The sign-in form shown again after a wrong password is rendered once and kept (renderCached);
// each answer puts its own typed name in it, escaped: markup in a name stays text, and two
// answers in a row do not mix their names.
func TestCachedLoginPageEscapesEachTypedName(t *testing.T) {
	in := newInstance(t, testenv.Backends()[0].Open(t), testenv.NewClock())
	b := newBrowser(t, in.srv.URL)
	for _, name := range []string{`"><script>alert(1)</script>@example.org`, `a&b'c@example.org`, "plain@example.org"} {
		_, body := b.do("POST", "/login", url.Values{"username": {name}, "password": {"wrong"}, "csrf_token": {b.token("/login")}})
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "portierusernamemark") {
			t.Fatalf("%q: the page holds the name unescaped, or the mark", name)
		}
		if want := `value="` + template.HTMLEscapeString(name) + `"`; !strings.Contains(body, want) {
			t.Fatalf("%q: the page does not hold %s", name, want)
		}
	}
}
