// Package migrate is the one schema migration runner of both stores. A store embeds its
// migrations (migrations/NNNN_name.sql, numbered from 1 without gaps, never edited once
// released), Loads them, opens its own migration transaction holding the lock that makes
// concurrent migrators take turns (SQLite: an IMMEDIATE transaction; PostgreSQL: an advisory
// lock), and calls Apply with a Dialect of the few statements that differ. Apply records each
// step in schema_migrations and refuses a database newer than the binary.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string // the file name, NNNN_name.sql
	SQL     string
}

// Load returns the migrations in fsys's migrations directory in version order: an error if a
// file is not named NNNN_name.sql or the versions do not run 1, 2, 3, ... without a gap.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version < 1 {
			return nil, fmt.Errorf("migration %s is not named NNNN_name.sql", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", base, err)
		}
		ms = append(ms, Migration{Version: version, Name: base, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m.Name, i+1)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations")
	}
	return ms, nil
}

// Latest returns the version the migrations bring a database to.
func Latest(ms []Migration) int { return ms[len(ms)-1].Version }

// Tx is a store's migration transaction, holding its lock.
type Tx interface {
	// Exec runs one statement with its arguments.
	Exec(ctx context.Context, query string, args ...any) error
	// Version returns the result of query, the highest version recorded in
	// schema_migrations (0 for none).
	Version(ctx context.Context, query string) (int, error)
}

// Dialect is what differs between the stores' bookkeeping.
type Dialect struct {
	// CreateTable creates schema_migrations (version, name, applied) if it is missing.
	CreateTable string
	// Record adds one row to schema_migrations; its arguments are the version, the file name
	// and the time applied in Unix nanoseconds.
	Record string
	// TooNew is the error for a database at version have, newer than latest: the binary is
	// older than the schema and must be upgraded.
	TooNew func(have, latest int) error
	// Wrap turns a database error into the store's error, saying what was being done.
	Wrap func(doing string, err error) error
}

// Apply brings the schema up to date within tx: it applies, in order, every migration past
// the highest version schema_migrations lists, and records it. The caller commits tx; a failure leaves
// the schema as it was once the caller rolls back.
func Apply(ctx context.Context, tx Tx, ms []Migration, d Dialect) error {
	if err := tx.Exec(ctx, d.CreateTable); err != nil {
		return d.Wrap("create schema_migrations", err)
	}
	// Each run applies every missing step in one transaction, so the recorded versions are
	// always 1..have without a gap.
	have, err := tx.Version(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`)
	if err != nil {
		return d.Wrap("read schema_migrations", err)
	}
	if latest := Latest(ms); have > latest {
		return d.TooNew(have, latest)
	}
	for _, m := range ms[have:] {
		if err := tx.Exec(ctx, m.SQL); err != nil {
			return d.Wrap("apply migration "+m.Name, err)
		}
		if err := tx.Exec(ctx, d.Record, m.Version, m.Name, time.Now().UnixNano()); err != nil {
			return d.Wrap("record migration "+m.Name, err)
		}
	}
	return nil
}
