package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier/lockout"
)

const lockoutColumns = `failures, locked_until, lockouts, last_failure, recent, lock_failures`

// scanLockout reads one row of lockoutColumns.
func scanLockout(row pgx.Row) (lockout.State, error) {
	var (
		st                       lockout.State
		lockedUntil, lastFailure *time.Time
		recent                   []byte
	)
	if err := row.Scan(&st.Failures, &lockedUntil, &st.Lockouts, &lastFailure, &recent, &st.LockFailures); err != nil {
		return lockout.State{}, err
	}
	st.LockedUntil = utc(lockedUntil)
	st.LastFailure = utc(lastFailure)
	if len(recent) > 0 {
		st.Recent = lockout.UnmarshalRecent(recent)
	}
	return st, nil
}

// Lockout returns the counter (key, bucket); the zero State if there is none.
func (q *queries) Lockout(ctx context.Context, key, bucket string) (lockout.State, error) {
	st, err := scanLockout(q.db.QueryRow(ctx, `SELECT `+lockoutColumns+` FROM lockouts WHERE key = $1 AND bucket = $2`, key, bucket))
	if errors.Is(err, pgx.ErrNoRows) {
		return lockout.State{}, nil
	}
	return st, dbError(q.addr, "read lockout counter", err)
}

// LockoutForUpdate creates the counter if it is missing and locks it until the transaction
// ends. Creating first means there is always a row to lock, so two transactions charging a
// new counter (an unknown user name) queue on it like on any other instead of both seeing it
// absent. The insert and the lock go in one round trip.
func (t *tx) LockoutForUpdate(ctx context.Context, key, bucket string) (lockout.State, error) {
	for range maxLockAttempts {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO lockouts (key, bucket) VALUES ($1, $2) ON CONFLICT DO NOTHING`, key, bucket)
		b.Queue(`SELECT `+lockoutColumns+` FROM lockouts WHERE key = $1 AND bucket = $2 FOR UPDATE`, key, bucket)
		br := t.db.SendBatch(ctx, b)
		_, err := br.Exec()
		var st lockout.State
		if err == nil {
			st, err = scanLockout(br.QueryRow())
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return st, dbError(t.addr, "lock lockout counter", err)
		}
		// The counter was deleted (an unlock, a prune) while we waited for its lock: the
		// row we would have locked is gone, so create and lock it afresh.
	}
	return lockout.State{}, fmt.Errorf("postgres: lock lockout counter %q/%q: it kept disappearing", key, bucket)
}

// PutLockout writes a counter. A zero State is stored, not deleted: deleting would let a
// transaction waiting for the row's lock find nothing to lock (PruneLockouts removes it later).
func (t *tx) PutLockout(ctx context.Context, key, bucket string, s lockout.State) error {
	_, err := t.db.Exec(ctx, `INSERT INTO lockouts (key, bucket, `+lockoutColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (key, bucket) DO UPDATE SET failures = EXCLUDED.failures, locked_until = EXCLUDED.locked_until,
			lockouts = EXCLUDED.lockouts, last_failure = EXCLUDED.last_failure, recent = EXCLUDED.recent,
			lock_failures = EXCLUDED.lock_failures`,
		key, bucket, s.Failures, orNull(s.LockedUntil), s.Lockouts, orNull(s.LastFailure), lockout.MarshalRecent(s.Recent), s.LockFailures)
	return dbError(t.addr, "write lockout counter", err)
}

// DeleteLockouts removes every counter of key.
func (t *tx) DeleteLockouts(ctx context.Context, key string) error {
	_, err := t.db.Exec(ctx, `DELETE FROM lockouts WHERE key = $1`, key)
	return dbError(t.addr, "delete lockout counters", err)
}

// PruneLockouts removes counters that are not locked at now and saw no failure since before.
func (t *tx) PruneLockouts(ctx context.Context, now, before time.Time) (int, error) {
	tag, err := t.db.Exec(ctx, `DELETE FROM lockouts
		WHERE (locked_until IS NULL OR locked_until <= $1) AND (last_failure IS NULL OR last_failure < $2)`, now, before)
	if err != nil {
		return 0, dbError(t.addr, "prune lockout counters", err)
	}
	return int(tag.RowsAffected()), nil
}
