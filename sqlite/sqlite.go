// Package sqlite is Portier's embedded store: one SQLite file, pure Go (modernc.org/sqlite),
// created and migrated on open.
//
// Writes go through a pool of one connection whose transactions begin IMMEDIATE: they take
// the file's write lock at BEGIN, so two read-modify-write transactions never interleave and
// none fails half-way with SQLITE_BUSY. Another process (the CLI while a server runs) waits
// for the lock up to the busy timeout. Reads use a separate pool of connections and, thanks to
// WAL, never wait for a writer. A commit waits until the log is on the disk, as PostgreSQL's
// do, but for the writes PostgreSQL commits asynchronously (relaxed).
//
// Files follow the store contract's areas (users.go, lockouts.go, logs.go, security.go for
// methods and tokens, apps.go for applications and signing keys, notify.go and counters for the rest); the
// schema is migrations/*.sql, run by internal/migrate; the not-found and conflict errors are
// the root package's (portier.NoUserWithID, ...), and users.locked_until, the copy of a
// user's lock for the "locked" listing, is kept by triggers in the schema as on the other
// backend.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/broker"
)

// busyTimeout is how long a write waits for another process's write lock before giving up.
const busyTimeout = 10 * time.Second

// Store is a portier.Store in one SQLite file.
type Store struct {
	queries
	write *sql.DB // one connection: the writer, BEGIN IMMEDIATE
	read  *sql.DB
	// readStmts holds the read pool's prepared statements. The writer prepares none: its one
	// connection is busy with the transaction that would ask for one.
	readStmts *stmtCache
	path      string        // for error messages
	busy      time.Duration // the busy timeout, for error messages
	// broker delivers published messages to this process's subscribers: its own at commit,
	// other processes' as notify's poller reads them from the notifications table.
	broker broker.Broker
	notify notifier
}

var _ portier.Store = (*Store)(nil)

// Open opens the SQLite database file at path, creating it if need be, and brings its schema
// up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, busyTimeout)
}

// open is Open with a busy timeout, so tests of a locked file need not wait ten seconds.
func open(ctx context.Context, path string, busy time.Duration) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: no database file given")
	}
	// SQLite's own message for a file it cannot create is "unable to open database file";
	// trying the file first gives the reason (no such directory, permission denied).
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("sqlite: cannot open or create the database file %s: %w", path, err)
	}
	f.Close()

	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	common.Add("_pragma", "foreign_keys(1)")
	name := "file:" + (&url.URL{Path: path}).EscapedPath() + "?"

	writeParams := cloneValues(common)
	// Every commit waits until the log is on the disk (FULL), unless it runs in relaxed: a
	// sign-in, a session, a lock or an admin's change survives the machine's crash once
	// answered, as on PostgreSQL.
	writeParams.Add("_pragma", "synchronous(FULL)")
	// The writer's page cache holds what the writes touch: 8 MiB, so that a spray's sign-in
	// log entries and counters, scattered over their indexes, keep the process small.
	writeParams.Add("_pragma", "cache_size(-8192)")
	writeParams.Add("_pragma", "journal_mode(WAL)")
	writeParams.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", name+writeParams.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer: in this process, transactions queue for the connection instead of
	// contending for the file lock.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)

	readParams := cloneValues(common)
	readParams.Add("_pragma", "synchronous(NORMAL)") // a reader commits nothing
	// 32 MiB of page cache per reading connection keeps the upper levels of a million-user
	// directory's indexes in memory.
	readParams.Add("_pragma", "cache_size(-32768)")
	readParams.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", name+readParams.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.NumCPU())
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(0)

	s := &Store{write: write, read: read, path: path, busy: busy, readStmts: &stmtCache{db: read}, notify: notifier{origin: newOrigin()}}
	s.queries = queries{db: cachedPool{c: s.readStmts}, store: s}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		if created {
			// Leave no half-made database behind for the next Open to trust.
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(path + suffix)
			}
		}
		return nil, err
	}
	return s, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Tx runs fn in one write transaction, begun IMMEDIATE: the database's write lock is held
// from the start, so every row fn reads stays as read until Tx returns. Its commit is durable.
func (s *Store) Tx(ctx context.Context, fn func(tx portier.Tx) error) error {
	return s.txOn(ctx, s.write, fn)
}

// beginner is the writer's pool, or its one connection taken by relaxed.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// txOn is Tx on the writer's pool or connection b.
func (s *Store) txOn(ctx context.Context, b beginner, fn func(tx portier.Tx) error) (err error) {
	sqlTx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("begin a transaction", err)
	}
	done := false
	defer func() {
		// A panic in fn must not leave the writer's one connection inside a transaction.
		if !done {
			sqlTx.Rollback()
		}
	}()
	t := &tx{queries: queries{db: sqlTx, store: s}, tx: sqlTx}
	if err := fn(t); err != nil {
		done = true
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, s.wrap("roll back", rbErr))
		}
		return err
	}
	done = true
	if err := sqlTx.Commit(); err != nil {
		return s.wrap("commit", err)
	}
	for _, m := range t.published {
		s.broker.Deliver(m.channel, m.payload)
	}
	return nil
}

// relaxed runs fn on the writer's one connection with synchronous NORMAL: its commits do not
// wait for the disk. They survive a crash of the process (SQLite writes its log at commit) but
// not of the machine. It is for the writes that PostgreSQL commits asynchronously, which
// survive neither: a counter's count and the sign-in log. The connection is put back to FULL
// before it goes back to the pool, or dropped if that fails, so that no other write finds it
// relaxed. SQLite refuses the setting inside a transaction: fn begins and ends its own.
func (s *Store) relaxed(ctx context.Context, fn func(conn *sql.Conn) error) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return s.wrap("take the writer's connection", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		return s.wrap("relax the commit", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // the pool drops it and opens a new one at FULL
		}
	}()
	return fn(conn)
}

// Ping checks that the database file answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// Close stops reading other processes' messages and closes both pools.
func (s *Store) Close() error {
	s.stopPolling()
	s.readStmts.close()
	return errors.Join(s.read.Close(), s.write.Close())
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// String describes the store for logs.
func (s *Store) String() string { return "sqlite:" + s.path }

// querier is what both a pool and a transaction offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queries implements portier.Queries on a pool or a transaction.
type queries struct {
	db    querier
	store *Store
}

// wrap turns a driver error into a portier error: a busy file is EUnavailable, anything
// unexpected EInternal, each saying which file and what was being done.
func (s *Store) wrap(doing string, err error) error {
	if err == nil {
		return nil
	}
	var pe *portier.Error
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %w", portier.Errorf(portier.EUnavailable,
				"The database file %s is locked by another process; gave up after waiting %v to %s.", s.path, s.busy, doing), err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_PERM:
			return fmt.Errorf("%w: %w", portier.Errorf(portier.EUnavailable,
				"The database file %s cannot be used to %s: %s.", s.path, doing, se.Error()), err)
		}
	}
	return fmt.Errorf("sqlite: %s: %s: %w", s.path, doing, err)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint on the named column.
func isUnique(err error, column string) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return strings.Contains(se.Error(), column)
	}
	return false
}

// nanos stores t as unix nanoseconds; the zero time is NULL ("never").
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// fromNanos reads what nanos stored, in UTC.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}
