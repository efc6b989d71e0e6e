package portier_test

import (
	"testing"

	"github.com/portier-id/portier"
)

func TestCanFollowsTheContractTable(t *testing.T) {
	plain := []portier.Role(nil)
	helpdesk := []portier.Role{portier.RoleHelpdeskAdmin}
	useradmin := []portier.Role{portier.RoleUserAdmin}
	global := []portier.Role{portier.RoleGlobalAdmin}
	targets := [][]portier.Role{plain, helpdesk, useradmin, global}
	helpdeskActions := []portier.Action{portier.ActionResetPassword, portier.ActionUnlock, portier.ActionRevokeSessions}
	userAdminActions := []portier.Action{portier.ActionCreate, portier.ActionDelete, portier.ActionBlock, portier.ActionUnblock}
	tests := []struct {
		actor   []portier.Role
		actions []portier.Action
		// may[i] says whether the actor may act on targets[i].
		may [4]bool
	}{
		{plain, helpdeskActions, [4]bool{false, false, false, false}},
		{helpdesk, helpdeskActions, [4]bool{true, true, false, false}},
		{helpdesk, userAdminActions, [4]bool{false, false, false, false}},
		{useradmin, helpdeskActions, [4]bool{true, true, true, false}},
		{useradmin, userAdminActions, [4]bool{true, true, true, false}},
		{useradmin, []portier.Action{portier.ActionEditSettings, portier.ActionEditRoles}, [4]bool{false, false, false, false}},
		{global, append(append(helpdeskActions, userAdminActions...), portier.ActionEditSettings, portier.ActionEditRoles), [4]bool{true, true, true, true}},
		// The most privileged role counts, for actor and target alike.
		{[]portier.Role{portier.RoleHelpdeskAdmin, portier.RoleUserAdmin}, userAdminActions, [4]bool{true, true, true, false}},
	}
	for _, tt := range tests {
		for _, action := range tt.actions {
			for i, target := range targets {
				if got := portier.Can(tt.actor, action, target); got != tt.may[i] {
					t.Errorf("Can(%v, %s, %v) = %v, want %v", tt.actor, action, target, got, tt.may[i])
				}
			}
		}
	}
}

func TestNormalizeUPN(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{" Ada@Example.ORG ", "ada@example.org", true},
		{"o'brien+it@sub.example.org", "o'brien+it@sub.example.org", true},
		{"ada", "", false},
		{"ada@localhost", "", false},
		{"@example.org", "", false},
		{"a@b@example.org", "", false},
		{".ada@example.org", "", false},
		{"ada..l@example.org", "", false},
		{"ada lovelace@example.org", "", false},
		{"ada@-example.org", "", false},
		{"ada@exa_mple.org", "", false},
		{"ad\xffa@example.org", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := portier.NormalizeUPN(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizeUPN(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && portier.ErrorCode(err) != portier.EInvalid {
			t.Errorf("NormalizeUPN(%q) error code %s, want invalid", tt.in, portier.ErrorCode(err))
		}
	}
}
