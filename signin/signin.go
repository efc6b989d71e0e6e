// Package signin checks passwords under smart lockout and keeps browser sessions. It is the
// domain of the sign-in pages and knows nothing of HTTP: the web package hands it an Attempt
// and renders the Outcome.
//
// Every attempt is charged to its lockout counter in the store before its password is hashed,
// and settled after, so concurrent wrong attempts, on one process or many sharing a database,
// hash at most the threshold's worth of passwords. Unknown user names take the same path with
// a counter of their own and a dummy hash of the same cost, so nothing tells them apart.
package signin

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/password"
)

// MaxPasswordBytes is the longest password accepted; a longer one is refused before any hash.
const MaxPasswordBytes = 1024

// MaxUsernameBytes is the longest user name accepted as typed.
const MaxUsernameBytes = 256

// Metrics counts what the engine does; metrics.Metrics implements it.
type Metrics interface {
	Attempt(code int)
	PasswordVerified()
	Locked()
	LockedRejection()
}

// Engine runs sign-in attempts and sessions. Create it with New.
type Engine struct {
	store   portier.Store
	dir     *directory.Service
	hasher  password.Hasher
	secret  []byte
	now     portier.Clock
	metrics Metrics
	log     *slog.Logger
	process string
	record  *Recorder
	onLock  func(ctx context.Context, tx portier.Tx, userID string, st lockout.State, source string) error
	locks   *lockCache
	// saturatedWait bounds how long an attempt waits for the checks in flight on its counter,
	// or for a core to hash on, before it is answered CodeBusy.
	saturatedWait time.Duration
	// hashing admits one argon2id computation per core: more at once only share the cores,
	// and each holds 19 MiB, so the limit bounds memory without costing throughput.
	hashing chan struct{}
}

// Config is what New needs.
type Config struct {
	Store     portier.Store
	Directory *directory.Service
	// Secret keys the dummy salts of unknown names and the device cookies; shared by every
	// process on one store (see LoadSecret).
	Secret  []byte
	Now     portier.Clock
	Metrics Metrics
	Log     *slog.Logger
	// Process names this process in the sign-in log.
	Process string
	// Recorder writes the sign-in log.
	Recorder *Recorder
	// LockMemory is how long a "locked" answer is given from memory before the store is asked
	// again (zero: 1 s). Tests of the cross-process messages lengthen it.
	LockMemory time.Duration
	// SaturatedWait is how long an attempt waits for the checks in flight on its counter, or
	// for a core to hash on, before it is turned away with CodeBusy (zero: 5 s). Tests of a
	// stall shorten it.
	SaturatedWait time.Duration
	// OnLock, if set, is called in the transaction in which a wrong password locks a user's
	// account-wide counter (not a familiar browser's, not an unknown name's): the lockout mail.
	OnLock func(ctx context.Context, tx portier.Tx, userID string, st lockout.State, source string) error
}

// New returns an engine, and registers it with the directory service to hear of unlocks.
func New(c Config) *Engine {
	e := &Engine{
		store: c.Store, dir: c.Directory, hasher: c.Directory.Hasher(), secret: c.Secret, now: c.Now,
		metrics: c.Metrics, log: c.Log, process: c.Process, record: c.Recorder, locks: newLockCache(cmp.Or(c.LockMemory, lockCacheTTL)), onLock: c.OnLock,
		hashing: make(chan struct{}, runtime.GOMAXPROCS(0)), saturatedWait: cmp.Or(c.SaturatedWait, maxSaturatedWait),
	}
	c.Directory.OnLockoutCleared(e.Forget)
	return e
}

// Forget drops what the engine remembers of a user's lockout, after an unlock or a reset on
// this process; other processes hear of it through Listen.
func (e *Engine) Forget(userID string) { e.locks.forget(userID) }

// Listen makes the engine forget a lock as soon as an unlock or reset on any process sharing
// the store commits (portier.ChannelLockoutCleared), until ctx ends.
func (e *Engine) Listen(ctx context.Context) error {
	return e.store.Subscribe(ctx, portier.ChannelLockoutCleared, func(userID string) {
		if userID == "" {
			e.locks.clear() // messages may have been lost: start afresh
			return
		}
		e.locks.forget(userID)
	})
}

// Attempt is one password sign-in attempt as the browser sent it.
type Attempt struct {
	Username  string
	Password  string
	Source    netip.Addr
	UserAgent string
	// Device is the verified device cookie the browser sent, if any.
	Device Device
	// StartSession asks SignIn to open a browser session on CodeSuccess, in the transaction
	// that settles the attempt, so that a sign-in either fully happens or not at all.
	StartSession bool
	// Language ("en" or "nl") is kept as the user's language on CodeSuccess, in the same
	// transaction; empty keeps the organisation's default.
	Language string
}

// Outcome is the answer to an attempt.
type Outcome struct {
	// Code is the result code (portier.Code…); CodeSuccess lets the user in.
	Code int
	// User is the user on success, on CodePasswordChangeNeeded and on CodeBlocked (all after a right password).
	User *portier.User
	// RetryAt says, on CodeLocked, when to try again.
	RetryAt time.Time
	// Session is, on CodeSuccess of an attempt that asked for one, the new session's cookie value.
	Session string
	// Throttled is set on CodeLocked when the source address, not the account, is throttled.
	Throttled bool
	// Familiar reports that the attempt came from a browser this user signed in with before.
	Familiar bool
}

// SignIn checks an attempt. Errors are only for a store that fails; every refusal is an Outcome.
func (e *Engine) SignIn(ctx context.Context, a Attempt) (Outcome, error) {
	out, err := e.check(ctx, a, nil)
	return out, err
}

// ChangePassword checks the current password exactly as SignIn does (lockout included) and,
// when it is right, sets the new one: for the forced change after CodePasswordChangeNeeded and
// for the change on /myaccount. On success the outcome carries the updated user and every
// other session ends. A new password that breaks the policy is an EInvalid error and changes nothing.
func (e *Engine) ChangePassword(ctx context.Context, a Attempt, newPassword string) (Outcome, error) {
	if !utf8.ValidString(newPassword) || len(newPassword) > MaxPasswordBytes {
		return Outcome{}, portier.Errorf(portier.EInvalid, "The new password must be valid text of at most %d bytes.", MaxPasswordBytes)
	}
	return e.check(ctx, a, &newPassword)
}

// check is the sign-in pipeline shared by SignIn and ChangePassword. An attempt that ends in
// an error other than a broken password rule (the store failed, the request ended) is in the
// sign-in log too, as CodeServerError, best effort: the recorder writes it once the store is back.
func (e *Engine) check(ctx context.Context, a Attempt, newPassword *string) (Outcome, error) {
	entry := &portier.SignIn{Time: e.now(), Source: a.Source.String(), UserAgent: logUserAgent(a.UserAgent), Process: e.process}
	out, err := e.attempt(ctx, a, newPassword, entry)
	if err != nil && portier.ErrorCode(err) != portier.EInvalid {
		entry.Code, entry.Detail = portier.CodeServerError, errorDetail(err)
		e.metrics.Attempt(portier.CodeServerError)
		e.record.Add(entry)
	}
	return out, err
}

// errorDetail says in the sign-in log why an attempt got no answer: the store error's own
// message (which names no driver internals), or that the request ended first.
func errorDetail(err error) string {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "no answer: the request ended first"
	}
	return "no answer: " + truncate(portier.SafeText(portier.ErrorMessage(err)), 300)
}

// attempt runs one attempt; finish records its outcome in entry.
func (e *Engine) attempt(ctx context.Context, a Attempt, newPassword *string, entry *portier.SignIn) (Outcome, error) {
	now := entry.Time
	finish := func(out Outcome, detail string) (Outcome, error) {
		entry.Code, entry.Detail, entry.FamiliarDevice = out.Code, detail, out.Familiar
		if out.User != nil {
			entry.UserID = out.User.ID
		}
		e.metrics.Attempt(out.Code)
		e.record.Add(entry)
		return out, nil
	}

	// A user name is plain text or bad input; the log keeps an escaped copy of a bad one, since
	// PostgreSQL refuses NUL and invalid UTF-8, and an admin reading the log deserves to see it.
	if !portier.IsPlainText(a.Username, false) {
		entry.Username = truncate(portier.SafeText(a.Username), MaxUsernameBytes)
		return finish(Outcome{Code: portier.CodeBadRequest}, "user name is not plain text")
	}
	if !utf8.ValidString(a.Password) {
		entry.Username = truncate(strings.ToLower(strings.TrimSpace(a.Username)), MaxUsernameBytes)
		return finish(Outcome{Code: portier.CodeBadRequest}, "password is not valid UTF-8")
	}
	name := strings.ToLower(strings.TrimSpace(a.Username))
	entry.Username = truncate(name, MaxUsernameBytes)
	switch {
	case name == "" || a.Password == "":
		return finish(Outcome{Code: portier.CodeBadRequest}, "user name or password missing")
	case len(a.Username) > MaxUsernameBytes:
		return finish(Outcome{Code: portier.CodeBadRequest}, "user name too long")
	case len(a.Password) > MaxPasswordBytes:
		return finish(Outcome{Code: portier.CodeBadRequest}, "password longer than 1024 bytes")
	}

	// A flood at a locked account is answered from memory, but only while no lockout was
	// cleared since the memory was made: one read of a counter, so an unlock committed by any
	// process is honoured from its commit on. Read before the counters below, it dates them.
	cleared, err := e.store.Counter(ctx, portier.CounterLockoutCleared)
	if err != nil {
		return Outcome{}, err
	}
	if hit, ok := e.locks.lookup(name, a.Device.ID, now, cleared); ok {
		entry.UserID = hit.userID
		e.metrics.LockedRejection()
		return finish(Outcome{Code: portier.CodeLocked, RetryAt: hit.until, Familiar: a.Device.ID != ""}, "account locked")
	}

	st, err := e.dir.Settings(ctx)
	if err != nil {
		return Outcome{}, err
	}
	policy := st.Lockout

	// The source address first: a spraying source is refused before any account is looked at.
	srcKey := SourceKey(a.Source)
	srcPolicy := sourcePolicy(st)
	srcState, err := e.store.Lockout(ctx, srcKey, "")
	if err != nil {
		return Outcome{}, err
	}
	if srcState.Locked(now) {
		e.metrics.LockedRejection()
		return finish(Outcome{Code: portier.CodeLocked, RetryAt: srcState.LockedUntil, Throttled: true}, "source address throttled")
	}

	// Known and unknown names take the same path from here: a counter each, a hash each.
	var user *portier.User
	key := UnknownKey(name)
	if norm, err := portier.NormalizeUPN(name); err == nil {
		u, err := e.store.UserByUPN(ctx, norm)
		switch portier.ErrorCode(err) {
		case "":
			user, key = u, u.ID
			entry.UserID = u.ID
		case portier.ENotFound:
			key = UnknownKey(norm)
		default:
			return Outcome{}, err
		}
	}
	bucket, familiar := "", false
	if user != nil && e.Familiar(a.Device, user) {
		bucket, familiar = a.Device.ID, true
	}

	// A locked counter is answered from one read, without a hash and without a write.
	var state lockout.State
	if user != nil && bucket == "" {
		state = user.LockoutState
	} else if state, err = e.store.Lockout(ctx, key, bucket); err != nil {
		return Outcome{}, err
	}
	if v, retry := policy.Peek(state, now); v == lockout.Locked {
		e.locks.remember(name, bucket, entry.UserID, retry, cleared)
		e.metrics.LockedRejection()
		return finish(Outcome{Code: portier.CodeLocked, RetryAt: retry, Familiar: familiar}, "account locked")
	}

	// Charge before hashing, atomically, so concurrent attempts cannot all get a hash.
	v, retry, err := e.charge(ctx, policy, key, bucket)
	if err != nil {
		return Outcome{}, err
	}
	if v == lockout.Saturated {
		// The checks in flight did not settle in time (a stalled store, a flood): the server
		// is busy, which is no lockout, so nothing is remembered and nothing counts.
		return finish(Outcome{Code: portier.CodeBusy, Familiar: familiar}, "busy: the checks in flight did not settle in time")
	}
	if v != lockout.Allowed {
		e.locks.remember(name, bucket, entry.UserID, retry, cleared)
		e.metrics.LockedRejection()
		return finish(Outcome{Code: portier.CodeLocked, RetryAt: retry, Familiar: familiar}, "account locked")
	}
	now = e.now()

	var result password.Result
	err = e.withHashSlot(ctx, func() {
		entry.HashComputed = true
		e.metrics.PasswordVerified()
		if user != nil {
			if result, err = e.hasher.Verify(user.PasswordHash, a.Password); err == nil {
				return
			}
			// A stored hash that cannot be read still costs the same work, and repeated
			// wrong passwords still get one fingerprint each.
			e.log.Error("stored password hash cannot be read", "user_id", user.ID, "err", err)
		}
		result = password.Result{Fingerprint: e.hasher.VerifyDummy(e.secret, key, a.Password)}
	})
	if err != nil {
		e.refund(policy, key, bucket)
		if errors.Is(err, errNoCore) {
			return finish(Outcome{Code: portier.CodeBusy, Familiar: familiar}, "busy: no core free to check the password")
		}
		return Outcome{}, err
	}

	// Once the hash is computed the attempt is settled whatever becomes of the request: a
	// client that hangs up before the answer must not have its guess, or its hash, for free.
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()

	if !result.OK {
		notify := user != nil && bucket == ""
		lockedUntil, err := e.fail(settle, policy, key, bucket, now, result.Fingerprint, srcKey, srcPolicy, notify, entry.Source)
		if err != nil {
			// A store that fails is no failed attempt: take the charge back.
			e.refund(policy, key, bucket)
			return Outcome{}, err
		}
		if !lockedUntil.IsZero() {
			e.locks.remember(name, bucket, entry.UserID, lockedUntil, cleared)
			e.metrics.Locked()
			return finish(Outcome{Code: portier.CodeLocked, RetryAt: lockedUntil, Familiar: familiar}, "wrong password; account now locked")
		}
		return finish(Outcome{Code: portier.CodeInvalidCredentials, Familiar: familiar}, "wrong password")
	}

	// The password is right. The block and the forced change are told only now, so that a
	// stranger without the password learns nothing of them.
	out := Outcome{User: user, Familiar: familiar}
	switch {
	case !user.AccountEnabled:
		out.Code = portier.CodeBlocked
	case user.PasswordProfile.ForceChangePasswordNextSignIn && newPassword == nil:
		out.Code = portier.CodePasswordChangeNeeded
	default:
		out.Code = portier.CodeSuccess
	}
	var newHash string
	if newPassword != nil && out.Code == portier.CodeSuccess {
		if newHash, err = e.newPasswordHash(ctx, user, a.Password, *newPassword); err != nil {
			// The current password was right: settle the charge, then report the rule.
			if serr := e.succeed(settle, key, bucket, user, now, success{}); serr != nil {
				e.refund(policy, key, bucket)
				return Outcome{}, serr
			}
			return Outcome{}, err
		}
	} else if result.NeedsRehash && out.Code == portier.CodeSuccess {
		// Upgrade a hash made with older parameters while the password is at hand.
		e.withHashSlot(ctx, func() {
			if h, err := e.hasher.Hash(a.Password); err == nil {
				newHash = h
			}
		})
	}
	done := success{newHash: newHash, changed: newPassword != nil && out.Code == portier.CodeSuccess}
	if out.Code == portier.CodeSuccess {
		done.signedIn, done.language = true, cmp.Or(a.Language, st.DefaultLanguage)
		if a.StartSession && newPassword == nil {
			out.Session, done.session = e.newSession(user, st, now, entry.Source, a.UserAgent)
		}
	}
	if err := e.succeed(settle, key, bucket, user, now, done); err != nil {
		e.refund(policy, key, bucket)
		return Outcome{}, err
	}
	detail := ""
	if newPassword != nil && out.Code == portier.CodeSuccess {
		detail = "password changed"
		user.PasswordProfile.ForceChangePasswordNextSignIn = false
	}
	return finish(out, detail)
}

// newPasswordHash checks a new password against the policy and the current one, and hashes it.
func (e *Engine) newPasswordHash(ctx context.Context, u *portier.User, current, next string) (string, error) {
	if password.Normalize(next) == password.Normalize(current) {
		return "", portier.Errorf(portier.EInvalid, "The new password must differ from the current one.")
	}
	if err := e.dir.CheckPassword(ctx, u, next); err != nil {
		return "", err
	}
	var hash string
	var err error
	if slotErr := e.withHashSlot(ctx, func() { hash, err = e.hasher.Hash(next) }); slotErr != nil {
		return "", slotErr
	}
	return hash, err
}

// errNoCore is withHashSlot's error when no core came free within the saturated wait: the
// server is busy, which the caller answers with CodeBusy or a 503, never as a failure.
var errNoCore = portier.Errorf(portier.EUnavailable, "The server is busy: try again in a few seconds.")

// withHashSlot runs fn, an argon2id computation, once a core is free for it; errNoCore when
// none comes free within the saturated wait.
func (e *Engine) withHashSlot(ctx context.Context, fn func()) error {
	wait := time.NewTimer(e.saturatedWait)
	defer wait.Stop()
	select {
	case e.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-wait.C:
		return errNoCore
	}
	defer func() { <-e.hashing }()
	fn()
	return nil
}

// refund takes back the charge of an attempt that got no answer (its request was cancelled,
// no core came free, or the store failed while settling it), so that neither a stall nor a
// store error counts as a failed attempt. It runs in a context of its own, since the request's
// may be done. A store that fails the refund too is tried again in the background until the
// charge would go stale (lockout.StaleCharge) and count: best effort, but no later.
func (e *Engine) refund(policy lockout.Policy, key, bucket string) {
	try := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return e.store.Tx(ctx, func(tx portier.Tx) error {
			s, err := tx.LockoutForUpdate(ctx, key, bucket)
			if err != nil {
				return err
			}
			policy.Refund(&s)
			return tx.PutLockout(ctx, key, bucket, s)
		})
	}
	if try(2*time.Second) == nil {
		return
	}
	go func() {
		deadline := time.Now().Add(lockout.StaleCharge - 5*time.Second)
		pause := 250 * time.Millisecond
		for {
			time.Sleep(pause)
			err := try(2 * time.Second)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				e.log.Error("cannot refund a lockout charge; it will count as a failure", "err", err)
				return
			}
			pause = min(2*pause, 4*time.Second)
		}
	}()
}

// maxSaturatedWait is the default of Config.SaturatedWait.
const maxSaturatedWait = 5 * time.Second

// settleTimeout bounds the settlement of a checked attempt, which runs on after its request
// ends.
const settleTimeout = 10 * time.Second

// charge counts an attempt on (key, bucket), one transaction per try. While the threshold's
// worth of attempts are being checked it waits for them to settle and tries again, so that
// parallel right passwords all get in; the wait is in real time, since it waits for other
// goroutines and processes, not for a policy duration. A wait that runs out answers
// lockout.Saturated: the server is busy, and nothing was charged.
func (e *Engine) charge(ctx context.Context, policy lockout.Policy, key, bucket string) (v lockout.Verdict, retry time.Time, err error) {
	pause := 2 * time.Millisecond
	deadline := time.Now().Add(e.saturatedWait)
	for {
		now := e.now()
		err = e.store.Tx(ctx, func(tx portier.Tx) error {
			s, err := tx.LockoutForUpdate(ctx, key, bucket)
			if err != nil {
				return err
			}
			if v, retry = policy.Charge(&s, now); v != lockout.Allowed {
				return nil
			}
			return tx.PutLockout(ctx, key, bucket, s)
		})
		if err != nil || v != lockout.Saturated {
			return v, retry, err
		}
		if time.Now().After(deadline) {
			return lockout.Saturated, time.Time{}, nil
		}
		select {
		case <-ctx.Done():
			return v, retry, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// fail settles a wrong password on the account's counter and on the source's. It returns when
// the account's lock ends if this failure locked it, the zero time otherwise; notify calls
// OnLock when it did.
func (e *Engine) fail(ctx context.Context, policy lockout.Policy, key, bucket string, now time.Time, fp lockout.Fingerprint,
	srcKey string, srcPolicy lockout.Policy, notify bool, source string) (lockedUntil time.Time, err error) {
	err = e.store.Tx(ctx, func(tx portier.Tx) error {
		s, err := tx.LockoutForUpdate(ctx, key, bucket)
		if err != nil {
			return err
		}
		if policy.Fail(&s, now, fp) {
			lockedUntil = s.LockedUntil
			if notify && e.onLock != nil {
				if err := e.onLock(ctx, tx, key, s, source); err != nil {
					return err
				}
			}
		}
		if err := tx.PutLockout(ctx, key, bucket, s); err != nil {
			return err
		}
		// The source pays for every hash its wrong passwords cost, repeats included: a repeat
		// is free for the account, but not for the cores (lockout.Policy.Count).
		src, err := tx.LockoutForUpdate(ctx, srcKey, "")
		if err != nil {
			return err
		}
		if v, _ := srcPolicy.Charge(&src, now); v == lockout.Allowed {
			srcPolicy.Count(&src, now)
		}
		return tx.PutLockout(ctx, srcKey, "", src)
	})
	return lockedUntil, err
}

// success is what a right password writes besides clearing its counter.
type success struct {
	signedIn bool             // a full success: the last sign-in time, and the language
	language string           // kept as the user's language when it changed ("en" or "nl")
	newHash  string           // a new or upgraded password hash
	changed  bool             // newHash is a new password, not an upgrade: the change time and the credential generation move
	session  *portier.Session // a browser session to open
}

// succeed settles a right password in one transaction: the counter starts afresh, and on a
// full success the last sign-in time, the language, a new or upgraded hash and the session
// are written, all or none, so that a sign-in has one outcome.
func (e *Engine) succeed(ctx context.Context, key, bucket string, u *portier.User, now time.Time, done success) error {
	err := e.store.Tx(ctx, func(tx portier.Tx) error {
		s, err := tx.LockoutForUpdate(ctx, key, bucket)
		if err != nil {
			return err
		}
		lockout.Policy{}.Succeed(&s)
		if err := tx.PutLockout(ctx, key, bucket, s); err != nil {
			return err
		}
		if !done.signedIn && done.newHash == "" {
			return nil
		}
		fresh, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		if done.signedIn {
			fresh.LastSignIn = &now
			if done.language == "en" || done.language == "nl" {
				fresh.Language = done.language
			}
		}
		if done.newHash != "" {
			fresh.PasswordHash = done.newHash
		}
		if done.changed {
			fresh.PasswordChanged = now
			fresh.PasswordProfile.ForceChangePasswordNextSignIn = false
			fresh.EndCredentials()
			u.CredentialGeneration = fresh.CredentialGeneration
		}
		if err := tx.UpdateUser(ctx, fresh); err != nil {
			return err
		}
		if done.session != nil {
			return tx.InsertSession(ctx, done.session)
		}
		return nil
	})
	if err == nil && done.signedIn {
		u.LastSignIn = &now
		if done.language == "en" || done.language == "nl" {
			u.Language = done.language
		}
	}
	return err
}

// sourcePolicy turns the source settings into a counter policy: SourceThreshold failures
// without a quiet SourceWindow throttle the source for SourceWindow.
func sourcePolicy(st portier.Settings) lockout.Policy {
	return lockout.Policy{Threshold: st.SourceThreshold, Duration: st.SourceWindow, MaxDuration: st.SourceWindow, Decay: st.SourceWindow}
}

// UnknownKey is the counter key of a user name that names no user.
func UnknownKey(name string) string { return "unknown:" + name }

// SourceKey is the counter key of a source address: the IPv4 address, or the IPv6 /64.
func SourceKey(addr netip.Addr) string {
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return "source:" + p.String()
	}
	return "source:" + addr.String()
}

// logUserAgent is what the sign-in log and the sessions keep of a User-Agent header: the
// browser's to choose, so escaped when it is not plain text, and bounded.
func logUserAgent(ua string) string { return truncate(portier.SafeText(ua), 512) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
