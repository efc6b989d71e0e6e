package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// TestSearchTotalDoesNotWaitForALargeCount: the first view of a search matching more than
// 1000 users says "More than 1000 users" from a count that stops there, and a later view
// gives the exact total counted in the background meanwhile; a small search is exact at once.
func TestSearchTotalDoesNotWaitForALargeCount(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		addUser(t, in.dir, "admin@example.org", "Admin", portier.RoleUserAdmin)
		var users []*portier.User
		for i := range 1234 {
			users = append(users, &portier.User{ID: portier.NewID(), UPN: fmt.Sprintf("cap%04d@example.org", i), DisplayName: "Cap User",
				AccountEnabled: true, Created: clock.Now(), PasswordHash: "unused"})
		}
		if err := store.Tx(context.Background(), func(tx portier.Tx) error { return tx.InsertUsers(context.Background(), users) }); err != nil {
			t.Fatal(err)
		}
		b := signedIn(t, in, "admin@example.org")

		_, body := b.do("GET", "/admin/users?q=Ca", nil)
		if !strings.Contains(body, `data-total="1000" data-total-more`) || !strings.Contains(body, "More than 1000 users") {
			t.Fatalf("first view of a large search: %s", totalLine(body))
		}
		testserver.WaitFor(t, "the exact total of the search", func() bool {
			_, body := b.do("GET", "/admin/users?q=cA", nil)
			return strings.Contains(body, `data-total="1234">1234 users`)
		})
		if _, body := b.do("GET", "/admin/users?q=cap00", nil); !strings.Contains(body, `data-total="100">100 users`) {
			t.Fatalf("a search under the cap: %s", totalLine(body))
		}
		b.lang = "nl"
		if _, body := b.do("GET", "/admin/users?q=cap", nil); !strings.Contains(body, "Meer dan 1000 gebruikers") {
			t.Fatalf("Dutch: %s", totalLine(body))
		}
	})
}

func totalLine(body string) string {
	i := strings.Index(body, "data-total")
	if i < 0 {
		return "(no data-total)"
	}
	return body[max(0, i-20):min(len(body), i+120)]
}
