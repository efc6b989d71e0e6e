package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// TestFailedAttemptsAgree locks an account with 10 wrong passwords from a stranger's browser,
// then keeps guessing while it is locked, and checks that every view gives the one count of
// lockout.State.FailedAttempts: the Active users list, the user's details page, the command
// line's users show (text and --json), the directory service the API reads, and the lockout
// mail. The locked answers and a repeated wrong password are not counted.
func TestFailedAttemptsAgree(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store, err := openStore(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			// The command line reads the wall clock: stand the server's clock there too, so
			// both see the lock.
			clock := testenv.NewClock()
			clock.Advance(time.Since(clock.Now()))
			in := testserver.Start(t, store, testserver.Options{Clock: clock})
			in.CreateUser(t, directory.NewUser{UPN: "admin@example.org", Roles: []portier.Role{portier.RoleGlobalAdmin}})
			in.CreateUser(t, directory.NewUser{UPN: "victim@example.org", DisplayName: "Vic Tim", Mail: "victim@example.org"})
			admin := in.SignedIn(t, "admin@example.org")

			stranger := testserver.NewBrowser(t, in.URL)
			for i := range 10 {
				if i == 5 { // a typo repeated: not counted again
					stranger.Login("victim@example.org", "wrong guess 4")
				}
				_, body := stranger.Login("victim@example.org", fmt.Sprintf("wrong guess %d", i))
				if code := testserver.ErrorCode(body); i < 9 && code != "50126" {
					t.Fatalf("guess %d: code %s, want 50126", i, code)
				}
			}
			for range 3 {
				if _, body := stranger.Login("victim@example.org", "still guessing"); testserver.ErrorCode(body) != "50053" {
					t.Fatalf("guess while locked: code %s, want 50053", testserver.ErrorCode(body))
				}
			}
			in.FlushSignIns(t)

			_, list := admin.Do("GET", "/admin/users?filter=locked", nil)
			if !strings.Contains(list, "(10 attempts)") {
				t.Errorf("Active users list does not say (10 attempts):\n%s", excerpt(list, "victim@example.org"))
			}
			_, details := admin.Do("GET", "/admin/users/victim@example.org", nil)
			if !strings.Contains(details, `data-failed-attempts="10">10<`) {
				t.Errorf("details page: want data-failed-attempts 10:\n%s", excerpt(details, "data-failed-attempts"))
			}
			u, err := in.Dir.User(ctx, "victim@example.org")
			if err != nil || !u.Lockout.Locked || u.Lockout.FailedAttempts != 10 {
				t.Errorf("directory service: %+v, %v; want locked after 10", u.Lockout, err)
			}
			var shown struct {
				Lockout struct {
					Locked         bool `json:"locked"`
					FailedAttempts int  `json:"failedAttempts"`
				} `json:"lockout"`
			}
			if err := json.Unmarshal([]byte(must(t, db, "", "users", "show", "victim@example.org", "--json")), &shown); err != nil {
				t.Fatal(err)
			}
			if !shown.Lockout.Locked || shown.Lockout.FailedAttempts != 10 {
				t.Errorf("users show --json: lockout %+v, want locked with failedAttempts 10", shown.Lockout)
			}
			if text := must(t, db, "", "users", "show", "victim@example.org"); !strings.Contains(text, "Failed attempts:       10") {
				t.Errorf("users show:\n%s", text)
			}
			var listed struct {
				Value []struct {
					UPN     string `json:"userPrincipalName"`
					Lockout struct {
						FailedAttempts int `json:"failedAttempts"`
					} `json:"lockout"`
				} `json:"value"`
			}
			if err := json.Unmarshal([]byte(must(t, db, "", "users", "list", "--status", "locked", "--json")), &listed); err != nil {
				t.Fatal(err)
			}
			if len(listed.Value) != 1 || listed.Value[0].Lockout.FailedAttempts != 10 {
				t.Errorf("users list --json: %+v, want victim with 10", listed.Value)
			}
			in.WaitMail(t, "victim@example.org", "after 10 sign-in attempts with a wrong password")

			// After the lock the count starts again toward the next one.
			must(t, db, "", "users", "unlock", "victim@example.org")
			stranger.Login("victim@example.org", "after the unlock")
			if u, err := in.Dir.User(ctx, "victim@example.org"); err != nil || u.Lockout.Locked || u.Lockout.FailedAttempts != 1 {
				t.Errorf("after an unlock and one wrong password: %+v, %v; want 1, not locked", u.Lockout, err)
			}
		})
	}
}

// excerpt returns the part of page around the first occurrence of near, for a failure message.
func excerpt(page, near string) string {
	i := strings.Index(page, near)
	if i < 0 {
		return "(" + near + " not found)"
	}
	return page[max(0, i-300):min(len(page), i+300)]
}
