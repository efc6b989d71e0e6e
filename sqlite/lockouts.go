package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

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

// PruneLockouts removes counters not locked at now that saw no failure since before.
func (t *tx) PruneLockouts(ctx context.Context, now, before time.Time) (int, error) {
	res, err := t.db.ExecContext(ctx, `DELETE FROM lockouts
		WHERE (locked_until IS NULL OR locked_until <= ?) AND (last_failure IS NULL OR last_failure < ?)`,
		now.UnixNano(), before.UnixNano())
	if err != nil {
		return 0, t.store.wrap("prune lockout counters", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.store.wrap("prune lockout counters", err)
	}
	return int(n), nil
}
