package portier

import (
	"slices"
	"strings"
)

// Application permissions: what an application acting on its own behalf (client credentials)
// may do through the Graph-compatible API. The names are Microsoft Graph's, so that scripts
// and their documentation carry over; PermUserUnlock is Portier's own.
const (
	PermUserRead           = "User.Read.All"
	PermUserReadWrite      = "User.ReadWrite.All"
	PermUserEnableDisable  = "User.EnableDisableAccount.All"
	PermUserPassword       = "User-PasswordProfile.ReadWrite.All"
	PermUserRevokeSessions = "User.RevokeSessions.All"
	PermAuditLogRead       = "AuditLog.Read.All"
	// PermUserUnlock allows reading and clearing a user's lockout (portier.unlock), and
	// nothing else: Graph has no permission of its own for it.
	PermUserUnlock = "Portier.User.Unlock.All"
)

// AppPermissions lists every application permission, in the order the admin center shows them.
var AppPermissions = []string{
	PermUserRead, PermUserReadWrite, PermUserEnableDisable, PermUserPassword, PermUserRevokeSessions,
	PermAuditLogRead, PermUserUnlock,
}

// ParsePermission returns the application permission named s (any case), or an EInvalid error.
func ParsePermission(s string) (string, error) {
	s = strings.TrimSpace(s)
	for _, p := range AppPermissions {
		if strings.EqualFold(p, s) {
			return p, nil
		}
	}
	return "", Errorf(EInvalid, "Unknown application permission %q: use one of %s.", s, strings.Join(AppPermissions, ", "))
}

// SortPermissions returns perms without duplicates, in AppPermissions' order.
func SortPermissions(perms []string) []string {
	out := []string{}
	for _, p := range AppPermissions {
		if slices.Contains(perms, p) {
			out = append(out, p)
		}
	}
	return out
}

// AppActorPrefix starts the audit log's actor name of an application acting on its own
// behalf ("app:Unlock script"); a UPN cannot hold a colon, so no user is named so.
const AppActorPrefix = "app:"

// AppActor returns the actor of an application acting on its own behalf through the
// Graph-compatible API, from the address source. Its reach over accounts is a user
// admin's (the contract's table): it may act on plain users, helpdesk admins and user
// admins, never on global admins; its application permissions decide which actions it may
// take at all. The audit log records it with the application's client id as the actor id.
func AppActor(app *App, source string) Actor {
	return Actor{ID: app.ID, Name: AppActorPrefix + app.Name, Roles: []Role{RoleUserAdmin}, Source: source}
}
