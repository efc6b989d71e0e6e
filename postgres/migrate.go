package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/migrate"
)

// migrationFiles are the schema's versions, NNNN_name.sql, applied in order by
// internal/migrate and never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockClass is the first half of the advisory lock key ("port" in ASCII); the second
// half is the hash of the schema, so Portier instances in different schemas of one database
// do not wait for each other.
const migrateLockClass = 0x706f7274

// migrate applies the migrations the database lacks, all in one transaction under an
// advisory lock: processes starting at once on one database take turns, and the later ones
// find the work done. A failed migration leaves the schema as it was.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return dbError(s.addr, "begin migration", err)
	}
	defer func() { _ = ptx.Rollback(context.WithoutCancel(ctx)) }()

	var schema *string
	if err := ptx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return dbError(s.addr, "find schema", err)
	}
	if schema == nil {
		var path string
		_ = ptx.QueryRow(ctx, `SHOW search_path`).Scan(&path)
		return portier.Errorf(portier.EInvalid, "No schema in the PostgreSQL search_path (%s) exists: create it first.", path)
	}
	if _, err := ptx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrateLockClass, *schema); err != nil {
		return dbError(s.addr, "lock for migration", err)
	}
	if err := migrate.Apply(ctx, migrateTx{ptx}, ms, migrate.Dialect{
		CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			name    text NOT NULL,
			applied timestamptz NOT NULL DEFAULT now()
		)`,
		Record: `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, to_timestamp($3::bigint / 1e9))`,
		TooNew: func(have, latest int) error {
			return portier.Errorf(portier.EInternal,
				"The PostgreSQL schema %s is at version %d, newer than this Portier knows (%d): upgrade Portier.", *schema, have, latest)
		},
		Wrap: func(doing string, err error) error { return dbError(s.addr, doing, err) },
	}); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return dbError(s.addr, "commit migration", err)
	}
	return nil
}

// migrateTx is the migration transaction as internal/migrate uses it.
type migrateTx struct{ tx pgx.Tx }

func (m migrateTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := m.tx.Exec(ctx, query, args...)
	return err
}

func (m migrateTx) Version(ctx context.Context, query string) (v int, err error) {
	err = m.tx.QueryRow(ctx, query).Scan(&v)
	return v, err
}
