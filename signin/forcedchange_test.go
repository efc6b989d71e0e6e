package signin_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/signin"
)

// TestForcedChangeKeepsTheBrowserFamiliar: a browser that signed in before gets 50055 as a
// familiar browser; the change of password that follows is logged from the same, familiar
// browser (it was logged unfamiliar a moment later before), and the device it is given stays
// the one it had, at the new credential generation. A browser that was a stranger stays one.
func TestForcedChangeKeepsTheBrowserFamiliar(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		e := newEnv(t, store)
		ctx := context.Background()
		u := e.createUser(t, "owner@example.org")
		source := netip.MustParseAddr("192.0.2.9")
		dev := e.eng.RenewDevice(signin.Device{}, u)
		if out := e.tryFrom(t, u.UPN, goodPassword, source, dev); out.Code != portier.CodeSuccess || !out.Familiar {
			t.Fatalf("first sign-in: code %d familiar %v", out.Code, out.Familiar)
		}
		// An admin resets the password with "must change". A reset ends the device's
		// familiarity; the browser stands here as one that is familiar at its next attempt
		// (the 50055 was logged familiar), at the user's current generation.
		_, err := e.dir.ResetPassword(ctx, portier.CLIActor("test"), u.UPN, directory.PasswordReset{Password: "an admin chose this passphrase", ForceChange: true})
		testenv.NoErr(t, err)
		fresh, err := e.dir.User(ctx, u.UPN)
		testenv.NoErr(t, err)
		dev.Generation = fresh.CredentialGeneration

		out := e.tryFrom(t, u.UPN, "an admin chose this passphrase", source, dev)
		if out.Code != portier.CodePasswordChangeNeeded || !out.Familiar {
			t.Fatalf("right password, must change: code %d familiar %v, want a familiar 50055", out.Code, out.Familiar)
		}
		changed, kept, err := e.eng.CompleteForcedChange(ctx, e.eng.PendingToken(out.User), "my very own new passphrase", source.String(), "t", dev)
		testenv.NoErr(t, err)
		if kept.ID != dev.ID || kept.Generation != changed.CredentialGeneration || !e.eng.Familiar(kept, changed) {
			t.Fatalf("device after the change %+v, want the same device at generation %d", kept, changed.CredentialGeneration)
		}
		testenv.NoErr(t, e.rec.Flush(ctx))
		log, err := store.ListSignIns(ctx, portier.SignInFilter{UserID: u.ID, Limit: 2})
		testenv.NoErr(t, err)
		if len(log) != 2 || log[0].Code != portier.CodeSuccess || !log[0].FamiliarDevice || log[1].Code != portier.CodePasswordChangeNeeded || !log[1].FamiliarDevice {
			t.Fatalf("the 50055 and the change are not both logged familiar: %+v %+v", log[0], log[1])
		}

		// A stranger's browser stays a stranger through the change.
		other := e.createUser(t, "other@example.org")
		_, err = e.dir.ResetPassword(ctx, portier.CLIActor("test"), other.UPN, directory.PasswordReset{Password: "an admin chose this passphrase", ForceChange: true})
		testenv.NoErr(t, err)
		out = e.tryFrom(t, other.UPN, "an admin chose this passphrase", source, signin.Device{})
		_, got, err := e.eng.CompleteForcedChange(ctx, e.eng.PendingToken(out.User), "my very own new passphrase", source.String(), "t", signin.Device{})
		testenv.NoErr(t, err)
		if got.ID == "" {
			t.Fatal("a stranger's browser gets no device after the change")
		}
		testenv.NoErr(t, e.rec.Flush(ctx))
		log, err = store.ListSignIns(ctx, portier.SignInFilter{UserID: other.ID, Limit: 1})
		testenv.NoErr(t, err)
		if log[0].FamiliarDevice {
			t.Fatal("a stranger's change is logged familiar")
		}
	})
}
