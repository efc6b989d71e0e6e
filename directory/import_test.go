package directory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
)

// m365Header is the header row of Microsoft 365's bulk-add template.
const m365Header = "User name,First name,Last name,Display name,Job title,Department,Office number,Office phone,Mobile phone,Fax,Alternate email address,Address,City,State or province,ZIP or postal code,Country or region\n"

func TestImport500UsersWithThreeBadRows(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		d := newService(t, store)
		admin := create(t, d, "useradmin@example.org", portier.RoleUserAdmin)

		var csv strings.Builder
		csv.WriteString(m365Header)
		bad := map[int]string{ // line -> what the error must say
			101: "name@domain",
			202: "line 3 has it already",
			303: "No user name",
		}
		for line := 2; line <= 501; line++ {
			upn := fmt.Sprintf("person%03d@example.org", line)
			switch line {
			case 101:
				upn = "not-a-user-name"
			case 202:
				upn = "PERSON003@example.org" // the user of line 3, in another case
			case 303:
				upn = ""
			}
			fmt.Fprintf(&csv, "%s,Person,Number %d,,Clerk,Sales,,,,,,,Utrecht,,,Netherlands\n", upn, line)
		}
		results, err := d.ImportUsers(ctx, actor(admin), strings.NewReader(csv.String()), true)
		if err != nil {
			t.Fatal(err)
		}
		if len(results) != 500 {
			t.Fatalf("%d results, want 500", len(results))
		}
		created := 0
		passwords := map[string]bool{}
		for i, r := range results {
			if r.Line != i+2 {
				t.Fatalf("result %d is for line %d, want %d", i, r.Line, i+2)
			}
			if want, isBad := bad[r.Line]; isBad {
				if r.OK || !strings.Contains(r.Error, want) || r.Password != "" {
					t.Errorf("line %d: %+v, want an error containing %q and no password", r.Line, r, want)
				}
				continue
			}
			if !r.OK || r.Error != "" || len(r.Password) < 15 || passwords[r.Password] {
				t.Fatalf("line %d: %+v, want created with a fresh password", r.Line, r)
			}
			passwords[r.Password] = true
			created++
		}
		if created != 497 {
			t.Fatalf("%d created, want 497", created)
		}
		n, err := d.CountUsers(ctx, portier.UserFilter{})
		if err != nil || n != 498 {
			t.Fatalf("%d users in the directory (%v), want 497 + the admin", n, err)
		}
		u, err := d.User(ctx, "person042@example.org")
		if err != nil || u.DisplayName != "Person Number 42" || !u.PasswordProfile.ForceChangePasswordNextSignIn || !u.AccountEnabled {
			t.Fatalf("imported user %+v (%v), want display name from first and last name, forced change", u, err)
		}
		// The generated password is the one stored.
		pw := results[40].Password
		if res, err := d.Hasher().Verify(u.PasswordHash, pw); err != nil || !res.OK {
			t.Fatalf("the password of the result does not verify: %v", err)
		}

		events, err := store.ListAudit(ctx, portier.AuditFilter{Action: portier.ActionCreate, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[string]int{}
		for _, ev := range events {
			if ev.Actor != "useradmin@example.org" {
				continue
			}
			outcomes[ev.Outcome]++
			for p := range passwords {
				if strings.Contains(ev.Detail, p) {
					t.Fatal("a generated password is in the audit log")
				}
			}
		}
		if outcomes[portier.OutcomeSuccess] != 497 || outcomes[portier.OutcomeFailure] != 3 {
			t.Fatalf("audit outcomes %v, want 497 successes and 3 failures", outcomes)
		}
	})
}

func TestImportRefusedForHelpdeskAdmin(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		d := newService(t, store)
		help := create(t, d, "help@example.org", portier.RoleHelpdeskAdmin)
		_, err := d.ImportUsers(ctx, actor(help), strings.NewReader(m365Header+"new@example.org,New,Person\n"), true)
		if portier.ErrorCode(err) != portier.EForbidden {
			t.Fatalf("import by a helpdesk admin: %v, want forbidden", err)
		}
		if _, err := d.User(ctx, "new@example.org"); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatalf("a refused import created a user: %v", err)
		}
		if ev := lastAudit(t, store); ev.Outcome != portier.OutcomeRefused || ev.Actor != "help@example.org" || ev.Action != portier.ActionCreate {
			t.Fatalf("last audit entry %+v, want the refusal", ev)
		}
	})
}

func TestImportReadsHeaderVariants(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		d := newService(t, store)
		admin := actor(create(t, d, "boss@example.org", portier.RoleGlobalAdmin))
		create(t, d, "taken@example.org")
		cases := []struct {
			name, file string
			want       []string // "upn|display name" per created row, or "!error text"
		}{
			{"template with BOM and CRLF", "\ufeff" + strings.ReplaceAll(m365Header, "\n", "\r\n") +
				"a1@example.org,Sanne,de Vries,,,,,,,,,,,,,\r\n", []string{"a1@example.org|Sanne de Vries"}},
			{"lower case, reordered, extra columns", "display name;shoe size;user name;LAST NAME\n" +
				"Pieter B.;44;a2@example.org;Bakker\n", []string{"a2@example.org|Pieter B."}},
			{"semicolons with quoted commas", "User Name;Display Name\n\"a3@example.org\";\"Jansen, Emma\"\n", []string{"a3@example.org|Jansen, Emma"}},
			{"Entra template", "version:v1.0\nName [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required\n" +
				"Oliver Smith,a4@example.org,ignored\n", []string{"a4@example.org|Oliver Smith"}},
			{"user name only, blank rows skipped", "User name\n\na5@example.org\n,\n", []string{"a5@example.org|a5"}},
			{"Windows-1252 from Excel", "User name;Display name\na6@example.org;Jos\xe9 M\xfcller\n", []string{"a6@example.org|José Müller"}},
			{"taken in the directory", m365Header + "Taken@example.org,,,Someone\n", []string{"!already exists"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				results, err := d.ImportUsers(ctx, admin, strings.NewReader(c.file), false)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range results {
					if r.OK {
						got = append(got, r.UPN+"|"+r.DisplayName)
					} else {
						got = append(got, "!"+r.Error)
					}
				}
				if len(got) != len(c.want) {
					t.Fatalf("results %q, want %q", got, c.want)
				}
				for i := range got {
					if got[i] != c.want[i] && !(strings.HasPrefix(c.want[i], "!") && strings.Contains(got[i], c.want[i][1:])) {
						t.Fatalf("results %q, want %q", got, c.want)
					}
				}
			})
		}
		for name, file := range map[string]string{
			"no user name column": "First name,Last name\nA,B\n",
			"empty file":          "",
		} {
			if _, err := d.ImportUsers(ctx, admin, strings.NewReader(file), false); portier.ErrorCode(err) != portier.EInvalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
	})
}
