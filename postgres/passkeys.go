package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
)

const passkeyColumns = `id, user_id, name, public_key, sign_count, transports, aaguid, attestation_format,
	backup_eligible, backup_state, created, last_used`

// scanPasskey reads one row of passkeyColumns.
func scanPasskey(row pgx.Row) (*portier.Passkey, error) {
	var (
		p          portier.Passkey
		transports string
		signCount  int64
	)
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &signCount, &transports, &p.AAGUID, &p.AttestationFormat,
		&p.BackupEligible, &p.BackupState, &p.Created, &p.LastUsed); err != nil {
		return nil, err
	}
	p.SignCount = uint32(signCount)
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.Created = p.Created.UTC()
	if p.LastUsed != nil {
		t := p.LastUsed.UTC()
		p.LastUsed = &t
	}
	return &p, nil
}

// ListPasskeys returns a user's passkeys, oldest first.
func (q *queries) ListPasskeys(ctx context.Context, userID string) ([]*portier.Passkey, error) {
	rows, err := q.db.Query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY created, id`, userID)
	if err != nil {
		return nil, dbError(q.addr, "list passkeys", err)
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.Passkey, error) { return scanPasskey(row) })
	return ps, dbError(q.addr, "list passkeys", err)
}

// Passkey returns the passkey with the credential id; ENotFound if none.
func (q *queries) Passkey(ctx context.Context, id string) (*portier.Passkey, error) {
	return q.passkey(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = $1`, id)
}

func (q *queries) passkey(ctx context.Context, query, id string) (*portier.Passkey, error) {
	p, err := scanPasskey(q.db.QueryRow(ctx, query, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, coded(portier.NoPasskey(), err)
	}
	return p, dbError(q.addr, "read passkey", err)
}

// InsertPasskey adds p; ENotFound if its user is gone, EConflict if its id is registered.
// Selecting the user turns a missing one into no row rather than a foreign key error, which
// would abort the transaction.
func (t *tx) InsertPasskey(ctx context.Context, p *portier.Passkey) error {
	tag, err := t.db.Exec(ctx, `INSERT INTO passkeys (`+passkeyColumns+`)
		SELECT $1, id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM users WHERE id = $12 ON CONFLICT DO NOTHING`,
		p.ID, p.Name, p.PublicKey, int64(p.SignCount), strings.Join(p.Transports, ","), p.AAGUID, p.AttestationFormat,
		p.BackupEligible, p.BackupState, p.Created, p.LastUsed, p.UserID)
	if err != nil {
		return dbError(t.addr, "insert passkey", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := t.UserByID(ctx, p.UserID); err != nil {
		return err
	}
	return portier.PasskeyExists()
}

// PasskeyForUpdate returns the passkey and locks it until the transaction ends.
func (t *tx) PasskeyForUpdate(ctx context.Context, id string) (*portier.Passkey, error) {
	return t.passkey(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = $1 FOR UPDATE`, id)
}

// UpdatePasskey writes p's Name, SignCount, BackupState and LastUsed; ENotFound if it is gone.
func (t *tx) UpdatePasskey(ctx context.Context, p *portier.Passkey) error {
	tag, err := t.db.Exec(ctx, `UPDATE passkeys SET name = $3, sign_count = $4, backup_state = $5, last_used = $6
		WHERE id = $1 AND user_id = $2`, p.ID, p.UserID, p.Name, int64(p.SignCount), p.BackupState, p.LastUsed)
	if err != nil {
		return dbError(t.addr, "update passkey", err)
	}
	if tag.RowsAffected() == 0 {
		return portier.NoPasskey()
	}
	return nil
}

// DeletePasskey removes one passkey of the user; ENotFound if the user has no such passkey.
func (t *tx) DeletePasskey(ctx context.Context, userID, id string) error {
	tag, err := t.db.Exec(ctx, `DELETE FROM passkeys WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return dbError(t.addr, "delete passkey", err)
	}
	if tag.RowsAffected() == 0 {
		return portier.NoPasskey()
	}
	return nil
}
