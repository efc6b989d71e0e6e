package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// namedLockClass is the first half of a named lock's advisory key ("lock" in ASCII); the
// second is the hash of the schema and the name, so Portier instances in different schemas of
// one database do not wait for each other.
const namedLockClass = 0x6c6f636b

// Counter returns the named counter's committed value; 0 if it was never incremented.
func (q *queries) Counter(ctx context.Context, name string) (int64, error) {
	var n int64
	err := q.db.QueryRow(ctx, `SELECT value FROM counters WHERE name = $1`, name).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return n, dbError(q.addr, "read counter "+name, err)
}

// Increment adds one to the named counter. The upsert locks the counter's row until the
// transaction ends; a concurrent one waits and then adds to the committed value.
func (t *tx) Increment(ctx context.Context, name string) (int64, error) {
	var n int64
	err := t.ptx.QueryRow(ctx, `INSERT INTO counters (name, value) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value`, name).Scan(&n)
	return n, dbError(t.addr, "increment counter "+name, err)
}

// Lock takes a transaction-scoped advisory lock: PostgreSQL releases it at commit or
// rollback, and a statement that reads after it sees what the previous holder committed
// (READ COMMITTED takes a fresh snapshot per statement).
func (t *tx) Lock(ctx context.Context, name string) error {
	_, err := t.ptx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || '/' || $2))`, namedLockClass, name)
	return dbError(t.addr, "lock "+name, err)
}
