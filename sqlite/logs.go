package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

// pageLimit is a page size with 0 meaning the default of 100.
func pageLimit(limit int) int {
	if limit <= 0 {
		return 100
	}
	return limit
}

// AppendAudit adds ev and sets its ID.
func (t *tx) AppendAudit(ctx context.Context, ev *portier.AuditEvent) error {
	res, err := t.db.ExecContext(ctx, `INSERT INTO audit (time, actor, actor_id, action, target_id, target, source, outcome, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.Time.UnixNano(), ev.Actor, ev.ActorID, string(ev.Action), ev.TargetID, ev.Target, ev.Source, ev.Outcome, ev.Detail)
	if err != nil {
		return t.store.wrap("append to the audit log", err)
	}
	if ev.ID, err = res.LastInsertId(); err != nil {
		return t.store.wrap("append to the audit log", err)
	}
	return nil
}

// ListAudit returns audit events, newest first.
func (q queries) ListAudit(ctx context.Context, f portier.AuditFilter) ([]*portier.AuditEvent, error) {
	var conds []string
	var args []any
	add := func(cond string, arg any) { conds, args = append(conds, cond), append(args, arg) }
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", string(f.Action))
	}
	if len(f.Actions) > 0 {
		marks := make([]string, len(f.Actions))
		for i, a := range f.Actions {
			marks[i] = "?"
			args = append(args, string(a))
		}
		conds = append(conds, "action IN ("+strings.Join(marks, ", ")+")")
	}
	if f.Outcome != "" {
		add("outcome = ?", f.Outcome)
	}
	if !f.Since.IsZero() {
		add("time >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("time <= ?", f.Until.UnixNano())
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	rows, err := q.db.QueryContext(ctx, `SELECT id, time, actor, actor_id, action, target_id, target, source, outcome, detail
		FROM audit WHERE `+and(conds)+` ORDER BY id DESC LIMIT ?`, append(args, pageLimit(f.Limit))...)
	if err != nil {
		return nil, q.store.wrap("read the audit log", err)
	}
	defer rows.Close()
	var out []*portier.AuditEvent
	for rows.Next() {
		var ev portier.AuditEvent
		var at int64
		if err := rows.Scan(&ev.ID, &at, &ev.Actor, &ev.ActorID, &ev.Action, &ev.TargetID, &ev.Target, &ev.Source, &ev.Outcome, &ev.Detail); err != nil {
			return nil, q.store.wrap("read the audit log", err)
		}
		ev.Time = time.Unix(0, at).UTC()
		out = append(out, &ev)
	}
	return out, q.store.wrap("read the audit log", rows.Err())
}

// RecordSignIns adds sign-in log entries and sets their IDs, in one transaction committed
// relaxed, as PostgreSQL commits it asynchronously.
func (s *Store) RecordSignIns(ctx context.Context, entries []*portier.SignIn) error {
	if len(entries) == 0 {
		return nil
	}
	return s.relaxed(ctx, func(w *sql.Conn) error {
		return s.txOn(ctx, w, func(tx portier.Tx) error { return tx.AppendSignIns(ctx, entries) })
	})
}

// AppendSignIns adds sign-in log entries and sets their IDs.
func (t *tx) AppendSignIns(ctx context.Context, entries []*portier.SignIn) error {
	if len(entries) == 0 {
		return nil
	}
	st, err := t.tx.PrepareContext(ctx, `INSERT INTO signins (time, username, user_id, source, user_agent, code,
		familiar_device, hash_computed, process, detail, reported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return t.store.wrap("append to the sign-in log", err)
	}
	defer st.Close()
	for _, e := range entries {
		res, err := st.ExecContext(ctx, e.Time.UnixNano(), e.Username, e.UserID, e.Source, e.UserAgent, e.Code,
			e.FamiliarDevice, e.HashComputed, e.Process, e.Detail, e.Reported)
		if err != nil {
			return t.store.wrap("append to the sign-in log", err)
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return t.store.wrap("append to the sign-in log", err)
		}
	}
	return nil
}

// ListSignIns returns sign-in log entries, newest first.
func (q queries) ListSignIns(ctx context.Context, f portier.SignInFilter) ([]*portier.SignIn, error) {
	var conds []string
	var args []any
	add := func(cond string, arg any) { conds, args = append(conds, cond), append(args, arg) }
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.Username != "" {
		add("username = ?", f.Username)
	}
	if f.Code != nil {
		add("code = ?", *f.Code)
	}
	if f.Source != "" {
		add("source = ?", f.Source)
	}
	if !f.Since.IsZero() {
		add("time >= ?", f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		add("time < ?", f.Until.UnixNano())
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	rows, err := q.db.QueryContext(ctx, `SELECT id, time, username, user_id, source, user_agent, code, familiar_device,
		hash_computed, process, detail, reported FROM signins WHERE `+and(conds)+` ORDER BY id DESC LIMIT ?`, append(args, pageLimit(f.Limit))...)
	if err != nil {
		return nil, q.store.wrap("read the sign-in log", err)
	}
	defer rows.Close()
	var out []*portier.SignIn
	for rows.Next() {
		var e portier.SignIn
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Username, &e.UserID, &e.Source, &e.UserAgent, &e.Code, &e.FamiliarDevice,
			&e.HashComputed, &e.Process, &e.Detail, &e.Reported); err != nil {
			return nil, q.store.wrap("read the sign-in log", err)
		}
		e.Time = time.Unix(0, at).UTC()
		out = append(out, &e)
	}
	return out, q.store.wrap("read the sign-in log", rows.Err())
}

// PruneSignIns removes sign-in log entries older than before.
func (t *tx) PruneSignIns(ctx context.Context, before time.Time) (int, error) {
	return t.count(t.db.ExecContext(ctx, `DELETE FROM signins WHERE time < ?`, before.UnixNano()))
}

// FlagSignIns sets Reported on the user's failed sign-ins from since to until, both
// inclusive (a zero bound is open), and returns how many it newly flagged.
func (t *tx) FlagSignIns(ctx context.Context, userID string, since, until time.Time) (int, error) {
	conds := []string{"user_id = ?", "code <> 0", "reported = 0"}
	args := []any{userID}
	if !since.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, since.UnixNano())
	}
	if !until.IsZero() {
		conds, args = append(conds, "time <= ?"), append(args, until.UnixNano())
	}
	return t.count(t.db.ExecContext(ctx, `UPDATE signins SET reported = 1 WHERE `+and(conds), args...))
}

// count returns the rows an exec changed.
func (t *tx) count(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, t.store.wrap("delete", err)
	}
	n, err := res.RowsAffected()
	return int(n), t.store.wrap("delete", err)
}

const sessionColumns = `id_hash, user_id, created, last_seen, expires, source, user_agent, amr`

func scanSession(sc scanner) (*portier.Session, error) {
	var s portier.Session
	var created, lastSeen, expires sql.NullInt64
	var amr string
	if err := sc.Scan(&s.IDHash, &s.UserID, &created, &lastSeen, &expires, &s.Source, &s.UserAgent, &amr); err != nil {
		return nil, err
	}
	s.AMR = portier.ParseAMR(amr)
	s.Created, s.LastSeen, s.Expires = fromNanos(created), fromNanos(lastSeen), fromNanos(expires)
	return &s, nil
}

// SessionByHash returns the session whose id hashes to idHash; ENotFound if none.
func (q queries) SessionByHash(ctx context.Context, idHash []byte) (*portier.Session, error) {
	s, err := scanSession(q.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = ?`, idHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portier.NoSession()
	}
	return s, q.store.wrap("read session", err)
}

// ListSessions returns a user's sessions, newest first.
func (q queries) ListSessions(ctx context.Context, userID string) ([]*portier.Session, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? ORDER BY created DESC`, userID)
	if err != nil {
		return nil, q.store.wrap("list sessions", err)
	}
	defer rows.Close()
	var out []*portier.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, q.store.wrap("list sessions", err)
		}
		out = append(out, s)
	}
	return out, q.store.wrap("list sessions", rows.Err())
}

// SessionSources returns the distinct sources of the sessions that expire after now and were
// last seen at or after seenSince; at most limit of them.
func (q queries) SessionSources(ctx context.Context, now, seenSince time.Time, limit int) ([]string, error) {
	return q.strings(ctx, "list session sources", `SELECT DISTINCT source FROM sessions WHERE expires > ? AND last_seen >= ? LIMIT ?`,
		nanos(now), nanos(seenSince), limit)
}

// InsertSession adds a session.
func (t *tx) InsertSession(ctx context.Context, s *portier.Session) error {
	_, err := t.db.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.UserID, nanos(s.Created), nanos(s.LastSeen), nanos(s.Expires), s.Source, s.UserAgent, portier.FormatAMR(s.AMR))
	if isUnique(err, "sessions.id_hash") {
		return portier.Errorf(portier.EConflict, "The session exists.")
	}
	return t.store.wrap("insert session", err)
}

// TouchSession sets a session's LastSeen; ENotFound if it is gone.
func (t *tx) TouchSession(ctx context.Context, idHash []byte, lastSeen time.Time) error {
	res, err := t.db.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_hash = ?`, nanos(lastSeen), idHash)
	return t.mustAffect(res, err, "touch session", portier.NoSession())
}

// DeleteSession removes one session; no error if it is gone.
func (t *tx) DeleteSession(ctx context.Context, idHash []byte) error {
	_, err := t.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return t.store.wrap("delete session", err)
}

// DeleteUserSessions removes every session of a user and returns how many there were.
func (t *tx) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	return t.count(t.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID))
}

// PruneSessions removes sessions that expired before now.
func (t *tx) PruneSessions(ctx context.Context, now time.Time) (int, error) {
	return t.count(t.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires < ?`, now.UnixNano()))
}

// Setting returns the stored value of a setting, or nil when it was never set.
func (q queries) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := q.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, q.store.wrap("read setting "+key, err)
	}
	if v == nil {
		v = []byte{} // set, to an empty value: not the nil of "never set"
	}
	return v, nil
}

// PutSetting stores a setting's value.
func (t *tx) PutSetting(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	_, err := t.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return t.store.wrap("write setting "+key, err)
}

// InsertSetting stores a setting's value only if it has none, and reports whether it did.
func (t *tx) InsertSetting(ctx context.Context, key string, value []byte) (bool, error) {
	if value == nil {
		value = []byte{}
	}
	res, err := t.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
	if err != nil {
		return false, t.store.wrap("write setting "+key, err)
	}
	n, err := res.RowsAffected()
	return n == 1, t.store.wrap("write setting "+key, err)
}

// DeleteSetting removes a setting; no error if it has none.
func (t *tx) DeleteSetting(ctx context.Context, key string) error {
	_, err := t.db.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, key)
	return t.store.wrap("delete setting "+key, err)
}
