package directory_test

import (
	"context"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
)

// seedReads writes one failed sign-in of u and one security-info method of u.
func seedReads(t *testing.T, store portier.Store, u *portier.User) {
	t.Helper()
	ctx := context.Background()
	err := store.Tx(ctx, func(tx portier.Tx) error {
		if err := tx.AppendSignIns(ctx, []*portier.SignIn{{Time: time.Now(), Username: u.UPN, UserID: u.ID,
			Source: "192.0.2.1", Code: portier.CodeInvalidCredentials, Process: "test"}}); err != nil {
			return err
		}
		return tx.InsertMethod(ctx, &portier.AuthMethod{ID: "m1", UserID: u.ID, Kind: portier.MethodEmail,
			Address: "plain@home.example", Created: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadsAreForAdmins: the sign-in log, a user's security info and readiness are read
// through the directory service, which gives the first two to any admin role (as the admin
// center's pages do) and refuses everyone else with EForbidden, returning nothing.
func TestReadsAreForAdmins(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		d := newService(t, store)
		helpdesk := create(t, d, "help@example.org", portier.RoleHelpdeskAdmin)
		plain := create(t, d, "plain@example.org")
		seedReads(t, store, plain)

		entries, err := d.SignIns(ctx, actor(helpdesk), portier.SignInFilter{UserID: plain.ID, Limit: 10})
		if err != nil || len(entries) != 1 || entries[0].Code != portier.CodeInvalidCredentials {
			t.Fatalf("helpdesk admin reads the sign-in log: %d entries, %v; want the one", len(entries), err)
		}
		methods, err := d.Methods(ctx, actor(helpdesk), plain.ID)
		if err != nil || len(methods) != 1 || methods[0].Address != "plain@home.example" {
			t.Fatalf("helpdesk admin reads security info: %d methods, %v; want the one", len(methods), err)
		}

		if entries, err := d.SignIns(ctx, actor(plain), portier.SignInFilter{Limit: 10}); portier.ErrorCode(err) != portier.EForbidden || entries != nil {
			t.Fatalf("plain user reads the sign-in log: %d entries, %v; want forbidden and nothing", len(entries), err)
		}
		if methods, err := d.Methods(ctx, actor(plain), plain.ID); portier.ErrorCode(err) != portier.EForbidden || methods != nil {
			t.Fatalf("plain user reads security info: %d methods, %v; want forbidden and nothing", len(methods), err)
		}

		before, err := store.Counter(ctx, portier.CounterHeartbeat)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Ready(ctx); err != nil {
			t.Fatalf("Ready on a writable store: %v", err)
		}
		if after, err := store.Counter(ctx, portier.CounterHeartbeat); err != nil || after != before+1 {
			t.Fatalf("Ready committed no heartbeat: %d -> %d (%v)", before, after, err)
		}
	})
}
