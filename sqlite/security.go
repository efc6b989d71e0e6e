package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

const methodColumns = `id, user_id, kind, address, secret, last_step, created, last_used`

func scanMethod(sc scanner) (*portier.AuthMethod, error) {
	var (
		m                 portier.AuthMethod
		created, lastUsed sql.NullInt64
	)
	if err := sc.Scan(&m.ID, &m.UserID, &m.Kind, &m.Address, &m.Secret, &m.LastStep, &created, &lastUsed); err != nil {
		return nil, err
	}
	m.Created = fromNanos(created)
	if lastUsed.Valid {
		t := fromNanos(lastUsed)
		m.LastUsed = &t
	}
	return &m, nil
}

// nanosPtr is nanos of an optional time.
func nanosPtr(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return nanos(*t)
}

// ListMethods returns a user's security-info methods, oldest first.
func (q queries) ListMethods(ctx context.Context, userID string) ([]*portier.AuthMethod, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+methodColumns+` FROM auth_methods WHERE user_id = ? ORDER BY created, id`, userID)
	if err != nil {
		return nil, q.store.wrap("list security info", err)
	}
	defer rows.Close()
	var out []*portier.AuthMethod
	for rows.Next() {
		m, err := scanMethod(rows)
		if err != nil {
			return nil, q.store.wrap("list security info", err)
		}
		out = append(out, m)
	}
	return out, q.store.wrap("list security info", rows.Err())
}

// InsertMethod adds m; ENotFound if its user is gone, EConflict if its id is taken.
func (t *tx) InsertMethod(ctx context.Context, m *portier.AuthMethod) error {
	// Selecting the user turns a missing one into no row rather than a foreign key error.
	res, err := t.db.ExecContext(ctx, `INSERT INTO auth_methods (`+methodColumns+`)
		SELECT ?, id, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? ON CONFLICT DO NOTHING`,
		m.ID, string(m.Kind), m.Address, m.Secret, m.LastStep, nanos(m.Created), nanosPtr(m.LastUsed), m.UserID)
	if err != nil {
		return t.store.wrap("insert security info", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return t.store.wrap("insert security info", err)
	}
	if _, err := t.UserByID(ctx, m.UserID); err != nil {
		return err
	}
	return portier.MethodExists(m.ID)
}

// UpdateMethod writes m's Address, Secret, LastStep and LastUsed; ENotFound if it is gone.
func (t *tx) UpdateMethod(ctx context.Context, m *portier.AuthMethod) error {
	res, err := t.db.ExecContext(ctx, `UPDATE auth_methods SET address = ?, secret = ?, last_step = ?, last_used = ?
		WHERE id = ? AND user_id = ?`, m.Address, m.Secret, m.LastStep, nanosPtr(m.LastUsed), m.ID, m.UserID)
	return t.mustAffect(res, err, "update security info", portier.NoMethod(m.ID))
}

// MethodForUpdate returns one method of the user; the IMMEDIATE transaction already holds
// the write lock.
func (t *tx) MethodForUpdate(ctx context.Context, userID, id string) (*portier.AuthMethod, error) {
	m, err := scanMethod(t.db.QueryRowContext(ctx, `SELECT `+methodColumns+` FROM auth_methods WHERE user_id = ? AND id = ?`, userID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portier.NoMethod(id)
	}
	return m, t.store.wrap("read security info", err)
}

// DeleteMethod removes one method of the user; ENotFound if the user has no such method.
func (t *tx) DeleteMethod(ctx context.Context, userID, id string) error {
	res, err := t.db.ExecContext(ctx, `DELETE FROM auth_methods WHERE user_id = ? AND id = ?`, userID, id)
	return t.mustAffect(res, err, "delete security info", portier.NoMethod(id))
}

const tokenColumns = `kind, id, user_id, app_id, family, data, created, expires`

func scanToken(sc scanner) (*portier.Token, error) {
	var (
		tk               portier.Token
		created, expires sql.NullInt64
	)
	if err := sc.Scan(&tk.Kind, &tk.ID, &tk.UserID, &tk.AppID, &tk.Family, &tk.Data, &created, &expires); err != nil {
		return nil, err
	}
	tk.Created, tk.Expires = fromNanos(created), fromNanos(expires)
	return &tk, nil
}

// Token returns the token (kind, id), expired or not; ENotFound if none.
func (q queries) Token(ctx context.Context, kind, id string) (*portier.Token, error) {
	tk, err := scanToken(q.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE kind = ? AND id = ?`, kind, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portier.NoToken(kind)
	}
	return tk, q.store.wrap("read "+kind+" token", err)
}

// tokenWhere is the WHERE clause of a TokenFilter; EInvalid when it selects everything.
func tokenWhere(f portier.TokenFilter) (string, []any, error) {
	var conds []string
	var args []any
	if len(f.Kinds) > 0 {
		conds = append(conds, "kind IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Kinds)), ", ")+")")
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	add := func(cond, v string) {
		if v != "" {
			conds, args = append(conds, cond), append(args, v)
		}
	}
	add("user_id = ?", f.UserID)
	add("app_id = ?", f.AppID)
	add("family = ?", f.Family)
	if len(conds) == 0 {
		return "", nil, portier.Errorf(portier.EInvalid, "A token filter must name kinds, a user, an application or a family.")
	}
	return and(conds), args, nil
}

// ListTokens returns the tokens f selects, oldest first.
func (q queries) ListTokens(ctx context.Context, f portier.TokenFilter) ([]*portier.Token, error) {
	where, args, err := tokenWhere(f)
	if err != nil {
		return nil, err
	}
	rows, err := q.db.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE `+where+` ORDER BY created, kind, id LIMIT ?`,
		append(args, pageLimit(f.Limit))...)
	if err != nil {
		return nil, q.store.wrap("list tokens", err)
	}
	defer rows.Close()
	var out []*portier.Token
	for rows.Next() {
		tk, err := scanToken(rows)
		if err != nil {
			return nil, q.store.wrap("list tokens", err)
		}
		out = append(out, tk)
	}
	return out, q.store.wrap("list tokens", rows.Err())
}

// InsertToken adds tk; EConflict if (Kind, ID) is taken.
func (t *tx) InsertToken(ctx context.Context, tk *portier.Token) error {
	res, err := t.db.ExecContext(ctx, `INSERT INTO tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, tk.Kind, tk.ID, tk.UserID, tk.AppID, tk.Family, nonNil(tk.Data), nanos(tk.Created), nanos(tk.Expires))
	if err != nil {
		return t.store.wrap("insert "+tk.Kind+" token", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.store.wrap("insert "+tk.Kind+" token", err)
	}
	if n == 0 {
		return portier.TokenExists(tk.Kind)
	}
	return nil
}

// TokenForUpdate is Token; the IMMEDIATE transaction already holds the write lock.
func (t *tx) TokenForUpdate(ctx context.Context, kind, id string) (*portier.Token, error) {
	return t.Token(ctx, kind, id)
}

// UpdateToken writes tk's UserID, AppID, Family, Data and Expires; ENotFound if it is gone.
func (t *tx) UpdateToken(ctx context.Context, tk *portier.Token) error {
	res, err := t.db.ExecContext(ctx, `UPDATE tokens SET user_id = ?, app_id = ?, family = ?, data = ?, expires = ?
		WHERE kind = ? AND id = ?`, tk.UserID, tk.AppID, tk.Family, nonNil(tk.Data), nanos(tk.Expires), tk.Kind, tk.ID)
	return t.mustAffect(res, err, "update "+tk.Kind+" token", portier.NoToken(tk.Kind))
}

// DeleteToken removes one token; no error if it is gone.
func (t *tx) DeleteToken(ctx context.Context, kind, id string) error {
	_, err := t.db.ExecContext(ctx, `DELETE FROM tokens WHERE kind = ? AND id = ?`, kind, id)
	return t.store.wrap("delete "+kind+" token", err)
}

// DeleteTokens removes the tokens f selects and returns how many.
func (t *tx) DeleteTokens(ctx context.Context, f portier.TokenFilter) (int, error) {
	where, args, err := tokenWhere(f)
	if err != nil {
		return 0, err
	}
	return t.count(t.db.ExecContext(ctx, `DELETE FROM tokens WHERE `+where, args...))
}

// PruneTokens removes tokens that expired before now; a token without Expires stays.
func (t *tx) PruneTokens(ctx context.Context, now time.Time) (int, error) {
	return t.count(t.db.ExecContext(ctx, `DELETE FROM tokens WHERE expires < ?`, now.UnixNano()))
}

// nonNil keeps a nil value from being stored as NULL, which a NOT NULL column refuses.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
