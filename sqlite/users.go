package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// userColumns and userFrom read a user with its account-wide lockout counter.
const (
	userColumns = `u.id, u.upn, u.display_name, u.mail, u.account_enabled, u.force_change, u.roles,
		u.password_hash, u.created, u.last_sign_in, u.sessions_valid_from, u.password_changed, u.language,
		u.credential_generation, l.failures, l.locked_until, l.lockouts, l.last_failure, l.recent, l.lock_failures`
	lockoutJoin = `LEFT JOIN lockouts l ON l.key = u.id AND l.bucket = ''`
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanUser(sc scanner) (*portier.User, error) {
	var (
		u                                        portier.User
		roles                                    string
		created, lastSignIn, validFrom, changed  sql.NullInt64
		failures, lockedUntil, lockouts, lastBad sql.NullInt64
		lockFailures                             sql.NullInt64
		recent                                   []byte
	)
	err := sc.Scan(&u.ID, &u.UPN, &u.DisplayName, &u.Mail, &u.AccountEnabled, &u.PasswordProfile.ForceChangePasswordNextSignIn,
		&roles, &u.PasswordHash, &created, &lastSignIn, &validFrom, &changed, &u.Language,
		&u.CredentialGeneration, &failures, &lockedUntil, &lockouts, &lastBad, &recent, &lockFailures)
	if err != nil {
		return nil, err
	}
	if roles != "" {
		for _, r := range strings.Split(roles, ",") {
			u.Roles = append(u.Roles, portier.Role(r))
		}
	}
	u.Created = fromNanos(created)
	if lastSignIn.Valid {
		t := fromNanos(lastSignIn)
		u.LastSignIn = &t
	}
	u.SessionsValidFrom = fromNanos(validFrom)
	u.PasswordChanged = fromNanos(changed)
	u.LockoutState = makeState(failures.Int64, lockedUntil, lockouts.Int64, lastBad, recent, lockFailures.Int64)
	return &u, nil
}

func joinRoles(roles []portier.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

// UserByID returns the user with the id; ENotFound if none.
func (q queries) UserByID(ctx context.Context, id string) (*portier.User, error) {
	u, err := scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u `+lockoutJoin+` WHERE u.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portier.NoUserWithID(id)
	}
	return u, q.store.wrap("read user "+id, err)
}

// UserByUPN returns the user with the UPN, both folded by portier.FoldUPN (the column's
// NOCASE agrees for the ASCII a UPN is made of); ENotFound if none.
func (q queries) UserByUPN(ctx context.Context, upn string) (*portier.User, error) {
	u, err := scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u `+lockoutJoin+` WHERE u.upn = ?`, portier.FoldUPN(upn)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portier.NoUserNamed(upn)
	}
	return u, q.store.wrap("read user "+upn, err)
}

// filterSQL is the part of a listing's WHERE clause that f's status and AdminsOnly add, on
// users u, and the index that serves it best when there is no search.
func filterSQL(f portier.UserFilter) (conds []string, args []any, index string, err error) {
	now := f.Now
	if now.IsZero() {
		// Callers pass their clock's time; a forgotten one means "now", not "the year 1".
		now = time.Now()
	}
	switch f.Status {
	case portier.StatusAny:
	case portier.StatusLocked:
		conds, args, index = append(conds, "u.locked_until > ?"), append(args, now.UnixNano()), "users_locked"
	case portier.StatusBlocked:
		conds, index = append(conds, "u.account_enabled = 0"), "users_blocked"
	case portier.StatusActive:
		conds = append(conds, "u.account_enabled = 1 AND (u.locked_until IS NULL OR u.locked_until <= ?)")
		args = append(args, now.UnixNano())
	case portier.StatusMustChange:
		conds = append(conds, "u.force_change = 1")
	default:
		return nil, nil, "", portier.Errorf(portier.EInvalid, "Unknown status %q: use locked, blocked, active or must-change.", f.Status)
	}
	if f.AdminsOnly {
		conds = append(conds, "u.roles <> ''")
		if index == "" {
			index = "users_admins"
		}
	}
	// Active users are nearly everyone: walking the UPN index in order finds a page at once.
	if index == "" {
		index = "users_upn"
	}
	return conds, args, index, nil
}

// searchRange returns the bounds of a case-insensitive prefix search: every string that
// starts with lo sorts in [lo, hi). The bounds go to index ranges, never to LIKE, so '%', '_'
// and '\' in a search are plain characters.
func searchRange(search string) (lo, hi string) {
	lo = strings.ToLower(search)
	return lo, lo + "\U0010FFFF"
}

func and(conds []string) string {
	if len(conds) == 0 {
		return "1"
	}
	return strings.Join(conds, " AND ")
}

// ListUsers returns one page of users in UPN order, each with its lockout state.
//
// Without a search, one index in UPN order (or a status's partial index) gives the page
// directly. With one, the UPN index and the display-name index each give at most a page of
// matches, and the union of the two is sorted: both halves cost a range scan of their prefix,
// never a walk over the whole directory.
func (q queries) ListUsers(ctx context.Context, f portier.UserFilter) (portier.UserPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	conds, fargs, index, err := filterSQL(f)
	if err != nil {
		return portier.UserPage{}, err
	}
	var query string
	var args []any
	if f.Search == "" {
		// The page is picked from the index alone, then only its rows are read: a "locked"
		// listing sorts thousands of index entries, not thousands of rows.
		where := append([]string{"u.upn > ?"}, conds...)
		query = `SELECT ` + userColumns + ` FROM users u ` + lockoutJoin + ` WHERE u.rid IN (
			SELECT u.rid FROM users u INDEXED BY ` + index + ` WHERE ` + and(where) + ` ORDER BY u.upn LIMIT ?
		) ORDER BY u.upn LIMIT ?`
		args = append(append(append(args, f.After), fargs...), limit+1, limit+1)
	} else {
		lo, hi := searchRange(f.Search)
		// The UPN half starts at the prefix or after the previous page, whichever is later.
		upnFrom, from := "u.upn >= ?", lo
		if f.After >= lo {
			upnFrom, from = "u.upn > ?", f.After
		}
		upnWhere := append([]string{upnFrom, "u.upn < ?"}, conds...)
		nameWhere := append([]string{"u.display_lower >= ?", "u.display_lower < ?", "u.upn > ?"}, conds...)
		query = `SELECT ` + userColumns + ` FROM users u ` + lockoutJoin + ` WHERE u.rid IN (
			SELECT rid FROM (SELECT u.rid FROM users u INDEXED BY users_upn WHERE ` + and(upnWhere) + ` ORDER BY u.upn LIMIT ?)
			UNION ALL
			SELECT rid FROM (SELECT u.rid FROM users u INDEXED BY users_display WHERE ` + and(nameWhere) + ` ORDER BY u.upn LIMIT ?)
		) ORDER BY u.upn LIMIT ?`
		args = append(append(args, from, hi), fargs...)
		args = append(args, limit+1, lo, hi, f.After)
		args = append(append(args, fargs...), limit+1, limit+1)
	}
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return portier.UserPage{}, q.store.wrap("list users", err)
	}
	defer rows.Close()
	var page portier.UserPage
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return portier.UserPage{}, q.store.wrap("list users", err)
		}
		page.Users = append(page.Users, u)
	}
	if err := rows.Err(); err != nil {
		return portier.UserPage{}, q.store.wrap("list users", err)
	}
	// One row more than a page was asked for: if it came, there is a next page.
	if len(page.Users) > limit {
		page.Users = page.Users[:limit]
		page.Next = page.Users[limit-1].UPN
	}
	return page, nil
}

// CountUsers counts the users f selects.
func (q queries) CountUsers(ctx context.Context, f portier.UserFilter) (int, error) {
	conds, args, index, err := filterSQL(f)
	if err != nil {
		return 0, err
	}
	query := `SELECT count(*) FROM users u INDEXED BY ` + index + ` WHERE ` + and(conds)
	if index == "users_upn" {
		// Counting everyone needs no order: let SQLite pick the smallest index.
		query = `SELECT count(*) FROM users u WHERE ` + and(conds)
	}
	if f.Search != "" {
		lo, hi := searchRange(f.Search)
		query = `SELECT count(*) FROM users u WHERE ((u.upn >= ? AND u.upn < ?) OR (u.display_lower >= ? AND u.display_lower < ?)) AND ` + and(conds)
		args = append([]any{lo, hi, lo, hi}, args...)
	}
	if f.CountCap > 0 {
		// The two halves of a search as ListUsers walks them, each stopped after cap+1: if
		// either has more, so has their union; if neither has, the union is exact.
		query = `SELECT count(*) FROM (SELECT 1 FROM users u INDEXED BY ` + index + ` WHERE ` + and(conds) + ` LIMIT ?)`
		capArgs := append(args, f.CountCap+1)
		if f.Search != "" {
			lo, hi := searchRange(f.Search)
			query = `SELECT count(*) FROM (
				SELECT rid FROM (SELECT u.rid FROM users u INDEXED BY users_upn WHERE ` + and(append([]string{"u.upn >= ?", "u.upn < ?"}, conds...)) + ` LIMIT ?)
				UNION
				SELECT rid FROM (SELECT u.rid FROM users u INDEXED BY users_display WHERE ` + and(append([]string{"u.display_lower >= ?", "u.display_lower < ?"}, conds...)) + ` LIMIT ?))`
			_, fargs, _, _ := filterSQL(f)
			capArgs = append(append(append([]any{lo, hi}, fargs...), f.CountCap+1, lo, hi), fargs...)
			capArgs = append(capArgs, f.CountCap+1)
		}
		args = capArgs
	}
	var n int
	if err := q.db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, q.store.wrap("count users", err)
	}
	if f.CountCap > 0 {
		n = min(n, f.CountCap+1)
	}
	return n, nil
}

// tx is a write transaction.
type tx struct {
	queries
	tx *sql.Tx
	// published are the messages to deliver in this process once the transaction commits.
	published []message
}

type message struct{ channel, payload string }

var _ portier.Tx = (*tx)(nil)

// UserForUpdate returns the user; the IMMEDIATE transaction already holds the write lock.
func (t *tx) UserForUpdate(ctx context.Context, id string) (*portier.User, error) {
	return t.UserByID(ctx, id)
}

// insertColumns and insertRow add a user; the schema's trigger copies the lock of a counter
// that existed before its user did.
const (
	insertColumns = `INSERT INTO users (id, upn, display_name, display_lower, mail, account_enabled, force_change, roles,
		password_hash, created, last_sign_in, sessions_valid_from, password_changed, language, credential_generation) VALUES `
	insertRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// insertBatch rows go in one statement: far fewer round trips through the driver when seeding.
	insertBatch = 100
)

func insertArgs(args []any, u *portier.User) []any {
	var lastSignIn sql.NullInt64
	if u.LastSignIn != nil {
		lastSignIn = nanos(*u.LastSignIn)
	}
	return append(args, u.ID, u.UPN, u.DisplayName, strings.ToLower(u.DisplayName), u.Mail, u.AccountEnabled,
		u.PasswordProfile.ForceChangePasswordNextSignIn, joinRoles(u.Roles), u.PasswordHash, nanos(u.Created),
		lastSignIn, nanos(u.SessionsValidFrom), nanos(u.PasswordChanged), u.Language, u.CredentialGeneration)
}

// InsertUser adds u; EConflict when its UPN is taken.
func (t *tx) InsertUser(ctx context.Context, u *portier.User) error {
	if _, err := t.db.ExecContext(ctx, insertColumns+insertRow, insertArgs(nil, u)...); err != nil {
		return t.insertError(ctx, []*portier.User{u}, err)
	}
	return nil
}

// InsertUsers adds users, all or none: a savepoint undoes a partial batch even when the
// caller goes on to commit.
func (t *tx) InsertUsers(ctx context.Context, users []*portier.User) error {
	if len(users) == 0 {
		return nil
	}
	if err := portier.RepeatedUPN(users); err != nil {
		return err
	}
	if _, err := t.db.ExecContext(ctx, `SAVEPOINT insert_users`); err != nil {
		return t.store.wrap("insert users", err)
	}
	if err := t.insertUsers(ctx, users); err != nil {
		// Undo even if ctx is what failed: the transaction may still be committed.
		undo := context.WithoutCancel(ctx)
		if _, rbErr := t.db.ExecContext(undo, `ROLLBACK TO insert_users`); rbErr != nil {
			return errors.Join(t.insertError(ctx, users, err), t.store.wrap("undo a failed insert", rbErr))
		}
		t.db.ExecContext(undo, `RELEASE insert_users`)
		return t.insertError(ctx, users, err)
	}
	if _, err := t.db.ExecContext(ctx, `RELEASE insert_users`); err != nil {
		return t.store.wrap("insert users", err)
	}
	return nil
}

func (t *tx) insertUsers(ctx context.Context, users []*portier.User) error {
	var stmts [2]*sql.Stmt // a full batch, and a single row for the rest
	defer func() {
		for _, st := range stmts {
			if st != nil {
				st.Close()
			}
		}
	}()
	prepare := func(i, rows int) (*sql.Stmt, error) {
		if stmts[i] == nil {
			var err error
			stmts[i], err = t.tx.PrepareContext(ctx, insertColumns+strings.TrimSuffix(strings.Repeat(insertRow+",", rows), ","))
			if err != nil {
				return nil, err
			}
		}
		return stmts[i], nil
	}
	args := make([]any, 0, 16*insertBatch)
	for len(users) > 0 {
		n, which := insertBatch, 0
		if len(users) < insertBatch {
			n, which = 1, 1
		}
		st, err := prepare(which, n)
		if err != nil {
			return err
		}
		args = args[:0]
		for _, u := range users[:n] {
			args = insertArgs(args, u)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
		users = users[n:]
	}
	return nil
}

// insertError says which UPN of users is taken, for a constraint error of an insert.
func (t *tx) insertError(ctx context.Context, users []*portier.User, err error) error {
	switch {
	case isUnique(err, "users.upn"):
		for _, u := range users {
			var one int
			if t.tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE upn = ?`, u.UPN).Scan(&one) == nil {
				return portier.UPNTaken(u.UPN)
			}
		}
		return portier.Errorf(portier.EConflict, "A user name is taken.")
	case isUnique(err, "users.id"):
		return portier.Errorf(portier.EConflict, "A user with the same id exists.")
	}
	return t.store.wrap("insert users", err)
}

// UpdateUser writes every field of u but ID, Created and LockoutState.
func (t *tx) UpdateUser(ctx context.Context, u *portier.User) error {
	var lastSignIn sql.NullInt64
	if u.LastSignIn != nil {
		lastSignIn = nanos(*u.LastSignIn)
	}
	res, err := t.db.ExecContext(ctx, `UPDATE users SET upn = ?, display_name = ?, display_lower = ?, mail = ?,
		account_enabled = ?, force_change = ?, roles = ?, password_hash = ?, last_sign_in = ?,
		sessions_valid_from = ?, password_changed = ?, language = ?, credential_generation = ? WHERE id = ?`,
		u.UPN, u.DisplayName, strings.ToLower(u.DisplayName), u.Mail, u.AccountEnabled,
		u.PasswordProfile.ForceChangePasswordNextSignIn, joinRoles(u.Roles), u.PasswordHash, lastSignIn,
		nanos(u.SessionsValidFrom), nanos(u.PasswordChanged), u.Language, u.CredentialGeneration, u.ID)
	if isUnique(err, "users.upn") {
		return portier.UPNTaken(u.UPN)
	}
	return t.mustAffect(res, err, "update user "+u.UPN, portier.NoUserWithID(u.ID))
}

// DeleteUser removes the user, its lockout counters, sessions, methods, tokens and app
// assignments.
func (t *tx) DeleteUser(ctx context.Context, id string) error {
	res, err := t.db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err := t.mustAffect(res, err, "delete user "+id, portier.NoUserWithID(id)); err != nil {
		return err
	}
	// The foreign keys remove the sessions, methods and assignments already; saying so keeps
	// it true without them. Tokens have no foreign key (their user may be '').
	for _, del := range []string{
		`DELETE FROM sessions WHERE user_id = ?`,
		`DELETE FROM auth_methods WHERE user_id = ?`,
		`DELETE FROM app_assignments WHERE user_id = ?`,
		`DELETE FROM tokens WHERE user_id = ?`,
		`DELETE FROM lockouts WHERE key = ?`,
	} {
		if _, err := t.db.ExecContext(ctx, del, id); err != nil {
			return t.store.wrap("delete user "+id, err)
		}
	}
	return nil
}

// mustAffect turns an exec that changed no row into ENotFound.
func (t *tx) mustAffect(res sql.Result, err error, doing string, notFound *portier.Error) error {
	if err != nil {
		return t.store.wrap(doing, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.store.wrap(doing, err)
	}
	if n == 0 {
		return notFound
	}
	return nil
}

// makeState builds a lockout.State from its columns (NULL when there is no counter).
func makeState(failures int64, lockedUntil sql.NullInt64, lockouts int64, lastFailure sql.NullInt64, recent []byte, lockFailures int64) lockout.State {
	st := lockout.State{
		Failures:     int(failures),
		LockFailures: int(lockFailures),
		LockedUntil:  fromNanos(lockedUntil),
		Lockouts:     int(lockouts),
		LastFailure:  fromNanos(lastFailure),
	}
	if len(recent) > 0 {
		st.Recent = lockout.UnmarshalRecent(recent)
	}
	return st
}
