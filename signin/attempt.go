package signin

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/password"
)

// attempt is one attempt on its way through the steps of a password check (run lists them in
// order): what each step found out, for the steps after it.
type attempt struct {
	e     *Engine
	in    Attempt
	entry *portier.SignIn // the sign-in log's entry, filled in as the steps go

	name     string                            // the user name in its one normal form (trimmed, lower case)
	cleared  int64                             // portier.CounterLockoutCleared, read before any counter
	seen     bool                              // cleared is read (answerFromMemory, or else throttleSource)
	st       portier.Settings                  // the settings, read once for the whole attempt
	source   lockout.Counter                   // the source address's counter
	user     *portier.User                     // the account; nil for a name that names no user
	counter  lockout.Counter                   // the counter the attempt is charged to
	familiar bool                              // the attempt comes from a familiar browser of the account
	found    *portier.User                     // the user the name names, read with the source's counter
	read     map[lockout.Counter]lockout.State // counters read with the source's, for the gate
	at       time.Time                         // the time from the charge on, which the settlement writes
	result   password.Result                   // the password check's result
	class    Class                             // the admission class, once classified (admissionClass)
	classed  bool                              // class is set
	ticket   *Ticket                           // the attempt's place at the hashing, from the gate on
	slot     *Slot                             // the attempt's hash slot, once it got one (verify), until its answer
	edge     bool                              // turned away at the edge, before its account was read (shedAtEdge)
	remember bool                              // answered locked from memory (answerFromMemory)
	tap      *portier.Token                    // the Temporary Access Pass typed as the password, if it is one of the user's
	pass     *portier.Token                    // the Temporary Access Pass the password names, anyone's (read by throttleSource)
	lane     *lane                             // the lane of the browser's own counter, if it sent a device cookie (throttleSource)
	charged  bool                              // the browser's counter was charged with the read (readAttempt)
	after    lockout.State                     // the counter's state once charged (gate), outside a lane
}

// answer ends an attempt: its outcome, and the sign-in log's detail.
type answer struct {
	out    Outcome
	detail string
}

// step is one step of an attempt: an answer ends the attempt there, nil goes on to the next.
type step func(t *attempt, ctx context.Context) (*answer, error)

// checks are the steps of every password check, in order, up to a right password.
var checks = []step{
	(*attempt).validate,
	(*attempt).answerFromMemory,
	(*attempt).shedAtEdge,
	(*attempt).readSettings,
	(*attempt).throttleSource,
	(*attempt).resolveAccount,
	(*attempt).gate,
	(*attempt).verify,
	(*attempt).settleWrong,
}

// run takes an attempt through the checks until one answers; a right password reaches right,
// which settles it (as a sign-in, or as a password change) and always answers. An attempt
// that ends in an error other than a broken password rule (the store failed, the request
// ended) is in the sign-in log too, as CodeServerError, best effort: the recorder writes it
// once the store is back.
func (e *Engine) run(ctx context.Context, a Attempt, right step) (Outcome, error) {
	t := &attempt{e: e, in: a, entry: &portier.SignIn{
		Time: e.now(), Source: a.Source.String(), UserAgent: logUserAgent(a.UserAgent), Process: e.process,
	}}
	// However the attempt ends, a likely owner's settlement stops holding strangers' hashes
	// back (Slot.Answered).
	defer func() { t.slot.Answered() }()
	var ans *answer
	var err error
	for _, check := range checks {
		if ans, err = check(t, ctx); ans != nil || err != nil {
			break
		}
	}
	if ans == nil && err == nil {
		ans, err = right(t, ctx)
	}
	t.ticket.Cancel() // an attempt that got no hash gives its place back
	e.lanes.leave(t.lane)
	// A hash turned away after a right password (a change's new one) is busy, not an error.
	if busy := (*Busy)(nil); errors.As(err, &busy) {
		ans, err = t.busy(busy), nil
	}
	if err != nil {
		if portier.ErrorCode(err) != portier.EInvalid {
			t.entry.Code, t.entry.Detail = portier.CodeServerError, errorDetail(err)
			e.metrics.Attempt(portier.CodeServerError)
			e.record.Add(t.entry)
		}
		return Outcome{}, err
	}
	t.entry.Code, t.entry.Detail, t.entry.FamiliarDevice = ans.out.Code, ans.detail, ans.out.Familiar
	if ans.out.User != nil {
		t.entry.UserID = ans.out.User.ID
	}
	e.metrics.Attempt(ans.out.Code)
	switch {
	case t.edge:
		e.busyLog.add(t.entry)
	case t.remember:
		e.lockedLog.add(t.entry)
	default:
		e.record.Add(t.entry)
	}
	return ans.out, nil
}

// validate refuses bad input before anything is read: a user name that is not plain text, a
// password that is not valid UTF-8, a missing or over-long field. It puts the user name in
// its one normal form.
func (t *attempt) validate(context.Context) (*answer, error) {
	name, plain := userName(t.in.Username)
	t.entry.Username = truncate(name, portier.MaxUsernameBytes)
	var detail string
	switch {
	case !plain:
		detail = "user name is not plain text"
	case !utf8.ValidString(t.in.Password):
		detail = "password is not valid UTF-8"
	case name == "" || t.in.Password == "":
		detail = "user name or password missing"
	case len(t.in.Username) > portier.MaxUsernameBytes:
		detail = "user name too long"
	case len(t.in.Password) > password.MaxBytes:
		detail = "password longer than 1024 bytes"
	default:
		t.name = name
		return nil, nil
	}
	return &answer{Outcome{Code: portier.CodeBadRequest}, detail}, nil
}

// userName returns a typed user name in its one normal form (trimmed, lower case), and
// whether it is plain text. One that is not is returned escaped (portier.SafeText), which is
// what the sign-in log keeps of it: PostgreSQL refuses NUL and invalid UTF-8, and an admin
// reading the log deserves to see it.
func userName(typed string) (name string, plain bool) {
	if !portier.IsPlainText(typed, false) {
		return portier.SafeText(typed), false
	}
	return strings.ToLower(strings.TrimSpace(typed)), true
}

// answerFromMemory answers a flood at a locked account from memory, but only while no lockout
// was cleared since the memory was made: one read of a counter (begun after the attempt
// arrived, shared with the attempts that arrive with it), so an unlock committed by any process
// is honoured from its commit on. Read before the counters below, it dates them. With nothing
// in memory to answer from, the counter is read in throttleSource's round trip instead, still
// before the counters.
func (t *attempt) answerFromMemory(ctx context.Context) (*answer, error) {
	hit, ok := t.e.locks.fresh(t.name, t.in.Device.ID, t.entry.Time)
	if !ok {
		return nil, nil
	}
	var err error
	if t.cleared, err = t.e.cleared.get(ctx); err != nil {
		return nil, err
	}
	t.seen = true
	if hit.cleared != t.cleared {
		return nil, nil // a lockout was cleared since: the store says what holds now
	}
	t.entry.UserID, t.remember = hit.userID, true
	t.e.metrics.LockedRejection()
	return &answer{Outcome{Code: portier.CodeLocked, RetryAt: hit.until, Familiar: t.in.Device.ID != ""}, "account locked"}, nil
}

// readSettings reads the organisation's settings, once for the whole attempt.
func (t *attempt) readSettings(ctx context.Context) (*answer, error) {
	var err error
	t.st, err = t.e.dir.Settings(ctx)
	return nil, err
}

// throttleSource turns away a source address whose failures across accounts passed the
// limit, before any account is looked at and without a hash. In the same round trip it reads
// what the next steps need (readAttempt): the lockouts-cleared counter unless
// answerFromMemory read it, the user the name names, the counters the attempt may be charged
// to other than the account's own, which comes with the user (the unknown name's and, if the
// browser sent a device cookie, that browser's), and the Temporary Access Pass the password
// would be. Known and unknown names read the same.
func (t *attempt) throttleSource(ctx context.Context) (*answer, error) {
	t.source = lockout.Source(t.in.Source)
	counters := []lockout.Counter{t.source, lockout.UnknownName(t.name)}
	if d := t.in.Device; d.ID != "" {
		c := lockout.Device(d.UserID, d.ID)
		counters = append(counters, c)
		t.lane = t.e.lanes.join(c)
	}
	upn := ""
	// The name is in normal form already; NormalizeUPN only tells whether it can be a UPN.
	if _, err := portier.NormalizeUPN(t.name); err == nil {
		upn = t.name
	}
	q := portier.AttemptQuery{Lockouts: counters, UPN: upn, TAP: directory.TAPID(t.in.Password)}
	if !t.seen {
		q.Counter = portier.CounterLockoutCleared
	}
	r, err := t.readAttempt(ctx, q)
	if err != nil {
		return nil, err
	}
	if !t.seen {
		t.cleared, t.seen = r.Counter, true
	}
	t.found, t.pass, t.read = r.User, r.TAP, make(map[lockout.Counter]lockout.State, len(counters))
	for i, c := range counters {
		t.read[c] = r.Lockouts[i]
	}
	st := r.Lockouts[0]
	if !st.Locked(t.entry.Time) {
		return nil, nil
	}
	t.uncharge()
	t.e.metrics.LockedRejection()
	return &answer{Outcome{Code: portier.CodeLocked, RetryAt: st.LockedUntil, Throttled: true}, "source address throttled"}, nil
}

// readAttempt reads q (ReadAttempt). From a browser that sent a device cookie it charges the
// browser's counter in the same round trip (ChargeAttempt), swapping from the state the
// counter's lane remembers, when that state takes a charge: the charge a familiar browser's
// attempt needs is then made, and the gate takes it back from one that turns out not to be
// familiar (uncharge). The browser's counter is the last of q's.
func (t *attempt) readAttempt(ctx context.Context, q portier.AttemptQuery) (r portier.AttemptRead, err error) {
	if t.lane == nil {
		return t.e.store.ReadAttempt(ctx, q)
	}
	err = t.lane.write(ctx, func(state *lockout.State) error {
		next, now := *state, t.e.now()
		if v, _ := t.st.Lockout.Charge(&next, now); v == lockout.Allowed {
			r, t.charged, err = t.e.store.ChargeAttempt(ctx, q, portier.LockoutSwap{Counter: t.lane.counter, Prev: *state, Next: next})
			if t.charged {
				t.at = now
			}
		} else {
			r, err = t.e.store.ReadAttempt(ctx, q)
		}
		if err == nil {
			*state = r.Lockouts[len(r.Lockouts)-1]
		}
		return err
	})
	return r, err
}

// uncharge takes back the charge readAttempt made, if it made one, from an attempt that is
// answered without a check, or not on the browser's counter.
func (t *attempt) uncharge() {
	if t.charged {
		t.refundCounter(t.lane.counter)
		t.charged = false
	}
}

// resolveAccount finds the account the name names and the counter the attempt is charged to:
// the account's own, a familiar browser's, or the unknown name's. Known and unknown names
// take the same path from here on: a counter each, a hash each.
func (t *attempt) resolveAccount(ctx context.Context) (*answer, error) {
	t.counter = lockout.UnknownName(t.name)
	u := t.found // read by throttleSource
	if u == nil {
		return nil, nil
	}
	t.user, t.entry.UserID, t.counter = u, u.ID, lockout.Account(u.ID)
	if t.e.Familiar(t.in.Device, u) {
		t.counter, t.familiar = lockout.Device(u.ID, t.in.Device.ID), true
	}
	return nil, nil
}

// accountWide reports whether the attempt counts on its user's account-wide counter (not a
// familiar browser's, not an unknown name's).
func (t *attempt) accountWide() bool { return t.user != nil && t.counter.Bucket == "" }

// gate lets the attempt's password be hashed only once it is charged to its counter. A locked
// counter is answered from one read, without a hash and without a write; otherwise the charge
// is made atomically, so that concurrent attempts cannot all get a hash.
func (t *attempt) gate(ctx context.Context) (*answer, error) {
	if t.charged && t.counter == t.lane.counter {
		// Charged with the read (readAttempt), from a state that took the charge. A check the
		// hashing would turn away gets its charge back.
		ans, err := t.reserve(ctx)
		if ans != nil || err != nil {
			t.uncharge()
		}
		return ans, err
	}
	// A browser that is not familiar is not charged on its own counter.
	t.uncharge()
	state, read := t.read[t.counter] // read by throttleSource
	if t.accountWide() {
		state = t.user.LockoutState
	} else if !read {
		var err error
		if state, err = t.e.store.Lockout(ctx, t.counter.Key, t.counter.Bucket); err != nil {
			return nil, err
		}
	}
	if v, retry := t.st.Lockout.Peek(state, t.entry.Time); v == lockout.Locked {
		return t.refuseLocked(retry), nil
	}
	// A check the hashing would turn away is turned away before its charge: no write.
	if ans, err := t.reserve(ctx); ans != nil || err != nil {
		return ans, err
	}
	v, retry, err := t.charge(ctx, state)
	switch {
	case err != nil:
		return nil, err
	case v == lockout.Saturated:
		// The checks in flight did not settle in time (a stalled store, a flood): the server
		// is busy, which is no lockout, so nothing is remembered and nothing counts.
		return t.busy(&Busy{RetryAfter: busyRetryAfter, Reason: "in flight"}), nil
	case v != lockout.Allowed:
		return t.refuseLocked(retry), nil
	}
	t.at = t.e.now()
	return nil, nil
}

// refuseLocked answers that the attempt's counter is locked until retry, without a hash, and
// remembers it so that the next attempts are answered from memory.
func (t *attempt) refuseLocked(retry time.Time) *answer {
	t.e.locks.remember(t.name, t.counter.Bucket, t.entry.UserID, retry, t.cleared)
	t.e.metrics.LockedRejection()
	return &answer{Outcome{Code: portier.CodeLocked, RetryAt: retry, Familiar: t.familiar}, "account locked"}
}

// busy answers an attempt that got no check because the server is saturated: no failure, no
// lock, never "wrong password".
func (t *attempt) busy(b *Busy) *answer {
	t.e.metrics.Busy()
	detail := "busy: the checks in flight did not settle in time"
	if b.Reason != "in flight" {
		detail = "busy: no core free to check the password (" + t.class.String() + ", " + b.Reason + ")"
	}
	return &answer{Outcome{Code: portier.CodeBusy, Familiar: t.familiar, RetryAfter: b.RetryAfter}, detail}
}

// verify hashes the password (hash) once its place at the hashing, taken at the gate, gets a
// core. An attempt that gets no hash has its charge taken back.
func (t *attempt) verify(ctx context.Context) (*answer, error) {
	// A Temporary Access Pass is typed into the password field: read by its hash with the
	// attempt (throttleSource), for every name alike, and the password is hashed all the
	// same, so neither the time nor the work tells a pass from a password. A wrong pass is a
	// wrong password.
	if tok := t.pass; tok != nil && t.user != nil && tok.UserID == t.user.ID && t.entry.Time.Before(tok.Expires) {
		t.tap = tok
	}
	slot, err := t.ticket.Wait(ctx)
	if err == nil {
		t.entry.HashComputed = true
		t.e.metrics.PasswordVerified()
		t.slot = slot
		func() {
			defer slot.Done()
			t.result = t.hash(slot.Yield)
		}()
		if t.tap != nil {
			t.result = password.Result{OK: true}
		}
		return nil, nil
	}
	t.refund()
	var busy *Busy
	if errors.As(err, &busy) {
		return t.busy(busy), nil
	}
	return nil, err
}

// hash checks the password against the account's hash, or, for a name that names no user (or
// a stored hash that cannot be read), against a dummy of the same cost, whose fingerprint still
// tells repeated wrong passwords apart. The hash calls yield between its segments.
func (t *attempt) hash(yield func()) password.Result {
	h := t.e.hasher
	h.Yield = yield
	if t.user != nil {
		r, err := h.Verify(t.user.PasswordHash, t.in.Password)
		if err == nil {
			return r
		}
		t.e.log.Error("stored password hash cannot be read", "user_id", t.user.ID, "err", err)
	}
	return password.Result{Fingerprint: h.VerifyDummy(t.e.secret, t.counter.Key, t.in.Password)}
}

// settleWrong settles a wrong password, whatever becomes of the request: on the source's
// counter, which pays for every hash its wrong passwords cost, repeats included (a repeat is
// free for the account, but not for the cores), and on the attempt's counter, which locks at
// the threshold (a user's account-wide lock calls OnLock in the same transaction). A right
// password goes on to the caller's settlement.
//
// A count that locks no counter is swapped in from the state the attempt last saw of it
// (SwapLockout: one round trip each, committed without waiting for the disk, as the charge
// was): the source's as throttleSource read it, the attempt's counter as the charge left it.
// A swap that finds the counter changed (parallel attempts at one account or from one source)
// tries again from the state it found, up to swapTries times.
// The charge already counts the attempt, so a crash that loses the swap loses only the wrong
// password's fingerprint: the charge counts as a failure once stale. A lock, or a counter
// whose swaps all lost, is settled in a transaction, durably. So a spray's wrong
// passwords take no disk flush and no transaction of several round trips each, which an
// owner's settlement otherwise waits behind. The source is counted first: its hash happened,
// whatever becomes of the rest.
func (t *attempt) settleWrong(ctx context.Context) (*answer, error) {
	if t.result.OK {
		return nil, nil
	}
	ctx, cancel := settling(ctx)
	defer cancel()
	sourceDone, err := t.swapSource(ctx)
	var lockedUntil time.Time
	if err == nil {
		err = t.write(ctx, t.counter, &t.after, func(state *lockout.State) error {
			swapped, err := t.swapCounter(ctx, t.counter, state, func(next *lockout.State) bool {
				return !t.st.Lockout.Fail(next, t.at, t.result.Fingerprint) // a lock: durably, with its OnLock
			})
			if err != nil || swapped {
				return err
			}
			var after lockout.State
			err = t.e.store.Tx(ctx, func(tx portier.Tx) error {
				err := updateCounter(ctx, tx, t.counter, func(s *lockout.State) error {
					locked := t.st.Lockout.Fail(s, t.at, t.result.Fingerprint)
					after = *s
					if !locked {
						return nil
					}
					lockedUntil = s.LockedUntil
					if t.accountWide() && t.e.onLock != nil {
						return t.e.onLock(ctx, tx, t.st, t.user.ID, *s, t.entry.Source)
					}
					return nil
				})
				if err != nil || sourceDone {
					return err
				}
				return t.countSource(ctx, tx)
			})
			if err == nil {
				*state, sourceDone = after, true
			}
			return err
		})
	}
	if err == nil && !sourceDone {
		err = t.e.store.Tx(ctx, func(tx portier.Tx) error { return t.countSource(ctx, tx) })
	}
	if err != nil {
		// A store that fails is no failed attempt: take the charge back.
		t.refund()
		return nil, err
	}
	if lockedUntil.IsZero() {
		return &answer{Outcome{Code: portier.CodeInvalidCredentials, Familiar: t.familiar}, "wrong password"}, nil
	}
	t.e.locks.remember(t.name, t.counter.Bucket, t.entry.UserID, lockedUntil, t.cleared)
	t.e.metrics.Locked()
	return &answer{Outcome{Code: portier.CodeLocked, RetryAt: lockedUntil, Familiar: t.familiar}, "wrong password; account now locked"}, nil
}

// swapSource counts a wrong password's hash on the source's counter by swaps from the state
// throttleSource read, when one holds and does not lock the source. It reports whether the
// source is settled; if not, a transaction counts it (countSource): the attempt's counter's,
// or one of its own.
func (t *attempt) swapSource(ctx context.Context) (bool, error) {
	state, counted := t.read[t.source], true
	swapped, err := t.swapCounter(ctx, t.source, &state, func(next *lockout.State) bool {
		var locked bool
		counted, locked = sourcePolicy(t.st).Count(next, t.at)
		return counted && !locked
	})
	return swapped || !counted, err
}

// countSource counts a wrong password's hash on the source's counter within tx.
func (t *attempt) countSource(ctx context.Context, tx portier.Tx) error {
	return updateCounter(ctx, tx, t.source, func(s *lockout.State) error {
		sourcePolicy(t.st).Count(s, t.at)
		return nil
	})
}

// signIn settles a right password as a sign-in. The block and the forced change are told only
// now, so that a stranger without the password learns nothing of them. A full success writes
// the last sign-in time, the language, an upgraded hash and the session it asked for with the
// settlement.
func (t *attempt) signIn(ctx context.Context) (*answer, error) {
	settle, cancel := settling(ctx)
	defer cancel()
	out := Outcome{Code: portier.CodeSuccess, User: t.user, Familiar: t.familiar}
	var done success
	switch {
	case !t.user.AccountEnabled:
		out.Code = portier.CodeBlocked
	case t.tap != nil:
		// A Temporary Access Pass satisfies multi-factor sign-in and needs no password change:
		// its holder goes to register new methods.
		done = success{signedIn: true, language: cmp.Or(t.in.Language, t.st.DefaultLanguage), tap: t.tap}
		out.TAP = true
		if t.in.StartSession {
			out.Session, done.session = t.e.newSession(t.user, t.st, t.at, t.entry.Source, t.in.UserAgent)
			done.session.AMR = []string{portier.AMROTP, portier.AMRMFA}
			out.AMR = done.session.AMR
		}
	case t.user.PasswordProfile.ForceChangePasswordNextSignIn:
		out.Code = portier.CodePasswordChangeNeeded
	default:
		need, methods, err := false, []portier.MethodKind(nil), error(nil)
		if !t.in.CheckOnly {
			need, methods, err = t.e.mfaNeeded(ctx, t.st, t.user, t.in.RememberMFA, t.in.Device.ID, t.in.RequireMFA)
		}
		if err != nil {
			t.refund()
			return nil, err
		}
		if need {
			// A right password, but no session yet: the second step (or the registration of
			// a second factor) completes the sign-in. The counter starts afresh, since the
			// password was right; the last sign-in time waits for the second factor.
			out.Code = portier.CodeMFARequired
			done = success{pending: &Pending{AMR: []string{portier.AMRPassword}, Methods: methods, Register: len(methods) == 0,
				DeviceID: t.in.Device.ID, Familiar: t.familiar, Language: cmp.Or(t.in.Language, t.st.DefaultLanguage), ReturnTo: t.in.ReturnTo}}
			if err := t.succeed(settle, &done); err != nil {
				return nil, err
			}
			out.Pending, out.PendingState = done.pendingSecret, done.pending
			detail := "second factor required"
			if done.pending.Register {
				detail = "second factor required; none registered: registration first"
			}
			return &answer{out, detail}, nil
		}
		done = success{signedIn: true, language: cmp.Or(t.in.Language, t.st.DefaultLanguage)}
		if t.result.NeedsRehash {
			// Upgrade a hash made with older parameters while the password is at hand; one
			// that cannot be made now is made at a later sign-in.
			t.e.withHashSlot(ctx, ClassOwner, func() {
				if h, err := t.e.hasher.Hash(t.in.Password); err == nil {
					done.newHash = h
				}
			})
		}
		if t.in.StartSession {
			out.Session, done.session = t.e.newSession(t.user, t.st, t.at, t.entry.Source, t.in.UserAgent)
			done.session.AMR = []string{portier.AMRPassword}
			out.AMR = done.session.AMR
		}
	}
	if err := t.succeed(settle, &done); err == errTAPGone {
		return &answer{Outcome{Code: portier.CodeInvalidCredentials, Familiar: t.familiar}, "Temporary Access Pass used up meanwhile"}, nil
	} else if err != nil {
		return nil, err
	}
	if done.tap != nil {
		return &answer{out, "Temporary Access Pass"}, nil
	}
	return &answer{out: out}, nil
}

// changePassword settles a right current password by setting newPassword (ChangePassword), or,
// for a blocked user, by telling the block. A new password that breaks a rule is an EInvalid
// error, after the right current password has been settled.
func (t *attempt) changePassword(ctx context.Context, newPassword string) (*answer, error) {
	settle, cancel := settling(ctx)
	defer cancel()
	if !t.user.AccountEnabled {
		if err := t.succeed(settle, &success{}); err != nil {
			return nil, err
		}
		return &answer{out: Outcome{Code: portier.CodeBlocked, User: t.user, Familiar: t.familiar}}, nil
	}
	hash, err := t.newPasswordHash(ctx, newPassword)
	if err != nil {
		if serr := t.succeed(settle, &success{}); serr != nil {
			return nil, serr
		}
		return nil, err
	}
	done := success{signedIn: true, language: cmp.Or(t.in.Language, t.st.DefaultLanguage), newHash: hash, changed: true}
	if err := t.succeed(settle, &done); err != nil {
		return nil, err
	}
	t.user.PasswordProfile.ForceChangePasswordNextSignIn = false
	return &answer{Outcome{Code: portier.CodeSuccess, User: t.user, Familiar: t.familiar}, "password changed"}, nil
}
