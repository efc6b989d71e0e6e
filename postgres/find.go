package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
)

// FindUsers returns one page of the users q selects, in UPN order. Every condition is one
// an index serves in UPN order: an exact id (primary key), UPN (users_upn_lower) or mail
// (users_mail); a UPN prefix as a range of users_upn (COLLATE "C"); a display-name prefix
// through users_display_N, as the Active users search does; accountEnabled false through
// users_blocked. The page's rows are read by the LATERAL join only for the page.
func (q *queries) FindUsers(ctx context.Context, uq portier.UserQuery) (portier.UserPage, error) {
	limit := uq.Limit
	if limit <= 0 {
		limit = 100
	}
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	clean := func(s string) string { return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "") }
	prefix := func(col, p string) string {
		c := col + " >= " + arg(p)
		if hi, ok := prefixEnd(p); ok {
			c += " AND " + col + " < " + arg(hi)
		}
		return c
	}
	if uq.After != "" {
		conds = append(conds, "u.upn > "+arg(clean(uq.After)))
	}
	if uq.ID != "" {
		conds = append(conds, "u.id = "+arg(clean(uq.ID)))
	}
	if uq.UPN != "" {
		conds = append(conds, "lower(u.upn) = "+arg(portier.FoldUPN(clean(uq.UPN))))
	}
	if uq.Mail != "" {
		conds = append(conds, "u.mail = "+arg(portier.FoldUPN(clean(uq.Mail))), "u.mail <> ''")
	}
	if uq.UPNPrefix != "" {
		conds = append(conds, prefix("u.upn", strings.ToLower(clean(uq.UPNPrefix))))
	}
	if uq.NamePrefix != "" {
		p := strings.ToLower(clean(uq.NamePrefix))
		k, cut := 0, len(p)
		for i := range p {
			if k == displayIndexed {
				cut = i
				break
			}
			k++
		}
		c := "left(u.display_lower, " + strconv.Itoa(k) + ") = " + arg(p[:cut])
		if cut < len(p) {
			c += " AND " + prefix("u.display_lower", p)
		}
		conds = append(conds, c)
	}
	if uq.Enabled != nil {
		if *uq.Enabled {
			conds = append(conds, "u.account_enabled")
		} else {
			conds = append(conds, "NOT u.account_enabled")
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := q.db.Query(ctx, `SELECT `+userColumns+` FROM `+userFrom+where+` ORDER BY u.upn LIMIT `+arg(limit+1), args...)
	if err != nil {
		return portier.UserPage{}, dbError(q.addr, "find users", err)
	}
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*portier.User, error) { return scanUser(row) })
	if err != nil {
		return portier.UserPage{}, dbError(q.addr, "find users", err)
	}
	var page portier.UserPage
	if len(users) > limit {
		users = users[:limit]
		page.Next = users[limit-1].UPN
	}
	page.Users = users
	return page, nil
}
