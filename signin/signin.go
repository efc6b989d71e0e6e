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
	"crypto/hmac"
	"crypto/sha256"
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
	// OnLock, if set, is called in the transaction in which a wrong password locks a user's
	// account-wide counter (not a familiar browser's, not an unknown name's): the lockout mail.
	OnLock func(ctx context.Context, tx portier.Tx, userID string, st lockout.State, source string) error
}

// New returns an engine, and registers it with the directory service to hear of unlocks.
func New(c Config) *Engine {
	e := &Engine{
		store: c.Store, dir: c.Directory, hasher: c.Directory.Hasher(), secret: c.Secret, now: c.Now,
		metrics: c.Metrics, log: c.Log, process: c.Process, record: c.Recorder, locks: newLockCache(cmp.Or(c.LockMemory, lockCacheTTL)), onLock: c.OnLock,
		hashing: make(chan struct{}, runtime.GOMAXPROCS(0)),
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
}

// Outcome is the answer to an attempt.
type Outcome struct {
	// Code is the result code (portier.Code…); CodeSuccess lets the user in.
	Code int
	// User is the user on success, on CodePasswordChangeNeeded and on CodeBlocked (all after a right password).
	User *portier.User
	// RetryAt says, on CodeLocked, when to try again.
	RetryAt time.Time
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

// check is the sign-in pipeline shared by SignIn and ChangePassword.
func (e *Engine) check(ctx context.Context, a Attempt, newPassword *string) (Outcome, error) {
	now := e.now()
	entry := &portier.SignIn{Time: now, Source: a.Source.String(), UserAgent: truncate(a.UserAgent, 512), Process: e.process}
	finish := func(out Outcome, detail string) (Outcome, error) {
		entry.Code, entry.Detail, entry.FamiliarDevice = out.Code, detail, out.Familiar
		if out.User != nil {
			entry.UserID = out.User.ID
		}
		e.metrics.Attempt(out.Code)
		e.record.Add(entry)
		return out, nil
	}

	if !utf8.ValidString(a.Username) || !utf8.ValidString(a.Password) {
		entry.Username = "(invalid UTF-8)"
		return finish(Outcome{Code: portier.CodeBadRequest}, "user name or password is not valid UTF-8")
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
	if v != lockout.Allowed {
		e.locks.remember(name, bucket, entry.UserID, retry, cleared)
		e.metrics.LockedRejection()
		return finish(Outcome{Code: portier.CodeLocked, RetryAt: retry, Familiar: familiar}, "account locked")
	}
	now = e.now()

	entry.HashComputed = true
	e.metrics.PasswordVerified()
	var result password.Result
	err = e.withHashSlot(ctx, func() {
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
		return Outcome{}, err
	}

	if !result.OK {
		notify := user != nil && bucket == ""
		lockedUntil, err := e.fail(ctx, policy, key, bucket, now, result.Fingerprint, srcKey, srcPolicy, notify, entry.Source)
		if err != nil {
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
			if serr := e.succeed(ctx, key, bucket, user, now, "", false, false); serr != nil {
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
	changed := newPassword != nil && out.Code == portier.CodeSuccess
	if err := e.succeed(ctx, key, bucket, user, now, newHash, out.Code == portier.CodeSuccess, changed); err != nil {
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

// withHashSlot runs fn, an argon2id computation, once a core is free for it.
func (e *Engine) withHashSlot(ctx context.Context, fn func()) error {
	select {
	case e.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.hashing }()
	fn()
	return nil
}

// refund takes back the charge of an attempt whose check never happened (its request was
// cancelled while it waited for a core), in a context of its own since the request's is done.
func (e *Engine) refund(policy lockout.Policy, key, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := e.store.Tx(ctx, func(tx portier.Tx) error {
		s, err := tx.LockoutForUpdate(ctx, key, bucket)
		if err != nil {
			return err
		}
		policy.Refund(&s)
		return tx.PutLockout(ctx, key, bucket, s)
	})
	if err != nil {
		e.log.Error("cannot refund a lockout charge; it will count as a failure", "err", err)
	}
}

// maxSaturatedWait bounds how long an attempt waits for the checks in flight on its counter.
const maxSaturatedWait = 5 * time.Second

// charge counts an attempt on (key, bucket), one transaction per try. While the threshold's
// worth of attempts are being checked it waits for them to settle and tries again, so that
// parallel right passwords all get in; the wait is in real time, since it waits for other
// goroutines and processes, not for a policy duration.
func (e *Engine) charge(ctx context.Context, policy lockout.Policy, key, bucket string) (v lockout.Verdict, retry time.Time, err error) {
	pause := 2 * time.Millisecond
	deadline := time.Now().Add(maxSaturatedWait)
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
			return lockout.Locked, now.Add(policy.Duration), nil
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
		// The source counts every failure against any account; the same wrong password for
		// the same account does not count twice here either.
		src, err := tx.LockoutForUpdate(ctx, srcKey, "")
		if err != nil {
			return err
		}
		if v, _ := srcPolicy.Charge(&src, now); v == lockout.Allowed {
			srcPolicy.Fail(&src, now, sourceFingerprint(key, fp))
		}
		return tx.PutLockout(ctx, srcKey, "", src)
	})
	return lockedUntil, err
}

// succeed settles a right password: the counter starts afresh, and on a full success the last
// sign-in time (and a new or upgraded hash) is written. changed says the hash is a new password,
// not an upgrade of the same one: only then do the change time and the credential generation move.
func (e *Engine) succeed(ctx context.Context, key, bucket string, u *portier.User, now time.Time, newHash string, signedIn, changed bool) error {
	return e.store.Tx(ctx, func(tx portier.Tx) error {
		s, err := tx.LockoutForUpdate(ctx, key, bucket)
		if err != nil {
			return err
		}
		lockout.Policy{}.Succeed(&s)
		if err := tx.PutLockout(ctx, key, bucket, s); err != nil {
			return err
		}
		if !signedIn && newHash == "" {
			return nil
		}
		fresh, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		if signedIn {
			fresh.LastSignIn = &now
			u.LastSignIn = &now
		}
		if newHash != "" {
			fresh.PasswordHash = newHash
		}
		if changed {
			fresh.PasswordChanged = now
			fresh.PasswordProfile.ForceChangePasswordNextSignIn = false
			fresh.EndCredentials()
			u.CredentialGeneration = fresh.CredentialGeneration
		}
		return tx.UpdateUser(ctx, fresh)
	})
}

// sourcePolicy turns the source settings into a counter policy: SourceThreshold failures
// without a quiet SourceWindow throttle the source for SourceWindow.
func sourcePolicy(st portier.Settings) lockout.Policy {
	return lockout.Policy{Threshold: st.SourceThreshold, Duration: st.SourceWindow, MaxDuration: st.SourceWindow, Decay: st.SourceWindow}
}

// sourceFingerprint binds a wrong password's fingerprint to the account it was tried on.
func sourceFingerprint(key string, fp lockout.Fingerprint) lockout.Fingerprint {
	m := hmac.New(sha256.New, fp[:])
	m.Write([]byte(key))
	var out lockout.Fingerprint
	copy(out[:], m.Sum(nil))
	return out
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
