// Package directory is the directory service: it creates users, resets passwords, unlocks,
// blocks and deletes them on behalf of an actor, enforcing the contract's who-may-act-on-whom
// table and writing every action, and every refusal, to the audit log. The CLI and the web
// admin center both go through it, so they give the same answers.
package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/password"
)

// Service is the directory service. Create it with New.
type Service struct {
	store  Store
	hasher password.Hasher
	now    portier.Clock
	log    *slog.Logger

	mu       sync.Mutex
	settings portier.Settings
	loadedAt time.Time
	changes  int // settings changes made by this process, so that an older read is not kept
}

// settingsTTL is how long a process trusts its copy of the settings; a change made on
// another process sharing the store is seen within it.
const settingsTTL = 2 * time.Second

// New returns a directory service over store.
func New(store Store, hasher password.Hasher, now portier.Clock, log *slog.Logger) *Service {
	return &Service{store: store, hasher: hasher, now: now, log: log}
}

// Hasher returns the password hasher the service uses.
func (s *Service) Hasher() password.Hasher { return s.hasher }

// Settings returns the organisation's settings, at most settingsTTL old.
func (s *Service) Settings(ctx context.Context) (portier.Settings, error) {
	now := s.now()
	s.mu.Lock()
	if !s.loadedAt.IsZero() && now.Sub(s.loadedAt) < settingsTTL && !now.Before(s.loadedAt) {
		st := s.settings
		s.mu.Unlock()
		return st, nil
	}
	changes := s.changes
	s.mu.Unlock()
	// The read runs without the lock: a caller must never wait for another's store read
	// while it holds a connection of its own (the pool would wait on itself under a flood).
	b, err := s.store.Setting(ctx, portier.SettingsKey)
	if err != nil {
		return portier.Settings{}, err
	}
	st, err := portier.DecodeSettings(b)
	if err != nil {
		s.log.Error("stored settings are invalid; using defaults", "err", err)
	}
	s.mu.Lock()
	if s.changes == changes {
		s.settings, s.loadedAt = st, now
	}
	s.mu.Unlock()
	return st, nil
}

// User returns the user with the UPN, its lockout view filled; ENotFound if none.
func (s *Service) User(ctx context.Context, upn string) (*portier.User, error) {
	norm, err := portier.NormalizeUPN(upn)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByUPN(ctx, norm)
	if err != nil {
		return nil, notFound(err, upn)
	}
	u.SetLockoutView(s.now())
	return u, nil
}

// ListUsers returns one page of users, their lockout views filled.
func (s *Service) ListUsers(ctx context.Context, f portier.UserFilter) (portier.UserPage, error) {
	if f.Now.IsZero() {
		f.Now = s.now()
	}
	page, err := s.store.ListUsers(ctx, f)
	for _, u := range page.Users {
		u.SetLockoutView(f.Now)
	}
	return page, err
}

// CountUsers counts the users that f selects.
func (s *Service) CountUsers(ctx context.Context, f portier.UserFilter) (int, error) {
	if f.Now.IsZero() {
		f.Now = s.now()
	}
	return s.store.CountUsers(ctx, f)
}

// ListAudit returns audit events, newest first.
func (s *Service) ListAudit(ctx context.Context, f portier.AuditFilter) ([]*portier.AuditEvent, error) {
	return s.store.ListAudit(ctx, f)
}

// NewUser is what CreateUser needs.
type NewUser struct {
	UPN         string
	DisplayName string
	Mail        string
	Roles       []portier.Role
	// Password is the initial password; ignored when Generate is set.
	Password string
	// Generate asks for a random password, returned once by CreateUser.
	Generate bool
	// ForceChange makes the user choose a new password at the first sign-in.
	ForceChange bool
	// Disabled creates the user with sign-in blocked (accountEnabled false).
	Disabled bool
	// SignedIn records the creation as the user's first sign-in: the setup page signs the
	// first admin in with the password just chosen.
	SignedIn bool
}

// CreateUser adds a user and returns it with the generated password, if one was asked for.
// Errors: EInvalid (a field or the password breaks a rule), EConflict (the UPN is taken),
// EForbidden (the actor may not create a user with these roles).
func (s *Service) CreateUser(ctx context.Context, actor portier.Actor, nu NewUser) (*portier.User, string, error) {
	ev := s.event(actor, portier.ActionCreate, nil, nu.UPN)
	u, generated, err := s.createUser(ctx, actor, nu, ev, nil)
	if err != nil {
		s.auditFailure(ctx, ev, err)
		return nil, "", err
	}
	return u, generated, nil
}

// createUser checks, hashes and inserts a user with its audit entry. inTx, when set, runs first
// in the inserting transaction, so that a condition of the creation (the setup token) is
// claimed together with the user or not at all.
func (s *Service) createUser(ctx context.Context, actor portier.Actor, nu NewUser, ev *portier.AuditEvent,
	inTx func(tx portier.Tx) error) (*portier.User, string, error) {
	if !portier.Can(actor.Roles, portier.ActionCreate, nu.Roles) {
		return nil, "", refused(actor, portier.ActionCreate)
	}
	upn, err := portier.NormalizeUPN(nu.UPN)
	if err != nil {
		return nil, "", err
	}
	ev.Target = upn
	name, err := portier.ValidateDisplayName(nu.DisplayName)
	if err != nil {
		return nil, "", err
	}
	mail, err := validateMail(nu.Mail)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	u := &portier.User{
		ID: portier.NewID(), UPN: upn, DisplayName: name, Mail: mail, AccountEnabled: !nu.Disabled,
		Roles: dedupRoles(nu.Roles), Created: now, SessionsValidFrom: now, PasswordChanged: now,
		PasswordProfile: portier.PasswordProfile{ForceChangePasswordNextSignIn: nu.ForceChange},
	}
	if nu.SignedIn {
		u.LastSignIn = &now
	}
	if _, err := s.store.UserByUPN(ctx, upn); err == nil {
		return nil, "", portier.Errorf(portier.EConflict, "A user named %s already exists.", upn)
	}
	pw, generated, err := s.choosePassword(ctx, u, nu.Password, nu.Generate)
	if err != nil {
		return nil, "", err
	}
	if u.PasswordHash, err = s.hasher.Hash(pw); err != nil {
		return nil, "", err
	}
	ev.TargetID = u.ID
	if nu.Generate {
		ev.Detail = "generated password"
	}
	if nu.Disabled {
		ev.Detail = strings.TrimPrefix(ev.Detail+"; sign-in blocked", "; ")
	}
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		if inTx != nil {
			if err := inTx(tx); err != nil {
				return err
			}
		}
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		ev.Outcome = portier.OutcomeSuccess
		return tx.AppendAudit(ctx, ev)
	})
	if err != nil {
		return nil, "", err
	}
	u.SetLockoutView(now)
	return u, generated, nil
}

// PasswordReset is what ResetPassword needs.
type PasswordReset struct {
	// Password is the new password; ignored when Generate is set.
	Password string
	// Generate asks for a random password, returned once by ResetPassword.
	Generate bool
	// ForceChange makes the user choose a new password at the next sign-in.
	ForceChange bool
	// KeepSessions leaves the user's sessions alone; by default a reset signs them out everywhere.
	KeepSessions bool
}

// ResetPassword sets a user's password, clears the lockout and, unless asked not to, signs
// the user out everywhere. It returns the generated password, if one was asked for.
// Errors: ENotFound, EInvalid (the password breaks a rule), EForbidden.
func (s *Service) ResetPassword(ctx context.Context, actor portier.Actor, upn string, r PasswordReset) (string, error) {
	var generated string
	err := s.act(ctx, actor, portier.ActionResetPassword, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		u.PasswordProfile.ForceChangePasswordNextSignIn = r.ForceChange
		u.PasswordChanged = s.now()
		// Even with the sessions kept, no browser stays familiar on the old password's strength.
		u.EndCredentials()
		if !r.KeepSessions {
			if err := endSessions(ctx, tx, u, s.now()); err != nil {
				return err
			}
		}
		if r.Generate {
			ev.Detail = "generated password"
		}
		if err := ClearLockouts(ctx, tx, u.ID); err != nil {
			return err
		}
		return tx.UpdateUser(ctx, u)
	}, func(u *portier.User) error {
		// Hash before the transaction: argon2id takes tens of milliseconds, and the
		// user's row should not stay locked that long.
		pw, gen, err := s.choosePassword(ctx, u, r.Password, r.Generate)
		if err != nil {
			return err
		}
		if u.PasswordHash, err = s.hasher.Hash(pw); err != nil {
			return err
		}
		generated = gen
		return nil
	})
	return generated, err
}

// Unlock clears every lockout counter of a user. Errors: ENotFound, EForbidden. See
// UnlockChanged for whether the user was locked.
func (s *Service) Unlock(ctx context.Context, actor portier.Actor, upn string) error {
	_, err := s.UnlockChanged(ctx, actor, upn)
	return err
}

// UnlockChanged is Unlock that reports whether the account was locked: false when it was not
// (nothing to unlock), which the audit entry says too. The counters are cleared either way,
// so a familiar browser's own lock goes as well.
func (s *Service) UnlockChanged(ctx context.Context, actor portier.Actor, upn string) (changed bool, err error) {
	err = s.act(ctx, actor, portier.ActionUnlock, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		changed = u.LockoutState.Locked(s.now())
		if changed {
			ev.Detail = "was locked until " + u.LockoutState.LockedUntil.UTC().Format(time.RFC3339) +
				" after " + strconv.Itoa(u.LockoutState.FailedAttempts(s.now())) + " failed attempts"
		} else {
			ev.Detail = NoChange + ": was not locked"
		}
		return ClearLockouts(ctx, tx, u.ID)
	}, nil)
	return changed && err == nil, err
}

// NoChange starts the detail of an audit entry of an action that found the user already in
// the state asked for.
const NoChange = "no change"

// SetSignInStatus blocks (enabled false) or unblocks a user's sign-in. Blocking ends every
// session at once. Errors: ENotFound, EForbidden, EInvalid (blocking the last global admin).
// See SetSignInStatusChanged for whether the status changed.
func (s *Service) SetSignInStatus(ctx context.Context, actor portier.Actor, upn string, enabled bool) error {
	_, err := s.SetSignInStatusChanged(ctx, actor, upn, enabled)
	return err
}

// SetSignInStatusChanged is SetSignInStatus that reports whether the status changed: false
// when the user was already blocked (or allowed), and then nothing is written but the audit
// entry, which says so.
func (s *Service) SetSignInStatusChanged(ctx context.Context, actor portier.Actor, upn string, enabled bool) (changed bool, err error) {
	action := portier.ActionUnblock
	if !enabled {
		action = portier.ActionBlock
	}
	err = s.act(ctx, actor, action, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		if u.AccountEnabled == enabled {
			ev.Detail = NoChange + ": sign-in was already blocked"
			if enabled {
				ev.Detail = NoChange + ": sign-in was already allowed"
			}
			return nil
		}
		changed = true
		if !enabled {
			if err := s.keepOneGlobalAdmin(ctx, tx, u, "block"); err != nil {
				return err
			}
			if err := endSessions(ctx, tx, u, s.now()); err != nil {
				return err
			}
		}
		u.AccountEnabled = enabled
		return tx.UpdateUser(ctx, u)
	}, nil)
	return changed && err == nil, err
}

// RevokeSessions signs a user out everywhere: every session and token issued before now ends.
// Errors: ENotFound, EForbidden.
func (s *Service) RevokeSessions(ctx context.Context, actor portier.Actor, upn string) error {
	return s.act(ctx, actor, portier.ActionRevokeSessions, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		if err := endSessions(ctx, tx, u, s.now()); err != nil {
			return err
		}
		return tx.UpdateUser(ctx, u)
	}, nil)
}

// SetRoles replaces a user's roles. Errors: ENotFound, EForbidden, EInvalid (removing the last global admin).
func (s *Service) SetRoles(ctx context.Context, actor portier.Actor, upn string, roles []portier.Role) error {
	roles = dedupRoles(roles)
	return s.act(ctx, actor, portier.ActionEditRoles, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		if !slices.Contains(roles, portier.RoleGlobalAdmin) {
			if err := s.keepOneGlobalAdmin(ctx, tx, u, "remove the global-admin role of"); err != nil {
				return err
			}
		}
		ev.Detail = "roles: " + joinRoles(u.Roles) + " -> " + joinRoles(roles)
		u.Roles = roles
		return tx.UpdateUser(ctx, u)
	}, nil)
}

// DeleteUser removes a user with its sessions and counters. Errors: ENotFound, EForbidden,
// EInvalid (deleting the last global admin).
func (s *Service) DeleteUser(ctx context.Context, actor portier.Actor, upn string) error {
	return s.act(ctx, actor, portier.ActionDelete, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		if err := s.keepOneGlobalAdmin(ctx, tx, u, "delete"); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		return LockoutCleared(ctx, tx, u.ID)
	}, nil)
}

// act runs one administrative action on the user named upn: it checks the actor's right on
// the user, runs prepare (outside the transaction, for slow work such as hashing), then
// change and the audit entry in one transaction. A refusal or failure is audited on its own.
func (s *Service) act(ctx context.Context, actor portier.Actor, action portier.Action, upn string,
	change func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error, prepare func(u *portier.User) error) error {
	ev := s.event(actor, action, nil, upn)
	err := s.actOnce(ctx, actor, action, upn, ev, change, prepare)
	if err != nil {
		s.auditFailure(ctx, ev, err)
	}
	return err
}

func (s *Service) actOnce(ctx context.Context, actor portier.Actor, action portier.Action, upn string, ev *portier.AuditEvent,
	change func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error, prepare func(u *portier.User) error) error {
	norm, err := portier.NormalizeUPN(upn)
	if err != nil {
		return err
	}
	ev.Target = norm
	u, err := s.store.UserByUPN(ctx, norm)
	if err != nil {
		return notFound(err, norm)
	}
	ev.TargetID = u.ID
	if !portier.Can(actor.Roles, action, u.Roles) {
		return refused(actor, action)
	}
	var prepared *portier.User
	if prepare != nil {
		prepared = u
		if err := prepare(prepared); err != nil {
			return err
		}
	}
	return s.store.Tx(ctx, func(tx portier.Tx) error {
		locked, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return notFound(err, norm)
		}
		// The roles may have changed since the check above; check again under the lock.
		if !portier.Can(actor.Roles, action, locked.Roles) {
			return refused(actor, action)
		}
		if prepared != nil {
			locked.PasswordHash = prepared.PasswordHash
		}
		if err := change(tx, locked, ev); err != nil {
			return err
		}
		ev.Outcome = portier.OutcomeSuccess
		return tx.AppendAudit(ctx, ev)
	})
}

// keepOneGlobalAdmin refuses to take away the last enabled global admin, which would leave
// the organisation with no one able to change settings. u is locked by the caller; the other
// admins are read under portier.LockGlobalAdmins, so two admins blocking or demoting each other
// at once take turns and the second sees the first's change: without it, on PostgreSQL each
// would read the other as still enabled and both would go.
func (s *Service) keepOneGlobalAdmin(ctx context.Context, tx portier.Tx, u *portier.User, what string) error {
	if !u.HasRole(portier.RoleGlobalAdmin) || !u.AccountEnabled {
		return nil
	}
	if err := tx.Lock(ctx, portier.LockGlobalAdmins); err != nil {
		return err
	}
	f := portier.UserFilter{AdminsOnly: true, Status: portier.StatusAny, Now: s.now(), Limit: 500}
	for {
		page, err := tx.ListUsers(ctx, f)
		if err != nil {
			return err
		}
		for _, other := range page.Users {
			if other.ID != u.ID && other.AccountEnabled && other.HasRole(portier.RoleGlobalAdmin) {
				return nil
			}
		}
		if page.Next == "" {
			return portier.Errorf(portier.EInvalid, "Refusing to %s %s: it is the last global admin who can sign in.", what, u.UPN)
		}
		f.After = page.Next
	}
}

// choosePassword returns the password to set: a generated one, or the given one once it
// passes the policy with u's name and UPN as context words.
func (s *Service) choosePassword(ctx context.Context, u *portier.User, given string, generate bool) (pw, generated string, err error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return "", "", err
	}
	if generate {
		pw = password.Generate()
		return pw, pw, nil
	}
	if given == "" {
		return "", "", portier.Errorf(portier.EInvalid, "No password given: pass one or ask for a generated one.")
	}
	if err := checkPassword(st, u, given); err != nil {
		return "", "", err
	}
	return given, "", nil
}

// CheckPassword checks a password u would choose against the organisation's policy, with u's
// name and UPN and the organisation's name as context words. The error is EInvalid and wraps
// the *password.RuleError, so that a page can say which rule failed in the viewer's language.
func (s *Service) CheckPassword(ctx context.Context, u *portier.User, pw string) error {
	st, err := s.Settings(ctx)
	if err != nil {
		return err
	}
	return checkPassword(st, u, pw)
}

// CheckPasswordUnder is CheckPassword under settings the caller has read already, so that one
// request is judged by one reading of the settings.
func CheckPasswordUnder(st portier.Settings, u *portier.User, pw string) error {
	return checkPassword(st, u, pw)
}

func checkPassword(st portier.Settings, u *portier.User, pw string) error {
	policy := password.DefaultPolicy()
	policy.MinLength = st.PasswordMinLength
	local, domain, _ := strings.Cut(u.UPN, "@")
	if err := policy.Check(pw, []string{u.DisplayName, local, domain, st.OrgName}); err != nil {
		return fmt.Errorf("%w: %w", portier.Errorf(portier.EInvalid, "%s", err.Error()), err)
	}
	return nil
}

// endSessions ends every session and token of u issued before now and every device cookie
// of u (a stolen one keeps no lockout count of its own).
func endSessions(ctx context.Context, tx portier.Tx, u *portier.User, now time.Time) error {
	u.SessionsValidFrom = now
	u.EndCredentials()
	if _, err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
		return err
	}
	_, err := tx.DeleteTokens(ctx, portier.TokenFilter{UserID: u.ID,
		Kinds: []string{portier.TokenCode, portier.TokenAccess, portier.TokenRefresh}})
	return err
}

func (s *Service) event(actor portier.Actor, action portier.Action, u *portier.User, target string) *portier.AuditEvent {
	ev := &portier.AuditEvent{
		Time: s.now(), Actor: actor.Name, ActorID: actor.ID, Action: action,
		Target: strings.TrimSpace(target), Source: actor.Source,
	}
	if u != nil {
		ev.TargetID, ev.Target = u.ID, u.UPN
	}
	return ev
}

// auditFailure records a refused or failed action in a transaction of its own; the action's
// own transaction, if any, was rolled back.
func (s *Service) auditFailure(ctx context.Context, ev *portier.AuditEvent, cause error) {
	code := portier.ErrorCode(cause)
	if code == portier.EUnavailable || code == portier.EInternal {
		return // the store is the problem; an audit write would fail the same way
	}
	ev.Outcome = portier.OutcomeFailure
	if code == portier.EForbidden {
		ev.Outcome = portier.OutcomeRefused
	}
	ev.Detail = portier.ErrorMessage(cause)
	ev.Time = s.now()
	err := s.store.Tx(ctx, func(tx portier.Tx) error { return tx.AppendAudit(ctx, ev) })
	if err != nil {
		s.log.Error("cannot write audit entry", "action", ev.Action, "target", ev.Target, "err", err)
	}
}

func refused(actor portier.Actor, action portier.Action) error {
	return portier.Errorf(portier.EForbidden, "%s may not %s this user.", actor.Name, strings.TrimPrefix(string(action), "user."))
}

func notFound(err error, upn string) error {
	if portier.ErrorCode(err) == portier.ENotFound {
		return portier.Errorf(portier.ENotFound, "No user named %s.", upn)
	}
	return err
}

func validateMail(mail string) (string, error) {
	mail = strings.TrimSpace(mail)
	if mail == "" {
		return "", nil
	}
	norm, err := portier.NormalizeUPN(mail)
	if err != nil {
		return "", portier.Errorf(portier.EInvalid, "The mail address %q is not of the form name@domain.", mail)
	}
	return norm, nil
}

func dedupRoles(roles []portier.Role) []portier.Role {
	out := []portier.Role{}
	for _, r := range portier.Roles {
		if slices.Contains(roles, r) {
			out = append(out, r)
		}
	}
	return out
}

func joinRoles(roles []portier.Role) string {
	if len(roles) == 0 {
		return "(none)"
	}
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// UpdateSettings changes the organisation's settings: change edits a copy, which is validated
// and stored with an audit entry naming what changed. Every process sees it within settingsTTL.
// Errors: EForbidden (only a global admin may), EInvalid (a setting out of range).
func (s *Service) UpdateSettings(ctx context.Context, actor portier.Actor, change func(st *portier.Settings) error) (portier.Settings, error) {
	ev := s.event(actor, portier.ActionEditSettings, nil, "settings")
	var updated portier.Settings
	err := func() error {
		if !portier.Can(actor.Roles, portier.ActionEditSettings, nil) {
			return refused(actor, portier.ActionEditSettings)
		}
		return s.store.Tx(ctx, func(tx portier.Tx) error {
			raw, err := tx.Setting(ctx, portier.SettingsKey)
			if err != nil {
				return err
			}
			before, err := portier.DecodeSettings(raw)
			if err != nil {
				return err
			}
			updated = before
			if err := change(&updated); err != nil {
				return err
			}
			if err := updated.Validate(); err != nil {
				return err
			}
			b, err := json.Marshal(updated)
			if err != nil {
				return err
			}
			if err := tx.PutSetting(ctx, portier.SettingsKey, b); err != nil {
				return err
			}
			ev.Detail = settingsDiff(before, updated)
			ev.Outcome = portier.OutcomeSuccess
			return tx.AppendAudit(ctx, ev)
		})
	}()
	if err != nil {
		s.auditFailure(ctx, ev, err)
		return portier.Settings{}, err
	}
	s.mu.Lock()
	s.loadedAt = time.Time{} // this process sees its own change at once
	s.changes++
	s.mu.Unlock()
	return updated, nil
}

// settingsDiff names the settings that differ, old and new values.
func settingsDiff(a, b portier.Settings) string {
	var ma, mb map[string]any
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	json.Unmarshal(ja, &ma)
	json.Unmarshal(jb, &mb)
	flat := func(m map[string]any) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				for sk, sv := range sub {
					out[k+"."+sk] = fmt.Sprint(sv)
				}
				continue
			}
			out[k] = fmt.Sprint(v)
		}
		return out
	}
	fa, fb := flat(ma), flat(mb)
	var changes []string
	for k, v := range fb {
		if fa[k] != v {
			changes = append(changes, fmt.Sprintf("%s: %s -> %s", k, fa[k], v))
		}
	}
	slices.Sort(changes)
	if len(changes) == 0 {
		return "no change"
	}
	return strings.Join(changes, "; ")
}
