package selfservice

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/password"
)

// flow is a self-service reset in progress, kept by Service.resets as a token of kind
// TokenRecovery whose ID is the hash of the secret in the browser's cookie. Its UserID is
// empty for a name that is no user, or a user who may not use self-service.
type flow struct {
	flowMeta
	Name string `json:"name"` // as typed, normalised
	// Passed are the kinds of method passed so far.
	Passed []portier.MethodKind `json:"passed"`
	// Code is the email code in flight, if any.
	Code *pendingCode `json:"code,omitempty"`
}

// pendingCode is an email code sent in a reset and not yet typed right.
type pendingCode struct {
	MAC      []byte    `json:"mac"`
	MethodID string    `json:"methodId"` // empty when the address matched nothing: the code then never works
	Expires  time.Time `json:"expires"`
	Tries    int       `json:"tries"`
}

// FlowView is what the pages of a reset in progress show.
type FlowView struct {
	Name string
	// Passed is how many methods were passed; Required is told only once one was, so a page
	// never tells of an account (an admin needs two) before its holder proved something.
	Passed, Required int
	// Verified: enough methods were passed; the user may unlock or choose a password.
	Verified bool
	// CodeSent: an email code is waiting to be typed.
	CodeSent bool
	// Passed kinds, so a page offers only the methods still to pass.
	PassedEmail, PassedTOTP bool
	// Set only when Verified:
	Locked      bool
	LockedUntil time.Time
	CanUnlock   bool
	Blocked     bool
}

// Begin starts a self-service reset for a typed user name and returns the secret for the
// browser's cookie. Every name, known or not, gets a flow; a known user outside the
// organisation's self-service scope gets one that can never pass, and an audit entry.
func (s *Service) Begin(ctx context.Context, name, source string) (string, error) {
	defer s.pad(ctx, time.Now())
	st, err := s.dir.Settings(ctx)
	if err != nil {
		return "", err
	}
	if st.Reset.Scope == portier.ResetNone {
		return "", refuse(ReasonDisabled)
	}
	if !utf8.ValidString(name) || len(name) > portier.MaxUsernameBytes {
		return "", portier.Errorf(portier.EInvalid, "The user name is not valid.")
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return "", portier.Errorf(portier.EInvalid, "The user name is empty.")
	}
	f := flow{Name: name}
	var blocked *portier.AuditEvent
	if upn, err := portier.NormalizeUPN(name); err == nil {
		u, err := s.store.UserByUPN(ctx, upn)
		switch portier.ErrorCode(err) {
		case "":
			if _, ok := st.Reset.Required(u.Roles); ok {
				f.UserID = u.ID
			} else {
				blocked = s.selfEvent(u, portier.ActionSSPRBlocked, source, "not in the self-service reset scope ("+st.Reset.Scope+")")
				blocked.Outcome = portier.OutcomeRefused
			}
		case portier.ENotFound:
		default:
			return "", err
		}
	}
	secret, id := newSecret()
	f.ID = id
	now := s.now()
	var refusal error
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		retry, err := charge(ctx, tx, now, limit{"start:" + sourceKey(source), sourceStartPolicy})
		if err != nil {
			return err
		}
		if !retry.IsZero() {
			refusal = &Refusal{Reason: ReasonStartLimit, RetryAt: retry}
			return nil
		}
		if blocked != nil {
			if err := tx.AppendAudit(ctx, blocked); err != nil {
				return err
			}
		}
		return s.resets().save(ctx, tx, &f)
	})
	if err != nil {
		return "", err
	}
	if refusal != nil {
		return "", refusal
	}
	return secret, nil
}

// load reads a reset and its user (nil for a name that is no user); inside a transaction it
// locks the reset. ReasonExpired when it is gone.
func (s *Service) load(ctx context.Context, q reader, secret string) (*flow, *portier.User, error) {
	if len(secret) != 64 {
		return nil, nil, refuse(ReasonExpired)
	}
	f, err := s.resets().load(ctx, q, TokenID(secret))
	if err != nil {
		return nil, nil, err
	}
	var u *portier.User
	if f.UserID != "" {
		if u, err = q.UserByID(ctx, f.UserID); portier.ErrorCode(err) == portier.ENotFound {
			return nil, nil, refuse(ReasonExpired)
		} else if err != nil {
			return nil, nil, err
		}
	}
	return f, u, nil
}

// required is how many methods the flow's user must pass (the organisation's number for a
// name that is no user).
func required(st portier.Settings, u *portier.User) int {
	if u != nil {
		if n, ok := st.Reset.Required(u.Roles); ok {
			return n
		}
	}
	return st.Reset.MethodsRequired
}

// need is how many methods the flow must pass before it may reset or unlock: required, and,
// for a user with an authenticator app (a second factor of sign-in), one more until the
// authenticator is among them, so that a reset, which ends in a sign-in, never bypasses the
// second factor. Passkeys, which self-service does not check, do not count here.
func (s *Service) need(ctx context.Context, q reader, st portier.Settings, f *flow, u *portier.User) (int, error) {
	n := required(st, u)
	if u == nil || passed(f, portier.MethodTOTP) || !st.Reset.Allows(portier.MethodTOTP) {
		return n, nil
	}
	ms, err := q.ListMethods(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.Kind == portier.MethodTOTP {
			return max(n, len(f.Passed)+1), nil
		}
	}
	return n, nil
}

func passed(f *flow, k portier.MethodKind) bool {
	for _, p := range f.Passed {
		if p == k {
			return true
		}
	}
	return false
}

// View returns what the pages of a reset in progress show.
func (s *Service) View(ctx context.Context, secret string) (*FlowView, error) {
	st, err := s.dir.Settings(ctx)
	if err != nil {
		return nil, err
	}
	f, u, err := s.load(ctx, s.store, secret)
	if err != nil {
		return nil, err
	}
	now := s.now()
	v := &FlowView{Name: f.Name, Passed: len(f.Passed), CodeSent: f.Code != nil,
		PassedEmail: passed(f, portier.MethodEmail), PassedTOTP: passed(f, portier.MethodTOTP)}
	need, err := s.need(ctx, s.store, st, f, u)
	if err != nil {
		return nil, err
	}
	if v.Passed > 0 {
		v.Required = need
	}
	if u != nil && v.Passed >= need {
		v.Verified = true
		v.Locked = u.LockoutState.Locked(now)
		v.LockedUntil = u.LockoutState.LockedUntil
		v.CanUnlock = v.Locked && st.Reset.AllowUnlock
		v.Blocked = !u.AccountEnabled
	}
	return v, nil
}

// SendCode sends a code to address if it is the user's registered alternate address. The
// answer is the same whether it is or not, and whether the name is a user or not; only the
// send limits, which count per typed name and per source, refuse.
func (s *Service) SendCode(ctx context.Context, secret, address, source string) error {
	defer s.pad(ctx, time.Now())
	st, err := s.allowing(ctx, portier.MethodEmail)
	if err != nil {
		return err
	}
	address = strings.TrimSpace(address)
	if !utf8.ValidString(address) || len(address) > MaxAddressLength || !strings.Contains(address, "@") {
		return refuse(ReasonAddress)
	}
	now := s.now()
	code := newCode()
	var refusal error
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		f, u, err := s.load(ctx, tx, secret)
		if err != nil {
			return err
		}
		key := lockout.UnknownName(f.Name).Key
		if u != nil {
			key = u.ID
		}
		retry, err := charge(ctx, tx, now, sendLimits(key, source)...)
		if err != nil {
			return err
		}
		if !retry.IsZero() {
			if u != nil {
				ev := s.selfEvent(u, portier.ActionSSPRBlocked, source, "too many codes requested")
				ev.Outcome = portier.OutcomeRefused
				if err := tx.AppendAudit(ctx, ev); err != nil {
					return err
				}
			}
			// Committed: the audit entry stays, and nothing else changed.
			refusal = &Refusal{Reason: ReasonSendLimit, RetryAt: retry}
			return nil
		}
		var method *portier.AuthMethod
		if u != nil && !passed(f, portier.MethodEmail) {
			ms, err := tx.ListMethods(ctx, u.ID)
			if err != nil {
				return err
			}
			for _, m := range ms {
				if m.Kind == portier.MethodEmail && strings.EqualFold(m.Address, address) {
					method = m
				}
			}
		}
		pc := &pendingCode{Expires: now.Add(CodeLifetime)}
		if method != nil {
			pc.MethodID = method.ID
			pc.MAC = s.codeMAC("recover", f.ID, code)
			msg, err := render("code", language(u, st), method.Address, map[string]any{"Name": u.DisplayName, "UPN": u.UPN, "Org": st.OrgName, "Code": code, "Purpose": "recover"})
			if err != nil {
				return err
			}
			if err := s.mailer.Enqueue(ctx, tx, msg, nil); err != nil {
				return err
			}
		} else {
			// A code nobody received: the same record, and no typed code ever matches it.
			pc.MAC = s.codeMAC("nobody", f.ID, newCode())
		}
		f.Code = pc
		return s.resets().save(ctx, tx, f)
	})
	if err != nil {
		return err
	}
	return refusal
}

// A verifier checks, within tx, what was typed for one kind of method in a reset: the email
// code, the authenticator code (a passkey would be one more). It returns a Refusal when the
// method did not pass, having counted what must count (it may change f: a code's tries).
// u is nil for a name that is no user.
type verifier func(ctx context.Context, tx portier.Tx, f *flow, u *portier.User, typed string) (refusal, err error)

// pass runs one method's check in a reset: the flow is loaded and locked, the verifier
// decides, a pass is recorded, and the flow saved. A refusal comes back after the commit,
// so what was counted stays counted.
func (s *Service) pass(ctx context.Context, secret string, kind portier.MethodKind, typed string, verify verifier) error {
	var refusal error
	err := s.store.Tx(ctx, func(tx portier.Tx) error {
		f, u, err := s.load(ctx, tx, secret)
		if err != nil {
			return err
		}
		if refusal, err = verify(ctx, tx, f, u, typed); err != nil {
			return err
		}
		if refusal == nil {
			f.Passed = append(f.Passed, kind)
		}
		return s.resets().save(ctx, tx, f)
	})
	if err != nil {
		return err
	}
	return refusal
}

// CheckCode checks the email code typed in a reset. A right code passes the email method and
// is used up; a wrong one counts, and the fifth kills it.
func (s *Service) CheckCode(ctx context.Context, secret, code string) error {
	defer s.pad(ctx, time.Now())
	return s.pass(ctx, secret, portier.MethodEmail, code, s.emailCode)
}

// emailCode is the verifier of the email method: the code SendCode sent.
func (s *Service) emailCode(_ context.Context, _ portier.Tx, f *flow, _ *portier.User, code string) (error, error) {
	pc := f.Code
	switch {
	case pc == nil:
		return refuse(ReasonNoCode), nil
	case pc.Tries >= CodeTries:
		return refuse(ReasonCodeDead), nil
	case !s.now().Before(pc.Expires):
		return refuse(ReasonCodeExpired), nil
	case !s.codeMatches(pc.MAC, "recover", f.ID, code) || pc.MethodID == "":
		pc.Tries++
		if pc.Tries >= CodeTries {
			return refuse(ReasonCodeDead), nil
		}
		return &Refusal{Reason: ReasonWrongCode, TriesLeft: CodeTries - pc.Tries}, nil
	}
	f.Code = nil
	return nil, nil
}

// CheckTOTP checks an authenticator code typed in a reset. Wrong codes count on the user's
// authenticator counter (not the password's), under the organisation's lockout policy; a
// code is accepted once only.
func (s *Service) CheckTOTP(ctx context.Context, secret, code, source string) error {
	defer s.pad(ctx, time.Now())
	st, err := s.allowing(ctx, portier.MethodTOTP)
	if err != nil {
		return err
	}
	return s.pass(ctx, secret, portier.MethodTOTP, code, s.authenticatorCode(st, source))
}

// authenticatorCode is the verifier of the authenticator method, under the settings st.
func (s *Service) authenticatorCode(st portier.Settings, source string) verifier {
	return func(ctx context.Context, tx portier.Tx, f *flow, u *portier.User, code string) (error, error) {
		key := "totp:" + lockout.UnknownName(f.Name).Key
		if u != nil {
			key = "totp:" + u.ID
		}
		// Passed already: no code of the authenticator passes it twice.
		refusal, err := s.totpTry(ctx, tx, st, key, u, u != nil && !passed(f, portier.MethodTOTP), code, source, "too many wrong authenticator codes")
		if refusal == nil {
			return nil, err
		}
		return refusal, err
	}
}

// totpTry checks an authenticator code of u (nil, or check unset: a name with no
// authenticator, or one that passed already, which does the same work and never passes) within tx, on the counter key, which is the authenticator's
// own: wrong codes count under the organisation's lockout policy, a locked counter refuses
// without looking, and a code is accepted once only. A right code moves the method's last
// step and last use. The refusal is ReasonWrongCode or ReasonTOTPLocked (RetryAt set); what
// locks the counter is audited, as what, and mailed to the user.
func (s *Service) totpTry(ctx context.Context, tx portier.Tx, st portier.Settings, key string, u *portier.User, check bool, code, source, what string) (*Refusal, error) {
	now := s.now()
	counter, err := tx.LockoutForUpdate(ctx, key, "")
	if err != nil {
		return nil, err
	}
	if v, retry := st.Lockout.Peek(counter, now); v != lockout.Allowed {
		if retry.IsZero() {
			retry = now.Add(st.Lockout.Duration)
		}
		return &Refusal{Reason: ReasonTOTPLocked, RetryAt: retry}, nil
	}
	var method *portier.AuthMethod
	var step int64
	if check {
		ms, err := tx.ListMethods(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Kind != portier.MethodTOTP {
				continue
			}
			if m, err = tx.MethodForUpdate(ctx, u.ID, m.ID); err != nil {
				return nil, err
			}
			if st, ok := totpMatch(string(m.Secret), code, now, m.LastStep); ok {
				method, step = m, st
			}
		}
	} else {
		totpMatch("JBSWY3DPEHPK3PXP", code, now, 0) // the same work for a name with no authenticator
	}
	if method == nil {
		// Every wrong code counts (Count, not a password's Fail). The password rule "a
		// repeated wrong value counts once" forgives a typo typed twice; a code changes every
		// step, so a repeat is no typo, and forgiving it would let a guesser cycle a few
		// codes for ever.
		if _, locked := st.Lockout.Count(&counter, now); !locked {
			return &Refusal{Reason: ReasonWrongCode, TriesLeft: max(0, st.Lockout.Threshold-counter.Failures)}, tx.PutLockout(ctx, key, "", counter)
		}
		if u != nil {
			ev := s.selfEvent(u, portier.ActionSSPRBlocked, source, what)
			ev.Outcome = portier.OutcomeRefused
			if err := tx.AppendAudit(ctx, ev); err != nil {
				return nil, err
			}
			if err := s.codeLockNotice(ctx, tx, st, u, counter, source); err != nil {
				return nil, err
			}
		}
		return &Refusal{Reason: ReasonTOTPLocked, RetryAt: counter.LockedUntil}, tx.PutLockout(ctx, key, "", counter)
	}
	st.Lockout.Succeed(&counter)
	if err := tx.PutLockout(ctx, key, "", counter); err != nil {
		return nil, err
	}
	method.LastStep, method.LastUsed = step, &now
	return nil, tx.UpdateMethod(ctx, method)
}

// verified loads and locks a flow that passed enough methods, with its user; or refuses.
func (s *Service) verified(ctx context.Context, tx portier.Tx, st portier.Settings, secret string) (*flow, *portier.User, error) {
	f, u, err := s.load(ctx, tx, secret)
	if err != nil {
		return nil, nil, err
	}
	need, err := s.need(ctx, tx, st, f, u)
	if err != nil {
		return nil, nil, err
	}
	if u == nil || len(f.Passed) < need {
		return nil, nil, refuse(ReasonNotVerified)
	}
	if !u.AccountEnabled {
		return nil, nil, refuse(ReasonBlocked)
	}
	return f, u, nil
}

// Unlock ends the lockout of a verified flow's account without changing its password.
func (s *Service) Unlock(ctx context.Context, secret, source string) (*portier.User, error) {
	st, err := s.dir.Settings(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Reset.AllowUnlock {
		return nil, refuse(ReasonUnlockOff)
	}
	now := s.now()
	var user *portier.User
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		f, u, err := s.verified(ctx, tx, st, secret)
		if err != nil {
			return err
		}
		if u, err = tx.UserForUpdate(ctx, u.ID); err != nil {
			return err
		}
		if !u.LockoutState.Locked(now) {
			return refuse(ReasonNotLocked)
		}
		user = u
		ev := s.selfEvent(u, portier.ActionSelfServiceUnlock, source, "was locked until "+u.LockoutState.LockedUntil.UTC().Format(time.RFC3339))
		return s.settle(ctx, tx, st, f, u, ev, source, true)
	})
	if err != nil {
		return nil, err
	}
	return user, nil
}

// Reset sets a new password for a verified flow's account: the full policy, and it must
// differ from the current one. It ends the lockout, and every session and token unless
// keepSessions.
func (s *Service) Reset(ctx context.Context, secret, newPassword string, keepSessions bool, source string) (*portier.User, error) {
	st, err := s.dir.Settings(ctx)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(newPassword) || len(newPassword) > password.MaxBytes {
		return nil, portier.Errorf(portier.EInvalid, "The new password must be valid text of at most %d bytes.", password.MaxBytes)
	}
	var u *portier.User
	if err := s.store.Tx(ctx, func(tx portier.Tx) (err error) {
		_, u, err = s.verified(ctx, tx, st, secret)
		return err
	}); err != nil {
		return nil, err
	}
	if err := s.dir.CheckPassword(ctx, u, newPassword); err != nil {
		return nil, err
	}
	hasher := s.dir.Hasher()
	if r, err := hasher.Verify(u.PasswordHash, newPassword); err == nil && r.OK || password.Normalize(newPassword) == "" {
		return nil, refuse(ReasonSamePassword)
	}
	hash, err := hasher.Hash(newPassword)
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		f, fresh, err := s.verified(ctx, tx, st, secret)
		if err != nil {
			return err
		}
		if fresh, err = tx.UserForUpdate(ctx, fresh.ID); err != nil {
			return err
		}
		fresh.PasswordHash, fresh.PasswordChanged = hash, now
		fresh.PasswordProfile.ForceChangePasswordNextSignIn = false
		fresh.EndCredentials() // no browser stays familiar, sessions kept or not
		detail := "sessions kept"
		if !keepSessions {
			detail = "signed out everywhere"
			if err := directory.EndSessions(ctx, tx, fresh, now); err != nil {
				return err
			}
		}
		if fresh.LockoutState.Locked(now) {
			detail += "; was locked until " + fresh.LockoutState.LockedUntil.UTC().Format(time.RFC3339)
		}
		if err := tx.UpdateUser(ctx, fresh); err != nil {
			return err
		}
		u = fresh
		return s.settle(ctx, tx, st, f, fresh, s.selfEvent(fresh, portier.ActionSelfServiceReset, source, detail), source, false)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// settle is the last step of a verified reset, whose account was unlocked or (unlock false)
// given a new password: its lockouts are cleared, ev is audited, the owner told, and the
// reset used up.
func (s *Service) settle(ctx context.Context, tx portier.Tx, st portier.Settings, f *flow, u *portier.User, ev *portier.AuditEvent, source string, unlock bool) error {
	if err := directory.ClearLockouts(ctx, tx, u.ID); err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, ev); err != nil {
		return err
	}
	if err := s.notifyReset(ctx, tx, st, u, source, unlock); err != nil {
		return err
	}
	return s.resets().end(ctx, tx, f)
}

// notifyReset queues the notice of a self-service reset or unlock to the user, and for an
// admin's own reset to every global admin.
func (s *Service) notifyReset(ctx context.Context, tx portier.Tx, st portier.Settings, u *portier.User, source string, unlock bool) error {
	if st.Reset.NotifyUser {
		what := "notice of self-service " + map[bool]string{true: "unlock", false: "reset"}[unlock]
		if err := s.notify(ctx, tx, st, u, s.addresses(ctx, tx, u), "reset", what, source,
			map[string]any{"Name": u.DisplayName, "UPN": u.UPN, "Org": st.OrgName, "Time": s.now(), "Source": source, "Unlock": unlock}); err != nil {
			return err
		}
	}
	if unlock || !st.Reset.NotifyAdmins || !portier.IsAdmin(u.Roles) {
		return nil
	}
	f := portier.UserFilter{AdminsOnly: true, Limit: 1000}
	for {
		page, err := tx.ListUsers(ctx, f)
		if err != nil {
			return err
		}
		for _, a := range page.Users {
			if !a.HasRole(portier.RoleGlobalAdmin) || a.Mail == "" || !a.AccountEnabled {
				continue
			}
			msg, err := render("admin-reset", language(a, st), a.Mail, map[string]any{"Name": a.DisplayName, "AdminName": u.DisplayName, "AdminUPN": u.UPN, "Org": st.OrgName, "Time": s.now(), "Source": source})
			if err != nil {
				return err
			}
			ev := &portier.AuditEvent{Actor: "portier", Action: portier.ActionNotifyAdmins, TargetID: a.ID, Target: a.UPN, Source: source,
				Outcome: portier.OutcomeSuccess, Detail: "told of the self-service password reset of admin " + u.UPN}
			if err := s.mailer.Enqueue(ctx, tx, msg, ev); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		f.After = page.Next
	}
}

// addresses are where notices to u go: the directory's mail and the alternate address.
func (s *Service) addresses(ctx context.Context, q reader, u *portier.User) []string {
	var out []string
	if u.Mail != "" {
		out = append(out, u.Mail)
	}
	ms, err := q.ListMethods(ctx, u.ID)
	if err != nil {
		s.log.Error("listing security info for a notice", "user_id", u.ID, "err", err)
	}
	for _, m := range ms {
		if m.Kind == portier.MethodEmail && !strings.EqualFold(m.Address, u.Mail) {
			out = append(out, m.Address)
		}
	}
	return out
}
