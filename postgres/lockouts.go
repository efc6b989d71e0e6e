package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

const lockoutColumns = `failures, locked_until, lockouts, last_failure, recent, lock_failures`

// scanLockout reads one row of lockoutColumns, after the columns that first are scanned into.
func scanLockout(row pgx.Row, first ...any) (lockout.State, error) {
	var (
		st                       lockout.State
		lockedUntil, lastFailure *time.Time
		recent                   []byte
	)
	dest := append(first, &st.Failures, &lockedUntil, &st.Lockouts, &lastFailure, &recent, &st.LockFailures)
	if err := row.Scan(dest...); err != nil {
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

// ReadAttempt reads the store counter, the lockout counters (all in one statement), the user
// and the pass in one batch: one round trip. Its statements run in order, each seeing what
// committed before it began.
func (q *queries) ReadAttempt(ctx context.Context, aq portier.AttemptQuery) (portier.AttemptRead, error) {
	b := &pgx.Batch{}
	out := queueAttemptRead(b, aq)
	if err := q.db.SendBatch(ctx, b).Close(); err != nil {
		return portier.AttemptRead{}, dbError(q.addr, "read a sign-in attempt's user and counters", err)
	}
	return *out, nil
}

// ChargeAttempt swaps the counter and reads the attempt in one batch, which is one
// transaction (see SwapLockout): the reads run after the swap and see it, and a statement that
// fails rolls the swap back.
func (s *Store) ChargeAttempt(ctx context.Context, aq portier.AttemptQuery, c portier.LockoutSwap) (portier.AttemptRead, bool, error) {
	b := &pgx.Batch{}
	b.Queue(asyncCommit)
	swapped := queueSwap(b, c.Counter.Key, c.Counter.Bucket, c.Prev, c.Next)
	out := queueAttemptRead(b, aq)
	if err := s.sendTxBatch(ctx, b); err != nil {
		return portier.AttemptRead{}, false, dbError(s.addr, "charge a sign-in attempt and read its user and counters", err)
	}
	return *out, *swapped, nil
}

// queueAttemptRead queues ReadAttempt's statements on b; what they read is in the result once
// b is sent and closed.
func queueAttemptRead(b *pgx.Batch, aq portier.AttemptQuery) *portier.AttemptRead {
	// missing makes a missing row no error: what it would have filled stays zero.
	missing := func(err error) error {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	}
	out := &portier.AttemptRead{Lockouts: make([]lockout.State, len(aq.Lockouts))}
	if aq.Counter != "" {
		b.Queue(`SELECT value FROM counters WHERE name = $1`, aq.Counter).QueryRow(func(row pgx.Row) error {
			return missing(row.Scan(&out.Counter))
		})
	}
	if len(aq.Lockouts) > 0 {
		keys, buckets := make([]string, len(aq.Lockouts)), make([]string, len(aq.Lockouts))
		for i, c := range aq.Lockouts {
			keys[i], buckets[i] = c.Key, c.Bucket
		}
		b.Queue(`SELECT key, bucket, `+lockoutColumns+` FROM lockouts
			WHERE (key, bucket) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, keys, buckets).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var key, bucket string
				st, err := scanLockout(rows, &key, &bucket)
				if err != nil {
					return err
				}
				for i, c := range aq.Lockouts {
					if c.Key == key && c.Bucket == bucket {
						out.Lockouts[i] = st
					}
				}
			}
			return rows.Err()
		})
	}
	if aq.UPN != "" {
		b.Queue(`SELECT `+userColumns+` FROM `+userFrom+` WHERE lower(u.upn) = $1`, portier.FoldUPN(aq.UPN)).QueryRow(func(row pgx.Row) error {
			u, err := scanUser(row)
			if err == nil {
				out.User = u
			}
			return missing(err)
		})
	}
	if aq.TAP != "" {
		b.Queue(`SELECT `+tokenColumns+` FROM tokens WHERE kind = $1 AND id = $2`, portier.TokenTAP, aq.TAP).QueryRow(func(row pgx.Row) error {
			tk, err := scanToken(row)
			if err == nil {
				out.TAP = tk
			}
			return missing(err)
		})
	}
	return out
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

// PruneLockouts removes the counters p selects: those that can no longer change an answer,
// then, past the cap, the unknown names' counters that are not locked. A counter charged
// meanwhile is judged again as it now is (READ COMMITTED rechecks a changed row), so no
// delete takes a charge away.
func (t *tx) PruneLockouts(ctx context.Context, p portier.LockoutPrune) (portier.LockoutsPruned, error) {
	var out portier.LockoutsPruned
	sourceQuiet := p.SourceQuietSince
	if p.SourcePrefix == "" {
		sourceQuiet = p.QuietSince
	}
	tag, err := t.db.Exec(ctx, `DELETE FROM lockouts
		WHERE (locked_until IS NULL OR locked_until <= $1) AND (
			(failures = 0 AND lockouts = 0 AND length(recent) = 0)
			OR last_failure IS NULL
			OR last_failure <= CASE WHEN $2 <> '' AND starts_with(key, $2) THEN $3::timestamptz ELSE $4::timestamptz END)`,
		p.Now, p.SourcePrefix, sourceQuiet, p.QuietSince)
	if err != nil {
		return out, dbError(t.addr, "prune lockout counters", err)
	}
	out.Expired = int(tag.RowsAffected())
	if p.MaxUnknown <= 0 || p.UnknownPrefix == "" {
		return out, nil
	}
	lo, hi, ok := p.UnknownPrefix, "", false
	if hi, ok = prefixEnd(lo); !ok {
		return out, portier.Errorf(portier.EInvalid, "The prefix of unknown names' counters has no end.")
	}
	tag, err = t.db.Exec(ctx, `DELETE FROM lockouts WHERE (key, bucket) IN (
		SELECT key, bucket FROM lockouts WHERE key >= $1 AND key < $2 AND (locked_until IS NULL OR locked_until <= $3)
		ORDER BY lockouts, failures, last_failure NULLS FIRST
		LIMIT greatest(0, (SELECT count(*) FROM lockouts WHERE key >= $1 AND key < $2) - $4))`, lo, hi, p.Now, p.MaxUnknown)
	if err != nil {
		return out, dbError(t.addr, "evict unknown names' lockout counters", err)
	}
	out.Evicted = int(tag.RowsAffected())
	return out, nil
}

// SwapLockout writes next if the counter still holds prev, in one round trip: a transaction
// whose commit does not wait for the disk (synchronous_commit off), which reads the counter
// back after the write. Every durable commit after it, such as the attempt's settlement,
// flushes the log past it. The batch is the transaction: pgx ends it with one Sync, at which
// PostgreSQL commits what ran since (an implicit transaction), so it needs no BEGIN and no
// COMMIT; set_config(..., true) holds for that transaction only, where SET LOCAL would need
// an explicit one. The read after the write is a statement of its own, so that it sees the
// counter as it stands once the write is done, or found the counter changed.
func (s *Store) SwapLockout(ctx context.Context, key, bucket string, prev, next lockout.State) (lockout.State, bool, error) {
	b := &pgx.Batch{}
	b.Queue(asyncCommit)
	swapped := queueSwap(b, key, bucket, prev, next)
	var now lockout.State
	b.Queue(`SELECT `+lockoutColumns+` FROM lockouts WHERE key = $1 AND bucket = $2`, key, bucket).QueryRow(func(row pgx.Row) error {
		var err error
		if now, err = scanLockout(row); errors.Is(err, pgx.ErrNoRows) {
			return nil // the zero State
		}
		return err
	})
	if err := s.sendTxBatch(ctx, b); err != nil {
		return lockout.State{}, false, dbError(s.addr, "swap lockout counter", err)
	}
	return now, *swapped, nil
}

// queueSwap queues on b the statement that writes next to the counter if it holds prev; whether
// it did is in the result once b is sent and closed.
func queueSwap(b *pgx.Batch, key, bucket string, prev, next lockout.State) *bool {
	match := `lockouts.failures = $8 AND lockouts.locked_until IS NOT DISTINCT FROM $9 AND lockouts.lockouts = $10
		AND lockouts.last_failure IS NOT DISTINCT FROM $11 AND lockouts.recent = $12 AND lockouts.lock_failures = $14`
	args := []any{key, bucket, next.Failures, orNull(next.LockedUntil), next.Lockouts, orNull(next.LastFailure), lockout.MarshalRecent(next.Recent),
		prev.Failures, orNull(prev.LockedUntil), prev.Lockouts, orNull(prev.LastFailure), lockout.MarshalRecent(prev.Recent),
		next.LockFailures, prev.LockFailures}
	swap := `UPDATE lockouts SET failures = $3, locked_until = $4, lockouts = $5, last_failure = $6, recent = $7, lock_failures = $13
		WHERE key = $1 AND bucket = $2 AND ` + match
	if prev.IsZero() && prev.LastFailure.IsZero() {
		// Missing, or present and matching.
		swap = `INSERT INTO lockouts (key, bucket, ` + lockoutColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $13)
			ON CONFLICT (key, bucket) DO UPDATE SET failures = EXCLUDED.failures, locked_until = EXCLUDED.locked_until,
				lockouts = EXCLUDED.lockouts, last_failure = EXCLUDED.last_failure, recent = EXCLUDED.recent,
				lock_failures = EXCLUDED.lock_failures
			WHERE ` + match
	}
	swapped := new(bool)
	b.Queue(swap, args...).Exec(func(tag pgconn.CommandTag) error {
		*swapped = tag.RowsAffected() == 1
		return nil
	})
	return swapped
}

// asyncCommit makes the transaction it runs in commit without waiting for the disk
// (synchronous_commit off), for that transaction only.
const asyncCommit = `SELECT set_config('synchronous_commit', 'off', true)`

// SettleSignIn settles a right password as a full sign-in in one round trip: two transactions
// of statements sent together. The first removes the counter and commits without waiting for
// the disk, so the counter's row lock is not held through the second's disk flush: parallel
// attempts at one counter (a browser signing in again and again) charge it meanwhile instead
// of queueing behind the flush. The second, durable, writes the sign-in in one statement (the
// user's row, and the session only if the user is there); it runs after the first's COMMIT, as
// the batch's implicit transaction (see SwapLockout), and its flush takes the first's commit
// with it, since the log is flushed in order.
func (s *Store) SettleSignIn(ctx context.Context, st portier.SignInSettlement) error {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(asyncCommit)
	b.Queue(`DELETE FROM lockouts WHERE key = $1 AND bucket = $2`, st.Key, st.Bucket)
	b.Queue(`COMMIT`)
	var n int64
	count := func(tag pgconn.CommandTag) error {
		n = tag.RowsAffected()
		return nil
	}
	const signedIn = `UPDATE users SET last_sign_in = $2, language = CASE WHEN $3 <> '' THEN $3 ELSE language END WHERE id = $1`
	if ss := st.Session; ss != nil {
		// The session is added only if the user's row was there to update, so that a user
		// deleted meanwhile is ENotFound, not a foreign key error.
		b.Queue(`WITH u AS (`+signedIn+` RETURNING id)
			INSERT INTO sessions (`+sessionColumns+`) SELECT $4, u.id, $5, $6, $7, $8, $9, $10 FROM u`,
			st.UserID, st.At, st.Language,
			ss.IDHash, ss.Created, ss.LastSeen, ss.Expires, ss.Source, ss.UserAgent, portier.FormatAMR(ss.AMR)).Exec(count)
	} else {
		b.Queue(signedIn, st.UserID, st.At, st.Language).Exec(count)
	}
	if err := s.sendTxBatch(ctx, b); err != nil {
		return dbError(s.addr, "record a sign-in", err)
	}
	if n == 0 {
		return portier.NoUserWithID(st.UserID)
	}
	return nil
}

// sendTxBatch sends b, transactions (explicit, or the batch's implicit one), on one connection
// and reads every result. When a statement fails, the server skips the rest: a connection left
// inside a transaction is then rolled back before it goes back to the pool.
func (s *Store) sendTxBatch(ctx context.Context, b *pgx.Batch) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	err = conn.SendBatch(ctx, b).Close()
	if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
		if _, rerr := conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`); rerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // never hand on a connection mid-transaction
		}
	}
	return err
}
