package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
)

// bulkResults reads the results table of a bulk action: UPN -> outcome.
func bulkResults(body string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`data-bulk-result="([^"]+)" data-outcome="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestBulkActionsCheckEachUser: a helpdesk admin ticks a plain user, a user admin, a global
// admin and a name that is no user on Active users and asks to unlock them, then to block them.
// The confirm step changes nothing; then each user is checked against the helpdesk role on
// its own: the plain user is unlocked, the admins are refused (and the refusal audited per
// user), the unknown name is reported; blocking is refused for all, as helpdesk may not block.
// A user admin then blocks the plain user and the user admin; a forged CSRF token changes nothing.
func TestBulkActionsCheckEachUser(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "help@example.org", "Help Desk", portier.RoleHelpdeskAdmin)
		addUser(t, in.dir, "ua@example.org", "User Admin", portier.RoleUserAdmin)
		addUser(t, in.dir, "ga@example.org", "Global Admin", portier.RoleGlobalAdmin)
		addUser(t, in.dir, "ua2@example.org", "Second User Admin", portier.RoleUserAdmin)
		addUser(t, in.dir, "anna@example.org", "Anna Jansen")
		lock(t, in, "anna@example.org")
		lock(t, in, "ua@example.org")
		help := signedIn(t, in, "help@example.org")
		ctx := context.Background()

		_, list := help.do("GET", "/admin/users", nil)
		for _, upn := range []string{"anna@example.org", "ua@example.org", "ga@example.org"} {
			if !strings.Contains(list, `data-select="`+upn+`"`) {
				t.Fatalf("Active users offers no checkbox for %s", upn)
			}
		}
		picked := url.Values{"action": {"unlock"}, "upn": {"anna@example.org", "ua@example.org", "ga@example.org", "ghost@example.org"}}

		// The first post only asks to confirm.
		resp, confirm := help.post("/admin/users", "/admin/users/bulk", picked)
		if resp.StatusCode != http.StatusOK || !strings.Contains(confirm, `data-bulk-users="4"`) || !strings.Contains(confirm, `data-action="bulk-confirm"`) {
			t.Fatalf("confirm step: status %d", resp.StatusCode)
		}
		if u, _ := in.dir.User(ctx, "anna@example.org"); !u.Lockout.Locked {
			t.Fatal("the confirm step unlocked anna")
		}

		confirmed := url.Values{"action": {"unlock"}, "confirm": {"yes"}, "upn": picked["upn"]}
		_, body := help.post("/admin/users", "/admin/users/bulk", confirmed)
		want := map[string]string{"anna@example.org": "done", "ua@example.org": "refused", "ga@example.org": "refused", "ghost@example.org": "not-found"}
		if got := bulkResults(body); !mapsEqual(got, want) {
			t.Fatalf("unlock results %v, want %v", got, want)
		}
		if !strings.Contains(body, `data-bulk-done="1"`) || !strings.Contains(body, "Unlocked 1 of 4 users.") {
			t.Fatal("the results do not sum up")
		}
		if u, _ := in.dir.User(ctx, "anna@example.org"); u.Lockout.Locked {
			t.Fatal("anna is still locked")
		}
		if u, _ := in.dir.User(ctx, "ua@example.org"); !u.Lockout.Locked {
			t.Fatal("a helpdesk admin unlocked a user admin")
		}
		events, err := in.dir.ListAudit(ctx, portier.AuditFilter{Actor: "help@example.org", Action: portier.ActionUnlock})
		testenv.NoErr(t, err)
		outcomes := map[string]string{}
		for _, e := range events {
			outcomes[e.Target] = e.Outcome
		}
		if outcomes["anna@example.org"] != portier.OutcomeSuccess || outcomes["ua@example.org"] != portier.OutcomeRefused || outcomes["ga@example.org"] != portier.OutcomeRefused {
			t.Fatalf("audit of the bulk unlock, per user: %v", outcomes)
		}

		// Helpdesk may not block anyone.
		_, body = help.post("/admin/users", "/admin/users/bulk", url.Values{"action": {"block"}, "confirm": {"yes"}, "upn": {"anna@example.org", "ua@example.org"}})
		if got := bulkResults(body); got["anna@example.org"] != "refused" || got["ua@example.org"] != "refused" {
			t.Fatalf("helpdesk block results: %v", got)
		}

		// A user admin may block a plain user and another user admin, not a global admin.
		uadmin := signedIn(t, in, "ua2@example.org")
		_, body = uadmin.post("/admin/users", "/admin/users/bulk", url.Values{"action": {"block"}, "confirm": {"yes"}, "upn": {"anna@example.org", "ga@example.org", "help@example.org"}})
		want = map[string]string{"anna@example.org": "done", "ga@example.org": "refused", "help@example.org": "done"}
		if got := bulkResults(body); !mapsEqual(got, want) {
			t.Fatalf("user admin block results %v, want %v", got, want)
		}
		if u, _ := in.dir.User(ctx, "anna@example.org"); u.AccountEnabled {
			t.Fatal("anna is not blocked")
		}

		// Bad input changes nothing: no users, an unknown action, a forged token.
		for _, form := range []url.Values{
			{"action": {"revoke-sessions"}, "confirm": {"yes"}},
			{"action": {"delete"}, "confirm": {"yes"}, "upn": {"ga@example.org"}},
		} {
			if resp, _ := uadmin.post("/admin/users", "/admin/users/bulk", form); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("bulk %v: status %d, want 400", form, resp.StatusCode)
			}
		}
		forged := uadmin.Request("POST", "/admin/users/bulk", url.Values{"action": {"block"}, "confirm": {"yes"}, "upn": {"ga@example.org"}, "csrf_token": {"forged"}})
		if resp, _, err := uadmin.Send(forged); err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged CSRF token: %v %v", resp.StatusCode, err)
		}
		if u, _ := in.dir.User(ctx, "ga@example.org"); !u.AccountEnabled {
			t.Fatal("the global admin was blocked")
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
