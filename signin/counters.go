package signin

import (
	"context"
	"encoding/json"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/lockout"
)

// settleTimeout bounds the settlement of a checked attempt, which runs on after its request
// ends.
const settleTimeout = 10 * time.Second

// settling returns the context an attempt is settled in once its password is hashed: the
// settlement happens whatever becomes of the request, since a client that hangs up before
// the answer must not have its guess, or its hash, for free.
func settling(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
}

// updateCounter changes the counter c within tx: a locking read, change, a write.
func updateCounter(ctx context.Context, tx portier.Tx, c lockout.Counter, change func(s *lockout.State) error) error {
	s, err := tx.LockoutForUpdate(ctx, c.Key, c.Bucket)
	if err != nil {
		return err
	}
	if err := change(&s); err != nil {
		return err
	}
	return tx.PutLockout(ctx, c.Key, c.Bucket, s)
}

// sourcePolicy turns the source settings into a counter policy: SourceThreshold failures
// without a quiet SourceWindow throttle the source for SourceWindow.
func sourcePolicy(st portier.Settings) lockout.Policy {
	return lockout.Policy{Threshold: st.SourceThreshold, Duration: st.SourceWindow, MaxDuration: st.SourceWindow, Decay: st.SourceWindow}
}

// swapTries is how many times a count (a charge, a wrong password, a refund) is swapped into a
// counter (one round trip each) before it is written in a transaction that locks the counter
// instead: parallel attempts at one counter (a browser's own, or an account's
// under a flood) each lose a swap to the others now and then, and a lost swap returns the
// state that won, so the next swap usually holds.
const swapTries = 3

// swapCounter swaps counter c from *state to what step makes of a copy of it (SwapLockout: one
// round trip, committed without waiting for the disk), up to swapTries times, each time from
// the state the last swap found, which it leaves in *state. step reports whether its change
// may be swapped in: a change that locks, or that the state does not allow, is written in a
// transaction by the caller instead. swapCounter reports whether a swap held.
func (t *attempt) swapCounter(ctx context.Context, c lockout.Counter, state *lockout.State, step func(next *lockout.State) bool) (bool, error) {
	for range swapTries {
		next := *state
		if !step(&next) {
			return false, nil
		}
		now, ok, err := t.e.store.SwapLockout(ctx, c.Key, c.Bucket, *state, next)
		if err != nil {
			return false, err
		}
		if *state = now; ok {
			return true, nil
		}
	}
	return false, nil
}

// charge counts the attempt on its counter. It swaps the state the gate read (for a browser's
// own counter, the state its lane remembers) for the charged one in one atomic step
// (SwapLockout: one round trip), which holds whenever no other attempt changed the counter in
// between; a swap that does not hold returns the counter's state as it now is, which is
// charged and swapped in turn, up to swapTries times. Otherwise, or when the state does not
// allow the charge, it charges in a transaction that locks the counter, one per try. While
// the threshold's worth of attempts are being checked it waits for them to settle and tries
// again, so that parallel right passwords all get in; the
// wait is in real time, since it waits for other goroutines and processes, not for a policy
// duration. A wait that runs out answers lockout.Saturated: the server is busy, and nothing
// was charged.
func (t *attempt) charge(ctx context.Context, seen lockout.State) (v lockout.Verdict, retry time.Time, err error) {
	c, policy := t.counter, t.st.Lockout
	swapped := false
	err = t.write(ctx, c, &seen, func(state *lockout.State) (err error) {
		swapped, err = t.swapCounter(ctx, c, state, func(next *lockout.State) bool {
			v, _ := policy.Charge(next, t.e.now())
			return v == lockout.Allowed
		})
		return err
	})
	if err != nil || swapped {
		t.after = seen
		return lockout.Allowed, time.Time{}, err
	}
	pause := 2 * time.Millisecond
	deadline := time.Now().Add(t.e.saturatedWait)
	for {
		now := t.e.now()
		err = t.write(ctx, c, &seen, func(state *lockout.State) error {
			var after lockout.State
			err := t.e.store.Tx(ctx, func(tx portier.Tx) error {
				s, err := tx.LockoutForUpdate(ctx, c.Key, c.Bucket)
				if err != nil {
					return err
				}
				after = s
				if v, retry = policy.Charge(&s, now); v != lockout.Allowed {
					return nil // nothing charged, nothing to write
				}
				after = s
				return tx.PutLockout(ctx, c.Key, c.Bucket, s)
			})
			if err == nil {
				*state = after
			}
			return err
		})
		if err != nil || v != lockout.Saturated {
			t.after = seen
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

// write runs fn, one write to counter c, with what is known of c's state: in c's lane when the
// attempt has one for c (one write at a time in this process, and the lane keeps what fn
// leaves in the state for the next write), else with *known. The lane's turn is held only for
// fn: fn calls nothing that writes through the lane again.
func (t *attempt) write(ctx context.Context, c lockout.Counter, known *lockout.State, fn func(state *lockout.State) error) error {
	if t.lane != nil && t.lane.counter == c {
		return t.lane.write(ctx, fn)
	}
	return fn(known)
}

// refund takes back the charge of an attempt that got no answer (its request was cancelled,
// no core came free, or the store failed while settling it), so that neither a stall nor a
// store error counts as a failed attempt.
func (t *attempt) refund() { t.refundCounter(t.counter) }

// refundCounter takes back the attempt's charge of counter c. It runs in a context of its own,
// since the request's may be done. Like the charge, it is a swap from the state the charge
// left (c's lane's, or the gate's), committed without waiting for the disk: a crash that loses
// it leaves the charge, which counts as a failure once stale, as a charge whose process died
// does. So an attempt the hashing turned away after its charge (a spray's, most of them) costs
// no disk flush. Swaps that do not hold (other attempts changed c meanwhile, swapTries times)
// refund in a transaction instead. A store that fails the refund is tried again in the
// background until the charge would go stale (lockout.StaleCharge) and count: best effort, but
// no later. The retries do not write through c's lane, which the attempt may have left by
// then: the lane then remembers the charge, and the next swap from it finds the counter as it
// is.
func (t *attempt) refundCounter(c lockout.Counter) {
	policy, store := t.st.Lockout, t.e.store
	try := func(ctx context.Context, state *lockout.State) error {
		var after lockout.State
		err := store.Tx(ctx, func(tx portier.Tx) error {
			return updateCounter(ctx, tx, c, func(s *lockout.State) error {
				policy.Refund(s)
				after = *s
				return nil
			})
		})
		if err == nil {
			*state = after
		}
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	known := new(lockout.State)
	if c == t.counter {
		known = &t.after
	}
	err := t.write(ctx, c, known, func(state *lockout.State) error {
		swapped, err := t.swapCounter(ctx, c, state, func(next *lockout.State) bool {
			if next.Failures == 0 {
				return false // nothing known to take back: the transaction reads what is there
			}
			policy.Refund(next)
			return true
		})
		if err != nil || swapped {
			return err
		}
		return try(ctx, state)
	})
	cancel()
	if err == nil {
		return
	}
	go func() {
		deadline := time.Now().Add(lockout.StaleCharge - 5*time.Second)
		pause := 250 * time.Millisecond
		for {
			time.Sleep(pause)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := try(ctx, new(lockout.State))
			cancel()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.e.log.Error("cannot refund a lockout charge; it will count as a failure", "err", err)
				return
			}
			pause = min(2*pause, 4*time.Second)
		}
	}()
}

// success is what a right password writes besides clearing its counter.
type success struct {
	signedIn      bool             // a full success: the last sign-in time, and the language
	language      string           // kept as the user's language when it changed ("en" or "nl")
	newHash       string           // a new or upgraded password hash
	changed       bool             // newHash is a new password, not an upgrade: the change time and the credential generation move
	session       *portier.Session // a browser session to open
	pending       *Pending         // a pending sign-in to store (a second factor is needed); its secret is set in pendingSecret
	pendingSecret string
	tap           *portier.Token // a Temporary Access Pass to use (up, if it is one-time)
}

// errTAPGone is succeed's error when a one-time Temporary Access Pass was used by another
// attempt in between: this one is no sign-in.
var errTAPGone = portier.Errorf(portier.ENotFound, "The Temporary Access Pass is used up.")

// useTAP uses the pass tap within tx: a one-time pass is removed, a multi-use one keeps its
// last use; either way the use is audited.
func useTAP(ctx context.Context, tx portier.Tx, u *portier.User, tap *portier.Token, now time.Time, source string) error {
	tok, err := tx.TokenForUpdate(ctx, portier.TokenTAP, tap.ID)
	if portier.ErrorCode(err) == portier.ENotFound || err == nil && (tok.UserID != u.ID || !now.Before(tok.Expires)) {
		return errTAPGone
	} else if err != nil {
		return err
	}
	var d directory.TAPData
	if err := json.Unmarshal(tok.Data, &d); err != nil {
		return errTAPGone
	}
	detail := "signed in with a multi-use Temporary Access Pass"
	if d.OneTime {
		detail = "signed in with a one-time Temporary Access Pass, now used up"
		err = tx.DeleteToken(ctx, portier.TokenTAP, tok.ID)
	} else {
		d.LastUsed = &now
		if tok.Data, err = json.Marshal(d); err == nil {
			err = tx.UpdateToken(ctx, tok)
		}
	}
	if err != nil {
		return err
	}
	return tx.AppendAudit(ctx, &portier.AuditEvent{Time: now, Actor: u.UPN, ActorID: u.ID, Action: portier.ActionUseTAP,
		TargetID: u.ID, Target: u.UPN, Source: source, Outcome: portier.OutcomeSuccess, Detail: detail})
}

// succeed settles a right password in one transaction: the counter starts afresh, and on a
// full success the last sign-in time, the language, a new or upgraded hash and the session
// are written, all or none, so that a sign-in has one outcome. A store that fails is no
// attempt: the charge is taken back.
func (t *attempt) succeed(ctx context.Context, done *success) error {
	u, now := t.user, t.at
	// The counter starts afresh. A browser's lane is told so before the settlement is sent, and
	// is not held through its durable commit: the browser's next charge swaps from the zero
	// State, which it finds unless it overtakes the settlement (then it swaps again). A context
	// that ends while waiting for the lane's turn fails the settlement too.
	t.write(ctx, t.counter, new(lockout.State), func(state *lockout.State) error {
		*state = lockout.State{}
		return nil
	})
	var err error
	if done.signedIn && done.newHash == "" && !done.changed && done.tap == nil && done.pending == nil {
		// The common case, a plain sign-in, in one round trip.
		err = t.e.store.SettleSignIn(ctx, portier.SignInSettlement{
			Key: t.counter.Key, Bucket: t.counter.Bucket, UserID: u.ID, At: now, Language: knownLanguage(done.language), Session: done.session,
		})
	} else {
		err = t.settleInTx(ctx, done)
	}
	if err != nil {
		t.refund()
		return err
	}
	if done.signedIn {
		u.LastSignIn = &now
		if lang := knownLanguage(done.language); lang != "" {
			u.Language = lang
		}
	}
	return nil
}

// knownLanguage returns lang if it is one the user may keep ("en" or "nl"), else "".
func knownLanguage(lang string) string {
	if lang == "en" || lang == "nl" {
		return lang
	}
	return ""
}

// settleInTx is succeed's transaction of locking reads and writes, for what SettleSignIn
// does not write: a new or upgraded hash, a password change, a Temporary Access Pass to use, a
// pending second step, or a right password that signs nobody in (blocked, or a change is due).
func (t *attempt) settleInTx(ctx context.Context, done *success) error {
	u, now := t.user, t.at
	return t.e.store.Tx(ctx, func(tx portier.Tx) error {
		err := updateCounter(ctx, tx, t.counter, func(s *lockout.State) error {
			lockout.Policy{}.Succeed(s)
			return nil
		})
		if err == nil && done.tap != nil {
			err = useTAP(ctx, tx, u, done.tap, now, t.entry.Source)
		}
		if err == nil && done.pending != nil {
			done.pendingSecret, err = t.e.newPending(ctx, tx, u, done.pending, now)
		}
		if err != nil || !done.signedIn && done.newHash == "" {
			return err
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
}
