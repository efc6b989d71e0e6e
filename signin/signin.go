// Package signin checks passwords under smart lockout and keeps browser sessions. It is the
// domain of the sign-in pages and knows nothing of HTTP: the web package hands it an Attempt
// and renders the Outcome.
//
// An attempt goes through named steps, in order, until one answers (attempt.go): validate,
// answer from memory, read the settings, throttle the source, resolve the account, gate,
// verify, settle. SignIn settles a right password as a sign-in; ChangePassword takes the same
// steps and settles it by setting the new password. The gate charges the attempt to its
// lockout counter in the store before its password is hashed, and the settlement settles it
// after (counters.go), so concurrent wrong attempts, on one process or many sharing a
// database, hash at most the threshold's worth of passwords. A password is hashed once the
// hash scheduler admits it (admission.go): one hash per core, likely owners first, and an
// attempt that cannot be served in time is turned away busy, unchecked and uncounted, before
// its charge where it can be. Unknown user names take the same path with a counter of their
// own and a dummy hash of the same cost, so nothing tells them apart. The engine uses only the
// store methods its Store interface names.
package signin

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/password"
)

// Metrics counts what the engine does; metrics.Metrics implements it.
type Metrics interface {
	Attempt(code int)
	PasswordVerified()
	Locked()
	LockedRejection()
	// Busy counts one attempt turned away unchecked because the server is saturated.
	Busy()
	AdmissionMetrics
}

// Transactor runs transactions.
type Transactor interface {
	Tx(ctx context.Context, fn func(tx portier.Tx) error) error
}

// Store is what the engine needs of the store (portier.Store has it all): transactions, the
// lock memory's counter and messages, and the reads of an attempt and of a session.
type Store interface {
	Transactor
	Subscribe(ctx context.Context, channel string, fn func(payload string)) error
	Counter(ctx context.Context, name string) (int64, error)
	Lockout(ctx context.Context, key, bucket string) (lockout.State, error)
	ReadAttempt(ctx context.Context, q portier.AttemptQuery) (portier.AttemptRead, error)
	SwapLockout(ctx context.Context, key, bucket string, prev, next lockout.State) (lockout.State, bool, error)
	ChargeAttempt(ctx context.Context, q portier.AttemptQuery, c portier.LockoutSwap) (portier.AttemptRead, bool, error)
	SettleSignIn(ctx context.Context, s portier.SignInSettlement) error
	UserByID(ctx context.Context, id string) (*portier.User, error)
	SessionByHash(ctx context.Context, idHash []byte) (*portier.Session, error)
	// ListSessions also tells the sources a user signed in from recently (recentSources).
	ListSessions(ctx context.Context, userID string) ([]*portier.Session, error)
	// SessionSources tells the sources any user signed in from recently (sessionSources).
	SessionSources(ctx context.Context, now, seenSince time.Time, limit int) ([]string, error)
	ListMethods(ctx context.Context, userID string) ([]*portier.AuthMethod, error)
	ListPasskeys(ctx context.Context, userID string) ([]*portier.Passkey, error)
	Token(ctx context.Context, kind, id string) (*portier.Token, error)
	ListTokens(ctx context.Context, f portier.TokenFilter) ([]*portier.Token, error)
}

// Engine runs sign-in attempts and sessions. Create it with New.
type Engine struct {
	store   Store
	dir     *directory.Service
	hasher  password.Hasher
	secret  []byte
	now     portier.Clock
	metrics Metrics
	log     *slog.Logger
	process string
	record  *Recorder
	onLock  func(ctx context.Context, tx portier.Tx, settings portier.Settings, userID string, st lockout.State, source string) error
	locks   *lockCache
	lanes   lanes // the browsers' counters written by attempts in flight (lane.go)
	// cleared reads portier.CounterLockoutCleared for every attempt that may be answered from
	// memory, one read shared by the attempts that arrive together.
	cleared *freshRead
	// saturatedWait bounds how long an attempt waits for the checks in flight on its counter,
	// or for a core to hash on, before it is answered CodeBusy.
	saturatedWait time.Duration
	// admission admits one argon2id computation per core, likely owners first (admission.go):
	// more at once only share the cores, and each holds 19 MiB, so the limit bounds memory
	// without costing throughput.
	admission *Scheduler
	// recent knows the sources each account signed in from recently, for admission's classes.
	recent *recentSources
	// sources knows the sources any account signed in from recently, for the edge's shedding.
	sources *sessionSources
	// busyLog and lockedLog bound the sign-in log entries of the attempts turned away at the
	// edge, and of those answered locked from memory.
	busyLog, lockedLog *sampledLog
}

// Config is what New needs.
type Config struct {
	Store     Store
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
	// UnlockSeenWithin bounds how late an unlock committed by another process may be seen by an
	// attempt that would otherwise be answered "locked" from memory: one read of the store's
	// lockout-cleared counter serves the attempts of that long (zero: 5 ms; negative: every
	// attempt waits for a read begun after it arrived). Messages (Listen) usually tell sooner.
	UnlockSeenWithin time.Duration
	// SaturatedWait is how long an attempt waits for the checks in flight on its counter, or
	// for a core to hash on, before it is turned away with CodeBusy (zero: 5 s). Tests of a
	// stall shorten it. It caps every deadline of Admission.
	SaturatedWait time.Duration
	// Admission sizes the hash slots and the queues of the classes (zero: the defaults of
	// AdmissionConfig).
	Admission AdmissionConfig
	// AdmissionClock is the scheduler's clock (nil: real time): a hash's duration and a wait's
	// deadline are real time even where the engine's Now is a test's.
	AdmissionClock SchedClock
	// OnLock, if set, is called in the transaction in which a wrong password locks a user's
	// account-wide counter (not a familiar browser's, not an unknown name's): the lockout mail.
	OnLock func(ctx context.Context, tx portier.Tx, settings portier.Settings, userID string, st lockout.State, source string) error
}

// New returns an engine. It hears of unlocks through the store once Listen runs; until then,
// and between a commit and its message, the lock memory's counter keeps it honest.
func New(c Config) *Engine {
	e := &Engine{
		store: c.Store, dir: c.Directory, hasher: c.Directory.Hasher(), secret: c.Secret, now: c.Now,
		metrics: c.Metrics, log: c.Log, process: c.Process, record: c.Recorder, locks: newLockCache(cmp.Or(c.LockMemory, lockCacheTTL)), onLock: c.OnLock,
		saturatedWait: cmp.Or(c.SaturatedWait, maxSaturatedWait),
	}
	e.admission = NewScheduler(c.Admission, e.saturatedWait, c.AdmissionClock, c.Metrics)
	e.recent = newRecentSources(c.Store.ListSessions)
	e.sources = newSessionSources(c.Store.SessionSources)
	e.busyLog = newBusyLog(c.Recorder, c.Process)
	e.lockedLog = newLockedLog(c.Recorder, c.Process)
	maxAge := cmp.Or(c.UnlockSeenWithin, unlockSeenWithin)
	e.cleared = &freshRead{timeout: maxSaturatedWait, maxAge: max(maxAge, 0), read: func(ctx context.Context) (int64, error) {
		return e.store.Counter(ctx, portier.CounterLockoutCleared)
	}}
	return e
}

// Listen makes the engine forget a lock as soon as an unlock or reset on any process sharing
// the store, this one included, commits (portier.ChannelLockoutCleared), until ctx ends. It is
// the one path of that signal; the engine does not need it to be right, only to forget early
// (see lockCacheTTL).
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
	// SignedIn says that the user named is signed in in this browser and checks their password
	// again (a password change, a removal of a security method): the likeliest owner, served
	// first when the hashing is contended.
	SignedIn bool
	// RememberMFA is the browser's "remember multi-factor" cookie (RememberToken), if any.
	RememberMFA string
	// CheckOnly asks only whether the password is right, for a signed-in user confirming an
	// action (removing a method): no second factor is asked, no pending sign-in made.
	CheckOnly bool
	// ReturnTo is where a sign-in that needs a second step goes once complete (Pending.ReturnTo).
	ReturnTo string
	// RequireMFA asks for a second factor whatever the policy (an application asked for one).
	RequireMFA bool
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
	// RetryAfter says, on CodeBusy, when trying again is worth it (at least a second).
	RetryAfter time.Duration
	// Pending is, on portier.CodeMFARequired, the secret of the pending sign-in (the cookie of
	// the second step); PendingState describes it (its methods, or Register).
	Pending      string
	PendingState *Pending
	// AMR are the methods of the session opened on CodeSuccess ("pwd", or a pass's).
	AMR []string
	// TAP reports a sign-in with a Temporary Access Pass: its holder goes to register methods.
	TAP bool
}

// Admission is the engine's hash scheduler: tests hold its slots to saturate it.
func (e *Engine) Admission() *Scheduler { return e.admission }

// SignIn checks an attempt. Errors are only for a store that fails; every refusal is an Outcome.
func (e *Engine) SignIn(ctx context.Context, a Attempt) (Outcome, error) {
	return e.run(ctx, a, (*attempt).signIn)
}

// ChangePassword checks the current password exactly as SignIn does (lockout included) and,
// when it is right, sets the new one: for the forced change after CodePasswordChangeNeeded and
// for the change on /myaccount. On success the outcome carries the updated user and every
// other session ends. A new password that breaks the policy is an EInvalid error and changes nothing.
func (e *Engine) ChangePassword(ctx context.Context, a Attempt, newPassword string) (Outcome, error) {
	if err := checkNewPasswordText(newPassword); err != nil {
		return Outcome{}, err
	}
	return e.run(ctx, a, func(t *attempt, ctx context.Context) (*answer, error) { return t.changePassword(ctx, newPassword) })
}

// checkNewPasswordText refuses a new password that is not valid text or is too long, before
// any hash or store read.
func checkNewPasswordText(pw string) error {
	if !utf8.ValidString(pw) || len(pw) > password.MaxBytes {
		return portier.Errorf(portier.EInvalid, "The new password must be valid text of at most %d bytes.", password.MaxBytes)
	}
	return nil
}

// errorDetail says in the sign-in log why an attempt got no answer: the store error's own
// message (which names no driver internals), or that the request ended first.
func errorDetail(err error) string {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "no answer: the request ended first"
	}
	return "no answer: " + truncate(portier.SafeText(portier.ErrorMessage(err)), 300)
}

// newPasswordHash checks a new password against the policy (under the attempt's settings) and
// the current one, and hashes it.
func (t *attempt) newPasswordHash(ctx context.Context, next string) (string, error) {
	if password.Normalize(next) == password.Normalize(t.in.Password) {
		return "", portier.Errorf(portier.EInvalid, "The new password must differ from the current one.")
	}
	if err := directory.CheckPasswordUnder(t.st, t.user, next); err != nil {
		return "", err
	}
	var hash string
	var err error
	// The current password was right: the owner's.
	if slotErr := t.e.withHashSlot(ctx, ClassOwner, func() { hash, err = t.e.hasher.Hash(next) }); slotErr != nil {
		return "", slotErr
	}
	return hash, err
}

// withHashSlot runs fn, an argon2id computation, once the scheduler admits it in class c, and
// counts the check answered when fn returns; a *Busy (an EBusy error) when it is turned away,
// ctx's error when ctx ends first.
func (e *Engine) withHashSlot(ctx context.Context, c Class, fn func()) error {
	slot, err := e.admission.Acquire(ctx, c)
	if err != nil {
		return err
	}
	defer slot.Answered()
	fn()
	return nil
}

// unlockSeenWithin is the default of Config.UnlockSeenWithin: no person or script acts within
// 5 ms of an unlock's commit, and a flood then costs at most about 200 store reads a second.
const unlockSeenWithin = 5 * time.Millisecond

// maxSaturatedWait is the default of Config.SaturatedWait.
const maxSaturatedWait = 5 * time.Second

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
