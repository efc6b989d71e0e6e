package portier

import "slices"

// Role is an administrative role. A user without roles is a plain user.
type Role string

// The administrative roles, from the least to the most privileged.
const (
	RoleHelpdeskAdmin Role = "helpdesk-admin"
	RoleUserAdmin     Role = "user-admin"
	RoleGlobalAdmin   Role = "global-admin"
)

// Roles lists every role, from the least to the most privileged.
var Roles = []Role{RoleHelpdeskAdmin, RoleUserAdmin, RoleGlobalAdmin}

// ParseRole returns the role named s, or an EInvalid error.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles, r) {
		return "", Errorf(EInvalid, "Unknown role %q: use one of helpdesk-admin, user-admin, global-admin.", s)
	}
	return r, nil
}

// rank orders roles by privilege; a plain user ranks 0.
func (r Role) rank() int {
	return slices.Index(Roles, r) + 1
}

// Tier returns the rank of the most privileged of roles: 0 for a plain user.
func Tier(roles []Role) int {
	tier := 0
	for _, r := range roles {
		tier = max(tier, r.rank())
	}
	return tier
}

// IsAdmin reports whether roles hold any administrative role.
func IsAdmin(roles []Role) bool { return Tier(roles) > 0 }

// Action is something an administrator does to a user.
type Action string

// The administrative actions of the contract's who-may-act-on-whom table.
const (
	ActionCreate         Action = "user.create"
	ActionDelete         Action = "user.delete"
	ActionResetPassword  Action = "user.reset-password"
	ActionUnlock         Action = "user.unlock"
	ActionBlock          Action = "user.block"
	ActionUnblock        Action = "user.unblock"
	ActionRevokeSessions Action = "user.revoke-sessions"
	ActionEditRoles      Action = "user.edit-roles"
	ActionEditSettings   Action = "settings.edit"
	// ActionResetSecurityInfo removes a user's security info, so that the user registers anew
	// (Entra's "Require re-register"): for a lost phone or mailbox.
	ActionResetSecurityInfo Action = "user.reset-security-info"
	// Applications (OpenID Connect clients): global admins only, as Entra's application administrator.
	ActionCreateApp Action = "app.create"
	ActionUpdateApp Action = "app.update"
	ActionDeleteApp Action = "app.delete"
	ActionAssignApp Action = "app.assign"
)

// Self-service and notification events of the audit log, named after Entra's audit activities.
// They are not admin actions: Can refuses them all.
const (
	ActionRegisterSecurityInfo Action = "user.register-security-info"      // User registered security info
	ActionDeleteSecurityInfo   Action = "user.delete-security-info"        // User deleted security info
	ActionSelfServiceReset     Action = "user.self-service-reset-password" // Reset password (self-service)
	ActionSelfServiceUnlock    Action = "user.self-service-unlock"         // Unlock user account (self-service)
	ActionSSPRBlocked          Action = "user.self-service-blocked"        // Blocked from self-service password reset
	ActionReportLockout        Action = "user.report-lockout"              // the owner said "This wasn't me"
	ActionNotifyUser           Action = "notify.user"                      // a notification mail to a user
	ActionNotifyAdmins         Action = "notify.admins"                    // a notification mail to an admin
)

// minimumTier is the least privileged role that may take an action at all.
var minimumTier = map[Action]int{
	ActionResetPassword:     RoleHelpdeskAdmin.rank(),
	ActionUnlock:            RoleHelpdeskAdmin.rank(),
	ActionRevokeSessions:    RoleHelpdeskAdmin.rank(),
	ActionResetSecurityInfo: RoleHelpdeskAdmin.rank(),
	// A Temporary Access Pass signs the user in: whoever may reset the user's password may hand one out.
	ActionCreateTAP:    RoleHelpdeskAdmin.rank(),
	ActionRevokeTAP:    RoleHelpdeskAdmin.rank(),
	ActionCreate:       RoleUserAdmin.rank(),
	ActionDelete:       RoleUserAdmin.rank(),
	ActionBlock:        RoleUserAdmin.rank(),
	ActionUnblock:      RoleUserAdmin.rank(),
	ActionEditRoles:    RoleGlobalAdmin.rank(),
	ActionEditSettings: RoleGlobalAdmin.rank(),
	ActionCreateApp:    RoleGlobalAdmin.rank(),
	ActionUpdateApp:    RoleGlobalAdmin.rank(),
	ActionDeleteApp:    RoleGlobalAdmin.rank(),
	ActionAssignApp:    RoleGlobalAdmin.rank(),
}

// Can reports whether an actor holding actorRoles may take action on a user
// holding targetRoles, following the contract's table:
//   - helpdesk-admin resets passwords, unlocks and revokes sessions of plain users and helpdesk admins;
//   - user-admin does that and creates, deletes, blocks and unblocks, up to user admins;
//   - global-admin does everything to everyone.
func Can(actorRoles []Role, action Action, targetRoles []Role) bool {
	actor := Tier(actorRoles)
	need, ok := minimumTier[action]
	if !ok || actor < need {
		return false
	}
	if actor == RoleGlobalAdmin.rank() {
		return true
	}
	target := Tier(targetRoles)
	switch Role(Roles[actor-1]) {
	case RoleHelpdeskAdmin:
		return target <= RoleHelpdeskAdmin.rank()
	case RoleUserAdmin:
		return target <= RoleUserAdmin.rank()
	}
	return false
}
