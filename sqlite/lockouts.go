package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// Lockout returns the counter (key, bucket); the zero State if there is none.
func (q queries) Lockout(ctx context.Context, key, bucket string) (lockout.State, error) {
	var (
		failures, lockouts, lockFailures int64
		lockedUntil, lastFailure         sql.NullInt64
		recent                           []byte
	)
	err := q.db.QueryRowContext(ctx, `SELECT failures, locked_until, lockouts, last_failure, recent, lock_failures
		FROM lockouts WHERE key = ? AND bucket = ?`, key, bucket).Scan(&failures, &lockedUntil, &lockouts, &lastFailure, &recent, &lockFailures)
	if errors.Is(err, sql.ErrNoRows) {
		return lockout.State{}, nil
	}
	if err != nil {
		return lockout.State{}, q.store.wrap("read lockout counter", err)
	}
	return makeState(failures, lockedUntil, lockouts, lastFailure, recent, lockFailures), nil
}

// ReadAttempt reads the store counter, the lockout counters, the user and the pass one after
// the other: in process, a read costs no round trip.
func (q queries) ReadAttempt(ctx context.Context, aq portier.AttemptQuery) (portier.AttemptRead, error) {
	out := portier.AttemptRead{Lockouts: make([]lockout.State, len(aq.Lockouts))}
	var err error
	if aq.Counter != "" {
		if out.Counter, err = q.Counter(ctx, aq.Counter); err != nil {
			return portier.AttemptRead{}, err
		}
	}
	for i, c := range aq.Lockouts {
		if out.Lockouts[i], err = q.Lockout(ctx, c.Key, c.Bucket); err != nil {
			return portier.AttemptRead{}, err
		}
	}
	if aq.UPN != "" {
		if out.User, err = q.UserByUPN(ctx, aq.UPN); portier.ErrorCode(err) == portier.ENotFound {
			out.User = nil
		} else if err != nil {
			return portier.AttemptRead{}, err
		}
	}
	if aq.TAP != "" {
		if out.TAP, err = q.Token(ctx, portier.TokenTAP, aq.TAP); portier.ErrorCode(err) == portier.ENotFound {
			out.TAP = nil
		} else if err != nil {
			return portier.AttemptRead{}, err
		}
	}
	return out, nil
}

// LockoutForUpdate is Lockout: the IMMEDIATE transaction already holds the database's write
// lock, so no other transaction changes the counter, or creates it, before this one ends.
func (t *tx) LockoutForUpdate(ctx context.Context, key, bucket string) (lockout.State, error) {
	return t.Lockout(ctx, key, bucket)
}

// PutLockout writes a counter; a zero State is deleted. The schema's triggers copy an
// account-wide counter's lock to its user's row for the "locked" listing.
func (t *tx) PutLockout(ctx context.Context, key, bucket string, s lockout.State) error {
	var err error
	if s.IsZero() {
		_, err = t.db.ExecContext(ctx, `DELETE FROM lockouts WHERE key = ? AND bucket = ?`, key, bucket)
	} else {
		var recent []byte
		if len(s.Recent) > 0 {
			recent = lockout.MarshalRecent(s.Recent)
		}
		_, err = t.db.ExecContext(ctx, `INSERT INTO lockouts (key, bucket, failures, locked_until, lockouts, last_failure, recent, lock_failures)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (key, bucket) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until,
				lockouts = excluded.lockouts, last_failure = excluded.last_failure, recent = excluded.recent,
				lock_failures = excluded.lock_failures`,
			key, bucket, s.Failures, nanos(s.LockedUntil), s.Lockouts, nanos(s.LastFailure), recent, s.LockFailures)
	}
	return t.store.wrap("write lockout counter", err)
}

// DeleteLockouts removes every counter of key.
func (t *tx) DeleteLockouts(ctx context.Context, key string) error {
	if _, err := t.db.ExecContext(ctx, `DELETE FROM lockouts WHERE key = ?`, key); err != nil {
		return t.store.wrap("delete lockout counters", err)
	}
	return nil
}

// PruneLockouts removes the counters p selects: those that can no longer change an answer,
// then, past the cap, the unknown names' counters that are not locked.
func (t *tx) PruneLockouts(ctx context.Context, p portier.LockoutPrune) (portier.LockoutsPruned, error) {
	var out portier.LockoutsPruned
	sourceQuiet := p.SourceQuietSince
	if p.SourcePrefix == "" {
		sourceQuiet = p.QuietSince
	}
	res, err := t.db.ExecContext(ctx, `DELETE FROM lockouts
		WHERE (locked_until IS NULL OR locked_until <= ?) AND (
			(failures = 0 AND lockouts = 0 AND ifnull(length(recent), 0) = 0)
			OR last_failure IS NULL
			OR last_failure <= CASE WHEN ? <> '' AND substr(key, 1, length(?)) = ? THEN ? ELSE ? END)`,
		p.Now.UnixNano(), p.SourcePrefix, p.SourcePrefix, p.SourcePrefix, sourceQuiet.UnixNano(), p.QuietSince.UnixNano())
	if out.Expired, err = t.count(res, err); err != nil || p.MaxUnknown <= 0 || p.UnknownPrefix == "" {
		return out, err
	}
	lo, hi := p.UnknownPrefix, prefixEnd(p.UnknownPrefix)
	var n int
	if err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM lockouts WHERE key >= ? AND key < ?`, lo, hi).Scan(&n); err != nil {
		return out, t.store.wrap("count unknown names' lockout counters", err)
	}
	if n <= p.MaxUnknown {
		return out, nil
	}
	out.Evicted, err = t.count(t.db.ExecContext(ctx, `DELETE FROM lockouts WHERE (key, bucket) IN (
		SELECT key, bucket FROM lockouts WHERE key >= ? AND key < ? AND (locked_until IS NULL OR locked_until <= ?)
		ORDER BY lockouts, failures, last_failure LIMIT ?)`, lo, hi, p.Now.UnixNano(), n-p.MaxUnknown))
	return out, err
}

// prefixEnd is the least string above every string that starts with prefix (in byte order).
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\xff\xff\xff\xff"
}

// SwapLockout writes next if the counter still holds prev, in one statement on the writer,
// committed relaxed (see relaxed and PostgreSQL's SwapLockout); a prev without failures,
// lock, lockouts, date or fingerprints also matches a missing counter. A swap that is not done
// reads the state in its way from the read pool, which sees every commit before the read began.
func (s *Store) SwapLockout(ctx context.Context, key, bucket string, prev, next lockout.State) (lockout.State, bool, error) {
	var recent []byte
	if len(next.Recent) > 0 {
		recent = lockout.MarshalRecent(next.Recent)
	}
	match := `failures = ? AND locked_until IS ? AND lockouts = ? AND last_failure IS ? AND ifnull(recent, x'') = ? AND lock_failures = ?`
	matchArgs := []any{prev.Failures, nanos(prev.LockedUntil), prev.Lockouts, nanos(prev.LastFailure), lockout.MarshalRecent(prev.Recent), prev.LockFailures}
	var n int64
	err := s.relaxed(ctx, func(w *sql.Conn) error {
		var res sql.Result
		var err error
		if prev.IsZero() && prev.LastFailure.IsZero() {
			// Missing, or present and matching.
			res, err = w.ExecContext(ctx, `INSERT INTO lockouts (key, bucket, failures, locked_until, lockouts, last_failure, recent, lock_failures)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (key, bucket) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until,
					lockouts = excluded.lockouts, last_failure = excluded.last_failure, recent = excluded.recent,
					lock_failures = excluded.lock_failures
				WHERE `+match,
				append([]any{key, bucket, next.Failures, nanos(next.LockedUntil), next.Lockouts, nanos(next.LastFailure), recent, next.LockFailures}, matchArgs...)...)
		} else {
			res, err = w.ExecContext(ctx, `UPDATE lockouts SET failures = ?, locked_until = ?, lockouts = ?, last_failure = ?, recent = ?, lock_failures = ?
				WHERE key = ? AND bucket = ? AND `+match,
				append([]any{next.Failures, nanos(next.LockedUntil), next.Lockouts, nanos(next.LastFailure), recent, next.LockFailures, key, bucket}, matchArgs...)...)
		}
		if err == nil {
			n, err = res.RowsAffected()
		}
		return s.wrap("swap lockout counter", err)
	})
	if err != nil {
		return lockout.State{}, false, err
	}
	if n == 1 {
		return next, true, nil
	}
	now, err := s.Lockout(ctx, key, bucket)
	return now, false, err
}

// ChargeAttempt reads the attempt from the read pool and then swaps the counter on the writer:
// in process a round trip costs nothing, the read pool keeps its prepared statements, and with
// the swap last an error leaves nothing swapped. The read's entry for the charged counter is
// the state the swap left (or found in its way).
func (s *Store) ChargeAttempt(ctx context.Context, aq portier.AttemptQuery, c portier.LockoutSwap) (portier.AttemptRead, bool, error) {
	read, err := s.ReadAttempt(ctx, aq)
	if err != nil {
		return portier.AttemptRead{}, false, err
	}
	now, swapped, err := s.SwapLockout(ctx, c.Counter.Key, c.Counter.Bucket, c.Prev, c.Next)
	if err != nil {
		return portier.AttemptRead{}, false, err
	}
	for i, lc := range aq.Lockouts {
		if lc == c.Counter {
			read.Lockouts[i] = now
		}
	}
	return read, swapped, nil
}

// SettleSignIn settles a right password as a full sign-in in one transaction.
func (s *Store) SettleSignIn(ctx context.Context, st portier.SignInSettlement) error {
	return s.Tx(ctx, func(ptx portier.Tx) error {
		t := ptx.(*tx)
		if _, err := t.db.ExecContext(ctx, `DELETE FROM lockouts WHERE key = ? AND bucket = ?`, st.Key, st.Bucket); err != nil {
			return t.store.wrap("clear lockout counter", err)
		}
		res, err := t.db.ExecContext(ctx, `UPDATE users SET last_sign_in = ?, language = CASE WHEN ? <> '' THEN ? ELSE language END
			WHERE id = ?`, nanos(st.At), st.Language, st.Language, st.UserID)
		if err := t.mustAffect(res, err, "record a sign-in", portier.NoUserWithID(st.UserID)); err != nil {
			return err
		}
		if st.Session != nil {
			return t.InsertSession(ctx, st.Session)
		}
		return nil
	})
}
