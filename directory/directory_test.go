package directory_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/lockout"
)

const pw = "correct horse battery staple"

func newService(t *testing.T, store portier.Store) *directory.Service {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return directory.New(store, testenv.Hasher(), testenv.NewClock().Now, log)
}

func create(t *testing.T, d *directory.Service, upn string, roles ...portier.Role) *portier.User {
	t.Helper()
	u, _, err := d.CreateUser(context.Background(), portier.CLIActor("op"), directory.NewUser{UPN: upn, DisplayName: "Someone", Password: pw, Roles: roles})
	if err != nil {
		t.Fatalf("create %s: %v", upn, err)
	}
	return u
}

func actor(u *portier.User) portier.Actor {
	return portier.Actor{ID: u.ID, Name: u.UPN, Roles: u.Roles, Source: "192.0.2.1"}
}

func lastAudit(t *testing.T, store portier.Store) *portier.AuditEvent {
	t.Helper()
	events, err := store.ListAudit(context.Background(), portier.AuditFilter{Limit: 1})
	if err != nil || len(events) == 0 {
		t.Fatalf("ListAudit: %v", err)
	}
	return events[0]
}

func TestRefusedActionsChangeNothingAndAreAudited(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		d := newService(t, store)
		helpdesk := create(t, d, "help@example.org", portier.RoleHelpdeskAdmin)
		global := create(t, d, "boss@example.org", portier.RoleGlobalAdmin)
		create(t, d, "plain@example.org")

		before := testenv.Must(d.User(ctx, "boss@example.org"))(t)
		_, err := d.ResetPassword(ctx, actor(helpdesk), "boss@example.org", directory.PasswordReset{Generate: true})
		if portier.ErrorCode(err) != portier.EForbidden {
			t.Fatalf("helpdesk resets global admin: %v, want forbidden", err)
		}
		after := testenv.Must(d.User(ctx, "boss@example.org"))(t)
		if after.PasswordHash != before.PasswordHash {
			t.Fatal("a refused reset changed the password")
		}
		ev := lastAudit(t, store)
		if ev.Outcome != portier.OutcomeRefused || ev.Action != portier.ActionResetPassword || ev.Actor != "help@example.org" || ev.TargetID != global.ID {
			t.Fatalf("audit = %+v, want a refused reset by help@ on boss@", ev)
		}
		for _, try := range []func() error{
			func() error { return d.SetSignInStatus(ctx, actor(helpdesk), "plain@example.org", false) },
			func() error { return d.DeleteUser(ctx, actor(helpdesk), "plain@example.org") },
			func() error {
				_, _, err := d.CreateUser(ctx, actor(helpdesk), directory.NewUser{UPN: "x@example.org", DisplayName: "X", Generate: true})
				return err
			},
		} {
			if err := try(); portier.ErrorCode(err) != portier.EForbidden {
				t.Fatalf("helpdesk beyond its rights: %v, want forbidden", err)
			}
		}
		if _, err := d.User(ctx, "x@example.org"); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatal("a refused create added the user")
		}
		// What the helpdesk may do, it does.
		if err := d.Unlock(ctx, actor(helpdesk), "plain@example.org"); err != nil {
			t.Fatalf("helpdesk unlocks a plain user: %v", err)
		}
	})
}

func TestUserAdminCannotCreateGlobalAdmin(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		d := newService(t, store)
		ua := create(t, d, "ua@example.org", portier.RoleUserAdmin)
		_, _, err := d.CreateUser(context.Background(), actor(ua), directory.NewUser{UPN: "g@example.org", DisplayName: "G", Generate: true, Roles: []portier.Role{portier.RoleGlobalAdmin}})
		if portier.ErrorCode(err) != portier.EForbidden {
			t.Fatalf("user admin creates global admin: %v", err)
		}
		if _, _, err := d.CreateUser(context.Background(), actor(ua), directory.NewUser{UPN: "h@example.org", DisplayName: "H", Generate: true, Roles: []portier.Role{portier.RoleHelpdeskAdmin}}); err != nil {
			t.Fatalf("user admin creates helpdesk admin: %v", err)
		}
	})
}

func TestLastGlobalAdminStays(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		d := newService(t, store)
		create(t, d, "only@example.org", portier.RoleGlobalAdmin)
		op := portier.CLIActor("op")
		if err := d.SetSignInStatus(ctx, op, "only@example.org", false); portier.ErrorCode(err) != portier.EInvalid {
			t.Fatalf("blocking the last global admin: %v", err)
		}
		if err := d.DeleteUser(ctx, op, "only@example.org"); portier.ErrorCode(err) != portier.EInvalid {
			t.Fatalf("deleting the last global admin: %v", err)
		}
		create(t, d, "second@example.org", portier.RoleGlobalAdmin)
		if err := d.SetSignInStatus(ctx, op, "only@example.org", false); err != nil {
			t.Fatalf("blocking one of two global admins: %v", err)
		}
	})
}

func TestResetClearsLockoutAndSessions(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		d := newService(t, store)
		u := create(t, d, "locked@example.org")
		err := store.Tx(ctx, func(tx portier.Tx) error {
			if err := tx.PutLockout(ctx, u.ID, "", lockout.State{Failures: 0, LockedUntil: testenv.NewClock().Now().Add(3600e9), Lockouts: 1}); err != nil {
				return err
			}
			return tx.InsertSession(ctx, &portier.Session{IDHash: make([]byte, 32), UserID: u.ID, Created: u.Created, LastSeen: u.Created, Expires: u.Created.Add(3600e9)})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := testenv.Must(d.User(ctx, "locked@example.org"))(t); !got.Lockout.Locked {
			t.Fatal("setup: not locked")
		}
		generated, err := d.ResetPassword(ctx, portier.CLIActor("op"), "locked@example.org", directory.PasswordReset{Generate: true, ForceChange: true})
		if err != nil || len(generated) < 16 {
			t.Fatalf("reset: %v (%q)", err, generated)
		}
		got := testenv.Must(d.User(ctx, "locked@example.org"))(t)
		if got.Lockout.Locked || !got.PasswordProfile.ForceChangePasswordNextSignIn {
			t.Fatalf("after reset: %+v", got.Lockout)
		}
		if ok := testenv.Must(d.Hasher().Verify(got.PasswordHash, generated))(t); !ok.OK {
			t.Fatal("the generated password does not verify")
		}
		if sessions := testenv.Must(store.ListSessions(ctx, u.ID))(t); len(sessions) != 0 {
			t.Fatalf("%d sessions after reset, want 0", len(sessions))
		}
		if ev := lastAudit(t, store); strings.Contains(ev.Detail, generated) {
			t.Fatal("the generated password is in the audit log")
		}
	})
}

func TestSettingsReachEveryProcess(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			open := b.OpenShared(t)
			clock := testenv.NewClock()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			one := directory.New(open(), testenv.Hasher(), clock.Now, log)
			two := directory.New(open(), testenv.Hasher(), clock.Now, log)
			if st := testenv.Must(two.Settings(ctx))(t); st.Lockout.Threshold != 10 {
				t.Fatalf("default threshold %d", st.Lockout.Threshold)
			}
			_, err := one.UpdateSettings(ctx, portier.CLIActor("op"), func(st *portier.Settings) error {
				st.Lockout.Threshold = 4
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if st := testenv.Must(one.Settings(ctx))(t); st.Lockout.Threshold != 4 {
				t.Fatal("the changing process does not see its own change")
			}
			clock.Advance(2 * time.Second)
			if st := testenv.Must(two.Settings(ctx))(t); st.Lockout.Threshold != 4 {
				t.Fatalf("the other process still sees threshold %d after 2 s", st.Lockout.Threshold)
			}
			_, err = one.UpdateSettings(ctx, portier.Actor{Name: "ua@example.org", Roles: []portier.Role{portier.RoleUserAdmin}}, func(st *portier.Settings) error {
				st.Lockout.Threshold = 99
				return nil
			})
			if portier.ErrorCode(err) != portier.EForbidden {
				t.Fatalf("user admin changed settings: %v", err)
			}
		})
	}
}

// TestTwoGlobalAdminsCannotRemoveEachOtherAtOnce: two global admins, on two processes
// sharing the store, block or demote each other at the same moment, round after round; one
// of the two actions is refused every round, so a global admin who can sign in remains.
func TestTwoGlobalAdminsCannotRemoveEachOtherAtOnce(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			open := b.OpenShared(t)
			ctx := context.Background()
			d1, d2 := newService(t, open()), newService(t, open())
			admins := [2]*portier.User{
				create(t, d1, "first@example.org", portier.RoleGlobalAdmin),
				create(t, d1, "second@example.org", portier.RoleGlobalAdmin),
			}
			services := [2]*directory.Service{d1, d2}
			remove := map[string]func(d *directory.Service, by portier.Actor, upn string) error{
				"block": func(d *directory.Service, by portier.Actor, upn string) error {
					return d.SetSignInStatus(ctx, by, upn, false)
				},
				"demote": func(d *directory.Service, by portier.Actor, upn string) error {
					return d.SetRoles(ctx, by, upn, nil)
				},
			}
			kinds := [][2]string{{"block", "block"}, {"demote", "demote"}, {"block", "demote"}}
			for round := range 60 {
				for _, a := range admins {
					if err := d1.SetSignInStatus(ctx, portier.CLIActor("op"), a.UPN, true); err != nil {
						t.Fatal(err)
					}
					if err := d1.SetRoles(ctx, portier.CLIActor("op"), a.UPN, []portier.Role{portier.RoleGlobalAdmin}); err != nil {
						t.Fatal(err)
					}
				}
				kind := kinds[round%len(kinds)]
				errs := make([]error, 2)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range 2 {
					wg.Go(func() {
						<-start
						errs[i] = remove[kind[i]](services[i], actor(admins[i]), admins[1-i].UPN)
					})
				}
				close(start)
				wg.Wait()
				refused := 0
				for _, err := range errs {
					switch portier.ErrorCode(err) {
					case "":
					case portier.EInvalid:
						refused++
					default:
						t.Fatalf("round %d (%v): %v", round, kind, err)
					}
				}
				left, err := d1.ListUsers(ctx, portier.UserFilter{AdminsOnly: true, Status: portier.StatusActive})
				if err != nil {
					t.Fatal(err)
				}
				global := 0
				for _, u := range left.Users {
					if u.HasRole(portier.RoleGlobalAdmin) {
						global++
					}
				}
				if global != 1 || refused != 1 {
					t.Fatalf("round %d (%v): %d enabled global admins left, %d actions refused; want 1 and 1", round, kind, global, refused)
				}
			}
		})
	}
}
