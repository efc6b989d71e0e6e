package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/portier-id/portier"
)

const passkeyColumns = `id, user_id, name, public_key, sign_count, transports, aaguid, attestation_format,
	backup_eligible, backup_state, created, last_used`

func scanPasskey(sc scanner) (*portier.Passkey, error) {
	var (
		p                 portier.Passkey
		transports        string
		signCount         int64
		created, lastUsed sql.NullInt64
	)
	if err := sc.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &signCount, &transports, &p.AAGUID, &p.AttestationFormat,
		&p.BackupEligible, &p.BackupState, &created, &lastUsed); err != nil {
		return nil, err
	}
	p.SignCount = uint32(signCount)
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.Created = fromNanos(created)
	if lastUsed.Valid {
		t := fromNanos(lastUsed)
		p.LastUsed = &t
	}
	return &p, nil
}

// ListPasskeys returns a user's passkeys, oldest first.
func (q queries) ListPasskeys(ctx context.Context, userID string) ([]*portier.Passkey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY created, id`, userID)
	if err != nil {
		return nil, q.store.wrap("list passkeys", err)
	}
	defer rows.Close()
	var out []*portier.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, q.store.wrap("list passkeys", err)
		}
		out = append(out, p)
	}
	return out, q.store.wrap("list passkeys", rows.Err())
}

// Passkey returns the passkey with the credential id; ENotFound if none.
func (q queries) Passkey(ctx context.Context, id string) (*portier.Passkey, error) {
	p, err := scanPasskey(q.db.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portier.NoPasskey()
	}
	return p, q.store.wrap("read passkey", err)
}

// InsertPasskey adds p; ENotFound if its user is gone, EConflict if its id is registered.
func (t *tx) InsertPasskey(ctx context.Context, p *portier.Passkey) error {
	// Selecting the user turns a missing one into no row rather than a foreign key error.
	res, err := t.db.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyColumns+`)
		SELECT ?, id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? ON CONFLICT DO NOTHING`,
		p.ID, p.Name, p.PublicKey, int64(p.SignCount), strings.Join(p.Transports, ","), p.AAGUID, p.AttestationFormat,
		p.BackupEligible, p.BackupState, nanos(p.Created), nanosPtr(p.LastUsed), p.UserID)
	if err != nil {
		return t.store.wrap("insert passkey", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return t.store.wrap("insert passkey", err)
	}
	if _, err := t.UserByID(ctx, p.UserID); err != nil {
		return err
	}
	return portier.PasskeyExists()
}

// PasskeyForUpdate returns the passkey; the IMMEDIATE transaction already holds the write lock.
func (t *tx) PasskeyForUpdate(ctx context.Context, id string) (*portier.Passkey, error) {
	return t.Passkey(ctx, id)
}

// UpdatePasskey writes p's Name, SignCount, BackupState and LastUsed; ENotFound if it is gone.
func (t *tx) UpdatePasskey(ctx context.Context, p *portier.Passkey) error {
	res, err := t.db.ExecContext(ctx, `UPDATE passkeys SET name = ?, sign_count = ?, backup_state = ?, last_used = ?
		WHERE id = ? AND user_id = ?`, p.Name, int64(p.SignCount), p.BackupState, nanosPtr(p.LastUsed), p.ID, p.UserID)
	return t.mustAffect(res, err, "update passkey", portier.NoPasskey())
}

// DeletePasskey removes one passkey of the user; ENotFound if the user has no such passkey.
func (t *tx) DeletePasskey(ctx context.Context, userID, id string) error {
	res, err := t.db.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = ? AND id = ?`, userID, id)
	return t.mustAffect(res, err, "delete passkey", portier.NoPasskey())
}
