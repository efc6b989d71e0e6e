package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
)

// migrationFiles are the schema's versions, NNNN_name.sql, applied in order and never edited
// once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("postgres: list migrations: %w", err)
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("postgres: migration %s is not named NNNN_name.sql", base)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("postgres: read migration %s: %w", base, err)
		}
		ms = append(ms, migration{version: version, name: base, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("postgres: migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrateLockClass is the first half of the advisory lock key ("port" in ASCII); the second
// half is the hash of the schema, so Portier instances in different schemas of one database
// do not wait for each other.
const migrateLockClass = 0x706f7274

// migrate applies the migrations the database lacks, all in one transaction under an
// advisory lock: processes starting at once on one database take turns, and the later ones
// find the work done. A failed migration leaves the schema as it was.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
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
	if _, err := ptx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name    text NOT NULL,
		applied timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return dbError(s.addr, "create schema_migrations", err)
	}
	rows, err := ptx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return dbError(s.addr, "read schema_migrations", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return dbError(s.addr, "read schema_migrations", err)
	}
	latest := ms[len(ms)-1].version
	for _, v := range applied {
		if v > latest {
			return portier.Errorf(portier.EInternal,
				"The PostgreSQL schema %s is at version %d, newer than this Portier knows (%d): upgrade Portier.", *schema, v, latest)
		}
	}
	for _, m := range ms {
		if slices.Contains(applied, m.version) {
			continue
		}
		if _, err := ptx.Exec(ctx, m.sql); err != nil {
			return dbError(s.addr, "apply migration "+m.name, err)
		}
		if _, err := ptx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return dbError(s.addr, "record migration "+m.name, err)
		}
	}
	if err := ptx.Commit(ctx); err != nil {
		return dbError(s.addr, "commit migration", err)
	}
	return nil
}
