package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// setupForm fills the setup form for a first admin.
func setupForm(b *browser, token, upn, pw, confirm string) url.Values {
	b.T.Helper()
	return url.Values{"csrf_token": {b.token("/setup?token=" + url.QueryEscape(token))}, "token": {token},
		"username": {upn}, "display_name": {"First Admin"}, "password": {pw}, "confirm_password": {confirm}}
}

func issueSetup(t *testing.T, dir *directory.Service) string {
	t.Helper()
	token, _, err := dir.IssueSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestSetupLinkCreatesTheFirstAdminOnce(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		token := issueSetup(t, in.dir)

		b := newBrowser(t, in.srv.URL)
		b.lang = "nl"
		if resp, body := b.do("GET", "/setup?token="+token, nil); resp.StatusCode != 200 || !setupContains(body, "Portier instellen", `name="token"`) {
			t.Fatalf("GET /setup in Dutch: %d", resp.StatusCode)
		}
		b.lang = ""

		// Refusals before the right use leave the token usable.
		if resp, body := b.do("POST", "/setup", setupForm(b, token, "root@example.org", goodPassword, "something else entirely")); resp.StatusCode != 400 || testserver.ErrorCode(body) != "90100" {
			t.Fatalf("mismatched passwords: %d %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		if resp, body := b.do("POST", "/setup", setupForm(b, token, "root@example.org", "short", "short")); resp.StatusCode != 400 || !setupContains(body, "at least 15") {
			t.Fatalf("short password: %d", resp.StatusCode)
		}

		resp, _ := b.do("POST", "/setup", setupForm(b, token, "Root@Example.org", goodPassword, goodPassword))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
			t.Fatalf("setup: status %d location %q, want 303 to /admin", resp.StatusCode, resp.Header.Get("Location"))
		}
		// Signed in: the session cookie opens /myaccount.
		if resp, body := b.do("GET", "/myaccount", nil); resp.StatusCode != 200 || !setupContains(body, "root@example.org") {
			t.Fatalf("/myaccount after setup: %d", resp.StatusCode)
		}
		u, err := in.dir.User(ctx, "root@example.org")
		if err != nil || !u.HasRole(portier.RoleGlobalAdmin) || u.DisplayName != "First Admin" || u.PasswordProfile.ForceChangePasswordNextSignIn {
			t.Fatalf("first admin %+v (%v)", u, err)
		}
		// The setup signed the admin in: their first sign-in is not "never".
		if u.LastSignIn == nil || !u.LastSignIn.Equal(clock.Now()) {
			t.Fatalf("first admin's last sign-in %v, want the setup's time", u.LastSignIn)
		}
		ev := setupLastAudit(t, store)
		if ev.Actor != "setup" || ev.Action != portier.ActionCreate || ev.Outcome != portier.OutcomeSuccess || ev.TargetID != u.ID {
			t.Fatalf("audit entry %+v, want a successful create by setup", ev)
		}

		// The page is gone, and the token with it: the same link or another one is 404.
		other := newBrowser(t, in.srv.URL)
		if resp, _ := other.do("GET", "/setup?token="+token, nil); resp.StatusCode != 404 {
			t.Fatalf("GET /setup after setup: %d, want 404", resp.StatusCode)
		}
		form := url.Values{"csrf_token": {other.token("/login")}, "token": {token}, "username": {"second@example.org"},
			"display_name": {"Second"}, "password": {goodPassword}, "confirm_password": {goodPassword}}
		if resp, _ := other.do("POST", "/setup", form); resp.StatusCode != 404 {
			t.Fatalf("second use of the token: %d, want 404", resp.StatusCode)
		}
		if _, err := in.dir.User(ctx, "second@example.org"); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatalf("the second use created a user: %v", err)
		}
		if _, _, err := in.dir.IssueSetupToken(ctx); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatalf("a token issued for a directory with users: %v", err)
		}
	})
}

func TestSetupRefusesWrongAndExpiredTokens(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		token := issueSetup(t, in.dir)
		b := newBrowser(t, in.srv.URL)

		for _, wrong := range []string{"", "not-the-token", token[:len(token)-1] + "x"} {
			if resp, body := b.do("GET", "/setup?token="+url.QueryEscape(wrong), nil); resp.StatusCode != 403 || setupContains(body, `name="token"`) {
				t.Fatalf("GET with token %q: %d, want 403 without a form", wrong, resp.StatusCode)
			}
		}
		form := url.Values{"csrf_token": {b.token("/login")}, "token": {"not-the-token"}, "username": {"x@example.org"},
			"display_name": {"X"}, "password": {goodPassword}, "confirm_password": {goodPassword}}
		if resp, _ := b.do("POST", "/setup", form); resp.StatusCode != 403 {
			t.Fatalf("POST with a wrong token: %d, want 403", resp.StatusCode)
		}

		clock.Advance(directory.SetupTokenLifetime - time.Second)
		if resp, _ := b.do("GET", "/setup?token="+token, nil); resp.StatusCode != 200 {
			t.Fatalf("token just before its expiry: %d, want 200", resp.StatusCode)
		}
		form = setupForm(b, token, "late@example.org", goodPassword, goodPassword)
		clock.Advance(time.Second)
		if resp, _ := b.do("POST", "/setup", form); resp.StatusCode != 403 {
			t.Fatalf("POST with an expired token: %d, want 403", resp.StatusCode)
		}
		if n := testenv.Must(in.dir.CountUsers(context.Background(), portier.UserFilter{}))(t); n != 0 {
			t.Fatalf("%d users after refused setups, want 0", n)
		}
	})
}

// TestSetupParallelUsesCreateOneAdmin sends many setups at once, with the tokens of two
// processes sharing a store, to both processes: exactly one creates an admin.
func TestSetupParallelUsesCreateOneAdmin(t *testing.T) {
	for _, backend := range testenv.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			open := backend.OpenShared(t)
			clock := testenv.NewClock()
			procs := []*instance{newInstance(t, open(), clock), newInstance(t, open(), clock)}
			tokens := []string{issueSetup(t, procs[0].dir), issueSetup(t, procs[1].dir)}

			// A token printed by one process works on the other.
			b := newBrowser(t, procs[1].srv.URL)
			if resp, _ := b.do("GET", "/setup?token="+tokens[0], nil); resp.StatusCode != 200 {
				t.Fatalf("process 2 refuses the token of process 1: %d", resp.StatusCode)
			}

			const n = 12
			forms := make([]url.Values, n)
			browsers := make([]*browser, n)
			for i := range n {
				browsers[i] = newBrowser(t, procs[i%2].srv.URL)
				forms[i] = setupForm(browsers[i], tokens[(i/2)%2], "admin"+string(rune('a'+i))+"@example.org", goodPassword, goodPassword)
			}
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					status, err := setupPost(browsers[i], "/setup", forms[i])
					if err != nil {
						t.Errorf("POST /setup: %v", err)
					}
					statuses[i] = status
				}()
			}
			wg.Wait()
			created := 0
			for _, s := range statuses {
				if s == http.StatusSeeOther {
					created++
				} else if s != http.StatusNotFound {
					t.Errorf("a parallel setup answered %d, want 303 or 404", s)
				}
			}
			count, err := procs[0].dir.CountUsers(context.Background(), portier.UserFilter{})
			if created != 1 || count != 1 || err != nil {
				t.Fatalf("%d setups succeeded and %d users exist (%v), want 1 and 1; statuses %v", created, count, err, statuses)
			}
		})
	}
}

func setupContains(body string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(body, p) {
			return false
		}
	}
	return true
}

func setupLastAudit(t *testing.T, store portier.Store) *portier.AuditEvent {
	t.Helper()
	events, err := store.ListAudit(context.Background(), portier.AuditFilter{Limit: 1})
	if err != nil || len(events) == 0 {
		t.Fatalf("ListAudit: %v", err)
	}
	return events[0]
}

// setupPost sends a form without failing the test itself, for use off the test's goroutine.
func setupPost(b *browser, path string, form url.Values) (int, error) {
	req, err := http.NewRequest("POST", b.Base.String()+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.Client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
