package directory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
)

func TestAppValidation(t *testing.T) {
	d := newService(t, testenv.Backends()[0].Open(t))
	ok := []string{"https://app.example.org/cb", "http://localhost:8080/cb", "http://127.0.0.1/cb", "http://[::1]:3000/cb", "https://app.example.org/cb?tenant=1"}
	for _, uri := range ok {
		if _, _, err := d.CreateApp(context.Background(), portier.CLIActor("op"), directory.AppInput{Name: "A", RedirectURIs: []string{uri}}); err != nil {
			t.Errorf("%s refused: %v", uri, err)
		}
	}
	bad := map[string]string{
		"http://app.example.org/cb":      "https",
		"https://app.example.org/cb#x":   "fragment",
		"/cb":                            "absolute",
		"app.example.org/cb":             "absolute",
		"com.example.app:/cb":            "absolute",
		"https://user:pw@example.org/cb": "user name",
		"javascript:alert(1)":            "absolute",
	}
	for uri, want := range bad {
		_, _, err := d.CreateApp(context.Background(), portier.CLIActor("op"), directory.AppInput{Name: "A", RedirectURIs: []string{uri}})
		if portier.ErrorCode(err) != portier.EInvalid || !strings.Contains(portier.ErrorMessage(err), want) {
			t.Errorf("%s: %v, want EInvalid mentioning %q", uri, err, want)
		}
	}
	for _, in := range []directory.AppInput{{Name: " ", RedirectURIs: []string{"https://a.example.org/"}}, {Name: "No URI"}} {
		if _, _, err := d.CreateApp(context.Background(), portier.CLIActor("op"), in); portier.ErrorCode(err) != portier.EInvalid {
			t.Errorf("%+v: %v, want EInvalid", in, err)
		}
	}
}

func TestAppsOnlyForGlobalAdminsAndAudited(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		d := newService(t, store)
		userAdmin := create(t, d, "ua@example.org", portier.RoleUserAdmin)
		create(t, d, "plain@example.org")
		in := directory.AppInput{Name: "Wiki", RedirectURIs: []string{"https://wiki.example.org/cb"}}

		if _, _, err := d.CreateApp(ctx, actor(userAdmin), in); portier.ErrorCode(err) != portier.EForbidden {
			t.Fatalf("user admin creates an app: %v, want forbidden", err)
		}
		if ev := lastAudit(t, store); ev.Action != portier.ActionCreateApp || ev.Outcome != portier.OutcomeRefused {
			t.Fatalf("audit %+v, want a refused app.create", ev)
		}
		app, secret, err := d.CreateApp(ctx, portier.CLIActor("op"), in)
		if err != nil || secret == "" || !directory.CheckClientSecret(app, secret) || directory.CheckClientSecret(app, secret+"x") {
			t.Fatalf("create: %v (secret %d chars)", err, len(secret))
		}
		ev := lastAudit(t, store)
		if ev.Action != portier.ActionCreateApp || ev.Outcome != portier.OutcomeSuccess || ev.TargetID != app.ID || strings.Contains(ev.Detail, secret) {
			t.Fatalf("audit %+v", ev)
		}
		if _, err := d.ListApps(ctx, actor(userAdmin)); portier.ErrorCode(err) != portier.EForbidden {
			t.Fatalf("user admin lists apps: %v", err)
		}
		if err := d.DeleteApp(ctx, actor(userAdmin), app.ID); portier.ErrorCode(err) != portier.EForbidden {
			t.Fatalf("user admin deletes an app: %v", err)
		}

		in.AssignedOnly, in.Name = true, "Wiki 2"
		updated, err := d.UpdateApp(ctx, portier.CLIActor("op"), app.ID, in)
		if err != nil || !updated.AssignedOnly || updated.Name != "Wiki 2" || !directory.CheckClientSecret(updated, secret) {
			t.Fatalf("update: %+v %v", updated, err)
		}
		in.Public = true
		if _, err := d.UpdateApp(ctx, portier.CLIActor("op"), app.ID, in); portier.ErrorCode(err) != portier.EInvalid {
			t.Fatalf("confidential to public: %v, want EInvalid", err)
		}
		newSecret, err := d.NewAppSecret(ctx, portier.CLIActor("op"), app.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := testenv.Must(d.App(ctx, portier.CLIActor("op"), app.ID))(t)
		if directory.CheckClientSecret(got, secret) || !directory.CheckClientSecret(got, newSecret) {
			t.Fatal("the new secret did not replace the old one")
		}

		if err := d.SetAppAssigned(ctx, portier.CLIActor("op"), app.ID, "PLAIN@example.org", true); err != nil {
			t.Fatal(err)
		}
		if ev := lastAudit(t, store); ev.Action != portier.ActionAssignApp || ev.Target != "plain@example.org" || !strings.Contains(ev.Detail, "Wiki 2") {
			t.Fatalf("assignment audit %+v", ev)
		}
		users, err := d.ListAppUsers(ctx, portier.CLIActor("op"), app.ID)
		if err != nil || len(users) != 1 || users[0].UPN != "plain@example.org" {
			t.Fatalf("assigned users %v %v", users, err)
		}
		if err := d.SetAppAssigned(ctx, portier.CLIActor("op"), app.ID, "nobody@example.org", true); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatalf("assigning an unknown user: %v", err)
		}
		if err := d.DeleteApp(ctx, portier.CLIActor("op"), app.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := d.App(ctx, portier.CLIActor("op"), app.ID); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatalf("after delete: %v", err)
		}
	})
}
