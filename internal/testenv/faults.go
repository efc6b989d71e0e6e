package testenv

import (
	"context"
	"sync"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// Faults wraps a real store and makes chosen calls fail, as a database that errors or goes
// away in the middle of a request would. It is no mock: every call it does not fail goes to
// the real store, and a failed call inside Tx rolls the real transaction back.
type Faults struct {
	portier.Store
	mu   sync.Mutex
	rule func(method, key string) error
}

// NewFaults wraps store; it fails nothing until FailWhen.
func NewFaults(store portier.Store) *Faults { return &Faults{Store: store} }

// FailWhen sets the rule: rule(method, key) is asked before Tx ("Tx", "") and before each of
// the wrapped Tx methods (its name, and the lockout key, user id or "" it is about); a
// non-nil error is what the call returns. nil fails nothing.
func (f *Faults) FailWhen(rule func(method, key string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rule = rule
}

// Unavailable is the error of a database that cannot be reached, for FailWhen rules.
func Unavailable() error {
	return portier.Errorf(portier.EUnavailable, "injected fault: the database cannot be reached.")
}

func (f *Faults) check(method, key string) error {
	f.mu.Lock()
	rule := f.rule
	f.mu.Unlock()
	if rule == nil {
		return nil
	}
	return rule(method, key)
}

// Tx runs fn in a real transaction whose writes may fail by the rule.
func (f *Faults) Tx(ctx context.Context, fn func(tx portier.Tx) error) error {
	if err := f.check("Tx", ""); err != nil {
		return err
	}
	return f.Store.Tx(ctx, func(tx portier.Tx) error { return fn(&faultyTx{Tx: tx, f: f}) })
}

// faultyTx is a real transaction with some methods subject to the rule.
type faultyTx struct {
	portier.Tx
	f *Faults
}

func (t *faultyTx) LockoutForUpdate(ctx context.Context, key, bucket string) (lockout.State, error) {
	if err := t.f.check("LockoutForUpdate", key); err != nil {
		return lockout.State{}, err
	}
	return t.Tx.LockoutForUpdate(ctx, key, bucket)
}

func (t *faultyTx) PutLockout(ctx context.Context, key, bucket string, s lockout.State) error {
	if err := t.f.check("PutLockout", key); err != nil {
		return err
	}
	return t.Tx.PutLockout(ctx, key, bucket, s)
}

func (t *faultyTx) UserForUpdate(ctx context.Context, id string) (*portier.User, error) {
	if err := t.f.check("UserForUpdate", id); err != nil {
		return nil, err
	}
	return t.Tx.UserForUpdate(ctx, id)
}

func (t *faultyTx) UpdateUser(ctx context.Context, u *portier.User) error {
	if err := t.f.check("UpdateUser", u.ID); err != nil {
		return err
	}
	return t.Tx.UpdateUser(ctx, u)
}

func (t *faultyTx) InsertSession(ctx context.Context, s *portier.Session) error {
	if err := t.f.check("InsertSession", s.UserID); err != nil {
		return err
	}
	return t.Tx.InsertSession(ctx, s)
}

func (t *faultyTx) AppendSignIns(ctx context.Context, entries []*portier.SignIn) error {
	if err := t.f.check("AppendSignIns", ""); err != nil {
		return err
	}
	return t.Tx.AppendSignIns(ctx, entries)
}

// SwapLockout is one write transaction of its own: it fails by the rule for "Tx" and for
// "SwapLockout" (with the counter's key), and then writes nothing.
func (f *Faults) SwapLockout(ctx context.Context, key, bucket string, prev, next lockout.State) (lockout.State, bool, error) {
	if err := f.check("Tx", ""); err != nil {
		return lockout.State{}, false, err
	}
	if err := f.check("SwapLockout", key); err != nil {
		return lockout.State{}, false, err
	}
	return f.Store.SwapLockout(ctx, key, bucket, prev, next)
}

// ChargeAttempt is one write transaction of its own, a swap with reads: it fails by the rule
// for "Tx", "ChargeAttempt" and "SwapLockout" (with the charged counter's key), and then
// writes nothing.
func (f *Faults) ChargeAttempt(ctx context.Context, q portier.AttemptQuery, c portier.LockoutSwap) (portier.AttemptRead, bool, error) {
	for _, m := range [][2]string{{"Tx", ""}, {"ChargeAttempt", c.Counter.Key}, {"SwapLockout", c.Counter.Key}} {
		if err := f.check(m[0], m[1]); err != nil {
			return portier.AttemptRead{}, false, err
		}
	}
	return f.Store.ChargeAttempt(ctx, q, c)
}

// RecordSignIns is one write transaction of its own that does what a Tx's AppendSignIns
// would: it fails by the rule for "Tx", "RecordSignIns" and "AppendSignIns", and then writes
// nothing.
func (f *Faults) RecordSignIns(ctx context.Context, entries []*portier.SignIn) error {
	for _, m := range []string{"Tx", "RecordSignIns", "AppendSignIns"} {
		if err := f.check(m, ""); err != nil {
			return err
		}
	}
	return f.Store.RecordSignIns(ctx, entries)
}

// SettleSignIn is one write transaction of its own that does what a Tx's PutLockout,
// UpdateUser and InsertSession would: it fails by the rule for "Tx", "SettleSignIn" and each
// of those (with the counter's key, or the user id), and then writes nothing.
func (f *Faults) SettleSignIn(ctx context.Context, s portier.SignInSettlement) error {
	checks := [][2]string{{"Tx", ""}, {"SettleSignIn", s.UserID}, {"PutLockout", s.Key}, {"UpdateUser", s.UserID}}
	if s.Session != nil {
		checks = append(checks, [2]string{"InsertSession", s.UserID})
	}
	for _, c := range checks {
		if err := f.check(c[0], c[1]); err != nil {
			return err
		}
	}
	return f.Store.SettleSignIn(ctx, s)
}
