package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

func TestZZPlans(t *testing.T) {
	s := newStore(t).(*Store)
	s.read.SetMaxOpenConns(1)
	for _, f := range []portier.UserFilter{{}, {Status: portier.StatusLocked}, {Status: portier.StatusActive}, {Status: portier.StatusBlocked}, {AdminsOnly: true}} {
		f.Now = time.Now()
		conds, fargs, index, _ := filterSQL(f)
		where := append([]string{"u.upn > ?"}, conds...)
		q := `SELECT ` + userColumns + ` FROM users u ` + lockoutJoin + ` WHERE u.rid IN (
			SELECT u.rid FROM users u INDEXED BY ` + index + ` WHERE ` + and(where) + ` ORDER BY u.upn LIMIT ?
		) ORDER BY u.upn LIMIT ?`
		args := append(append([]any{""}, fargs...), 1, 1)
		rows, err := s.read.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("----", f.Status, f.AdminsOnly)
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			fmt.Println(parent, detail)
		}
		rows.Close()
	}
}
