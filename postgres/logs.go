package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/portier-id/portier"
)

// pgErrorOf returns the PostgreSQL error in err's chain, or nil.
func pgErrorOf(err error) *pgconn.PgError {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr
	}
	return nil
}

// filter collects the conditions and arguments of a listing's WHERE clause.
type filter struct {
	conds []string
	args  []any
}

// add appends a condition whose "?" is the next argument, v.
func (f *filter) add(cond string, v any) {
	f.args = append(f.args, v)
	f.conds = append(f.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(f.args)), 1))
}

// sql returns the WHERE clause (empty if no condition) and, at the end, ORDER BY and LIMIT.
func (f *filter) sql(order string, limit int) string {
	if limit <= 0 {
		limit = 100
	}
	f.args = append(f.args, limit)
	where := ""
	if len(f.conds) > 0 {
		where = " WHERE " + strings.Join(f.conds, " AND ")
	}
	return where + " ORDER BY " + order + " LIMIT $" + strconv.Itoa(len(f.args))
}

// AppendAudit adds ev and sets its ID.
func (t *tx) AppendAudit(ctx context.Context, ev *portier.AuditEvent) error {
	err := t.db.QueryRow(ctx, `INSERT INTO audit_events (time, actor, actor_id, action, target_id, target, source, outcome, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		ev.Time, ev.Actor, ev.ActorID, string(ev.Action), ev.TargetID, ev.Target, ev.Source, ev.Outcome, ev.Detail).Scan(&ev.ID)
	return dbError(t.addr, "append audit event", err)
}

// ListAudit returns audit events, newest first.
func (q *queries) ListAudit(ctx context.Context, af portier.AuditFilter) ([]*portier.AuditEvent, error) {
	var f filter
	if af.TargetID != "" {
		f.add("target_id = ?", af.TargetID)
	}
	if af.Actor != "" {
		f.add("actor = ?", af.Actor)
	}
	if af.Action != "" {
		f.add("action = ?", string(af.Action))
	}
	if len(af.Actions) > 0 {
		actions := make([]string, len(af.Actions))
		for i, a := range af.Actions {
			actions[i] = string(a)
		}
		f.add("action = ANY (?)", actions)
	}
	if af.Outcome != "" {
		f.add("outcome = ?", af.Outcome)
	}
	if !af.Since.IsZero() {
		f.add("time >= ?", af.Since)
	}
	if !af.Until.IsZero() {
		f.add("time <= ?", af.Until)
	}
	if af.Before > 0 {
		f.add("id < ?", af.Before)
	}
	rows, err := q.db.Query(ctx, `SELECT id, time, actor, actor_id, action, target_id, target, source, outcome, detail
		FROM audit_events`+f.sql("id DESC", af.Limit), f.args...)
	if err != nil {
		return nil, dbError(q.addr, "list audit events", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.AuditEvent, error) {
		var ev portier.AuditEvent
		var action string
		err := row.Scan(&ev.ID, &ev.Time, &ev.Actor, &ev.ActorID, &action, &ev.TargetID, &ev.Target, &ev.Source, &ev.Outcome, &ev.Detail)
		ev.Time = ev.Time.UTC()
		ev.Action = portier.Action(action)
		return &ev, err
	})
	return events, dbError(q.addr, "list audit events", err)
}

// AppendSignIns adds sign-in log entries and sets their IDs, in one round trip.
func (t *tx) AppendSignIns(ctx context.Context, entries []*portier.SignIn) error {
	if len(entries) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueSignIns(b, entries)
	return dbError(t.addr, "append sign-ins", t.db.SendBatch(ctx, b).Close())
}

// RecordSignIns adds sign-in log entries and sets their IDs in one round trip: the batch's
// implicit transaction (see SwapLockout), committed without waiting for the disk.
func (s *Store) RecordSignIns(ctx context.Context, entries []*portier.SignIn) error {
	if len(entries) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(asyncCommit)
	queueSignIns(b, entries)
	return dbError(s.addr, "record sign-ins", s.sendTxBatch(ctx, b))
}

// queueSignIns queues on b the statements that add entries; their IDs are set once b is sent
// and closed.
func queueSignIns(b *pgx.Batch, entries []*portier.SignIn) {
	for _, e := range entries {
		b.Queue(`INSERT INTO sign_ins (time, username, user_id, source, user_agent, code, familiar_device, hash_computed, process, detail, reported)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			e.Time, e.Username, e.UserID, e.Source, e.UserAgent, e.Code, e.FamiliarDevice, e.HashComputed, e.Process, e.Detail, e.Reported).
			QueryRow(func(row pgx.Row) error { return row.Scan(&e.ID) })
	}
}

// ListSignIns returns sign-in log entries, newest first. Since is inclusive, Until exclusive.
func (q *queries) ListSignIns(ctx context.Context, sf portier.SignInFilter) ([]*portier.SignIn, error) {
	var f filter
	if sf.UserID != "" {
		f.add("user_id = ?", sf.UserID)
	}
	if sf.Username != "" {
		f.add("username = ?", sf.Username)
	}
	if sf.Code != nil {
		f.add("code = ?", *sf.Code)
	}
	if sf.Source != "" {
		f.add("source = ?", sf.Source)
	}
	if !sf.Since.IsZero() {
		f.add("time >= ?", sf.Since)
	}
	if !sf.Until.IsZero() {
		f.add("time < ?", sf.Until)
	}
	if sf.Before > 0 {
		f.add("id < ?", sf.Before)
	}
	rows, err := q.db.Query(ctx, `SELECT id, time, username, user_id, source, user_agent, code, familiar_device, hash_computed, process, detail, reported
		FROM sign_ins`+f.sql("id DESC", sf.Limit), f.args...)
	if err != nil {
		return nil, dbError(q.addr, "list sign-ins", err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.SignIn, error) {
		var e portier.SignIn
		err := row.Scan(&e.ID, &e.Time, &e.Username, &e.UserID, &e.Source, &e.UserAgent, &e.Code, &e.FamiliarDevice, &e.HashComputed, &e.Process, &e.Detail, &e.Reported)
		e.Time = e.Time.UTC()
		return &e, err
	})
	return entries, dbError(q.addr, "list sign-ins", err)
}

// PruneSignIns removes sign-in log entries older than before.
func (t *tx) PruneSignIns(ctx context.Context, before time.Time) (int, error) {
	tag, err := t.db.Exec(ctx, `DELETE FROM sign_ins WHERE time < $1`, before)
	if err != nil {
		return 0, dbError(t.addr, "prune sign-ins", err)
	}
	return int(tag.RowsAffected()), nil
}

// FlagSignIns sets Reported on the user's failed sign-ins from since to until, both
// inclusive (a zero bound is open), and returns how many it newly flagged.
func (t *tx) FlagSignIns(ctx context.Context, userID string, since, until time.Time) (int, error) {
	var f filter
	f.add("user_id = ?", userID)
	f.conds = append(f.conds, "code <> 0", "NOT reported")
	if !since.IsZero() {
		f.add("time >= ?", since)
	}
	if !until.IsZero() {
		f.add("time <= ?", until)
	}
	tag, err := t.db.Exec(ctx, `UPDATE sign_ins SET reported = true WHERE `+strings.Join(f.conds, " AND "), f.args...)
	if err != nil {
		return 0, dbError(t.addr, "flag sign-ins", err)
	}
	return int(tag.RowsAffected()), nil
}

const sessionColumns = `id_hash, user_id, created, last_seen, expires, source, user_agent, amr`

// scanSession reads one row of sessionColumns.
func scanSession(row pgx.Row) (*portier.Session, error) {
	var s portier.Session
	var amr string
	if err := row.Scan(&s.IDHash, &s.UserID, &s.Created, &s.LastSeen, &s.Expires, &s.Source, &s.UserAgent, &amr); err != nil {
		return nil, err
	}
	s.AMR = portier.ParseAMR(amr)
	s.Created, s.LastSeen, s.Expires = s.Created.UTC(), s.LastSeen.UTC(), s.Expires.UTC()
	return &s, nil
}

// sessionNotFound is the ENotFound error of a missing session.
func sessionNotFound(err error) error {
	return coded(portier.NoSession(), err)
}

// SessionByHash returns the session whose id hashes to idHash; ENotFound if none.
func (q *queries) SessionByHash(ctx context.Context, idHash []byte) (*portier.Session, error) {
	s, err := scanSession(q.db.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = $1`, idHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sessionNotFound(err)
	}
	return s, dbError(q.addr, "session by hash", err)
}

// ListSessions returns a user's sessions, newest first.
func (q *queries) ListSessions(ctx context.Context, userID string) ([]*portier.Session, error) {
	rows, err := q.db.Query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 ORDER BY created DESC, id_hash`, userID)
	if err != nil {
		return nil, dbError(q.addr, "list sessions", err)
	}
	sessions, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.Session, error) { return scanSession(row) })
	return sessions, dbError(q.addr, "list sessions", err)
}

// SessionSources returns the distinct sources of the sessions that expire after now and were
// last seen at or after seenSince; at most limit of them.
func (q *queries) SessionSources(ctx context.Context, now, seenSince time.Time, limit int) ([]string, error) {
	rows, err := q.db.Query(ctx, `SELECT DISTINCT source FROM sessions WHERE expires > $1 AND last_seen >= $2 LIMIT $3`,
		now, seenSince, limit)
	if err != nil {
		return nil, dbError(q.addr, "list session sources", err)
	}
	sources, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return sources, dbError(q.addr, "list session sources", err)
}

// InsertSession adds a session.
func (t *tx) InsertSession(ctx context.Context, s *portier.Session) error {
	_, err := t.db.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.IDHash, s.UserID, s.Created, s.LastSeen, s.Expires, s.Source, s.UserAgent, portier.FormatAMR(s.AMR))
	return dbError(t.addr, "insert session", err)
}

// TouchSession sets a session's LastSeen; ENotFound if it is gone.
func (t *tx) TouchSession(ctx context.Context, idHash []byte, lastSeen time.Time) error {
	tag, err := t.db.Exec(ctx, `UPDATE sessions SET last_seen = $2 WHERE id_hash = $1`, idHash, lastSeen)
	if err != nil {
		return dbError(t.addr, "touch session", err)
	}
	if tag.RowsAffected() == 0 {
		return sessionNotFound(nil)
	}
	return nil
}

// DeleteSession removes one session; no error if it is gone.
func (t *tx) DeleteSession(ctx context.Context, idHash []byte) error {
	_, err := t.db.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return dbError(t.addr, "delete session", err)
}

// DeleteUserSessions removes every session of a user and returns how many there were.
func (t *tx) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	tag, err := t.db.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, dbError(t.addr, "delete user sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// PruneSessions removes sessions that expired before now.
func (t *tx) PruneSessions(ctx context.Context, now time.Time) (int, error) {
	tag, err := t.db.Exec(ctx, `DELETE FROM sessions WHERE expires < $1`, now)
	if err != nil {
		return 0, dbError(t.addr, "prune sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// Setting returns the stored value of a setting, or nil when it was never set.
func (q *queries) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := q.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err == nil && v == nil {
		v = []byte{} // set, to the empty value: not the nil of "never set"
	}
	return v, dbError(q.addr, "read setting", err)
}

// PutSetting stores a setting's value.
func (t *tx) PutSetting(ctx context.Context, key string, value []byte) error {
	_, err := t.db.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, nonNil(value))
	return dbError(t.addr, "write setting", err)
}

// InsertSetting stores a setting's value only if it has none and reports whether it did.
func (t *tx) InsertSetting(ctx context.Context, key string, value []byte) (bool, error) {
	tag, err := t.db.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, nonNil(value))
	if err != nil {
		return false, dbError(t.addr, "insert setting", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteSetting removes a setting; no error if it has none.
func (t *tx) DeleteSetting(ctx context.Context, key string) error {
	_, err := t.db.Exec(ctx, `DELETE FROM settings WHERE key = $1`, key)
	return dbError(t.addr, "delete setting", err)
}

// nonNil keeps a nil value from being stored as NULL, which the NOT NULL column refuses.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
