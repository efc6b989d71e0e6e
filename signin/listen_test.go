package signin_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/signin"
)

// Issue 11 item 1: "lockout cleared" has one path, the store's publish and subscribe, and it
// reaches this process's own engine: an unlock made through this process's directory, with
// no callback between the two, makes the listening engine drop its memory of the lock.
func TestListenHearsThisProcessesUnlock(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		e := newEnvWithConfig(t, store, testenv.NewClock(), app.Config{LockMemory: time.Hour})
		if err := e.app.Start(ctx); err != nil {
			t.Fatal(err)
		}
		u, _, err := e.dir.CreateUser(ctx, portier.CLIActor("test"), directory.NewUser{UPN: "held@example.org", DisplayName: "Held", Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if _, err := e.eng.SignIn(ctx, signin.Attempt{Username: u.UPN, Password: "wrong password " + string(rune('a'+i)), Source: netip.MustParseAddr("192.0.2.10")}); err != nil {
				t.Fatal(err)
			}
		}
		if !e.eng.RemembersLock(u.ID) {
			t.Fatal("the engine does not remember the lock")
		}
		if err := e.dir.Unlock(ctx, portier.CLIActor("test"), u.UPN); err != nil {
			t.Fatal(err)
		}
		testserver.WaitFor(t, "the engine to hear of this process's unlock", func() bool { return !e.eng.RemembersLock(u.ID) })
	})
}
