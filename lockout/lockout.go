// Package lockout counts events on counters and decides, from a counter's state and a policy,
// whether the next may go ahead. It is pure: the store makes each change atomic, and the caller
// supplies the time. It owns the counters' names too (keys.go): a user's account, a familiar
// browser of it, a user name that names no user, and a source address.
//
// Two kinds of event are counted. A password guess is checked outside the store's transaction,
// so it is charged before the check and settled after: Charge counts it (or refuses it when the
// counter is locked, or holds it back while the threshold's worth of guesses are being checked),
// Fail keeps the charge and locks at the threshold, Succeed clears the counter, Refund takes back
// a charge whose check never happened. Because the charge happens before the hash, N concurrent
// wrong guesses check at most Threshold passwords, while concurrent right ones all get in. Any
// other event (a hash a source address caused, a wrong authenticator code, a code sent) is
// counted and settled at once by Count, and a repeat of it counts again.
package lockout

import (
	"crypto/subtle"
	"time"
)

// FingerprintSize is the size of a wrong password's fingerprint.
const FingerprintSize = 32

// RecentWrong is how many of the latest wrong passwords a counter remembers; one of them
// tried again does not count again.
const RecentWrong = 3

// Fingerprint identifies a wrong password without revealing it: the argon2id output of the
// password under the account's own salt, which the check computes anyway, so it is no cheaper
// to crack than the stored hash.
type Fingerprint [FingerprintSize]byte

// Policy is the lockout policy. The zero value is not useful: start from DefaultPolicy.
type Policy struct {
	// Threshold is the number of failed attempts that locks the counter.
	Threshold int `json:"threshold"`
	// Duration is the first lockout's length; each further lockout without a success doubles it.
	Duration time.Duration `json:"duration"`
	// MaxDuration caps a lockout's length.
	MaxDuration time.Duration `json:"maxDuration"`
	// Decay is how long without a failure clears the count and the doubling.
	Decay time.Duration `json:"decay"`
}

// DefaultPolicy returns the contract's defaults: 10 attempts, 60 s doubling to 1 h, 12 h decay.
func DefaultPolicy() Policy {
	return Policy{Threshold: 10, Duration: time.Minute, MaxDuration: time.Hour, Decay: 12 * time.Hour}
}

// State is one counter: the account-wide one, one per familiar browser, or one per unknown user name.
type State struct {
	// Failures counts charged attempts: failed ones and those still being checked.
	Failures int
	// LockedUntil is when the current lockout ends; zero or past when not locked.
	LockedUntil time.Time
	// Lockouts counts lockouts since the last success, for the doubling.
	Lockouts int
	// LastFailure is the time of the latest charged attempt, for the decay.
	LastFailure time.Time
	// Recent holds the fingerprints of the latest wrong passwords, oldest first.
	Recent []Fingerprint
	// LockFailures is how many failures made the latest lock (Failures restarts at each lock).
	LockFailures int
}

// FailedAttempts is Portier's one definition of a lock's "failed attempts", shown in the
// admin center, the command line, the JSON of a user, the lockout mail and the API: the failed
// attempts that count toward the counter's current lock. While the counter is locked it is the
// number that locked it; otherwise the number counted so far toward the next lock (zero after a
// success, an unlock or the decay). Attempts answered while locked, a repeat of one of the last
// RecentWrong wrong passwords and, for an account, the attempts of its familiar browsers (their
// own counters) are not counted.
func (s State) FailedAttempts(now time.Time) int {
	if s.Locked(now) {
		return s.LockFailures
	}
	return s.Failures
}

// Locked reports whether s is locked at now.
func (s State) Locked(now time.Time) bool { return now.Before(s.LockedUntil) }

// IsZero reports whether s holds nothing worth keeping.
func (s State) IsZero() bool {
	return s.Failures == 0 && s.LockedUntil.IsZero() && s.Lockouts == 0 && len(s.Recent) == 0 && s.LockFailures == 0
}

// LockDuration returns the length of the lockout that follows lockouts earlier ones.
func (p Policy) LockDuration(lockouts int) time.Duration {
	d := p.Duration
	for i := 0; i < lockouts && d < p.MaxDuration; i++ {
		d *= 2
	}
	return min(d, p.MaxDuration)
}

// decay clears a counter that has seen no failure for the decay period and is not locked.
func (p Policy) decay(s *State, now time.Time) {
	if !s.LastFailure.IsZero() && !s.Locked(now) && now.Sub(s.LastFailure) >= p.Decay {
		*s = State{}
	}
}

// Verdict is Charge's answer.
type Verdict int

// The verdicts of Charge.
const (
	// Allowed: the attempt is charged and its password may be checked.
	Allowed Verdict = iota
	// Locked: the counter is locked; nothing was charged.
	Locked
	// Saturated: the threshold's worth of attempts are being checked right now; nothing was
	// charged. The caller waits for them to settle and charges again: if they were right the
	// count is cleared and this attempt goes ahead, if they were wrong the lock holds. So
	// parallel right passwords all get in, and parallel wrong ones get no more checks.
	Saturated
)

// StaleCharge is how long a charge may stay unsettled before it counts as a failure: a
// process that died while checking a password never settles its charges.
const StaleCharge = 30 * time.Second

// Charge counts an attempt before its password is checked. On Locked, retryAt says when the
// counter takes attempts again.
func (p Policy) Charge(s *State, now time.Time) (v Verdict, retryAt time.Time) {
	p.decay(s, now)
	if s.Locked(now) {
		return Locked, s.LockedUntil
	}
	if s.Failures >= p.Threshold {
		if now.Sub(s.LastFailure) < StaleCharge {
			return Saturated, time.Time{}
		}
		p.lock(s, now)
		return Locked, s.LockedUntil
	}
	s.Failures++
	s.LastFailure = now
	return Allowed, time.Time{}
}

// Peek reports, without changing s, what Charge would answer at now.
func (p Policy) Peek(s State, now time.Time) (v Verdict, retryAt time.Time) {
	return p.Charge(&s, now)
}

// lock starts a lockout whose length doubles with each lockout since the last success.
func (p Policy) lock(s *State, now time.Time) {
	s.LockedUntil = now.Add(p.LockDuration(s.Lockouts))
	s.Lockouts++
	s.LockFailures = s.Failures
	s.Failures = 0
}

// Fail settles a charged attempt whose password was wrong. A password among the recent wrong
// ones is refunded; otherwise it is remembered, and at the threshold the counter locks.
// It reports whether this failure locked the counter.
func (p Policy) Fail(s *State, now time.Time, fp Fingerprint) (locked bool) {
	for _, r := range s.Recent {
		if subtle.ConstantTimeCompare(r[:], fp[:]) == 1 {
			s.Failures = max(0, s.Failures-1)
			return false
		}
	}
	s.Recent = append(s.Recent, fp)
	if len(s.Recent) > RecentWrong {
		s.Recent = s.Recent[len(s.Recent)-RecentWrong:]
	}
	return p.failed(s, now)
}

// Count counts one event that is settled as it happens, and locks the counter at the
// threshold: a hash a source address caused, a wrong authenticator code, a code sent. Unlike a
// password's Fail it knows no repeats, and needs no fingerprint: a repeated hash costs the
// cores as much as a new one, and a code changes every step, so a repeat of it is no typo. A
// locked counter counts nothing. It reports whether the event was counted and whether it
// locked the counter.
func (p Policy) Count(s *State, now time.Time) (counted, locked bool) {
	p.decay(s, now)
	if s.Locked(now) {
		return false, false
	}
	s.Failures++
	return true, p.failed(s, now)
}

// failed dates a settled failure and locks the counter at the threshold; it reports whether
// it locked it.
func (p Policy) failed(s *State, now time.Time) (locked bool) {
	s.LastFailure = now
	if s.Failures >= p.Threshold && !s.Locked(now) {
		p.lock(s, now)
		return true
	}
	return false
}

// Succeed settles a charged attempt whose password was right: the counter starts afresh.
func (p Policy) Succeed(s *State) {
	*s = State{}
}

// Refund takes back a charge whose check never happened (the store failed, the request was cancelled).
func (p Policy) Refund(s *State) {
	s.Failures = max(0, s.Failures-1)
}

// MarshalRecent packs fingerprints into bytes for storage.
func MarshalRecent(fps []Fingerprint) []byte {
	b := make([]byte, 0, len(fps)*FingerprintSize)
	for _, fp := range fps {
		b = append(b, fp[:]...)
	}
	return b
}

// UnmarshalRecent unpacks what MarshalRecent packed; a trailing partial fingerprint is dropped.
func UnmarshalRecent(b []byte) []Fingerprint {
	fps := make([]Fingerprint, 0, len(b)/FingerprintSize)
	for len(b) >= FingerprintSize {
		var fp Fingerprint
		copy(fp[:], b)
		fps = append(fps, fp)
		b = b[FingerprintSize:]
	}
	return fps
}
