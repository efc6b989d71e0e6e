package graph_test

import (
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// TestPermissionMatrix calls every endpoint with an application holding exactly one
// permission, for each permission: each endpoint is refused (403 Authorization_RequestDenied,
// nothing changed) without a permission that allows it, and answers with one.
func TestPermissionMatrix(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{})
		clients := map[string]*client{}
		for i, p := range portier.AppPermissions {
			clients[p] = newClient(t, in, token(t, in, register(t, in, "App "+strconv.Itoa(i), p), graphScope))
		}
		n := 0
		// fresh returns the id of a new plain user for one call.
		fresh := func() string {
			n++
			return in.CreateUser(t, directory.NewUser{UPN: "target" + strconv.Itoa(n) + "@example.com"}).ID
		}
		rw := portier.PermUserReadWrite
		endpoints := []struct {
			name    string
			allowed []string
			call    func(c *client) answer
			ok      int
		}{
			{"list users", []string{portier.PermUserRead, rw}, func(c *client) answer { return c.do("GET", "/v1.0/users?$top=5", nil) }, 200},
			{"get user", []string{portier.PermUserRead, rw}, func(c *client) answer { return c.do("GET", "/v1.0/users/"+fresh(), nil) }, 200},
			{"create user", []string{rw}, func(c *client) answer {
				n++
				return c.do("POST", "/v1.0/users", map[string]any{"accountEnabled": true, "displayName": "New", "mailNickname": "new",
					"userPrincipalName": "new" + strconv.Itoa(n) + "@example.com", "passwordProfile": map[string]any{"password": newPassword}})
			}, 201},
			{"reset password", []string{portier.PermUserPassword, rw}, func(c *client) answer {
				return c.do("PATCH", "/v1.0/users/"+fresh(), map[string]any{"passwordProfile": map[string]any{"password": newPassword, "forceChangePasswordNextSignIn": true}})
			}, 204},
			{"block", []string{portier.PermUserEnableDisable, rw}, func(c *client) answer {
				return c.do("PATCH", "/v1.0/users/"+fresh(), map[string]any{"accountEnabled": false})
			}, 204},
			{"update profile", []string{rw}, func(c *client) answer {
				return c.do("PATCH", "/v1.0/users/"+fresh(), map[string]any{"displayName": "Renamed"})
			}, 204},
			{"revoke sessions", []string{portier.PermUserRevokeSessions, rw}, func(c *client) answer {
				return c.do("POST", "/v1.0/users/"+fresh()+"/revokeSignInSessions", nil)
			}, 200},
			{"unlock", []string{portier.PermUserUnlock, rw}, func(c *client) answer {
				return c.do("POST", "/v1.0/users/"+fresh()+"/portier.unlock", nil)
			}, 204},
			{"delete user", []string{rw}, func(c *client) answer { return c.do("DELETE", "/v1.0/users/"+fresh(), nil) }, 204},
			{"sign-ins", []string{portier.PermAuditLogRead}, func(c *client) answer { return c.do("GET", "/v1.0/auditLogs/signIns", nil) }, 200},
			{"directory audits", []string{portier.PermAuditLogRead}, func(c *client) answer { return c.do("GET", "/v1.0/auditLogs/directoryAudits", nil) }, 200},
		}
		for _, e := range endpoints {
			for _, p := range portier.AppPermissions {
				users := testenv.Must(in.Store.CountUsers(t.Context(), portier.UserFilter{}))(t)
				a := e.call(clients[p])
				if slices.Contains(e.allowed, p) {
					a.want(t, e.name+" with "+p, e.ok)
					continue
				}
				a.want(t, e.name+" without its permission ("+p+")", http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges")
				// The call's own target user (if it made one) is the only new user.
				if after := testenv.Must(in.Store.CountUsers(t.Context(), portier.UserFilter{}))(t); after > users+1 {
					t.Fatalf("%s refused with %s, yet created a user", e.name, p)
				}
			}
		}
		// A refused change changed nothing: every target of a refused call is as created.
		page := testenv.Must(in.Store.ListUsers(t.Context(), portier.UserFilter{Limit: 1000}))(t)
		changed := 0
		for _, u := range page.Users {
			if u.DisplayName == "New" {
				continue // created by the allowed create, which forces a change by default
			}
			if !u.AccountEnabled || u.DisplayName == "Renamed" || u.PasswordProfile.ForceChangePasswordNextSignIn {
				changed++
			}
		}
		// One block, one profile update and one reset for each of their allowing permissions.
		if changed != 2+1+2 {
			t.Fatalf("%d users changed, want 5 (the allowed calls only)", changed)
		}
	})
}
