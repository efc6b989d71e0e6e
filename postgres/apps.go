package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
)

const appColumns = `id, name, secret_hash, public, redirect_uris, post_logout_uris, assigned_only, created, client_credentials, permissions`

// scanApp reads one row of appColumns.
func scanApp(row pgx.Row) (*portier.App, error) {
	var a portier.App
	if err := row.Scan(&a.ID, &a.Name, &a.SecretHash, &a.Public, &a.RedirectURIs, &a.PostLogoutURIs, &a.AssignedOnly, &a.Created,
		&a.ClientCredentials, &a.Permissions); err != nil {
		return nil, err
	}
	a.Created = a.Created.UTC()
	return &a, nil
}

// appNotFound is the ENotFound error of a missing application.
func appNotFound(id string, err error) error {
	return coded(portier.NoApp(id), err)
}

// nonNilStrings keeps a nil list from being stored as NULL, which the NOT NULL column refuses.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// joinAnd joins conditions with AND.
func joinAnd(conds []string) string {
	return strings.Join(conds, " AND ")
}

// App returns the application with the client id; ENotFound if none.
func (q *queries) App(ctx context.Context, id string) (*portier.App, error) {
	a, err := scanApp(q.db.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, appNotFound(id, err)
	}
	return a, dbError(q.addr, "read application", err)
}

// ListApps returns every application ordered by name.
func (q *queries) ListApps(ctx context.Context) ([]*portier.App, error) {
	rows, err := q.db.Query(ctx, `SELECT `+appColumns+` FROM apps ORDER BY name, id`)
	if err != nil {
		return nil, dbError(q.addr, "list applications", err)
	}
	apps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.App, error) { return scanApp(row) })
	return apps, dbError(q.addr, "list applications", err)
}

// AppAssigned reports whether the user is assigned to the application.
func (q *queries) AppAssigned(ctx context.Context, appID, userID string) (bool, error) {
	var assigned bool
	err := q.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM app_assignments WHERE app_id = $1 AND user_id = $2)`, appID, userID).Scan(&assigned)
	return assigned, dbError(q.addr, "read application assignment", err)
}

// ListAppUsers returns the ids of the users assigned to the application.
func (q *queries) ListAppUsers(ctx context.Context, appID string) ([]string, error) {
	rows, err := q.db.Query(ctx, `SELECT user_id FROM app_assignments WHERE app_id = $1 ORDER BY user_id`, appID)
	if err != nil {
		return nil, dbError(q.addr, "list application users", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, dbError(q.addr, "list application users", err)
}

// InsertApp adds a; EConflict if the id is taken.
func (t *tx) InsertApp(ctx context.Context, a *portier.App) error {
	tag, err := t.db.Exec(ctx, `INSERT INTO apps (`+appColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		a.ID, a.Name, a.SecretHash, a.Public, nonNilStrings(a.RedirectURIs), nonNilStrings(a.PostLogoutURIs), a.AssignedOnly, a.Created,
		a.ClientCredentials, nonNilStrings(a.Permissions))
	if err != nil {
		return dbError(t.addr, "insert application", err)
	}
	if tag.RowsAffected() == 0 {
		return portier.AppExists(a.ID)
	}
	return nil
}

// UpdateApp writes every field of a except ID and Created; ENotFound if it is gone.
func (t *tx) UpdateApp(ctx context.Context, a *portier.App) error {
	tag, err := t.db.Exec(ctx, `UPDATE apps SET name = $2, secret_hash = $3, public = $4, redirect_uris = $5,
		post_logout_uris = $6, assigned_only = $7, client_credentials = $8, permissions = $9 WHERE id = $1`,
		a.ID, a.Name, a.SecretHash, a.Public, nonNilStrings(a.RedirectURIs), nonNilStrings(a.PostLogoutURIs), a.AssignedOnly,
		a.ClientCredentials, nonNilStrings(a.Permissions))
	if err != nil {
		return dbError(t.addr, "update application", err)
	}
	if tag.RowsAffected() == 0 {
		return appNotFound(a.ID, nil)
	}
	return nil
}

// DeleteApp removes the application, (by the foreign key's cascade) its assignments, and its
// tokens; ENotFound if none.
func (t *tx) DeleteApp(ctx context.Context, id string) error {
	tag, err := t.db.Exec(ctx, `DELETE FROM apps WHERE id = $1`, id)
	if err != nil {
		return dbError(t.addr, "delete application", err)
	}
	if tag.RowsAffected() == 0 {
		return appNotFound(id, nil)
	}
	_, err = t.db.Exec(ctx, `DELETE FROM tokens WHERE app_id = $1`, id)
	return dbError(t.addr, "delete application tokens", err)
}

// SetAppAssigned assigns the user to the application, or removes the assignment. Assigning
// a missing user or to a missing application is ENotFound; selecting both turns that into no
// row rather than a foreign key error, which would abort the transaction.
func (t *tx) SetAppAssigned(ctx context.Context, appID, userID string, assigned bool) error {
	if !assigned {
		_, err := t.db.Exec(ctx, `DELETE FROM app_assignments WHERE app_id = $1 AND user_id = $2`, appID, userID)
		return dbError(t.addr, "remove application assignment", err)
	}
	tag, err := t.db.Exec(ctx, `INSERT INTO app_assignments (app_id, user_id)
		SELECT a.id, u.id FROM apps a, users u WHERE a.id = $1 AND u.id = $2 ON CONFLICT DO NOTHING`, appID, userID)
	if err != nil {
		return dbError(t.addr, "assign application", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	// Nothing inserted: already assigned, or the application or the user is missing.
	if _, err := t.App(ctx, appID); err != nil {
		return err
	}
	_, err = t.UserByID(ctx, userID)
	return err
}

const signingKeyColumns = `id, algorithm, private, created, not_before, expires`

// ListSigningKeys returns every signing key, newest (by NotBefore) first.
func (q *queries) ListSigningKeys(ctx context.Context) ([]*portier.SigningKey, error) {
	rows, err := q.db.Query(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY not_before DESC, id`)
	if err != nil {
		return nil, dbError(q.addr, "list signing keys", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.SigningKey, error) {
		var k portier.SigningKey
		err := row.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Created, &k.NotBefore, &k.Expires)
		k.Created, k.NotBefore, k.Expires = k.Created.UTC(), k.NotBefore.UTC(), k.Expires.UTC()
		return &k, err
	})
	return keys, dbError(q.addr, "list signing keys", err)
}

// InsertSigningKey adds a signing key; EConflict if its id is taken.
func (t *tx) InsertSigningKey(ctx context.Context, k *portier.SigningKey) error {
	tag, err := t.db.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		k.ID, k.Algorithm, nonNil(k.Private), k.Created, k.NotBefore, k.Expires)
	if err != nil {
		return dbError(t.addr, "insert signing key", err)
	}
	if tag.RowsAffected() == 0 {
		return portier.SigningKeyExists(k.ID)
	}
	return nil
}

// DeleteSigningKeys removes the keys that expired before now.
func (t *tx) DeleteSigningKeys(ctx context.Context, now time.Time) (int, error) {
	tag, err := t.db.Exec(ctx, `DELETE FROM signing_keys WHERE expires < $1`, now)
	if err != nil {
		return 0, dbError(t.addr, "delete signing keys", err)
	}
	return int(tag.RowsAffected()), nil
}
