package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// appsOperator is the operator at the command line: a global admin.
var appsOperator = portier.CLIActor("test")

// addApp registers an application as the CLI would and returns it.
func addApp(t testing.TB, dir *directory.Service, in directory.AppInput) *portier.App {
	t.Helper()
	app, _, err := dir.CreateApp(context.Background(), appsOperator, in)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// appsNamed returns the registered applications with the name.
func appsNamed(t testing.TB, dir *directory.Service, name string) []*portier.App {
	t.Helper()
	all, err := dir.ListApps(context.Background(), appsOperator)
	if err != nil {
		t.Fatal(err)
	}
	var out []*portier.App
	for _, a := range all {
		if a.Name == name {
			out = append(out, a)
		}
	}
	return out
}

var shownSecret = regexp.MustCompile(`id="client-secret" type="text" value="([^"]+)"`)

func TestAdminAppsCreateShowsSecretOnce(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		b := signedIn(t, in, "boss@example.org")

		_, users := b.do("GET", "/admin/users", nil)
		if !strings.Contains(users, `href="/admin/apps" data-nav="apps"`) {
			t.Fatal("a global admin's navigation has no Applications entry")
		}
		resp, list := b.do("GET", "/admin/apps", nil)
		if resp.StatusCode != 200 || !strings.Contains(list, "No applications are registered.") || !strings.Contains(list, `data-nav="apps" aria-current="page"`) {
			t.Fatalf("empty Applications page: status %d", resp.StatusCode)
		}
		if strings.Contains(list, "<script>") || !strings.Contains(list, `<script src="/static/admin.js" defer></script>`) {
			t.Fatal("the Applications page has inline script, or lacks its external script")
		}

		resp, body := b.post("/admin/apps/new", "/admin/apps/new", url.Values{
			"name":             {"Payroll"},
			"redirect_uris":    {"https://payroll.example.org/callback\r\n\r\nhttp://localhost:8400/callback\r\n"},
			"post_logout_uris": {"https://payroll.example.org/"},
			"assigned_only":    {"on"},
		})
		m := shownSecret.FindStringSubmatch(body)
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("register: status %d, no client secret shown", resp.StatusCode)
		}
		secret := m[1]
		if !strings.Contains(body, `data-copy="client-secret"`) || !strings.Contains(body, "/.well-known/openid-configuration") {
			t.Fatal("the secret page has no copy button or no discovery address")
		}
		apps := appsNamed(t, in.dir, "Payroll")
		if len(apps) != 1 {
			t.Fatalf("%d applications named Payroll, want 1", len(apps))
		}
		app := apps[0]
		if app.Public || !app.AssignedOnly || len(app.RedirectURIs) != 2 || app.RedirectURIs[1] != "http://localhost:8400/callback" ||
			len(app.PostLogoutURIs) != 1 || !strings.Contains(body, `value="`+app.ID+`"`) {
			t.Fatalf("registered application: %+v", app)
		}
		if !directory.CheckClientSecret(app, secret) || directory.CheckClientSecret(app, secret+"x") {
			t.Fatal("the secret shown is not the application's")
		}
		// Shown once: neither the list nor the details page holds it again.
		for _, path := range []string{"/admin/apps", "/admin/apps/" + app.ID, "/admin/apps/" + app.ID + "/edit"} {
			resp, page := b.do("GET", path, nil)
			if resp.StatusCode != 200 || strings.Contains(page, secret) {
				t.Fatalf("GET %s: status %d, or the secret is shown again", path, resp.StatusCode)
			}
		}
		_, list = b.do("GET", "/admin/apps", nil)
		if !strings.Contains(list, `<tr data-app="`+app.ID+`" data-public="false" data-assigned-only="true">`) ||
			!strings.Contains(list, "https://payroll.example.org/callback") || !strings.Contains(list, "Confidential") {
			t.Fatal("the list does not show the application with its type, redirect URIs and assignment requirement")
		}
		evs := audited(t, in.dir, portier.ActionCreateApp, "Payroll")
		if len(evs) != 1 || evs[0].Outcome != portier.OutcomeSuccess || evs[0].Actor != "boss@example.org" || strings.Contains(evs[0].Detail, secret) {
			t.Fatalf("audit of the registration: %+v", evs)
		}

		// A new secret replaces the old one, shown once too.
		if resp, page := b.do("GET", "/admin/apps/"+app.ID+"/secret", nil); resp.StatusCode != 200 || !strings.Contains(page, `data-form="new-secret"`) {
			t.Fatalf("new secret confirmation: %d", resp.StatusCode)
		}
		resp, body = b.post("/admin/apps/"+app.ID+"/secret", "/admin/apps/"+app.ID+"/secret", nil)
		m = shownSecret.FindStringSubmatch(body)
		if resp.StatusCode != 200 || m == nil || m[1] == secret {
			t.Fatalf("new secret: status %d, no new secret shown", resp.StatusCode)
		}
		app = testenv.Must(in.dir.App(context.Background(), appsOperator, app.ID))(t)
		if directory.CheckClientSecret(app, secret) || !directory.CheckClientSecret(app, m[1]) {
			t.Fatal("the old secret still works, or the new one does not")
		}

		// A public client gets no secret: the page goes straight to the application.
		resp, _ = b.post("/admin/apps/new", "/admin/apps/new", url.Values{"name": {"Phone app"}, "redirect_uris": {"http://127.0.0.1:9000/cb"}, "public": {"on"}})
		public := appsNamed(t, in.dir, "Phone app")
		if resp.StatusCode != http.StatusSeeOther || len(public) != 1 || !public[0].Public || len(public[0].SecretHash) != 0 ||
			resp.Header.Get("Location") != "/admin/apps/"+public[0].ID+"?done=created" {
			t.Fatalf("public client: status %d location %q apps %+v", resp.StatusCode, resp.Header.Get("Location"), public)
		}
		_, page := b.do("GET", resp.Header.Get("Location"), nil)
		if !strings.Contains(page, "The application has been registered.") || !strings.Contains(page, `data-client-type="public"`) || strings.Contains(page, `data-action="new-secret"`) {
			t.Fatal("the public client's page lacks the notice or its type, or offers a secret")
		}
	})
}

func TestAdminAppsRefusedToOtherAdmins(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "help@example.org", "Help Desk", portier.RoleHelpdeskAdmin)
		addUser(t, in.dir, "useradmin@example.org", "User Admin", portier.RoleUserAdmin)
		addUser(t, in.dir, "plain@example.org", "Plain User")
		app := addApp(t, in.dir, directory.AppInput{Name: "Wiki", RedirectURIs: []string{"https://wiki.example.org/cb"}})

		for _, upn := range []string{"help@example.org", "useradmin@example.org"} {
			b := signedIn(t, in, upn)
			if _, page := b.do("GET", "/admin/users", nil); strings.Contains(page, `href="/admin/apps"`) {
				t.Errorf("%s is offered Applications", upn)
			}
			for _, path := range []string{"/admin/apps", "/admin/apps/new", "/admin/apps/" + app.ID, "/admin/apps/" + app.ID + "/edit", "/admin/apps/" + app.ID + "/delete"} {
				if resp, body := b.do("GET", path, nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `data-error="forbidden"`) || strings.Contains(body, "wiki.example.org") {
					t.Errorf("%s GET %s: status %d, want the 403 page", upn, path, resp.StatusCode)
				}
			}
			// Forged posts: refused by the directory, audited as refused, nothing changed.
			for _, forged := range []struct {
				path   string
				form   url.Values
				action portier.Action
				target string
			}{
				{"/admin/apps/new", url.Values{"name": {"Sneaky"}, "redirect_uris": {"https://evil.example.org/cb"}}, portier.ActionCreateApp, "Sneaky"},
				{"/admin/apps/" + app.ID + "/edit", url.Values{"name": {"Renamed"}, "redirect_uris": {"https://evil.example.org/cb"}}, portier.ActionUpdateApp, app.ID},
				{"/admin/apps/" + app.ID + "/secret", nil, portier.ActionUpdateApp, app.ID},
				{"/admin/apps/" + app.ID + "/delete", nil, portier.ActionDeleteApp, app.ID},
				{"/admin/apps/" + app.ID + "/users", url.Values{"upn": {upn}}, portier.ActionAssignApp, app.ID},
			} {
				before := len(audited(t, in.dir, forged.action, forged.target))
				resp, _ := b.post("/myaccount", forged.path, forged.form)
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s forged POST %s: status %d, want 403", upn, forged.path, resp.StatusCode)
				}
				evs := audited(t, in.dir, forged.action, forged.target)
				if len(evs) != before+1 || evs[0].Outcome != portier.OutcomeRefused || evs[0].Actor != upn {
					t.Errorf("%s forged POST %s: audit %+v, want one more refused entry", upn, forged.path, evs)
				}
			}
		}
		plain := signedIn(t, in, "plain@example.org")
		if resp, _ := plain.do("GET", "/admin/apps", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("plain user GET /admin/apps: %d, want 403", resp.StatusCode)
		}
		got, err := in.dir.App(context.Background(), appsOperator, app.ID)
		if err != nil || got.Name != "Wiki" || got.RedirectURIs[0] != "https://wiki.example.org/cb" {
			t.Fatalf("the application changed: %+v, %v", got, err)
		}
		if users := testenv.Must(in.dir.ListAppUsers(context.Background(), appsOperator, app.ID))(t); len(users) != 0 {
			t.Fatalf("a refused assignment assigned %d users", len(users))
		}
		if len(appsNamed(t, in.dir, "Sneaky")) != 0 {
			t.Fatal("a refused registration created an application")
		}
	})
}

func TestAdminAppsBadRedirectURI(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		b := signedIn(t, in, "boss@example.org")

		for _, tc := range []struct {
			uris, want string
		}{
			{"http://crm.example.org/callback", "must use https"},
			{"/callback", "is not an absolute URI"},
			{"https://crm.example.org/cb#frag", "fragment"},
			{"\r\n", "at least one redirect URI"},
		} {
			resp, body := b.post("/admin/apps/new", "/admin/apps/new", url.Values{"name": {"CRM"}, "redirect_uris": {tc.uris}, "assigned_only": {"on"}})
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), tc.want) || testserver.ErrorCode(body) != "90100" {
				t.Errorf("redirect URI %q: status %d code %s, want 400 saying %q", tc.uris, resp.StatusCode, testserver.ErrorCode(body), tc.want)
			}
			// The form keeps what was typed.
			if !strings.Contains(body, `value="CRM"`) || !strings.Contains(body, `id="assigned-only" name="assigned_only" value="on" checked`) {
				t.Errorf("redirect URI %q: the form lost what was typed", tc.uris)
			}
			if shownSecret.MatchString(body) {
				t.Errorf("redirect URI %q: a secret was shown", tc.uris)
			}
		}
		if apps := appsNamed(t, in.dir, "CRM"); len(apps) != 0 {
			t.Fatalf("%d applications created from bad forms", len(apps))
		}

		// Editing to a bad URI changes nothing either.
		app := addApp(t, in.dir, directory.AppInput{Name: "CRM", RedirectURIs: []string{"https://crm.example.org/cb"}})
		resp, body := b.post("/admin/apps/"+app.ID+"/edit", "/admin/apps/"+app.ID+"/edit", url.Values{"name": {"CRM 2"}, "redirect_uris": {"ftp://crm.example.org/cb"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), "ftp://crm.example.org/cb") {
			t.Fatalf("edit to a bad URI: status %d", resp.StatusCode)
		}
		if got := testenv.Must(in.dir.App(context.Background(), appsOperator, app.ID))(t); got.Name != "CRM" || got.RedirectURIs[0] != "https://crm.example.org/cb" {
			t.Fatalf("a failed edit changed the application: %+v", got)
		}
	})
}

func TestAdminAppsEditAndDelete(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		app := addApp(t, in.dir, directory.AppInput{Name: "Intranet", RedirectURIs: []string{"https://intranet.example.org/cb"}})
		b := signedIn(t, in, "boss@example.org")
		path := "/admin/apps/" + app.ID

		_, edit := b.do("GET", path+"/edit", nil)
		if !strings.Contains(edit, `value="Intranet"`) || !strings.Contains(edit, ">https://intranet.example.org/cb</textarea>") || strings.Contains(edit, `name="public"`) {
			t.Fatal("the edit form does not hold the registration, or offers to change the client type")
		}
		resp, _ := b.post(path+"/edit", path+"/edit", url.Values{"name": {"Intranet 2"},
			"redirect_uris": {"https://intranet.example.org/cb\nhttps://intranet.example.org/cb2"}, "assigned_only": {"on"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?done=saved" {
			t.Fatalf("edit: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		got := testenv.Must(in.dir.App(context.Background(), appsOperator, app.ID))(t)
		if got.Name != "Intranet 2" || len(got.RedirectURIs) != 2 || !got.AssignedOnly || got.Public {
			t.Fatalf("after edit: %+v", got)
		}

		_, confirm := b.do("GET", path+"/delete", nil)
		if !strings.Contains(confirm, `data-form="delete-app"`) || !strings.Contains(confirm, "Delete Intranet 2") {
			t.Fatal("the delete page does not ask for confirmation")
		}
		if _, err := in.dir.App(context.Background(), appsOperator, app.ID); err != nil {
			t.Fatal("the confirmation page deleted the application")
		}
		resp, _ = b.post(path+"/delete", path+"/delete", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/apps?done=deleted" {
			t.Fatalf("delete: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, err := in.dir.App(context.Background(), appsOperator, app.ID); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatalf("after delete: %v, want not found", err)
		}
		_, list := b.do("GET", "/admin/apps?done=deleted", nil)
		if !strings.Contains(list, "The application has been deleted.") || strings.Contains(list, app.ID) {
			t.Fatal("the list still shows the deleted application, or no notice")
		}
		if resp, body := b.do("GET", path, nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Application not found") {
			t.Fatalf("deleted application's page: %d, want 404", resp.StatusCode)
		}
		if resp, _ := b.post("/admin/apps/new", path+"/delete", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("deleting again: %d, want 404", resp.StatusCode)
		}
		if evs := audited(t, in.dir, portier.ActionDeleteApp, "Intranet 2"); len(evs) != 1 || evs[0].Outcome != portier.OutcomeSuccess {
			t.Fatalf("audit of the delete: %+v", evs)
		}
	})
}

func TestAdminAppsAssignment(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		addUser(t, in.dir, "anna@example.org", "Anna Jansen")
		addUser(t, in.dir, "bram@example.org", "Bram de Wit")
		app := addApp(t, in.dir, directory.AppInput{Name: "Timesheets", RedirectURIs: []string{"https://time.example.org/cb"}, AssignedOnly: true})
		b := signedIn(t, in, "boss@example.org")
		path := "/admin/apps/" + app.ID
		assigned := func() []string {
			t.Helper()
			users, err := in.dir.ListAppUsers(context.Background(), appsOperator, app.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, u := range users {
				out = append(out, u.UPN)
			}
			return out
		}

		_, page := b.do("GET", path, nil)
		if !strings.Contains(page, "Only the users below may sign in") || !strings.Contains(page, "No users are assigned.") {
			t.Fatal("the page of an assigned-only application does not say who may sign in")
		}
		for _, upn := range []string{"Anna@Example.org", "bram@example.org"} {
			resp, _ := b.post(path, path+"/users", url.Values{"upn": {upn}})
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?done=assigned" {
				t.Fatalf("assign %s: status %d location %q", upn, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		if got := assigned(); strings.Join(got, " ") != "anna@example.org bram@example.org" {
			t.Fatalf("assigned users: %v", got)
		}
		_, page = b.do("GET", path+"?done=assigned", nil)
		if !strings.Contains(page, `data-assigned-user="anna@example.org"`) || !strings.Contains(page, `data-assigned-user="bram@example.org"`) || !strings.Contains(page, "The user has been assigned.") {
			t.Fatal("the page does not list the assigned users")
		}

		resp, body := b.post(path, path+"/users", url.Values{"upn": {"nobody@example.org"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "There is no user named nobody@example.org.") || !strings.Contains(body, `value="nobody@example.org"`) {
			t.Fatalf("assign an unknown user: status %d", resp.StatusCode)
		}
		if resp, body := b.post(path, path+"/users", url.Values{"upn": {"  "}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Type the user name") {
			t.Fatalf("assign with no user name: status %d", resp.StatusCode)
		}

		resp, _ = b.post(path, path+"/users/remove", url.Values{"upn": {"anna@example.org"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path+"?done=unassigned" {
			t.Fatalf("unassign: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if got := assigned(); strings.Join(got, " ") != "bram@example.org" {
			t.Fatalf("assigned users after removing Anna: %v", got)
		}
		evs := audited(t, in.dir, portier.ActionAssignApp, "anna@example.org")
		if len(evs) != 2 || evs[0].Outcome != portier.OutcomeSuccess || !strings.Contains(evs[0].Detail, "unassigned from Timesheets") || !strings.Contains(evs[1].Detail, "assigned to Timesheets") {
			t.Fatalf("audit of the assignment: %+v", evs)
		}
		// The audit log page names the activity and offers it in its filter.
		_, log := b.do("GET", "/admin/audit?action=app.assign", nil)
		if !strings.Contains(log, "Assign user to application") || strings.Count(log, `data-outcome="success"`) != 3 {
			t.Fatal("the audit log page does not show the assignments")
		}
	})
}

func TestAdminAppsInDutch(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "boss@example.org", "De Baas", portier.RoleGlobalAdmin)
		app := addApp(t, in.dir, directory.AppInput{Name: "Rooster", RedirectURIs: []string{"https://rooster.example.org/cb"}, AssignedOnly: true})
		b := signedIn(t, in, "boss@example.org")
		b.lang = "nl-NL,nl;q=0.9"

		_, list := b.do("GET", "/admin/apps", nil)
		for _, want := range []string{`lang="nl"`, `data-nav="apps" aria-current="page">Toepassingen</a>`, "Client-id", "Vertrouwelijk", "Toewijzing vereist"} {
			if !strings.Contains(list, want) {
				t.Errorf("Applications in Dutch lacks %q", want)
			}
		}
		_, details := b.do("GET", "/admin/apps/"+app.ID, nil)
		for _, want := range []string{"Toegewezen gebruikers", "Toepassing bewerken", "Nieuw clientgeheim", "Toewijzen"} {
			if !strings.Contains(details, want) {
				t.Errorf("an application's page in Dutch lacks %q", want)
			}
		}
		_, form := b.do("GET", "/admin/apps/new", nil)
		if !strings.Contains(form, "Alleen toegewezen gebruikers mogen zich aanmelden") || !strings.Contains(form, "Omleidings-URI") {
			t.Error("the register form is not in Dutch")
		}
	})
}

// TestAdminAppAPIPermissions registers a script in the admin center and grants its API
// permissions (Applications > API permissions): global admins only, audited, in English and
// Dutch; the tenant id and token endpoint are shown for the script's configuration.
func TestAdminAppAPIPermissions(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		addUser(t, in.dir, "ua@example.org", "User Admin", portier.RoleUserAdmin)
		b := signedIn(t, in, "boss@example.org")

		resp, body := b.post("/admin/apps/new", "/admin/apps/new", url.Values{"name": {"Unlock script"}, "client_credentials": {"on"}})
		if resp.StatusCode != 200 || shownSecret.FindStringSubmatch(body) == nil {
			t.Fatalf("register a script: status %d", resp.StatusCode)
		}
		script := appsNamed(t, in.dir, "Unlock script")[0]
		if !script.ClientCredentials || len(script.RedirectURIs) != 0 {
			t.Fatalf("registered %+v", script)
		}
		page := "/admin/apps/" + script.ID
		_, body = b.do("GET", page, nil)
		tenant := testenv.Must(in.dir.TenantID(t.Context()))(t)
		if !strings.Contains(body, `data-tenant-id>`+tenant+`<`) || !strings.Contains(body, "/oauth2/token</code>") ||
			strings.Count(body, `name="permission"`) != len(portier.AppPermissions) || strings.Contains(body, " checked") {
			t.Fatal("the API permissions section is missing or not empty")
		}
		resp, _ = b.post(page, page+"/permissions", url.Values{"permission": {portier.PermUserRead, portier.PermUserUnlock}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page+"?done=permissions" {
			t.Fatalf("save permissions: status %d", resp.StatusCode)
		}
		got := appsNamed(t, in.dir, "Unlock script")[0].Permissions
		if len(got) != 2 || got[0] != portier.PermUserRead || got[1] != portier.PermUserUnlock {
			t.Fatalf("permissions %v", got)
		}
		_, body = b.do("GET", page+"?done=permissions", nil)
		if !strings.Contains(body, "The API permissions have been saved.") || strings.Count(body, " checked") != 2 {
			t.Fatal("the saved permissions are not shown")
		}
		b.lang = "nl"
		if _, body = b.do("GET", page, nil); !strings.Contains(body, "API-machtigingen") || !strings.Contains(body, "Toepassingsmachtigingen") {
			t.Fatal("the API permissions section is not in Dutch")
		}
		b.lang = ""
		resp, _ = b.post(page, page+"/permissions", url.Values{"permission": {"Mail.Send"}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("an unknown permission: status %d", resp.StatusCode)
		}

		// A user admin may neither see nor change them; the refusal is audited.
		ua := signedIn(t, in, "ua@example.org")
		if resp, _ := ua.do("GET", page, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a user admin's view: status %d", resp.StatusCode)
		}
		resp, _ = ua.post("/myaccount", page+"/permissions", url.Values{"permission": {portier.PermUserReadWrite}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a user admin's change: status %d", resp.StatusCode)
		}
		events := testenv.Must(in.dir.ListAudit(t.Context(), portier.AuditFilter{Action: portier.ActionAppPermissions}))(t)
		if len(events) != 3 || events[0].Outcome != portier.OutcomeRefused || events[2].Outcome != portier.OutcomeSuccess ||
			!strings.Contains(events[2].Detail, "(none) -> User.Read.All,Portier.User.Unlock.All") {
			t.Fatalf("audit of permission changes: %+v", events)
		}
	})
}
