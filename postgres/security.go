package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
)

const methodColumns = `id, user_id, kind, address, secret, last_step, created, last_used`

// scanMethod reads one row of methodColumns.
func scanMethod(row pgx.Row) (*portier.AuthMethod, error) {
	var (
		m    portier.AuthMethod
		kind string
	)
	if err := row.Scan(&m.ID, &m.UserID, &kind, &m.Address, &m.Secret, &m.LastStep, &m.Created, &m.LastUsed); err != nil {
		return nil, err
	}
	m.Kind = portier.MethodKind(kind)
	m.Created = m.Created.UTC()
	if m.LastUsed != nil {
		t := m.LastUsed.UTC()
		m.LastUsed = &t
	}
	return &m, nil
}

// methodNotFound is the ENotFound error of a missing security-info method.
func methodNotFound(id string, err error) error {
	return coded(portier.NoMethod(id), err)
}

// ListMethods returns a user's security-info methods, oldest first.
func (q *queries) ListMethods(ctx context.Context, userID string) ([]*portier.AuthMethod, error) {
	rows, err := q.db.Query(ctx, `SELECT `+methodColumns+` FROM auth_methods WHERE user_id = $1 ORDER BY created, id`, userID)
	if err != nil {
		return nil, dbError(q.addr, "list security info", err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.AuthMethod, error) { return scanMethod(row) })
	return ms, dbError(q.addr, "list security info", err)
}

// InsertMethod adds m; ENotFound if its user is gone, EConflict if its id is taken. Selecting
// the user turns a missing one into no row rather than a foreign key error, which would
// abort the transaction.
func (t *tx) InsertMethod(ctx context.Context, m *portier.AuthMethod) error {
	tag, err := t.db.Exec(ctx, `INSERT INTO auth_methods (`+methodColumns+`)
		SELECT $1, id, $2, $3, $4, $5, $6, $7 FROM users WHERE id = $8 ON CONFLICT DO NOTHING`,
		m.ID, string(m.Kind), m.Address, m.Secret, m.LastStep, m.Created, m.LastUsed, m.UserID)
	if err != nil {
		return dbError(t.addr, "insert security info", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := t.UserByID(ctx, m.UserID); err != nil {
		return err
	}
	return portier.MethodExists(m.ID)
}

// UpdateMethod writes m's Address, Secret, LastStep and LastUsed; ENotFound if it is gone.
func (t *tx) UpdateMethod(ctx context.Context, m *portier.AuthMethod) error {
	tag, err := t.db.Exec(ctx, `UPDATE auth_methods SET address = $3, secret = $4, last_step = $5, last_used = $6
		WHERE id = $1 AND user_id = $2`, m.ID, m.UserID, m.Address, m.Secret, m.LastStep, m.LastUsed)
	if err != nil {
		return dbError(t.addr, "update security info", err)
	}
	if tag.RowsAffected() == 0 {
		return methodNotFound(m.ID, nil)
	}
	return nil
}

// MethodForUpdate returns one method of the user and locks it until the transaction ends.
func (t *tx) MethodForUpdate(ctx context.Context, userID, id string) (*portier.AuthMethod, error) {
	m, err := scanMethod(t.db.QueryRow(ctx, `SELECT `+methodColumns+` FROM auth_methods WHERE user_id = $1 AND id = $2 FOR UPDATE`, userID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, methodNotFound(id, err)
	}
	return m, dbError(t.addr, "lock security info", err)
}

// DeleteMethod removes one method of the user; ENotFound if the user has no such method.
func (t *tx) DeleteMethod(ctx context.Context, userID, id string) error {
	tag, err := t.db.Exec(ctx, `DELETE FROM auth_methods WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return dbError(t.addr, "delete security info", err)
	}
	if tag.RowsAffected() == 0 {
		return methodNotFound(id, nil)
	}
	return nil
}

const tokenColumns = `kind, id, user_id, app_id, family, data, created, expires`

// scanToken reads one row of tokenColumns.
func scanToken(row pgx.Row) (*portier.Token, error) {
	var (
		tk      portier.Token
		expires *time.Time
	)
	if err := row.Scan(&tk.Kind, &tk.ID, &tk.UserID, &tk.AppID, &tk.Family, &tk.Data, &tk.Created, &expires); err != nil {
		return nil, err
	}
	tk.Created, tk.Expires = tk.Created.UTC(), utc(expires)
	return &tk, nil
}

// tokenNotFound is the ENotFound error of a missing token.
func tokenNotFound(kind string, err error) error {
	return coded(portier.NoToken(kind), err)
}

// Token returns the token (kind, id), expired or not; ENotFound if none.
func (q *queries) Token(ctx context.Context, kind, id string) (*portier.Token, error) {
	return q.token(ctx, kind, id, "")
}

// token reads one token, with a locking clause if lock is not "".
func (q *queries) token(ctx context.Context, kind, id, lock string) (*portier.Token, error) {
	tk, err := scanToken(q.db.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE kind = $1 AND id = $2`+lock, kind, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tokenNotFound(kind, err)
	}
	return tk, dbError(q.addr, "read "+kind+" token", err)
}

// tokenFilter is the filter of a TokenFilter; EInvalid when it selects everything.
func tokenFilter(tf portier.TokenFilter) (*filter, error) {
	var f filter
	if len(tf.Kinds) > 0 {
		f.add("kind = ANY(?)", tf.Kinds)
	}
	if tf.UserID != "" {
		f.add("user_id = ?", tf.UserID)
	}
	if tf.AppID != "" {
		f.add("app_id = ?", tf.AppID)
	}
	if tf.Family != "" {
		f.add("family = ?", tf.Family)
	}
	if len(f.conds) == 0 {
		return nil, portier.Errorf(portier.EInvalid, "A token filter must name kinds, a user, an application or a family.")
	}
	return &f, nil
}

// ListTokens returns the tokens f selects, oldest first.
func (q *queries) ListTokens(ctx context.Context, tf portier.TokenFilter) ([]*portier.Token, error) {
	f, err := tokenFilter(tf)
	if err != nil {
		return nil, err
	}
	rows, err := q.db.Query(ctx, `SELECT `+tokenColumns+` FROM tokens`+f.sql("created, kind, id", tf.Limit), f.args...)
	if err != nil {
		return nil, dbError(q.addr, "list tokens", err)
	}
	tokens, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.Token, error) { return scanToken(row) })
	return tokens, dbError(q.addr, "list tokens", err)
}

// InsertToken adds tk; EConflict if (Kind, ID) is taken. ON CONFLICT DO NOTHING reports the
// clash without aborting the transaction.
func (t *tx) InsertToken(ctx context.Context, tk *portier.Token) error {
	tag, err := t.db.Exec(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		tk.Kind, tk.ID, tk.UserID, tk.AppID, tk.Family, nonNil(tk.Data), tk.Created, orNull(tk.Expires))
	if err != nil {
		return dbError(t.addr, "insert "+tk.Kind+" token", err)
	}
	if tag.RowsAffected() == 0 {
		return portier.TokenExists(tk.Kind)
	}
	return nil
}

// TokenForUpdate is Token that locks the token until the transaction ends.
func (t *tx) TokenForUpdate(ctx context.Context, kind, id string) (*portier.Token, error) {
	return t.token(ctx, kind, id, " FOR UPDATE")
}

// UpdateToken writes tk's UserID, AppID, Family, Data and Expires; ENotFound if it is gone.
func (t *tx) UpdateToken(ctx context.Context, tk *portier.Token) error {
	tag, err := t.db.Exec(ctx, `UPDATE tokens SET user_id = $3, app_id = $4, family = $5, data = $6, expires = $7
		WHERE kind = $1 AND id = $2`, tk.Kind, tk.ID, tk.UserID, tk.AppID, tk.Family, nonNil(tk.Data), orNull(tk.Expires))
	if err != nil {
		return dbError(t.addr, "update "+tk.Kind+" token", err)
	}
	if tag.RowsAffected() == 0 {
		return tokenNotFound(tk.Kind, nil)
	}
	return nil
}

// DeleteToken removes one token; no error if it is gone.
func (t *tx) DeleteToken(ctx context.Context, kind, id string) error {
	_, err := t.db.Exec(ctx, `DELETE FROM tokens WHERE kind = $1 AND id = $2`, kind, id)
	return dbError(t.addr, "delete "+kind+" token", err)
}

// DeleteTokens removes the tokens f selects and returns how many.
func (t *tx) DeleteTokens(ctx context.Context, tf portier.TokenFilter) (int, error) {
	f, err := tokenFilter(tf)
	if err != nil {
		return 0, err
	}
	tag, err := t.db.Exec(ctx, `DELETE FROM tokens WHERE `+joinAnd(f.conds), f.args...)
	if err != nil {
		return 0, dbError(t.addr, "delete tokens", err)
	}
	return int(tag.RowsAffected()), nil
}

// PruneTokens removes tokens that expired before now; a token without Expires stays.
func (t *tx) PruneTokens(ctx context.Context, now time.Time) (int, error) {
	tag, err := t.db.Exec(ctx, `DELETE FROM tokens WHERE expires < $1`, now)
	if err != nil {
		return 0, dbError(t.addr, "prune tokens", err)
	}
	return int(tag.RowsAffected()), nil
}
