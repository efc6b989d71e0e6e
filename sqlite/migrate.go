package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/portier-id/portier/internal/migrate"
)

// migrationFiles are the schema changes, NNNN_name.sql, applied in order by internal/migrate
// and recorded in schema_migrations. A released file is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]migrate.Migration, error) {
	ms, err := migrate.Load(migrationFiles)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// migrate brings the schema up to date. An up-to-date file is only read, so a second process
// opening it (the CLI beside a server) takes no write lock; otherwise the migrations run in
// one IMMEDIATE transaction, and two processes migrating at once apply each step once.
func (s *Store) migrate(ctx context.Context) error {
	all, err := migrations()
	if err != nil {
		return err
	}
	if v, err := s.schemaVersion(ctx, s.read); err == nil && v == migrate.Latest(all) {
		return nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("migrate the schema", err)
	}
	defer tx.Rollback()
	if err := migrate.Apply(ctx, migrateTx{tx}, all, migrate.Dialect{
		CreateTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY,
			name    TEXT    NOT NULL,
			applied INTEGER NOT NULL
		)`,
		Record: `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
		TooNew: func(have, latest int) error {
			return fmt.Errorf("sqlite: the database %s has schema version %d, newer than this portier knows (%d): upgrade portier", s.path, have, latest)
		},
		Wrap: s.wrap,
	}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap("commit the migrations", err)
	}
	return nil
}

// migrateTx is the migration transaction as internal/migrate uses it.
type migrateTx struct{ tx *sql.Tx }

func (m migrateTx) Exec(ctx context.Context, query string, args ...any) error {
	_, err := m.tx.ExecContext(ctx, query, args...)
	return err
}

func (m migrateTx) Version(ctx context.Context, query string) (v int, err error) {
	err = m.tx.QueryRowContext(ctx, query).Scan(&v)
	return v, err
}

// schemaVersion returns the highest applied migration, 0 for a new file.
func (s *Store) schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
