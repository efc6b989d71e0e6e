package sqlite

import (
	"context"

	"github.com/portier-id/portier"
)

// FindUsers returns one page of the users q selects, in UPN order.
//
// The page is picked from an index first and only its rows are read, as ListUsers does: an
// exact id, UPN or mail is one index lookup; a UPN prefix is a range of the UPN index in
// order; a display-name prefix is a range of users_display, sorted by UPN (upn rides in
// that index, so the sort reads no rows); accountEnabled false walks the blocked users' index.
func (q queries) FindUsers(ctx context.Context, uq portier.UserQuery) (portier.UserPage, error) {
	limit := pageLimit(uq.Limit)
	var conds []string
	var args []any
	add := func(cond string, vals ...any) { conds, args = append(conds, cond), append(args, vals...) }
	index := "users_upn"
	if uq.After != "" {
		add("u.upn > ?", uq.After)
	}
	if uq.UPNPrefix != "" {
		lo, hi := searchRange(uq.UPNPrefix)
		add("u.upn >= ? AND u.upn < ?", lo, hi)
	}
	if uq.Enabled != nil {
		if *uq.Enabled {
			add("u.account_enabled = 1")
		} else {
			add("u.account_enabled = 0")
			index = "users_blocked"
		}
	}
	if uq.NamePrefix != "" {
		lo, hi := searchRange(uq.NamePrefix)
		add("u.display_lower >= ? AND u.display_lower < ?", lo, hi)
		index = "users_display"
	}
	if uq.Mail != "" {
		add("u.mail = ? AND u.mail <> ''", portier.FoldUPN(uq.Mail))
		index = "users_mail"
	}
	if uq.UPN != "" {
		add("u.upn = ?", portier.FoldUPN(uq.UPN))
		index = "users_upn"
	}
	if uq.ID != "" {
		add("u.id = ?", uq.ID)
		index = "users_id"
	}
	query := `SELECT ` + userColumns + ` FROM users u ` + lockoutJoin + ` WHERE u.rid IN (
		SELECT u.rid FROM users u INDEXED BY ` + index + ` WHERE ` + and(conds) + ` ORDER BY u.upn LIMIT ?
	) ORDER BY u.upn LIMIT ?`
	args = append(args, limit+1, limit+1)
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return portier.UserPage{}, q.store.wrap("find users", err)
	}
	defer rows.Close()
	var page portier.UserPage
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return portier.UserPage{}, q.store.wrap("find users", err)
		}
		page.Users = append(page.Users, u)
	}
	if err := rows.Err(); err != nil {
		return portier.UserPage{}, q.store.wrap("find users", err)
	}
	if len(page.Users) > limit {
		page.Users = page.Users[:limit]
		page.Next = page.Users[limit-1].UPN
	}
	return page, nil
}
