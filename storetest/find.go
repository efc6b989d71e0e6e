package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/portier-id/portier"
)

// testFindUsers checks FindUsers against the same generated directory as the listings: each
// query pages, in small pages, through exactly the users it selects, in UPN order.
func testFindUsers(t *testing.T, s portier.Store) {
	d := seedDirectory(t, s, 3000)
	yes, no := true, false
	some := d.users[1234]
	blocked := d.users[101]
	name := strings.ToLower(some.DisplayName[:4])
	cases := []struct {
		name string
		q    portier.UserQuery
		keep func(u *portier.User) bool
	}{
		{"everyone", portier.UserQuery{}, func(*portier.User) bool { return true }},
		{"id", portier.UserQuery{ID: some.ID}, func(u *portier.User) bool { return u.ID == some.ID }},
		{"upn, any case", portier.UserQuery{UPN: strings.ToUpper(some.UPN)}, func(u *portier.User) bool { return u.UPN == some.UPN }},
		{"mail, any case", portier.UserQuery{Mail: strings.ToUpper(some.Mail)}, func(u *portier.User) bool { return u.Mail == some.Mail }},
		{"unknown mail", portier.UserQuery{Mail: "nobody@example.org"}, func(*portier.User) bool { return false }},
		{"upn prefix", portier.UserQuery{UPNPrefix: "Ma"}, func(u *portier.User) bool { return strings.HasPrefix(u.UPN, "ma") }},
		{"name prefix, 1 letter", portier.UserQuery{NamePrefix: "l"}, func(u *portier.User) bool { return strings.HasPrefix(strings.ToLower(u.DisplayName), "l") }},
		{"name prefix, 4 letters", portier.UserQuery{NamePrefix: name}, func(u *portier.User) bool { return strings.HasPrefix(strings.ToLower(u.DisplayName), name) }},
		{"enabled", portier.UserQuery{Enabled: &yes}, func(u *portier.User) bool { return u.AccountEnabled }},
		{"disabled", portier.UserQuery{Enabled: &no}, func(u *portier.User) bool { return !u.AccountEnabled }},
		{"disabled with a upn prefix", portier.UserQuery{Enabled: &no, UPNPrefix: blocked.UPN[:2]}, func(u *portier.User) bool {
			return !u.AccountEnabled && strings.HasPrefix(u.UPN, blocked.UPN[:2])
		}},
		{"upn and id disagree", portier.UserQuery{ID: some.ID, UPN: blocked.UPN}, func(*portier.User) bool { return false }},
		{"prefix matching nothing", portier.UserQuery{UPNPrefix: "%"}, func(*portier.User) bool { return false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, u := range d.users {
				if tc.keep(u) {
					want = append(want, u.UPN)
				}
			}
			slices.Sort(want)
			var got []string
			q := tc.q
			q.Limit = 37
			for pages := 0; ; pages++ {
				if pages > len(d.users) {
					t.Fatal("FindUsers never reaches the last page")
				}
				page, err := s.FindUsers(t.Context(), q)
				if err != nil {
					t.Fatalf("FindUsers %+v: %v", q, err)
				}
				if len(page.Users) > q.Limit {
					t.Fatalf("FindUsers gave %d users, limit %d", len(page.Users), q.Limit)
				}
				for _, u := range page.Users {
					got = append(got, u.UPN)
				}
				if page.Next == "" {
					break
				}
				if page.Next != page.Users[len(page.Users)-1].UPN {
					t.Fatalf("Next = %q, want the last UPN of the page", page.Next)
				}
				q.After = page.Next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("FindUsers %+v: %d users, want %d (first got %v, want %v)", tc.q, len(got), len(want), head(got), head(want))
			}
		})
	}
	// The lockout state comes with each user, as from the listings.
	for id := range d.locked {
		u := d.byID(id)
		page, err := s.FindUsers(t.Context(), portier.UserQuery{ID: id})
		if err != nil || len(page.Users) != 1 {
			t.Fatalf("FindUsers by id %s: %v, %d users", id, err, len(page.Users))
		}
		checkState(t, "lockout of "+u.UPN, page.Users[0].LockoutState, u.LockoutState)
		break
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }

func (d *directory) byID(id string) *portier.User {
	for _, u := range d.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}
