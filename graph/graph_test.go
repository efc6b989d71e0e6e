package graph_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

const newPassword = "violet elephants juggle quietly"

// TestUnlockProcedure replays the administrator's unlock procedure as a Graph script does it,
// on both stores, through the real HTTP surface: create the user, lock them by wrong passwords
// at /login, read why from auditLogs/signIns, reset the password, block and unblock, sign them
// out everywhere, read directoryAudits, delete; asserting the wire shapes of the specification.
func TestUnlockProcedure(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{})
		script := register(t, in, "Unlock script", portier.AppPermissions...)
		c := newClient(t, in, token(t, in, script, graphScope))
		base := in.URL

		// 1. Create the user, as the SDK sends it (gzipped, @odata.type, keys in order).
		created := c.do("POST", "/v1.0/users", map[string]any{
			"@odata.type": "#microsoft.graph.user", "accountEnabled": true, "displayName": "Alice", "mailNickname": "alice",
			"passwordProfile":   map[string]any{"forceChangePasswordNextSignIn": false, "password": testserver.Password},
			"userPrincipalName": "alice@example.com",
		}).want(t, "create", http.StatusCreated)
		wantKeys := []string{"@odata.context", "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
			"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}
		if got := keys(created.body); len(got) != len(wantKeys) || !containsAll(got, wantKeys) {
			t.Fatalf("created user has %v, want Graph's default property set %v (no accountEnabled, no passwordProfile)", got, wantKeys)
		}
		if created.body["@odata.context"] != base+"/v1.0/$metadata#users/$entity" || created.body["displayName"] != "Alice" ||
			created.body["givenName"] != nil || len(created.body["businessPhones"].([]any)) != 0 {
			t.Fatalf("created user: %s", created.raw)
		}
		if !strings.HasPrefix(created.raw, `{"@odata.context"`) || !strings.Contains(created.raw, `"userPrincipalName":"alice@example.com","id":`) {
			t.Fatalf("created user is not in Graph's property order: %s", created.raw)
		}
		id := created.body["id"].(string)
		if created.header.Get("Location") != base+"/v1.0/users/"+id || created.header.Get("client-request-id") == "" || created.header.Get("request-id") == "" {
			t.Fatalf("create headers: %v", created.header)
		}
		c.do("POST", "/v1.0/users", map[string]any{"@odata.type": "#microsoft.graph.user", "accountEnabled": true, "displayName": "Alice again",
			"mailNickname": "alice", "passwordProfile": map[string]any{"password": testserver.Password}, "userPrincipalName": "Alice@Example.com",
		}).want(t, "duplicate UPN", http.StatusBadRequest, "Request_BadRequest", "already exists")
		for _, upn := range []string{"albert@example.com", "alma@example.com", "bob@example.com"} {
			in.CreateUser(t, newUser(upn))
		}

		// 2, 3. Find users by prefix, two at a time, following @odata.nextLink verbatim.
		list := "/v1.0/users?$filter=startswith%28userPrincipalName%2C%27al%27%29&$select=id,displayName,userPrincipalName,accountEnabled&$top=2"
		page := c.do("GET", list, nil).want(t, "list", http.StatusOK)
		if page.body["@odata.context"] != base+"/v1.0/$metadata#users(id,displayName,userPrincipalName,accountEnabled)" {
			t.Fatalf("list context: %v", page.body["@odata.context"])
		}
		var upns []string
		for pages := 0; ; pages++ {
			for _, u := range page.values() {
				if len(u) != 4 || u["accountEnabled"] != true {
					t.Fatalf("listed user %v: want exactly the 4 selected properties", u)
				}
				upns = append(upns, u["userPrincipalName"].(string))
			}
			next, ok := page.body["@odata.nextLink"].(string)
			if !ok {
				break
			}
			if !strings.HasPrefix(next, base+"/v1.0/users?$filter=startswith%28userPrincipalName%2C%27al%27%29&$select=id,displayName,userPrincipalName,accountEnabled&$top=2&$skiptoken=") {
				t.Fatalf("nextLink %s", next)
			}
			if len(page.values()) != 2 || pages > 3 {
				t.Fatalf("a page with a nextLink has %d users", len(page.values()))
			}
			page = c.do("GET", next, nil).want(t, "next page", http.StatusOK)
		}
		if !slices.Equal(upns, []string{"albert@example.com", "alice@example.com", "alma@example.com"}) {
			t.Fatalf("listed %v", upns)
		}

		// 4, 5, 11. Get by id with $select, by UPN (percent-encoded, any case), and an unknown one.
		one := c.do("GET", "/v1.0/users/"+id+"?$select=id,displayName,userPrincipalName,mailNickname,accountEnabled", nil).want(t, "get by id", http.StatusOK)
		if len(one.body) != 6 || one.body["mailNickname"] != "alice" || one.body["accountEnabled"] != true {
			t.Fatalf("get by id: %s", one.raw)
		}
		byUPN := c.do("GET", "/v1.0/users/ALICE%40example.com", nil).want(t, "get by UPN", http.StatusOK)
		if byUPN.body["id"] != id || byUPN.body["accountEnabled"] != nil {
			t.Fatalf("get by UPN: %s", byUPN.raw)
		}
		c.do("GET", "/v1.0/users/nobody%40example.com", nil).want(t, "unknown user", http.StatusNotFound, "Request_ResourceNotFound", "Resource 'nobody@example.com' does not exist")

		// Lock Alice out at /login with distinct wrong passwords: the 10th (the threshold)
		// locks, and the right password is then answered 50053 too.
		b := testserver.NewBrowser(t, in.URL)
		for i := range 11 {
			pw, want := "wrong password number "+strconv.Itoa(i), "50126"
			switch i {
			case 9:
				want = "50053"
			case 10:
				pw, want = testserver.Password, "50053"
			}
			if _, page := b.Login("alice@example.com", pw); testserver.ErrorCode(page) != want {
				t.Fatalf("attempt %d: code %s, want %s", i+1, testserver.ErrorCode(page), want)
			}
		}
		in.FlushSignIns(t)
		lockout := c.do("GET", "/v1.0/users/"+id+"?$select=id,"+"portierLockout", nil).want(t, "lockout", http.StatusOK)
		if l := lockout.body["portierLockout"].(map[string]any); l["locked"] != true || l["lockedUntil"] == nil {
			t.Fatalf("portierLockout of a locked user: %v", l)
		}

		// 6. Read why from the sign-in log, newest first.
		signIns := c.do("GET", "/v1.0/auditLogs/signIns?"+filterQuery("userPrincipalName eq 'alice@example.com'")+"&$top=50", nil).want(t, "signIns", http.StatusOK)
		if signIns.body["@odata.context"] != base+"/v1.0/$metadata#auditLogs/signIns" {
			t.Fatalf("signIns context %v", signIns.body["@odata.context"])
		}
		entries := signIns.values()
		if len(entries) != 11 {
			t.Fatalf("%d sign-ins, want 11", len(entries))
		}
		for i, e := range entries {
			status := e["status"].(map[string]any)
			want := 50126.0
			if i <= 1 {
				want = 50053
			}
			if status["errorCode"] != want || !strings.Contains(status["failureReason"].(string), map[float64]string{50126: "Invalid username or password", 50053: "Account is locked"}[want]) {
				t.Fatalf("sign-in %d: %v", i, e)
			}
			for _, k := range []string{"id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appId", "appDisplayName",
				"ipAddress", "clientAppUsed", "correlationId", "conditionalAccessStatus", "isInteractive", "resourceDisplayName", "resourceId"} {
				if _, ok := e[k]; !ok {
					t.Fatalf("sign-in without %s: %v", k, e)
				}
			}
			if e["userId"] != id || e["userDisplayName"] != "Alice" || e["ipAddress"] != "127.0.0.1" {
				t.Fatalf("sign-in %d: %v", i, e)
			}
		}
		locked := c.do("GET", "/v1.0/auditLogs/signIns?"+filterQuery("status/errorCode eq 50053 and userId eq '"+id+"'"), nil).want(t, "signIns by code", http.StatusOK)
		if len(locked.values()) != 2 {
			t.Fatalf("signIns with 50053: %d", len(locked.values()))
		}

		// 7. Reset the password: a weak one is refused and changes nothing; a good one clears the lockout.
		c.do("PATCH", "/v1.0/users/"+id, map[string]any{"@odata.type": "#microsoft.graph.user",
			"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": true, "password": "password"}}).
			want(t, "weak password", http.StatusBadRequest, "Request_BadRequest", "password complexity requirements")
		if u := user(t, in, id); !u.LockoutState.Locked(in.Clock.Now()) {
			t.Fatal("a refused reset cleared the lockout")
		}
		reset := c.do("PATCH", "/v1.0/users/"+id, map[string]any{"@odata.type": "#microsoft.graph.user",
			"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": false, "password": newPassword}}).want(t, "reset", http.StatusNoContent)
		if reset.raw != "" {
			t.Fatalf("204 with a body: %s", reset.raw)
		}
		if u := user(t, in, id); u.LockoutState.Locked(in.Clock.Now()) || u.LockoutState.Failures != 0 {
			t.Fatalf("the reset left the lockout: %+v", u.LockoutState)
		}
		if resp, page := testserver.NewBrowser(t, in.URL).Login("alice@example.com", newPassword); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in with the new password: %d %s", resp.StatusCode, testserver.ErrorCode(page))
		}
		// The spec's form: forceChangePasswordNextSignIn true takes the user to change it.
		c.do("PATCH", "/v1.0/users/"+id, map[string]any{"@odata.type": "#microsoft.graph.user",
			"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": true, "password": newPassword + " twice"}}).want(t, "reset, forced change", http.StatusNoContent)
		if !user(t, in, id).PasswordProfile.ForceChangePasswordNextSignIn {
			t.Fatal("forceChangePasswordNextSignIn was not kept")
		}
		c.do("PATCH", "/v1.0/users/"+id, map[string]any{"@odata.type": "#microsoft.graph.user",
			"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": false, "password": newPassword}}).want(t, "reset", http.StatusNoContent)

		// 8. Block, then unblock.
		c.do("PATCH", "/v1.0/users/"+id, map[string]any{"@odata.type": "#microsoft.graph.user", "accountEnabled": false}).want(t, "block", http.StatusNoContent)
		st := c.do("GET", "/v1.0/users/"+id+"?$select=id,accountEnabled", nil).want(t, "status", http.StatusOK)
		if st.body["accountEnabled"] != false {
			t.Fatalf("after block: %s", st.raw)
		}
		if _, page := testserver.NewBrowser(t, in.URL).Login("alice@example.com", newPassword); testserver.ErrorCode(page) != "50057" {
			t.Fatalf("sign-in while blocked: code %s, want 50057", testserver.ErrorCode(page))
		}
		c.do("PATCH", "/v1.0/users/"+id, map[string]any{"@odata.type": "#microsoft.graph.user", "accountEnabled": true}).want(t, "unblock", http.StatusNoContent)
		session := signedIn(t, in, "alice@example.com", newPassword)

		// 9. Sign out everywhere: the session ends and signInSessionsValidFromDateTime moves.
		in.Clock.Advance(time.Minute)
		revoked := c.do("POST", "/v1.0/users/"+id+"/revokeSignInSessions", nil).want(t, "revoke", http.StatusOK)
		if revoked.raw != `{"@odata.context":"`+base+`/v1.0/$metadata#Edm.Boolean","value":true}`+"\n" {
			t.Fatalf("revoke: %q", revoked.raw)
		}
		valid := c.do("GET", "/v1.0/users/"+id+"?$select=signInSessionsValidFromDateTime", nil).want(t, "valid from", http.StatusOK)
		if valid.body["signInSessionsValidFromDateTime"] != in.Clock.Now().UTC().Format("2006-01-02T15:04:05Z") {
			t.Fatalf("signInSessionsValidFromDateTime = %v, want now", valid.body["signInSessionsValidFromDateTime"])
		}
		if resp, _ := session.Do("GET", "/myaccount", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("a session outlived revokeSignInSessions: status %d", resp.StatusCode)
		}

		// Unlock only: lock again, read the lock, clear it with portier.unlock.
		for i := range 10 {
			testserver.NewBrowser(t, in.URL).Login("alice@example.com", "another wrong one "+strconv.Itoa(i))
		}
		if !user(t, in, id).LockoutState.Locked(in.Clock.Now()) {
			t.Fatal("not locked again")
		}
		c.do("POST", "/v1.0/users/"+id+"/portier.unlock", nil).want(t, "unlock", http.StatusNoContent)
		if user(t, in, id).LockoutState.Locked(in.Clock.Now()) {
			t.Fatal("portier.unlock left the lock")
		}

		// 10. The directory audits of the user, newest first, the application as the actor.
		audits := c.do("GET", "/v1.0/auditLogs/directoryAudits?$filter=targetResources%2Fany%28t%3At%2Fid%20eq%20%27"+id+"%27%29&$top=50", nil).want(t, "audits", http.StatusOK)
		var names []string
		for _, ev := range audits.values() {
			names = append(names, ev["activityDisplayName"].(string))
			by := ev["initiatedBy"].(map[string]any)
			appBy, _ := by["app"].(map[string]any)
			if by["user"] != nil || appBy["appId"] != script.ID || appBy["displayName"] != "Unlock script" {
				t.Fatalf("initiatedBy %v, want the application", by)
			}
			target := ev["targetResources"].([]any)[0].(map[string]any)
			if target["id"] != id || target["type"] != "User" || target["userPrincipalName"] != "alice@example.com" {
				t.Fatalf("targetResources %v", target)
			}
			if ev["activityDisplayName"] == "Update user" && ev["result"] == "success" {
				mp := target["modifiedProperties"].([]any)[0].(map[string]any)
				if mp["displayName"] != "AccountEnabled" {
					t.Fatalf("Update user without AccountEnabled: %v", target)
				}
			}
			if ev["loggedByService"] != "Core Directory" || ev["category"] != "UserManagement" || !strings.HasPrefix(ev["id"].(string), "Directory_") {
				t.Fatalf("audit entry: %v", ev)
			}
		}
		wantNames := []string{"Unlock user account", "Invalidate all refresh tokens for user", "Update user", "Update user",
			"Reset user password", "Reset user password", "Reset user password", "Add user"}
		if !slices.Equal(names, wantNames) {
			t.Fatalf("directoryAudits of the user: %v, want %v", names, wantNames)
		}
		unblock := audits.values()[2]["targetResources"].([]any)[0].(map[string]any)["modifiedProperties"].([]any)[0].(map[string]any)
		if unblock["oldValue"] != "[false]" || unblock["newValue"] != "[true]" {
			t.Fatalf("unblock modifiedProperties %v", unblock)
		}
		resets := c.do("GET", "/v1.0/auditLogs/directoryAudits?"+filterQuery("activityDisplayName eq 'Reset user password' and activityDateTime ge "+in.Clock.Now().Add(-time.Hour).Format(time.RFC3339)), nil).want(t, "audits by name", http.StatusOK)
		if len(resets.values()) != 3 {
			t.Fatalf("%d Reset user password entries, want 3", len(resets.values()))
		}

		// 13. Delete; then the user is gone.
		c.do("DELETE", "/v1.0/users/"+id, nil).want(t, "delete", http.StatusNoContent)
		c.do("GET", "/v1.0/users/"+id, nil).want(t, "deleted user", http.StatusNotFound, "Request_ResourceNotFound")
		last := c.do("GET", "/v1.0/auditLogs/directoryAudits?"+filterQuery("targetResources/any(t:t/id eq '"+id+"')")+"&$top=1", nil).want(t, "last audit", http.StatusOK)
		if v := last.values(); len(v) != 1 || v[0]["activityDisplayName"] != "Delete user" || last.body["@odata.nextLink"] == nil {
			t.Fatalf("last audit entry: %s", last.raw)
		}
		second := c.do("GET", last.body["@odata.nextLink"].(string), nil).want(t, "audit next page", http.StatusOK)
		if v := second.values(); len(v) != 1 || v[0]["activityDisplayName"] != "Unlock user account" {
			t.Fatalf("second audit page: %s", second.raw)
		}
	})
}

func newUser(upn string) directory.NewUser { return directory.NewUser{UPN: upn} }

// signedIn returns a browser signed in as upn with pw.
func signedIn(t testing.TB, in *testserver.Instance, upn, pw string) *testserver.Browser {
	t.Helper()
	b := testserver.NewBrowser(t, in.URL)
	if resp, body := b.Login(upn, pw); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: status %d code %s", upn, resp.StatusCode, testserver.ErrorCode(body))
	}
	return b
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// user reads a user from the store, as an assertion.
func user(t testing.TB, in *testserver.Instance, id string) *portier.User {
	t.Helper()
	return testenv.Must(in.Store.UserByID(t.Context(), id))(t)
}
