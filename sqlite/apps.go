package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/portier-id/portier"
)

const appColumns = `id, name, secret_hash, public, redirect_uris, post_logout_uris, assigned_only, created, client_credentials, permissions`

func scanApp(sc scanner) (*portier.App, error) {
	var (
		a                         portier.App
		redirects, logouts, perms string
		created                   sql.NullInt64
	)
	if err := sc.Scan(&a.ID, &a.Name, &a.SecretHash, &a.Public, &redirects, &logouts, &a.AssignedOnly, &created,
		&a.ClientCredentials, &perms); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(perms), &a.Permissions); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(redirects), &a.RedirectURIs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(logouts), &a.PostLogoutURIs); err != nil {
		return nil, err
	}
	a.Created = fromNanos(created)
	return &a, nil
}

// uriList stores a list of strings (URIs, permissions) as a JSON array, [] for none.
func uriList(uris []string) string {
	if uris == nil {
		uris = []string{}
	}
	b, _ := json.Marshal(uris) // a []string always marshals
	return string(b)
}

func appNotFound(id string) error {
	return portier.NoApp(id)
}

// App returns the application with the client id; ENotFound if none.
func (q queries) App(ctx context.Context, id string) (*portier.App, error) {
	a, err := scanApp(q.db.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, appNotFound(id)
	}
	return a, q.store.wrap("read application "+id, err)
}

// ListApps returns every application ordered by name.
func (q queries) ListApps(ctx context.Context) ([]*portier.App, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+appColumns+` FROM apps ORDER BY name, id`)
	if err != nil {
		return nil, q.store.wrap("list applications", err)
	}
	defer rows.Close()
	var out []*portier.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, q.store.wrap("list applications", err)
		}
		out = append(out, a)
	}
	return out, q.store.wrap("list applications", rows.Err())
}

// AppAssigned reports whether the user is assigned to the application.
func (q queries) AppAssigned(ctx context.Context, appID, userID string) (bool, error) {
	var one int
	err := q.db.QueryRowContext(ctx, `SELECT 1 FROM app_assignments WHERE app_id = ? AND user_id = ?`, appID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, q.store.wrap("read application assignment", err)
}

// ListAppUsers returns the ids of the users assigned to the application.
func (q queries) ListAppUsers(ctx context.Context, appID string) ([]string, error) {
	return q.strings(ctx, "list application users", `SELECT user_id FROM app_assignments WHERE app_id = ? ORDER BY user_id`, appID)
}

// strings runs a query whose rows are one text column, and returns them; what names the
// query in an error.
func (q queries) strings(ctx context.Context, what, query string, args ...any) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, q.store.wrap(what, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, q.store.wrap(what, err)
		}
		out = append(out, v)
	}
	return out, q.store.wrap(what, rows.Err())
}

// InsertApp adds a; EConflict if the id is taken.
func (t *tx) InsertApp(ctx context.Context, a *portier.App) error {
	res, err := t.db.ExecContext(ctx, `INSERT INTO apps (`+appColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		a.ID, a.Name, a.SecretHash, a.Public, uriList(a.RedirectURIs), uriList(a.PostLogoutURIs), a.AssignedOnly, nanos(a.Created),
		a.ClientCredentials, uriList(a.Permissions))
	if err != nil {
		return t.store.wrap("insert application", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.store.wrap("insert application", err)
	}
	if n == 0 {
		return portier.AppExists(a.ID)
	}
	return nil
}

// UpdateApp writes every field of a except ID and Created; ENotFound if it is gone.
func (t *tx) UpdateApp(ctx context.Context, a *portier.App) error {
	res, err := t.db.ExecContext(ctx, `UPDATE apps SET name = ?, secret_hash = ?, public = ?, redirect_uris = ?,
		post_logout_uris = ?, assigned_only = ?, client_credentials = ?, permissions = ? WHERE id = ?`,
		a.Name, a.SecretHash, a.Public, uriList(a.RedirectURIs), uriList(a.PostLogoutURIs), a.AssignedOnly,
		a.ClientCredentials, uriList(a.Permissions), a.ID)
	return t.mustAffect(res, err, "update application "+a.ID, portier.NoApp(a.ID))
}

// DeleteApp removes the application, its assignments and its tokens; ENotFound if none.
func (t *tx) DeleteApp(ctx context.Context, id string) error {
	res, err := t.db.ExecContext(ctx, `DELETE FROM apps WHERE id = ?`, id)
	if err := t.mustAffect(res, err, "delete application "+id, portier.NoApp(id)); err != nil {
		return err
	}
	for _, del := range []string{
		`DELETE FROM app_assignments WHERE app_id = ?`,
		`DELETE FROM tokens WHERE app_id = ?`,
	} {
		if _, err := t.db.ExecContext(ctx, del, id); err != nil {
			return t.store.wrap("delete application "+id, err)
		}
	}
	return nil
}

// SetAppAssigned assigns the user to the application, or removes the assignment. Assigning
// a missing user or to a missing application is ENotFound.
func (t *tx) SetAppAssigned(ctx context.Context, appID, userID string, assigned bool) error {
	if !assigned {
		_, err := t.db.ExecContext(ctx, `DELETE FROM app_assignments WHERE app_id = ? AND user_id = ?`, appID, userID)
		return t.store.wrap("remove application assignment", err)
	}
	res, err := t.db.ExecContext(ctx, `INSERT INTO app_assignments (app_id, user_id)
		SELECT a.id, u.id FROM apps a, users u WHERE a.id = ? AND u.id = ? ON CONFLICT DO NOTHING`, appID, userID)
	if err != nil {
		return t.store.wrap("assign application", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return t.store.wrap("assign application", err)
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
func (q queries) ListSigningKeys(ctx context.Context) ([]*portier.SigningKey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY not_before DESC, id`)
	if err != nil {
		return nil, q.store.wrap("list signing keys", err)
	}
	defer rows.Close()
	var out []*portier.SigningKey
	for rows.Next() {
		var k portier.SigningKey
		var created, notBefore, expires sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &created, &notBefore, &expires); err != nil {
			return nil, q.store.wrap("list signing keys", err)
		}
		k.Created, k.NotBefore, k.Expires = fromNanos(created), fromNanos(notBefore), fromNanos(expires)
		out = append(out, &k)
	}
	return out, q.store.wrap("list signing keys", rows.Err())
}

// InsertSigningKey adds a signing key; EConflict if its id is taken.
func (t *tx) InsertSigningKey(ctx context.Context, k *portier.SigningKey) error {
	res, err := t.db.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		k.ID, k.Algorithm, nonNil(k.Private), nanos(k.Created), nanos(k.NotBefore), nanos(k.Expires))
	if err != nil {
		return t.store.wrap("insert signing key", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.store.wrap("insert signing key", err)
	}
	if n == 0 {
		return portier.SigningKeyExists(k.ID)
	}
	return nil
}

// DeleteSigningKeys removes the keys that expired before now.
func (t *tx) DeleteSigningKeys(ctx context.Context, now time.Time) (int, error) {
	return t.count(t.db.ExecContext(ctx, `DELETE FROM signing_keys WHERE expires < ?`, now.UnixNano()))
}
