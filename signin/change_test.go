package signin_test

import (
	"context"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/signin"
)

// Issue 11 item 5: ChangePassword takes the sign-in's steps (lockout, hash, settlement) and
// settles a right current password by setting the new one: a wrong current password counts
// like a wrong sign-in, a new password that breaks a rule settles the right current one and
// changes nothing, a blocked user is told so only with the right password, a locked account
// is answered without a hash, and a change opens no session.
func TestChangePasswordComposesTheSignInSteps(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		e := newEnv(t, store)
		u := e.createUser(t, "changer@example.org")
		change := func(current, next string) (signin.Outcome, error) {
			return e.eng.ChangePassword(ctx, signin.Attempt{Username: "  Changer@example.org", Password: current, Source: source, StartSession: true}, next)
		}
		failures := func() int {
			fresh, err := e.dir.User(ctx, u.UPN)
			if err != nil {
				t.Fatal(err)
			}
			return fresh.Lockout.FailedAttempts
		}

		if out, err := change(wrong(1), "a brand new passphrase for me"); err != nil || out.Code != portier.CodeInvalidCredentials {
			t.Fatalf("wrong current password: code %d err %v, want 50126", out.Code, err)
		}
		if n := failures(); n != 1 || e.verifications() != 1 {
			t.Fatalf("after a wrong current password: %d failures, %d hashes; want 1 and 1", n, e.verifications())
		}
		for _, next := range []string{"short", goodPassword} {
			if _, err := change(goodPassword, next); portier.ErrorCode(err) != portier.EInvalid {
				t.Fatalf("new password %q: err %v, want EInvalid", next, err)
			}
			if n := failures(); n != 0 {
				t.Fatalf("new password %q: %d failures left, want the right current password settled", next, n)
			}
		}
		if out := e.try(t, u.UPN, goodPassword); out.Code != portier.CodeSuccess {
			t.Fatalf("a refused change changed the password: code %d", out.Code)
		}

		if err := e.dir.SetSignInStatus(ctx, portier.CLIActor("test"), u.UPN, false); err != nil {
			t.Fatal(err)
		}
		if out, err := change(wrong(2), "a brand new passphrase for me"); err != nil || out.Code != portier.CodeInvalidCredentials {
			t.Fatalf("blocked, wrong current password: code %d err %v, want 50126", out.Code, err)
		}
		if out, err := change(goodPassword, "a brand new passphrase for me"); err != nil || out.Code != portier.CodeBlocked {
			t.Fatalf("blocked, right current password: code %d err %v, want 50057", out.Code, err)
		}
		if err := e.dir.SetSignInStatus(ctx, portier.CLIActor("test"), u.UPN, true); err != nil {
			t.Fatal(err)
		}

		out, err := change(goodPassword, "a brand new passphrase for me")
		if err != nil || out.Code != portier.CodeSuccess || out.User == nil || out.Session != "" {
			t.Fatalf("change: code %d err %v session %q, want success and no session", out.Code, err, out.Session)
		}
		if out.User.CredentialGeneration == u.CredentialGeneration {
			t.Fatal("the change did not move the credential generation")
		}
		if out := e.try(t, u.UPN, goodPassword); out.Code != portier.CodeInvalidCredentials {
			t.Fatalf("old password after the change: code %d, want 50126", out.Code)
		}
		if out := e.try(t, u.UPN, "a brand new passphrase for me"); out.Code != portier.CodeSuccess {
			t.Fatalf("new password after the change: code %d, want success", out.Code)
		}
		if err := e.rec.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		logged, _ := store.ListSignIns(ctx, portier.SignInFilter{UserID: u.ID, Code: ptr(portier.CodeSuccess)})
		changed := 0
		for _, l := range logged {
			if l.Detail == "password changed" {
				changed++
			}
		}
		if changed != 1 {
			t.Fatalf("%d sign-in log entries say \"password changed\", want 1", changed)
		}

		// A locked account is answered without a hash, for a change as for a sign-in.
		for i := range 10 {
			e.try(t, u.UPN, wrong(10+i))
		}
		before := e.verifications()
		if out, err := change("a brand new passphrase for me", "yet another passphrase here"); err != nil || out.Code != portier.CodeLocked {
			t.Fatalf("locked: code %d err %v, want 50053", out.Code, err)
		}
		if e.verifications() != before {
			t.Fatal("a change on a locked account was hashed")
		}
	})
}
