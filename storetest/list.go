package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// Name parts for generated users: enough variety that 2- and 3-letter prefixes select a
// realistic share of a directory. Some UPNs hold hyphens, apostrophes and digits, so the byte order the
// suite expects (Go's string order) differs from a locale's.
var (
	firstNames = []string{
		"Aaliyah", "Adam", "Ahmed", "Alice", "Amir", "Anna", "Anouk", "Ben", "Bram", "Carlos", "Charlotte",
		"Chen", "Daan", "David", "Elif", "Emma", "Eva", "Fatima", "Finn", "Grace", "Hana", "Hugo",
		"Ines", "Isabel", "Ivan", "Jan", "Jasper", "Jesse", "Julia", "Kai", "Karim", "Laura", "Lars",
		"Liam", "Lotte", "Lucas", "Maria", "Mark", "Mei", "Mohammed", "Nina", "Noah", "Olga", "Omar",
		"Pieter", "Priya", "Quinn", "Rania", "Roos", "Sam", "Sanne", "Sofia", "Thomas", "Tim", "Uma",
		"Vera", "Wei", "Willem", "Xander", "Yara", "Yusuf", "Zoe",
	}
	lastNames = []string{
		"Abbas", "Andersen", "Bakker", "Berg", "Brouwer", "Chen", "Claes", "de-Boer", "de-Jong", "Dekker",
		"Dijkstra", "Garcia", "Hendriks", "Hoekstra", "Jansen", "Kaya", "Kowalski", "Kumar", "Li",
		"Meijer", "Mulder", "Nguyen", "O'Brien", "Peeters", "Petrov", "Rossi", "Schmidt", "Singh",
		"Smit", "Smith", "van-Dam", "van-Dijk", "Visser", "Vos", "Wang", "Willems", "Yilmaz", "Zhang",
	}
)

// generatedUser returns user i of a generated directory: "First Last", first.last<i>@<domain>.
// hash is shared, because hashing per user would make seeding a million users take hours.
func generatedUser(rng *rand.Rand, i int, hash string) *portier.User {
	first := firstNames[rng.IntN(len(firstNames))]
	last := lastNames[rng.IntN(len(lastNames))]
	domains := []string{"example.org", "corp.example.org"}
	return &portier.User{
		ID:                portier.NewID(),
		UPN:               strings.ToLower(fmt.Sprintf("%s.%s%d@%s", first, last, i, domains[i%len(domains)])),
		DisplayName:       first + " " + strings.ReplaceAll(last, "-", " "),
		Mail:              strings.ToLower(fmt.Sprintf("%s.%s%d@mail.example.org", first, last, i)),
		AccountEnabled:    true,
		Created:           base.Add(-time.Duration(i) * time.Second),
		SessionsValidFrom: base.Add(-time.Duration(i) * time.Second),
		PasswordChanged:   base.Add(-time.Duration(i) * time.Second),
		PasswordHash:      hash,
	}
}

// directory is a generated set of users with the facts a listing is checked against.
type directory struct {
	users  []*portier.User
	locked map[string]bool // user ID -> the account-wide counter is locked at base
}

// seedDirectory adds n generated users, in batches through InsertUsers: about 1% blocked,
// 1% locked (half of those counters written before the user exists), 0.5% locked and blocked,
// 2% admins, plus counters that must not count as locked (expired, or another bucket).
func seedDirectory(t *testing.T, s portier.Store, n int) *directory {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	d := &directory{locked: map[string]bool{}}
	locks := map[string]lockout.State{}
	var deviceLocks []string
	lockedNow := lockout.State{LockedUntil: base.Add(time.Hour), Lockouts: 1, LastFailure: base.Add(-time.Minute)}
	for i := range n {
		u := generatedUser(rng, i, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
		switch i % 200 {
		case 1, 101:
			u.AccountEnabled = false
		case 2, 102:
			locks[u.ID] = lockedNow
			d.locked[u.ID] = true
		case 3:
			u.AccountEnabled = false
			locks[u.ID] = lockedNow
			d.locked[u.ID] = true
		case 4:
			locks[u.ID] = lockout.State{Failures: 3, LockedUntil: base.Add(-time.Minute), Lockouts: 1, LastFailure: base.Add(-2 * time.Minute)}
		case 5:
			deviceLocks = append(deviceLocks, u.ID)
		}
		// Some must choose a new password, among them blocked and locked users.
		u.PasswordProfile.ForceChangePasswordNextSignIn = i%50 == 1 || i%50 == 2
		switch i % 100 {
		case 6:
			u.Roles = []portier.Role{portier.RoleHelpdeskAdmin}
			u.AccountEnabled = i%200 != 106
		case 7:
			u.Roles = []portier.Role{portier.RoleGlobalAdmin, portier.RoleUserAdmin}
			if i%200 == 7 {
				locks[u.ID] = lockedNow
				d.locked[u.ID] = true
			}
		}
		d.users = append(d.users, u)
	}
	// Half of the counters exist before their user does: "locked" follows the counter,
	// however the two were written.
	early, late := map[string]lockout.State{}, map[string]lockout.State{}
	i := 0
	for id, st := range locks {
		if i%2 == 0 {
			early[id] = st
		} else {
			late[id] = st
		}
		i++
	}
	writeLocks := func(m map[string]lockout.State) {
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
			for id, st := range m {
				if err := tx.PutLockout(ctx, id, "", st); err != nil {
					return err
				}
			}
			for _, id := range deviceLocks {
				if err := tx.PutLockout(ctx, id, "device", lockedNow); err != nil {
					return err
				}
			}
			return nil
		})
	}
	writeLocks(early)
	for start := 0; start < n; start += 2500 {
		batch := d.users[start:min(start+2500, n)]
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.InsertUsers(ctx, batch) })
	}
	writeLocks(late)
	for _, u := range d.users {
		u.LockoutState = locks[u.ID]
	}
	return d
}

// listAll pages through a listing and checks every page: at most the limit, UPNs strictly
// ascending across pages, Next the last UPN of a page and empty exactly at the end.
func listAll(t *testing.T, s portier.Store, f portier.UserFilter) []*portier.User {
	t.Helper()
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	var all []*portier.User
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatalf("listing %+v does not end", f)
		}
		page, err := s.ListUsers(t.Context(), f)
		if err != nil {
			t.Fatalf("ListUsers %+v: %v", f, err)
		}
		if len(page.Users) > limit {
			t.Fatalf("page of %d users, limit %d", len(page.Users), limit)
		}
		for _, u := range page.Users {
			if len(all) > 0 && u.UPN <= all[len(all)-1].UPN {
				t.Fatalf("listing out of order: %q after %q", u.UPN, all[len(all)-1].UPN)
			}
			all = append(all, u)
		}
		if f.After != "" && len(page.Users) == 0 {
			// Next promised another page: a backend must look ahead, not guess from a full page.
			t.Fatalf("Next %q led to an empty page", f.After)
		}
		if page.Next == "" {
			return all
		}
		if len(page.Users) == 0 || page.Next != page.Users[len(page.Users)-1].UPN {
			t.Fatalf("page of %d users has Next %q, want the last UPN", len(page.Users), page.Next)
		}
		f.After = page.Next
	}
}

// checkListing lists f fully and compares with want (in any order: it is sorted here) and
// with CountUsers.
func checkListing(t *testing.T, s portier.Store, f portier.UserFilter, want []*portier.User) {
	t.Helper()
	got := listAll(t, s, f)
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b *portier.User) int { return strings.Compare(a.UPN, b.UPN) })
	if len(got) != len(want) {
		t.Fatalf("listing %+v: %d users, want %d", f, len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			t.Fatalf("listing %+v: user %d is %s, want %s", f, i, got[i].UPN, want[i].UPN)
		}
	}
	n, err := s.CountUsers(t.Context(), f)
	if err != nil {
		t.Fatalf("CountUsers %+v: %v", f, err)
	}
	if n != len(want) {
		t.Fatalf("CountUsers %+v = %d, want %d", f, n, len(want))
	}
	// A capped count is exact up to the cap and cap+1 ("more than cap") beyond it.
	for _, c := range []int{1, 2, len(want) - 1, len(want), len(want) + 1} {
		if c <= 0 {
			continue
		}
		capped := f
		capped.CountCap = c
		n, err := s.CountUsers(t.Context(), capped)
		if err != nil {
			t.Fatalf("CountUsers %+v: %v", capped, err)
		}
		if want := min(len(want), c+1); n != want {
			t.Fatalf("CountUsers %+v = %d, want %d", capped, n, want)
		}
	}
}

func testListUsersPaging(t *testing.T, s portier.Store) {
	d := seedDirectory(t, s, 10000)
	for _, limit := range []int{0, 300, 1000} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			got := listAll(t, s, portier.UserFilter{Now: base, Limit: limit})
			if len(got) != len(d.users) {
				t.Fatalf("listed %d users, want %d", len(got), len(d.users))
			}
			byID := map[string]*portier.User{}
			for _, u := range d.users {
				byID[u.ID] = u
			}
			seen := map[string]bool{}
			for _, u := range got {
				if seen[u.ID] {
					t.Fatalf("user %s listed twice", u.UPN)
				}
				seen[u.ID] = true
				want := byID[u.ID]
				if want == nil {
					t.Fatalf("listed unknown user %s", u.UPN)
				}
				if limit == 0 {
					checkUser(t, u, want)
				}
			}
		})
	}
	t.Run("after the last", func(t *testing.T) {
		page, err := s.ListUsers(t.Context(), portier.UserFilter{Now: base, After: "\U0010FFFF"})
		if err != nil || len(page.Users) != 0 || page.Next != "" {
			t.Fatalf("ListUsers after the last = %d users, next %q, %v; want an empty last page", len(page.Users), page.Next, err)
		}
	})
	t.Run("after a UPN that is not stored", func(t *testing.T) {
		page, err := s.ListUsers(t.Context(), portier.UserFilter{Now: base, After: "m", Limit: 5})
		if err != nil || len(page.Users) != 5 {
			t.Fatalf("ListUsers = %d users, %v; want 5", len(page.Users), err)
		}
		for _, u := range page.Users {
			if u.UPN <= "m" {
				t.Fatalf("listed %s after %q", u.UPN, "m")
			}
		}
	})
}

func testListUsersFilters(t *testing.T, s portier.Store) {
	d := seedDirectory(t, s, 10000)
	lockedAt := func(now time.Time) func(u *portier.User) bool {
		return func(u *portier.User) bool { return u.LockoutState.Locked(now) }
	}
	isLocked := lockedAt(base)
	later := base.Add(2 * time.Hour)
	cases := []struct {
		name string
		f    portier.UserFilter
		keep func(u *portier.User) bool
	}{
		{"any", portier.UserFilter{}, func(*portier.User) bool { return true }},
		{"locked", portier.UserFilter{Status: portier.StatusLocked}, isLocked},
		{"locked, small pages", portier.UserFilter{Status: portier.StatusLocked, Limit: 7}, isLocked},
		{"blocked", portier.UserFilter{Status: portier.StatusBlocked}, func(u *portier.User) bool { return !u.AccountEnabled }},
		{"active", portier.UserFilter{Status: portier.StatusActive}, func(u *portier.User) bool { return u.AccountEnabled && !isLocked(u) }},
		{"must change password", portier.UserFilter{Status: portier.StatusMustChange}, func(u *portier.User) bool { return u.PasswordProfile.ForceChangePasswordNextSignIn }},
		{"admins", portier.UserFilter{AdminsOnly: true}, func(u *portier.User) bool { return len(u.Roles) > 0 }},
		{"locked admins", portier.UserFilter{Status: portier.StatusLocked, AdminsOnly: true}, func(u *portier.User) bool { return isLocked(u) && len(u.Roles) > 0 }},
		{"blocked admins", portier.UserFilter{Status: portier.StatusBlocked, AdminsOnly: true}, func(u *portier.User) bool { return !u.AccountEnabled && len(u.Roles) > 0 }},
		{"blocked matching a prefix", portier.UserFilter{Status: portier.StatusBlocked, Search: "a"}, func(u *portier.User) bool {
			return !u.AccountEnabled && (strings.HasPrefix(u.UPN, "a") || strings.HasPrefix(strings.ToLower(u.DisplayName), "a"))
		}},
		{"active matching a prefix", portier.UserFilter{Status: portier.StatusActive, Search: "Ma"}, func(u *portier.User) bool {
			return u.AccountEnabled && !isLocked(u) && (strings.HasPrefix(u.UPN, "ma") || strings.HasPrefix(strings.ToLower(u.DisplayName), "ma"))
		}},
		{"locked an hour later: none", portier.UserFilter{Status: portier.StatusLocked, Now: later}, lockedAt(later)},
		{"active an hour later", portier.UserFilter{Status: portier.StatusActive, Now: later}, func(u *portier.User) bool { return u.AccountEnabled && !u.LockoutState.Locked(later) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			if f.Now.IsZero() {
				f.Now = base
			}
			var want []*portier.User
			for _, u := range d.users {
				if tc.keep(u) {
					want = append(want, u)
				}
			}
			if len(want) == 0 && !f.Now.Equal(later) {
				t.Fatalf("the seeded directory has no users for %s", tc.name)
			}
			checkListing(t, s, f, want)
		})
	}
	t.Run("listed users carry their lockout state", func(t *testing.T) {
		page, err := s.ListUsers(t.Context(), portier.UserFilter{Status: portier.StatusLocked, Now: base, Limit: 5})
		if err != nil || len(page.Users) == 0 {
			t.Fatalf("ListUsers locked = %d users, %v", len(page.Users), err)
		}
		byID := map[string]*portier.User{}
		for _, u := range d.users {
			byID[u.ID] = u
		}
		for _, u := range page.Users {
			checkUser(t, u, byID[u.ID])
		}
	})
	t.Run("unlocking removes from locked", func(t *testing.T) {
		var victim *portier.User
		for _, u := range d.users {
			if isLocked(u) {
				victim = u
				break
			}
		}
		inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.DeleteLockouts(ctx, victim.ID) })
		var want []*portier.User
		for _, u := range d.users {
			if isLocked(u) && u != victim {
				want = append(want, u)
			}
		}
		checkListing(t, s, portier.UserFilter{Status: portier.StatusLocked, Now: base}, want)
		// Settling a counter to unlocked through PutLockout does the same.
		putLockout(t, s, want[0].ID, "", lockout.State{})
		checkListing(t, s, portier.UserFilter{Status: portier.StatusLocked, Now: base}, want[1:])
	})
}

func testListUsersSearch(t *testing.T, s portier.Store) {
	users := map[string]string{ // UPN -> display name
		"anna.smith@example.org":    "Anna Smith",
		"annabel.jones@example.org": "Annabel Jones",
		"bob.anderson@example.org":  "Anneke Anderson", // matches "ann" by display name only
		"carl@example.org":          "Carl Annson",     // "ann" is not a prefix of either
		"a_b@example.org":           "Underscore",
		"axb@example.org":           "Axb",
		"a%c@example.org":           "Percent",
		"abc@example.org":           "Abc",
		"emile.zola@example.org":    "Émile Zola",
		"xavier@example.org":        "100% Xavier",
		"thousand@example.org":      "1000 Users",
		"dave@example.org":          "dave",
		"slash@example.org":         `Back\slash`,
	}
	var all []*portier.User
	for upn, name := range users {
		u := newTestUser(len(all))
		u.UPN, u.DisplayName = upn, name
		all = append(all, u)
	}
	insertUsers(t, s, all...)
	pick := func(upns ...string) []*portier.User {
		var out []*portier.User
		for _, u := range all {
			if slices.Contains(upns, u.UPN) {
				out = append(out, u)
			}
		}
		if len(out) != len(upns) {
			t.Fatalf("pick %v: unknown UPN", upns)
		}
		return out
	}
	cases := []struct {
		search string
		want   []*portier.User
	}{
		{"", all},
		{"ann", pick("anna.smith@example.org", "annabel.jones@example.org", "bob.anderson@example.org")},
		{"ANN", pick("anna.smith@example.org", "annabel.jones@example.org", "bob.anderson@example.org")},
		{"Annab", pick("annabel.jones@example.org")},
		{"a", pick("anna.smith@example.org", "annabel.jones@example.org", "a_b@example.org", "axb@example.org", "a%c@example.org", "abc@example.org", "bob.anderson@example.org")},
		{"a_b", pick("a_b@example.org")},
		{"a%", pick("a%c@example.org")},
		{"a%c@", pick("a%c@example.org")},
		{"émile", pick("emile.zola@example.org")},
		{"ÉMILE Z", pick("emile.zola@example.org")},
		{"emile", pick("emile.zola@example.org")},
		{"zola", nil},
		{"100%", pick("xavier@example.org")},
		{"100", pick("xavier@example.org", "thousand@example.org")},
		{"DAVE@EXAMPLE.ORG", pick("dave@example.org")},
		{"Dav", pick("dave@example.org")},
		{`back\`, pick("slash@example.org")},
		{`\`, nil},
		{"%", nil},
		{"_", nil},
		{"anna.smith@example.org.x", nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.search), func(t *testing.T) {
			checkListing(t, s, portier.UserFilter{Search: tc.search, Now: base}, tc.want)
		})
	}
	t.Run("paged one at a time", func(t *testing.T) {
		checkListing(t, s, portier.UserFilter{Search: "ann", Now: base, Limit: 1}, cases[1].want)
	})
}
