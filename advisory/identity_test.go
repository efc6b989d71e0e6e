package advisory

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// TestGHSA_cq42_vhv7_xr7p_KeycloakLockoutThroughAnotherUsersEmail replays Keycloak
// GHSA-cq42-vhv7-xr7p: sign-in accepts a user name or an e-mail address, so wrong passwords
// typed as one user's e-mail address (or another account's name in that form) lock the real
// owner out. Portier signs in by user principal name only: a name in another user's e-mail
// form counts on its own counter, never on the owner's.
func TestGHSA_cq42_vhv7_xr7p_KeycloakLockoutThroughAnotherUsersEmail(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		in := testserver.Start(t, b.Open(t), testserver.Options{})
		// Alice's mail is in the form of a UPN that another account (Mallory's) holds;
		// Mallory's mail is Alice's UPN; Bob's mail is no one's UPN.
		in.CreateUser(t, directory.NewUser{UPN: "alice@example.org", Mail: "alice@mail.example.com"})
		in.CreateUser(t, directory.NewUser{UPN: "alice@mail.example.com", Mail: "alice@example.org", Password: "mallory's own long passphrase"})
		in.CreateUser(t, directory.NewUser{UPN: "bob@example.org", Mail: "bob@mail.example.com"})
		st, err := in.Dir.Settings(t.Context())
		if err != nil {
			t.Fatal(err)
		}

		// Alice's password typed with her mail address does not sign her in.
		if resp, body := testserver.NewBrowser(t, in.URL).Login("alice@mail.example.com", testserver.Password); resp.StatusCode == http.StatusSeeOther {
			t.Fatal("a mail address signed in as the user whose mail it is")
		} else if testserver.ErrorCode(body) != "50126" {
			t.Fatalf("Alice's password at her mail address: code %q, want 50126", testserver.ErrorCode(body))
		}
		attacker := testserver.NewBrowser(t, in.URL)
		for _, name := range []string{"alice@mail.example.com", "bob@mail.example.com", "BOB@Mail.Example.com "} {
			var body string
			for i := range st.Lockout.Threshold {
				_, body = attacker.Login(name, fmt.Sprintf("wrong guess number %d", i))
			}
			if testserver.ErrorCode(body) != "50053" {
				t.Fatalf("%q after %d wrong passwords: code %q, want 50053 like any name", name, st.Lockout.Threshold, testserver.ErrorCode(body))
			}
		}
		for _, upn := range []string{"alice@example.org", "bob@example.org"} {
			u, err := in.Dir.User(t.Context(), upn)
			if err != nil {
				t.Fatal(err)
			}
			if u.Lockout.FailedAttempts != 0 || u.Lockout.Locked {
				t.Errorf("%s: lockout %+v after guesses at another name", upn, u.Lockout)
			}
			if resp, body := testserver.NewBrowser(t, in.URL).Login(upn, testserver.Password); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("%s after guesses at their mail address: status %d code %q, want signed in", upn, resp.StatusCode, testserver.ErrorCode(body))
			}
		}
	})
}
