package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// postFile sends a multipart form with a CSV file (none when file is nil) and the given fields.
func (b *browser) postFile(path string, file []byte, fields map[string]string) (*http.Response, string) {
	b.T.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw := testenv.Must(mw.CreateFormFile("file", "users.csv"))(b.T)
		fw.Write(file)
	}
	mw.Close()
	req := testenv.Must(http.NewRequest("POST", b.Base.String()+path, &body))(b.T)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, raw, err := b.Send(req)
	if err != nil {
		b.T.Fatalf("POST %s: %v", path, err)
	}
	return resp, raw
}

// importFile is a bulk-add file of n users in Microsoft 365's columns, with a Notes column
// long enough to take the file past the 64 KiB form limit; the rows at the bad line numbers
// (the header is line 1) have a user name that is missing, malformed or repeated.
func importFile(n int) (file []byte, bad map[int]string) {
	var buf bytes.Buffer
	buf.WriteString("User name,First name,Last name,Display name,Notes\n")
	bad = map[int]string{}
	for i := range n {
		line := i + 2
		upn := fmt.Sprintf("import%03d@example.org", i)
		switch i {
		case 100:
			upn, bad[line] = "", "No user name"
		case 200:
			upn, bad[line] = "not a user name", "not of the form"
		case 300:
			upn, bad[line] = "import000@example.org", "twice"
		}
		fmt.Fprintf(&buf, "%s,Imported,Person %d,,%s\n", upn, i, strings.Repeat("n", 200))
	}
	return buf.Bytes(), bad
}

var (
	importRow     = regexp.MustCompile(`<tr data-import-row="(\d+)" data-upn="[^"]*" data-result="(created|failed)">(?s:.*?)</tr>`)
	importSummary = regexp.MustCompile(`id="import-summary"[^>]*data-created="(\d+)" data-failed="(\d+)">([^<]*)<`)
	downloadForm  = regexp.MustCompile(`<form method="post" action="(/admin/users/import/passwords/[^"]+)"`)
)

func TestAdminImportUsers(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		in := newInstance(t, store, clock)
		ctx := context.Background()
		addUser(t, in.dir, "admin@example.org", "User Admin", portier.RoleUserAdmin)
		addUser(t, in.dir, "other@example.org", "Other Admin", portier.RoleUserAdmin)
		addUser(t, in.dir, "help@example.org", "Help Desk", portier.RoleHelpdeskAdmin)
		admin := signedIn(t, in, "admin@example.org")
		file, bad := importFile(500)
		if len(file) <= 64<<10 {
			t.Fatalf("the file is %d bytes: it must pass the 64 KiB form limit to test the import's own", len(file))
		}

		_, list := admin.do("GET", "/admin/users", nil)
		if !strings.Contains(list, `href="/admin/users/import" data-action="import-users"`) || !strings.Contains(list, "Add multiple users") {
			t.Fatal("Active users does not link to Add multiple users")
		}
		resp, form := admin.do("GET", "/admin/users/import", nil)
		if resp.StatusCode != 200 || !strings.Contains(form, `id="import-file"`) || !strings.Contains(form, `enctype="multipart/form-data"`) ||
			!regexp.MustCompile(`id="import-force-change" name="force_change" value="on" checked`).MatchString(form) {
			t.Fatalf("GET /admin/users/import: status %d, or no file input, or force change not ticked by default", resp.StatusCode)
		}
		token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(form)[1]

		resp, body := admin.postFile("/admin/users/import", file, map[string]string{"csrf_token": token, "force_change": "on"})
		if resp.StatusCode != 200 {
			t.Fatalf("POST /admin/users/import: status %d code %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		sum := importSummary.FindStringSubmatch(body)
		if sum == nil || sum[1] != "497" || sum[2] != "3" || strings.TrimSpace(sum[3]) != "497 created, 3 not created" {
			t.Fatalf("summary = %q, want 497 created, 3 not created", sum)
		}
		rows := importRow.FindAllStringSubmatch(body, -1)
		if len(rows) != 500 {
			t.Fatalf("%d result rows, want 500", len(rows))
		}
		for _, row := range rows {
			var line int
			testenv.Must(fmt.Sscan(row[1], &line))(t)
			want, isBad := bad[line]
			if isBad != (row[2] == "failed") || (isBad && !strings.Contains(row[0], want)) {
				t.Errorf("line %d: %s, want bad=%v with %q:\n%s", line, row[2], isBad, want, row[0])
			}
		}
		if _, err := in.dir.User(ctx, "import499@example.org"); err != nil {
			t.Fatalf("the last row's user: %v", err)
		}

		dl := downloadForm.FindStringSubmatch(body)
		if dl == nil || !strings.Contains(body, `id="download-passwords"`) {
			t.Fatal("no passwords download on the results page")
		}
		// Another admin cannot take it, and trying does not spend it.
		other := signedIn(t, in, "other@example.org")
		if resp, _ := other.post("/admin/users/import", dl[1], nil); resp.StatusCode != http.StatusGone {
			t.Fatalf("another admin's download: status %d, want 410", resp.StatusCode)
		}
		resp, csvBody := admin.post("/admin/users/import", dl[1], nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("download: status %d, headers %v", resp.StatusCode, resp.Header)
		}
		records, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
		if err != nil || len(records) != 498 || strings.Join(records[0], ",") != "User name,Display name,Password" {
			t.Fatalf("download: %d records (want a header and 497), err %v", len(records), err)
		}
		if records[1][0] != "import000@example.org" || records[1][1] != "Imported Person 0" || len(records[1][2]) < 15 {
			t.Fatalf("first row = %q", records[1])
		}
		for _, rec := range records[1:] {
			if strings.Contains(body, rec[2]) {
				t.Fatalf("the results page shows the password of %s", rec[0])
			}
		}
		if resp, _ := admin.post("/admin/users/import", dl[1], nil); resp.StatusCode != http.StatusGone {
			t.Fatalf("second download: status %d, want 410", resp.StatusCode)
		}
		// A downloaded password signs in, and the ticked box makes the user change it first.
		resp, _ = newBrowser(t, in.srv.URL).login(records[42][0], records[42][2], nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/change-password") {
			t.Fatalf("sign-in with an imported password: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// Neither the audit log nor anything else the store keeps holds a password.
		events := testenv.Must(in.dir.ListAudit(ctx, portier.AuditFilter{Action: portier.ActionCreate, Limit: 1000}))(t)
		if len(events) < 500 {
			t.Fatalf("%d create entries in the audit log, want every row", len(events))
		}
		for _, ev := range events {
			if strings.Contains(fmt.Sprint(*ev), records[42][2]) {
				t.Fatalf("an audit entry holds a generated password: %+v", ev)
			}
		}

		t.Run("the download expires", func(t *testing.T) {
			one := []byte("User name\nlate@example.org\n")
			_, body := admin.postFile("/admin/users/import", one, map[string]string{"csrf_token": admin.token("/admin/users/import")})
			dl := downloadForm.FindStringSubmatch(body)
			if dl == nil {
				t.Fatal("no download")
			}
			clock.Advance(11 * time.Minute)
			if resp, _ := admin.post("/admin/users/import", dl[1], nil); resp.StatusCode != http.StatusGone {
				t.Fatalf("download after 11 minutes: status %d, want 410", resp.StatusCode)
			}
		})
		t.Run("unticked, the users need not change their password", func(t *testing.T) {
			one := []byte("User name;Display name\nfree@example.org;Free Person\n")
			admin.postFile("/admin/users/import", one, map[string]string{"csrf_token": admin.token("/admin/users/import")})
			u, err := in.dir.User(ctx, "free@example.org")
			if err != nil || u.PasswordProfile.ForceChangePasswordNextSignIn {
				t.Fatalf("free@example.org: %v, force change %v", err, u != nil && u.PasswordProfile.ForceChangePasswordNextSignIn)
			}
		})
		t.Run("missing file, unreadable file", func(t *testing.T) {
			resp, body := admin.postFile("/admin/users/import", nil, map[string]string{"csrf_token": admin.token("/admin/users/import")})
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Choose a CSV file") || !strings.Contains(body, `id="import-file"`) {
				t.Fatalf("no file: status %d", resp.StatusCode)
			}
			resp, body = admin.postFile("/admin/users/import", []byte("Name,Mail\nx,y\n"), map[string]string{"csrf_token": admin.token("/admin/users/import")})
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no User name column") {
				t.Fatalf("no User name column: status %d", resp.StatusCode)
			}
		})
		t.Run("missing or forged CSRF token creates nobody", func(t *testing.T) {
			one := []byte("User name\nforged@example.org\n")
			for _, fields := range []map[string]string{{}, {"csrf_token": "forged-token-value"}} {
				resp, body := admin.postFile("/admin/users/import", one, fields)
				if resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(body) != "90100" {
					t.Fatalf("token %v: status %d code %s, want 400 and 90100", fields, resp.StatusCode, testserver.ErrorCode(body))
				}
			}
			if _, err := in.dir.User(ctx, "forged@example.org"); portier.ErrorCode(err) != portier.ENotFound {
				t.Fatalf("forged@example.org exists after a forged import: %v", err)
			}
		})
		t.Run("a helpdesk admin may not", func(t *testing.T) {
			help := signedIn(t, in, "help@example.org")
			if _, list := help.do("GET", "/admin/users", nil); strings.Contains(list, `href="/admin/users/import"`) {
				t.Fatal("a helpdesk admin is offered Add multiple users")
			}
			if resp, _ := help.do("GET", "/admin/users/import", nil); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("helpdesk GET: status %d, want 403", resp.StatusCode)
			}
			one := []byte("User name\nsneaky@example.org\n")
			resp, _ := help.postFile("/admin/users/import", one, map[string]string{"csrf_token": help.token("/myaccount")})
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("helpdesk POST: status %d, want 403", resp.StatusCode)
			}
			if _, err := in.dir.User(ctx, "sneaky@example.org"); portier.ErrorCode(err) != portier.ENotFound {
				t.Fatalf("sneaky@example.org exists: %v", err)
			}
			refused := audited(t, in.dir, portier.ActionCreate, "CSV import")
			if len(refused) != 1 || refused[0].Outcome == portier.OutcomeSuccess || refused[0].Actor != "help@example.org" {
				t.Fatalf("refused import in the audit log: %+v", refused)
			}
		})
		t.Run("in Dutch", func(t *testing.T) {
			admin.lang = "nl"
			defer func() { admin.lang = "" }()
			_, list := admin.do("GET", "/admin/users", nil)
			if !strings.Contains(list, "Meerdere gebruikers toevoegen") {
				t.Fatal("the Dutch Active users page lacks Meerdere gebruikers toevoegen")
			}
		})
	})
}

// TestImportPasswordsDownloadEscapesFormulas: a valid user name can start with = + - |, and
// the passwords download must not hand it to a spreadsheet as a formula.
func TestImportPasswordsDownloadEscapesFormulas(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstance(t, store, testenv.NewClock())
		addUser(t, in.dir, "admin@example.org", "User Admin", portier.RoleUserAdmin)
		admin := signedIn(t, in, "admin@example.org")
		file := []byte("User name,Display name\n=1+2@example.org,＝HYPERLINK(1)\n+x@example.org, =1\n-x@example.org,Minus\n|x@example.org,Pipe\n")
		_, body := admin.postFile("/admin/users/import", file, map[string]string{"csrf_token": admin.token("/admin/users/import")})
		dl := downloadForm.FindStringSubmatch(body)
		if dl == nil {
			t.Fatalf("no download: %s", testserver.ErrorCode(body))
		}
		_, csvBody := admin.post("/admin/users/import", dl[1], nil)
		records, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
		if err != nil || len(records) != 5 {
			t.Fatalf("download: %d records, err %v", len(records), err)
		}
		want := [][2]string{{"'=1+2@example.org", "'＝HYPERLINK(1)"}, {"'+x@example.org", "'=1"}, {"'-x@example.org", "Minus"}, {"'|x@example.org", "Pipe"}}
		for i, w := range want {
			if rec := records[i+1]; rec[0] != w[0] || rec[1] != w[1] || strings.HasPrefix(rec[2], "'") {
				t.Errorf("row %d = %q, want user name %q and display name %q, the password as generated", i+1, rec, w[0], w[1])
			}
		}
	})
}
