package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each distinct query once per pool and reuses it: SQLite spends more time
// parsing a short query than running it, and the sign-in path runs the same few all the time.
type stmtCache struct {
	db    *sql.DB
	stmts sync.Map // query string -> *sql.Stmt
}

// maxCachedQueryLen keeps queries built with varying text (long filters) out of the cache.
const maxCachedQueryLen = 2048

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := c.stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

func (c *stmtCache) close() {
	c.stmts.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}

// cachedPool is a querier over a pool that uses prepared statements.
type cachedPool struct{ c *stmtCache }

func (p cachedPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if len(query) > maxCachedQueryLen {
		return p.c.db.ExecContext(ctx, query, args...)
	}
	s, err := p.c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (p cachedPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if len(query) > maxCachedQueryLen {
		return p.c.db.QueryContext(ctx, query, args...)
	}
	s, err := p.c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (p cachedPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if len(query) > maxCachedQueryLen {
		return p.c.db.QueryRowContext(ctx, query, args...)
	}
	s, err := p.c.stmt(ctx, query)
	if err != nil {
		// Let the pool report the error the way QueryRow does.
		return p.c.db.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}
