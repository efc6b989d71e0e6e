package demo_test

import (
	"context"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/demo"
	"github.com/portier-id/portier/internal/testenv"
)

func TestSeedFillsEveryStateOnceOnly(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		now := testenv.NewClock().Now()
		res, err := demo.Seed(ctx, store, testenv.Hasher(), now)
		if err != nil {
			t.Fatal(err)
		}
		count := func(f portier.UserFilter) int {
			t.Helper()
			f.Now = now
			n, err := store.CountUsers(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if all := count(portier.UserFilter{}); all != res.Users || all < 45 || all > 55 {
			t.Fatalf("%d users, result says %d, want about 50", all, res.Users)
		}
		if locked, blocked, admins := count(portier.UserFilter{Status: portier.StatusLocked}),
			count(portier.UserFilter{Status: portier.StatusBlocked}), count(portier.UserFilter{AdminsOnly: true}); locked < 2 || blocked != 1 || admins != 4 {
			t.Fatalf("%d locked, %d blocked, %d admins; want some, 1 and 4", locked, blocked, admins)
		}
		admin, err := store.UserByUPN(ctx, res.AdminUPN)
		if err != nil || !admin.HasRole(portier.RoleGlobalAdmin) {
			t.Fatalf("demo admin %v (%v)", admin, err)
		}
		if ok, err := testenv.Hasher().Verify(admin.PasswordHash, res.AdminPassword); err != nil || !ok.OK {
			t.Fatalf("the printed password does not sign the admin in: %v", err)
		}
		locked, err := store.ListUsers(ctx, portier.UserFilter{Status: portier.StatusLocked, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range locked.Users {
			entries, err := store.ListSignIns(ctx, portier.SignInFilter{UserID: u.ID})
			if err != nil {
				t.Fatal(err)
			}
			codes := map[int]int{}
			for _, e := range entries {
				codes[e.Code]++
			}
			if codes[portier.CodeInvalidCredentials] == 0 || codes[portier.CodeLocked] == 0 {
				t.Fatalf("sign-in log of locked %s: codes %v, want 50126 and 50053", u.UPN, codes)
			}
		}

		if _, err := demo.Seed(ctx, store, testenv.Hasher(), now); portier.ErrorCode(err) != portier.EConflict {
			t.Fatalf("a second seed: %v, want conflict", err)
		}
		if all := count(portier.UserFilter{}); all != res.Users {
			t.Fatalf("the refused seed changed the count to %d", all)
		}
	})
}
