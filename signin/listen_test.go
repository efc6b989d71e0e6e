package signin

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
)

type quietMetrics struct{}

func (quietMetrics) Attempt(int)       {}
func (quietMetrics) PasswordVerified() {}
func (quietMetrics) Locked()           {}
func (quietMetrics) LockedRejection()  {}

// Issue 11 item 1: "lockout cleared" has one path, the store's publish and subscribe, and it
// reaches this process's own engine: an unlock made through this process's directory, with
// no callback between the two, makes the listening engine drop its memory of the lock.
func TestListenHearsThisProcessesUnlock(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		clock := testenv.NewClock()
		dir := directory.New(store, testenv.Hasher(), clock.Now, log)
		secret, err := LoadSecret(ctx, store)
		if err != nil {
			t.Fatal(err)
		}
		rec := NewRecorder(store, log)
		t.Cleanup(func() { rec.Close(context.Background()) })
		e := New(Config{Store: store, Directory: dir, Secret: secret, Now: clock.Now, Metrics: quietMetrics{}, Log: log,
			Process: "test", Recorder: rec, LockMemory: time.Hour})
		if err := e.Listen(ctx); err != nil {
			t.Fatal(err)
		}
		u, _, err := dir.CreateUser(ctx, portier.CLIActor("test"), directory.NewUser{UPN: "held@example.org", DisplayName: "Held", Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if _, err := e.SignIn(ctx, Attempt{Username: u.UPN, Password: "wrong password " + string(rune('a'+i)), Source: netip.MustParseAddr("192.0.2.10")}); err != nil {
				t.Fatal(err)
			}
		}
		remembered := func() bool {
			e.locks.mu.Lock()
			defer e.locks.mu.Unlock()
			for _, entry := range e.locks.m {
				if entry.userID == u.ID {
					return true
				}
			}
			return false
		}
		if !remembered() {
			t.Fatal("the engine does not remember the lock")
		}
		if err := dir.Unlock(ctx, portier.CLIActor("test"), u.UPN); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for remembered() {
			if time.Now().After(deadline) {
				t.Fatal("the engine never heard of this process's unlock")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
