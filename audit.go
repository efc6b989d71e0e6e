package portier

import "time"

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeRefused = "refused" // the actor's roles did not allow it; nothing changed
	OutcomeFailure = "failure" // the action was allowed but failed (bad input); nothing changed
)

// AuditEvent is one entry of the audit log of administrative and self-service actions.
// It never holds a password or a code.
type AuditEvent struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"activityDateTime"`
	Actor    string    `json:"initiatedBy"`   // the acting user's UPN, or "cli:<os user>"
	ActorID  string    `json:"initiatedById"` // the acting user's id; empty for the CLI
	Action   Action    `json:"activity"`
	TargetID string    `json:"targetId"`
	Target   string    `json:"target"` // the target user's UPN at the time
	Source   string    `json:"source"` // IP address, or "cli"
	Outcome  string    `json:"result"`
	Detail   string    `json:"resultReason,omitempty"`
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	TargetID string
	Actor    string
	Action   Action
	// Actions, when set, keeps the events of any of these actions.
	Actions []Action
	Outcome string
	Since   time.Time
	// Until, when set, keeps the events at or before it.
	Until time.Time
	// Before is the ID of the last event of the previous page; 0 for the first page.
	Before int64
	// Limit is the page size; 0 means 100.
	Limit int
}

// Actor is who asks for an action: a signed-in administrator or the operator's CLI.
type Actor struct {
	ID     string // user id; empty for the CLI
	Name   string // UPN, or "cli:<os user>"
	Roles  []Role
	Source string // IP address, or "cli"
}

// CLIActor returns the actor of the operator's command line: global-admin rights, recorded with the OS user.
func CLIActor(osUser string) Actor {
	return Actor{Name: "cli:" + osUser, Roles: []Role{RoleGlobalAdmin}, Source: "cli"}
}

// SetupActorName is how the audit log names the one-time setup page that creates the first
// global admin of an empty directory.
const SetupActorName = "setup"

// SetupActor returns the actor of the one-time setup page: global-admin rights, since it
// exists to create the first global admin, recorded as "setup" with the browser's address.
func SetupActor(source string) Actor {
	return Actor{Name: SetupActorName, Roles: []Role{RoleGlobalAdmin}, Source: source}
}
