package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// userColumns are the columns scanUser reads: the user, then its account-wide lockout
// counter l, which is NULL when the user has none (LEFT JOIN).
const userColumns = `u.id, u.upn, u.display_name, u.mail, u.account_enabled, u.force_change, u.roles,
	u.password_hash, u.created, u.last_sign_in, u.sessions_valid_from, u.password_changed, u.language,
	u.credential_generation, l.failures, l.locked_until, l.lockouts, l.last_failure, l.recent, l.lock_failures`

// userFrom joins each user to its account-wide lockout counter. LIMIT 1 keeps the join a
// lookup by primary key for each user of a page: a plain join may be planned as a scan of
// every counter when the table's statistics are stale (autovacuum off, or not yet run).
const userFrom = `users u LEFT JOIN LATERAL (SELECT failures, locked_until, lockouts, last_failure, recent, lock_failures
	FROM lockouts WHERE key = u.id AND bucket = '' LIMIT 1) l ON true`

// scanUser reads one row of userColumns.
func scanUser(row pgx.Row) (*portier.User, error) {
	var (
		u                              portier.User
		roles                          []string
		created                        time.Time
		lastSignIn, validFrom, changed *time.Time
		failures, lockouts, lockFails  *int
		lockedUntil, lastFailure       *time.Time
		recent                         []byte
	)
	err := row.Scan(&u.ID, &u.UPN, &u.DisplayName, &u.Mail, &u.AccountEnabled, &u.PasswordProfile.ForceChangePasswordNextSignIn,
		&roles, &u.PasswordHash, &created, &lastSignIn, &validFrom, &changed, &u.Language,
		&u.CredentialGeneration, &failures, &lockedUntil, &lockouts, &lastFailure, &recent, &lockFails)
	if err != nil {
		return nil, err
	}
	for _, r := range roles {
		u.Roles = append(u.Roles, portier.Role(r))
	}
	u.Created = created.UTC()
	if lastSignIn != nil {
		t := lastSignIn.UTC()
		u.LastSignIn = &t
	}
	u.SessionsValidFrom = utc(validFrom)
	u.PasswordChanged = utc(changed)
	u.LockoutState = lockout.State{
		Failures:     deref(failures),
		LockFailures: deref(lockFails),
		LockedUntil:  utc(lockedUntil),
		Lockouts:     deref(lockouts),
		LastFailure:  utc(lastFailure),
	}
	if len(recent) > 0 {
		u.LockoutState.Recent = lockout.UnmarshalRecent(recent)
	}
	return &u, nil
}

// utc returns *t in UTC, the zero time for NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// orNull stores the zero time as NULL, so "never" is not a date in year 1.
func orNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func deref(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// userArgs are the values of userWriteColumns for u.
func userArgs(u *portier.User) []any {
	roles := make([]string, len(u.Roles))
	for i, r := range u.Roles {
		roles[i] = string(r)
	}
	return []any{u.ID, u.UPN, u.DisplayName, strings.ToLower(u.DisplayName), u.Mail, u.AccountEnabled,
		u.PasswordProfile.ForceChangePasswordNextSignIn, roles, u.PasswordHash, u.Created, u.LastSignIn,
		orNull(u.SessionsValidFrom), orNull(u.PasswordChanged), u.Language, u.CredentialGeneration}
}

// userWriteColumns are the stored columns of a user, in the order of userArgs.
var userWriteColumns = []string{"id", "upn", "display_name", "display_lower", "mail", "account_enabled",
	"force_change", "roles", "password_hash", "created", "last_sign_in",
	"sessions_valid_from", "password_changed", "language", "credential_generation"}

// upnTaken is the EConflict error of a taken user principal name.
func upnTaken(upn string, err error) error {
	return coded(portier.UPNTaken(upn), err)
}

// UserByID returns the user with the id; ENotFound if none.
func (q *queries) UserByID(ctx context.Context, id string) (*portier.User, error) {
	u, err := scanUser(q.db.QueryRow(ctx, `SELECT `+userColumns+` FROM `+userFrom+` WHERE u.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, coded(portier.NoUserWithID(id), err)
	}
	return u, dbError(q.addr, "user by id", err)
}

// UserByUPN returns the user with the UPN, both folded by portier.FoldUPN (the unique index
// is on lower(upn), which agrees for the ASCII a UPN is made of); ENotFound if none.
func (q *queries) UserByUPN(ctx context.Context, upn string) (*portier.User, error) {
	u, err := scanUser(q.db.QueryRow(ctx, `SELECT `+userColumns+` FROM `+userFrom+` WHERE lower(u.upn) = $1`, portier.FoldUPN(upn)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, coded(portier.NoUserNamed(upn), err)
	}
	return u, dbError(q.addr, "user by upn", err)
}

// UserForUpdate locks the user's account-wide lockout counter (creating it if need be) and
// then the user's row. Always the counter first, as LockoutForUpdate does, so two
// transactions locking both cannot deadlock. FOR NO KEY UPDATE still serialises every
// read-modify-write of the user, but does not block inserting a session for the user (its
// foreign key check takes a key-share lock).
func (t *tx) UserForUpdate(ctx context.Context, id string) (*portier.User, error) {
	for range maxLockAttempts {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO lockouts (key, bucket) SELECT id, '' FROM users WHERE id = $1 ON CONFLICT DO NOTHING`, id)
		b.Queue(`SELECT 1 FROM lockouts WHERE key = $1 AND bucket = '' FOR UPDATE`, id)
		b.Queue(`SELECT `+userColumns+` FROM users u JOIN lockouts l ON l.key = u.id AND l.bucket = ''
			WHERE u.id = $1 FOR NO KEY UPDATE OF u`, id)
		br := t.db.SendBatch(ctx, b)
		var locked bool
		_, err := br.Exec()
		if err == nil {
			var one int
			err = br.QueryRow().Scan(&one)
			locked = err == nil
			if errors.Is(err, pgx.ErrNoRows) {
				err = nil
			}
		}
		var u *portier.User
		if err == nil {
			u, err = scanUser(br.QueryRow())
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		switch {
		case err == nil:
			return u, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, dbError(t.addr, "lock user", err)
		case locked:
			// The counter is ours, so the user row really is gone.
			return nil, coded(portier.NoUserWithID(id), err)
		}
		// Neither counter nor user: the user is missing, or its counter was deleted (an
		// unlock) between our insert and our lock. Look again.
		if _, err := t.UserByID(ctx, id); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("postgres: lock user %s: the lockout counter kept disappearing", id)
}

// maxLockAttempts bounds the retries of a lock whose row is deleted as we wait for it.
const maxLockAttempts = 10

// InsertUser adds u; EConflict when the UPN is taken. ON CONFLICT DO NOTHING reports the
// clash without aborting the transaction, so the caller may still write its audit entry.
func (t *tx) InsertUser(ctx context.Context, u *portier.User) error {
	tag, err := t.db.Exec(ctx, `INSERT INTO users (`+strings.Join(userWriteColumns, ", ")+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING`, userArgs(u)...)
	if err != nil {
		return dbError(t.addr, "insert user", err)
	}
	if tag.RowsAffected() == 0 {
		return upnTaken(u.UPN, nil)
	}
	return nil
}

// InsertUsers adds users with COPY inside a savepoint: on a taken UPN none is added and the
// transaction stays usable.
func (t *tx) InsertUsers(ctx context.Context, users []*portier.User) error {
	if len(users) == 0 {
		return nil
	}
	if err := portier.RepeatedUPN(users); err != nil {
		return err
	}
	return t.savepoint(ctx, "insert users", func(sp pgx.Tx) error {
		_, err := sp.CopyFrom(ctx, pgx.Identifier{"users"}, userWriteColumns,
			pgx.CopyFromSlice(len(users), func(i int) ([]any, error) { return userArgs(users[i]), nil }))
		if isUniqueViolation(err) {
			return upnTaken(conflictingUPN(err, users), err)
		}
		if err != nil {
			return err
		}
		return analyzeAfterBulk(ctx, sp, len(users))
	})
}

// analyzeAfterBulk refreshes the planner's statistics of users when a bulk insert grew it by
// more than a tenth, as PostgreSQL's documentation advises after a large COPY: a listing
// planned on the statistics of a near-empty table would scan it all. Autovacuum would do so
// too, later, and not at all where it is off.
func analyzeAfterBulk(ctx context.Context, db dbtx, added int) error {
	var rows float64
	if err := db.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'users'::regclass`).Scan(&rows); err != nil {
		return err
	}
	if rows >= 0 && float64(added) <= rows/10 { // -1: never analysed
		return nil
	}
	_, err := db.Exec(ctx, `ANALYZE users`)
	return err
}

// conflictingUPN picks the taken UPN out of a unique violation's detail, e.g.
// "Key (lower(upn::text))=(alice@example.org) already exists.", for the message.
func conflictingUPN(err error, users []*portier.User) string {
	var detail string
	if pgErr := pgErrorOf(err); pgErr != nil {
		detail = pgErr.Detail
	}
	if _, rest, ok := strings.Cut(detail, ")=("); ok {
		if key, _, ok := strings.Cut(rest, ") already exists"); ok {
			// The key is lower(upn): name the user as it was given, as SQLite does.
			for _, u := range users {
				if portier.FoldUPN(u.UPN) == key {
					return u.UPN
				}
			}
			return key
		}
	}
	if len(users) == 1 {
		return users[0].UPN
	}
	return "of one of the users"
}

// savepoint runs fn in a savepoint, so that its failure (a unique violation) undoes only
// fn's work rather than aborting the whole transaction, as it would otherwise in PostgreSQL.
func (t *tx) savepoint(ctx context.Context, what string, fn func(sp pgx.Tx) error) error {
	sp, err := t.ptx.Begin(ctx)
	if err != nil {
		return dbError(t.addr, what, err)
	}
	if err := fn(sp); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return dbError(t.addr, what, errors.Join(err, rerr))
		}
		if portier.ErrorCode(err) != portier.EInternal {
			return err
		}
		return dbError(t.addr, what, err)
	}
	return dbError(t.addr, what, sp.Commit(ctx))
}

// UpdateUser writes every field of u except ID, Created and LockoutState; ENotFound if u is
// gone, EConflict if its new UPN is taken.
func (t *tx) UpdateUser(ctx context.Context, u *portier.User) error {
	return t.savepoint(ctx, "update user", func(sp pgx.Tx) error {
		// Every column but created; id (the first) is the key.
		all := userArgs(u)
		args := []any{all[0]}
		var set []string
		for i, col := range userWriteColumns {
			if col != "id" && col != "created" {
				args = append(args, all[i])
				set = append(set, col+" = $"+strconv.Itoa(len(args)))
			}
		}
		tag, err := sp.Exec(ctx, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = $1`, args...)
		switch {
		case isUniqueViolation(err):
			return upnTaken(u.UPN, err)
		case err != nil:
			return err
		case tag.RowsAffected() == 0:
			return portier.NoUserWithID(u.ID)
		}
		return nil
	})
}

// DeleteUser removes the user, its lockout counters, its tokens and (by the foreign keys'
// cascade) its sessions, methods and app assignments; ENotFound if none.
func (t *tx) DeleteUser(ctx context.Context, id string) error {
	// The counters go first: locking the counter before the user, as UserForUpdate does,
	// keeps the two from deadlocking.
	if err := t.DeleteLockouts(ctx, id); err != nil {
		return err
	}
	tag, err := t.db.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return dbError(t.addr, "delete user", err)
	}
	if tag.RowsAffected() == 0 {
		return portier.NoUserWithID(id)
	}
	// Methods and assignments go by the foreign keys' cascade; tokens have no foreign key
	// (their user may be '').
	_, err = t.db.Exec(ctx, `DELETE FROM tokens WHERE user_id = $1`, id)
	return dbError(t.addr, "delete user tokens", err)
}

// ListUsers returns one page of users ordered by UPN; see portier.Queries.
//
// Every filter is a condition on the users row alone (the "locked" status reads the copy of
// the counter's locked_until in users), so a page walks an index in UPN order and stops
// after limit+1 rows. A search is two ordered candidate lists, by UPN and by display name,
// merged; see below.
func (q *queries) ListUsers(ctx context.Context, f portier.UserFilter) (portier.UserPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	b := newUserQuery(f, true)
	var sql string
	if b.search == "" {
		sql = `SELECT ` + userColumns + ` FROM ` + userFrom + b.where() + ` ORDER BY u.upn LIMIT ` + b.arg(limit+1)
	} else {
		// UPN matches come straight from the UPN index in order, display-name matches from
		// the index on the display name's first characters and UPN (see the schema). The
		// page's UPNs are gathered first and the rows fetched by them (= ANY of an array:
		// an index lookup whatever the table's statistics say).
		n := b.arg(limit + 1)
		sql = `SELECT ` + userColumns + ` FROM ` + userFrom + ` WHERE u.upn = ANY (ARRAY(
			SELECT c.upn FROM (
				(SELECT u.upn FROM users u` + b.where(b.prefix("u.upn")) + ` ORDER BY u.upn LIMIT ` + n + `)
				UNION
				(SELECT u.upn FROM users u` + b.where(b.displayPrefix()) + ` ORDER BY u.upn LIMIT ` + n + `)
			) c ORDER BY c.upn LIMIT ` + n + `
		)) ORDER BY u.upn`
	}
	rows, err := q.db.Query(ctx, sql, b.args...)
	if err != nil {
		return portier.UserPage{}, dbError(q.addr, "list users", err)
	}
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.User, error) { return scanUser(row) })
	if err != nil {
		return portier.UserPage{}, dbError(q.addr, "list users", err)
	}
	var page portier.UserPage
	if len(users) > limit {
		users = users[:limit]
		page.Next = users[limit-1].UPN
	}
	page.Users = users
	return page, nil
}

// CountUsers counts the users that f selects.
func (q *queries) CountUsers(ctx context.Context, f portier.UserFilter) (int, error) {
	b := newUserQuery(f, false)
	if f.CountCap > 0 {
		// The two halves of a search as ListUsers walks them, each stopped after cap+1: if
		// either has more, so has their union; if neither has, the union is exact.
		n := b.arg(f.CountCap + 1)
		sql := `SELECT count(*) FROM (SELECT 1 FROM users u` + b.where() + ` LIMIT ` + n + `) c`
		if b.search != "" {
			sql = `SELECT count(*) FROM (
				(SELECT u.upn FROM users u` + b.where(b.prefix("u.upn")) + ` ORDER BY u.upn LIMIT ` + n + `)
				UNION
				(SELECT u.upn FROM users u` + b.where(b.displayPrefix()) + ` ORDER BY u.upn LIMIT ` + n + `)
			) c`
		}
		var count int
		err := q.db.QueryRow(ctx, sql, b.args...).Scan(&count)
		return min(count, f.CountCap+1), dbError(q.addr, "count users", err)
	}
	var search string
	if b.search != "" {
		search = "(" + b.prefix("u.upn") + " OR " + b.displayPrefix() + ")"
	}
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM users u`+b.where(search), b.args...).Scan(&n)
	return n, dbError(q.addr, "count users", err)
}

// userQuery builds the conditions of a listing on users u, and their arguments.
type userQuery struct {
	args  []any
	conds []string
	// search is the lower-cased search term, "" for none.
	search string
}

// newUserQuery returns the conditions of f but its search (paged: with After).
func newUserQuery(f portier.UserFilter, paged bool) *userQuery {
	b := &userQuery{}
	if paged && f.After != "" {
		b.conds = append(b.conds, "u.upn > "+b.arg(f.After))
	}
	if f.Search != "" {
		b.search = strings.ToLower(strings.ToValidUTF8(f.Search, ""))
		if strings.Contains(b.search, "\x00") {
			// PostgreSQL text cannot hold NUL, so nothing stored starts with it.
			b.conds = append(b.conds, "false")
		}
	}
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch f.Status {
	case portier.StatusLocked:
		b.conds = append(b.conds, "u.locked_until > "+b.arg(now))
	case portier.StatusBlocked:
		b.conds = append(b.conds, "NOT u.account_enabled")
	case portier.StatusActive:
		b.conds = append(b.conds, "u.account_enabled", "(u.locked_until IS NULL OR u.locked_until <= "+b.arg(now)+")")
	case portier.StatusMustChange:
		b.conds = append(b.conds, "u.force_change")
	}
	if f.AdminsOnly {
		b.conds = append(b.conds, "cardinality(u.roles) > 0")
	}
	return b
}

// arg adds an argument and returns its placeholder.
func (b *userQuery) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// where returns " WHERE " and the conditions, extra included, or "" when there are none.
func (b *userQuery) where(extra ...string) string {
	conds := slices.Clone(b.conds)
	for _, c := range extra {
		if c != "" {
			conds = append(conds, c)
		}
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// prefix returns the condition that col starts with the search term.
//
// It is a range on a COLLATE "C" column (term ≤ col < the term's successor): the same rows
// as LIKE 'term%' with % and _ escaped, but with no wildcard to escape at all, and a range
// on a parameter keeps using the index in a prepared statement's generic plan, where
// LIKE $1 could not.
func (b *userQuery) prefix(col string) string {
	c := col + " >= " + b.arg(b.search)
	if hi, ok := prefixEnd(b.search); ok {
		c += " AND " + col + " < " + b.arg(hi)
	}
	return "(" + c + ")"
}

// displayIndexed is the longest start of display_lower with an index (users_display_N).
const displayIndexed = 3

// displayPrefix returns the condition that the display name starts with the search term, in
// the form the users_display_N indexes serve: the term's first N characters equal, in UPN
// order, then the rest of the term checked on each row.
func (b *userQuery) displayPrefix() string {
	k, cut := 0, len(b.search)
	for i := range b.search {
		if k == displayIndexed {
			cut = i
			break
		}
		k++
	}
	c := "left(u.display_lower, " + strconv.Itoa(k) + ") = " + b.arg(b.search[:cut])
	if cut < len(b.search) {
		c += " AND " + b.prefix("u.display_lower")
	}
	return "(" + c + ")"
}

// prefixEnd returns the least string greater than every string that starts with prefix, in
// byte (code point) order: prefix with its last character replaced by the next one. It
// reports false when there is none (prefix is all U+10FFFF).
func prefixEnd(prefix string) (string, bool) {
	for prefix != "" {
		r, size := utf8.DecodeLastRuneInString(prefix)
		prefix = prefix[:len(prefix)-size]
		next := r + 1
		if next == 0xD800 { // skip the surrogates, which UTF-8 cannot hold
			next = 0xE000
		}
		if next <= utf8.MaxRune {
			return prefix + string(next), true
		}
	}
	return "", false
}
