// Package demo fills an empty directory with sample people in every state an administrator
// meets (locked out, blocked, must change their password, admins of each role) together with
// the sign-in and audit logs that explain them, so a newcomer sees the whole admin center at
// once. `portier serve --demo` runs it.
package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/password"
)

// Domain is the domain of every sample user's name.
const Domain = "demo.example.org"

// Result says how to sign in to the filled directory.
type Result struct {
	// AdminUPN and AdminPassword sign in the demo's global admin; the password is generated
	// and exists nowhere else.
	AdminUPN      string
	AdminPassword string
	// Users is how many users were created.
	Users int
}

// person is one sample person; the first four hold the admin roles.
type person struct{ first, last string }

// people are half Dutch, half English, as in the organisations Portier is for.
var people = []person{
	{"Sanne", "de Vries"}, {"Pieter", "Bakker"}, {"Emma", "Jansen"}, {"Oliver", "Smith"},
	{"Daan", "Visser"}, {"Amelia", "Jones"}, {"Lotte", "Smit"}, {"George", "Taylor"},
	{"Jack", "Johnson"}, {"Mia", "Davies"}, {"Bram", "Meijer"}, {"Isla", "Brown"},
	{"Fleur", "de Boer"}, {"Harry", "Williams"}, {"Thijs", "Mulder"}, {"Ava", "Wilson"},
	{"Anouk", "de Groot"}, {"Charlie", "Robinson"}, {"Joost", "Bos"}, {"Grace", "Wright"},
	{"Femke", "Vos"}, {"Thomas", "Thompson"}, {"Ruben", "Peters"}, {"Lily", "Evans"},
	{"Iris", "Hendriks"}, {"Oscar", "Walker"}, {"Jeroen", "van Dijk"}, {"Emily", "White"},
	{"Sophie", "van den Berg"}, {"James", "Roberts"}, {"Lars", "Dekker"}, {"Freya", "Green"},
	{"Eva", "Brouwer"}, {"William", "Hall"}, {"Niels", "de Wit"}, {"Ella", "Wood"},
	{"Julia", "Dijkstra"}, {"Noah", "Clarke"}, {"Koen", "Smits"}, {"Poppy", "Hughes"},
	{"Maaike", "de Graaf"}, {"Henry", "Edwards"}, {"Sem", "van der Meer"}, {"Chloe", "Turner"},
	{"Noor", "van der Linden"}, {"Alfie", "Cooper"}, {"Jesse", "Kok"}, {"Evie", "Hill"},
	{"Roos", "Jacobs"}, {"Arthur", "Ward"},
}

// Who holds which state, by index into people.
const (
	globalAdmin   = 0
	userAdmin     = 1
	blocked       = 8
	mustChange    = 9
	failedNotLock = 10 // a few wrong passwords, not (yet) locked
)

var (
	helpdeskAdmins = []int{2, 3}
	// lockedOut are locked now, each for so many minutes already.
	lockedOut = []struct{ index, minutesAgo int }{{4, 3}, {5, 12}, {6, 25}, {7, 41}}
)

// Sources of the failed attempts: documentation addresses (RFC 5737, RFC 3849), so the
// demo points at no one real.
var (
	attackers = [][]string{
		{"203.0.113.7", "203.0.113.45"},
		{"198.51.100.23"},
		{"2001:db8:4f2a::17", "203.0.113.7", "198.51.100.80"},
		{"198.51.100.23", "203.0.113.99"},
	}
	office      = "192.0.2.10"
	browsers    = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}
	scriptAgent = "python-requests/2.32.3"
)

// upn makes "sanne.devries@demo.example.org" of Sanne de Vries.
func (p person) upn() string {
	return strings.ToLower(p.first + "." + strings.ReplaceAll(p.last, " ", "") + "@" + Domain)
}

func (p person) name() string { return p.first + " " + p.last }

// Store is what seeding needs of the store: one transaction, which counts the users and
// writes them.
type Store interface {
	portier.Transactor
}

// Seed fills an empty store with the sample people, as of now. The global admin gets a
// generated password, returned once; everyone else shares one hash of a random password
// nobody knows, so seeding costs two hashes however many people there are.
// Errors: EConflict when the directory is not empty (nothing is changed).
func Seed(ctx context.Context, store Store, hasher password.Hasher, now time.Time) (Result, error) {
	adminPassword := password.Generate()
	adminHash, err := hasher.Hash(adminPassword)
	if err != nil {
		return Result{}, err
	}
	othersHash, err := hasher.Hash(password.Generate())
	if err != nil {
		return Result{}, err
	}
	now = now.UTC()
	var users []*portier.User
	var signIns []*portier.SignIn
	var audit []*portier.AuditEvent
	for i, p := range people {
		created := now.Add(-30*24*time.Hour + time.Duration(i)*time.Hour)
		u := &portier.User{
			ID: portier.NewID(), UPN: p.upn(), DisplayName: p.name(), Mail: p.upn(), AccountEnabled: true,
			Roles: []portier.Role{}, Created: created, SessionsValidFrom: created, PasswordChanged: created,
			PasswordHash: othersHash,
		}
		if i%2 == 0 {
			u.Language = "nl" // the Dutch half (even indexes) prefers Dutch
		}
		users = append(users, u)
		audit = append(audit, &portier.AuditEvent{Time: created, Actor: "demo", Action: portier.ActionCreate,
			TargetID: u.ID, Target: u.UPN, Source: "cli", Outcome: portier.OutcomeSuccess, Detail: "sample user"})
		// Most people signed in recently from the office, at a familiar browser.
		if i%7 != 6 {
			last := now.Add(-time.Duration(i*5+1) * time.Hour)
			u.LastSignIn = &last
			signIns = append(signIns, &portier.SignIn{Time: last, Username: u.UPN, UserID: u.ID, Source: office,
				UserAgent: browsers[i%len(browsers)], FamiliarDevice: true, HashComputed: true, Process: "demo"})
		}
	}
	admin := users[globalAdmin]
	admin.PasswordHash, admin.Roles = adminHash, []portier.Role{portier.RoleGlobalAdmin}
	users[userAdmin].Roles = []portier.Role{portier.RoleUserAdmin}
	for _, i := range helpdeskAdmins {
		users[i].Roles = []portier.Role{portier.RoleHelpdeskAdmin}
	}

	// Blocked by the user admin, who thereby ended the person's sessions.
	b := users[blocked]
	blockedAt := now.Add(-26 * time.Hour)
	b.AccountEnabled, b.SessionsValidFrom = false, blockedAt
	audit = append(audit, actedBy(users[userAdmin], portier.ActionBlock, b, blockedAt, ""))

	// Reset by a helpdesk admin with a generated password that must be changed at first sign-in.
	m := users[mustChange]
	resetAt := now.Add(-90 * time.Minute)
	m.PasswordProfile.ForceChangePasswordNextSignIn, m.PasswordChanged, m.SessionsValidFrom = true, resetAt, resetAt
	audit = append(audit, actedBy(users[helpdeskAdmins[0]], portier.ActionResetPassword, m, resetAt, "generated password"))

	err = store.Tx(ctx, func(tx portier.Tx) error {
		n, err := tx.CountUsers(ctx, portier.UserFilter{})
		if err != nil {
			return err
		}
		if n > 0 {
			return notEmpty(n)
		}
		raw, err := tx.Setting(ctx, portier.SettingsKey)
		if err != nil {
			return err
		}
		st, err := portier.DecodeSettings(raw)
		if err != nil {
			return err
		}
		if err := tx.InsertUsers(ctx, users); err != nil {
			if portier.ErrorCode(err) == portier.EConflict {
				return notEmpty(1) // another process seeded at the same moment
			}
			return err
		}
		counters, entries := lockouts(users, st.Lockout, now)
		for id, s := range counters {
			if err := tx.PutLockout(ctx, id, "", s); err != nil {
				return err
			}
		}
		if err := tx.AppendSignIns(ctx, append(signIns, entries...)); err != nil {
			return err
		}
		for _, ev := range audit {
			if err := tx.AppendAudit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return Result{AdminUPN: admin.UPN, AdminPassword: adminPassword, Users: len(users)}, nil
}

func notEmpty(n int) error {
	return portier.Errorf(portier.EConflict, "--demo fills an empty directory only, and this one has %d users: use a new database.", n)
}

func actedBy(actor *portier.User, action portier.Action, target *portier.User, at time.Time, detail string) *portier.AuditEvent {
	return &portier.AuditEvent{Time: at, Actor: actor.UPN, ActorID: actor.ID, Action: action, TargetID: target.ID,
		Target: target.UPN, Source: office, Outcome: portier.OutcomeSuccess, Detail: detail}
}

// lockouts returns the account-wide counters of the locked-out people and of the one with a
// few failures, and the sign-in log entries that led to them, written as the sign-in engine
// would have written them: wrong passwords (50126) up to the threshold, the last of which
// locked the account (50053), then attempts answered without a hash while locked (50053).
func lockouts(users []*portier.User, policy lockout.Policy, now time.Time) (map[string]lockout.State, []*portier.SignIn) {
	counters := map[string]lockout.State{}
	var entries []*portier.SignIn
	wrong := func(u *portier.User, at time.Time, source, agent string) *portier.SignIn {
		return &portier.SignIn{Time: at, Username: u.UPN, UserID: u.ID, Source: source, UserAgent: agent,
			Code: portier.CodeInvalidCredentials, HashComputed: true, Process: "demo", Detail: "wrong password"}
	}
	for n, lo := range lockedOut {
		u := users[lo.index]
		sources := attackers[n%len(attackers)]
		lockedAt := now.Add(-time.Duration(lo.minutesAgo) * time.Minute)
		for k := 0; k < policy.Threshold; k++ {
			at := lockedAt.Add(-time.Duration(policy.Threshold-1-k) * 17 * time.Second)
			e := wrong(u, at, sources[k%len(sources)], scriptAgent)
			if k == policy.Threshold-1 {
				e.Code, e.Detail = portier.CodeLocked, "wrong password; account now locked"
			}
			entries = append(entries, e)
		}
		for k := 1; k <= 3; k++ {
			entries = append(entries, &portier.SignIn{Time: lockedAt.Add(time.Duration(k) * 40 * time.Second), Username: u.UPN,
				UserID: u.ID, Source: sources[k%len(sources)], UserAgent: scriptAgent, Code: portier.CodeLocked,
				Process: "demo", Detail: "account locked"})
		}
		// The state the engine leaves after a lock: the count starts again, the lockout is
		// counted with the failures that made it. The lock lasts the longest the policy allows,
		// rather than the first lockout's minute, so the demo still shows locked accounts a
		// while after it started.
		counters[u.ID] = lockout.State{LockedUntil: lockedAt.Add(policy.MaxDuration), Lockouts: 1, LastFailure: lockedAt, LockFailures: policy.Threshold}
	}
	u := users[failedNotLock]
	last := now.Add(-8 * time.Minute)
	for k := 0; k < 3; k++ {
		entries = append(entries, wrong(u, last.Add(-time.Duration(2-k)*time.Minute), office, browsers[0]))
	}
	counters[u.ID] = lockout.State{Failures: 3, LastFailure: last}
	return counters, entries
}

// Describe is the text `portier serve --demo` prints once on stdout.
func (r Result) Describe() string {
	return fmt.Sprintf("Demo directory with %d sample people at %s. Sign in as the global admin:\n\n    user name: %s\n    password:  %s\n\n",
		r.Users, Domain, r.AdminUPN, r.AdminPassword)
}
