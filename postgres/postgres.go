// Package postgres is the PostgreSQL implementation of portier.Store. Several Portier
// processes may share one database and then act as one service: all state lives in the
// database, and every read-modify-write goes through a row lock (SELECT … FOR UPDATE), so no
// process's update is lost to another's.
//
// Files follow the store contract's areas (users.go, lockouts.go, logs.go, security.go for
// methods and tokens, apps.go for applications and signing keys, notify.go and counters for the rest); the
// schema is migrations/*.sql, run by internal/migrate; the not-found and conflict errors are
// the root package's (portier.NoUserWithID, ...), and users.locked_until, the copy of a
// user's lock for the "locked" listing, is kept by triggers in the schema as on the other
// backend.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portier-id/portier"
)

// Store is a portier.Store on a PostgreSQL database, safe for concurrent use.
type Store struct {
	queries
	pool *pgxpool.Pool
	// schemaTag names the schema in the store's NOTIFY channels (notify.go).
	schemaTag string
}

var _ portier.Store = (*Store)(nil)

// Option changes how Open connects.
type Option func(cfg *pgxpool.Config)

// WithTracer has every statement, batch and transaction statement the store sends reported to
// tracer (a pgx.BatchTracer too, for batches): for benchmarks that count round trips.
func WithTracer(tracer pgx.QueryTracer) Option {
	return func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = tracer }
}

// Open connects to the database at url (postgres://…) and brings its schema up to date.
// Connection parameters pgx does not know, such as search_path, are passed on to the
// server, so ?search_path=portier keeps Portier's tables in their own schema.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included: say only what is wrong.
		return nil, portier.Errorf(portier.EInvalid, "The PostgreSQL URL is not valid: %s.", parseProblem(err))
	}
	for _, opt := range opts {
		opt(cfg)
	}
	addr := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, dbError(addr, "open pool", err)
	}
	s := &Store{queries: queries{db: pool, addr: addr}, pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if s.schemaTag, err = schemaTag(ctx, pool); err != nil {
		pool.Close()
		return nil, dbError(addr, "read the schema", err)
	}
	return s, nil
}

// parseProblem returns the innermost reason of a connection string parse error, which,
// unlike the outer message, does not repeat the connection string.
func parseProblem(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && errors.Unwrap(pe) != nil {
		return errors.Unwrap(pe).Error()
	}
	return "it cannot be parsed"
}

// Tx runs fn in one transaction; see portier.Store.
func (s *Store) Tx(ctx context.Context, fn func(tx portier.Tx) error) (err error) {
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return dbError(s.addr, "begin", err)
	}
	defer func() {
		// Rollback after Commit is a no-op; after a panic or an error it undoes everything.
		// It must run even when ctx is already cancelled, or the connection goes back dirty.
		_ = ptx.Rollback(context.WithoutCancel(ctx))
	}()
	t := &tx{queries: queries{db: ptx, addr: s.addr}, ptx: ptx, store: s}
	if err := fn(t); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return dbError(s.addr, "commit", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return dbError(s.addr, "ping", s.pool.Ping(ctx))
}

// Close releases the database connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// tx is a portier.Tx on one PostgreSQL transaction.
type tx struct {
	queries
	ptx   pgx.Tx
	store *Store
}

// dbtx is what pgxpool.Pool and pgx.Tx have in common: the reads run on either.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// queries implements portier.Queries on the pool (Store) or on a transaction (tx).
type queries struct {
	db dbtx
	// addr is host:port of the database, for the message of an unreachable database.
	addr string
}

// codedError is a portier.Error that keeps its cause reachable for errors.Is and errors.As
// (a cancelled context, a pgconn error) while its text stays the one clear message.
type codedError struct {
	err   *portier.Error
	cause error
}

func (e *codedError) Error() string   { return e.err.Error() }
func (e *codedError) Unwrap() []error { return []error{e.err, e.cause} }

// withCode returns err carrying a portier error code and message.
func withCode(code string, err error, format string, args ...any) error {
	return coded(portier.Errorf(code, format, args...), err)
}

// coded returns the contract's error e (portier.NoUserWithID, ...) with its cause kept.
func coded(e *portier.Error, cause error) error {
	return &codedError{err: e, cause: cause}
}

// dbError turns a database error into the store contract's errors: EUnavailable when the
// database cannot be reached, otherwise the error wrapped with what was being done
// (EInternal to the domain). Callers map the errors they expect (no rows, unique
// violations) before they get here.
func dbError(addr, what string, err error) error {
	if err == nil {
		return nil
	}
	if reason, ok := unreachable(err); ok {
		return withCode(portier.EUnavailable, err, "PostgreSQL at %s cannot be reached: %s.", addr, reason)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// unreachable reports whether err means the database cannot be reached or used at all, and
// a short reason why.
func unreachable(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "28"), // invalid authorization: wrong user or password
			pgErr.Code == "3D000",               // the database does not exist
			pgErr.Code == "53300",               // too many connections
			pgErr.Code == "57P01",               // admin shutdown
			pgErr.Code == "57P02",               // crash shutdown
			pgErr.Code == "57P03":               // cannot connect now (starting up)
			return pgErr.Message, true
		}
		return "", false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.As(err, &connErr), errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return innermost(err).Error(), true
	}
	return "", false
}

// innermost follows a chain of single wrappers to its first cause.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// isUniqueViolation reports whether err is a unique constraint violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
