package main

import (
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestCLIApps(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			out := must(t, db, "", "apps", "create", "Wiki", "--redirect-uri", "https://wiki.example.org/callback",
				"--post-logout-redirect-uri", "https://wiki.example.org/", "--assigned-only")
			m := regexp.MustCompile(`(?m)^Client ID: (\S+)\nClient secret: (\S+)\n$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("apps create printed %q, want the client id and secret", out)
			}
			id, secret := m[1], m[2]
			if len(secret) < 43 {
				t.Fatalf("secret %q is shorter than 256 bits", secret)
			}
			out = must(t, db, "", "apps", "create", "SPA", "--redirect-uri", "http://localhost:5173/callback", "--public")
			if strings.Contains(out, "secret") {
				t.Fatalf("a public client got a secret: %q", out)
			}

			var list struct {
				Value []map[string]any `json:"value"`
			}
			raw := must(t, db, "", "apps", "list", "--json")
			if err := json.Unmarshal([]byte(raw), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Value) != 2 || list.Value[0]["displayName"] != "SPA" || list.Value[1]["clientId"] != id ||
				list.Value[1]["appRoleAssignmentRequired"] != true || list.Value[0]["publicClient"] != true {
				t.Fatalf("apps list --json: %s", raw)
			}
			if strings.Contains(raw, secret) || strings.Contains(raw, string(sha256Hex(secret))) {
				t.Fatal("the secret or its hash is in the listing")
			}
			if text := must(t, db, "", "apps", "list"); !strings.Contains(text, id) || !strings.Contains(text, "Wiki") {
				t.Fatalf("apps list: %s", text)
			}
			audit := must(t, db, "", "audit", "--json")
			if strings.Contains(audit, secret) || !strings.Contains(audit, "app.create") {
				t.Fatalf("audit after apps create: %s", audit)
			}

			refused(t, db, "", "redirect URI", "apps", "create", "Bad", "--redirect-uri", "http://example.org/callback")
			refused(t, db, "", "fragment", "apps", "create", "Bad", "--redirect-uri", "https://example.org/cb#x")
			refused(t, db, "", "--redirect-uri is required", "apps", "create", "Bad")

			must(t, db, "", "apps", "delete", id)
			refused(t, db, "", "No application", "apps", "delete", id)
			if err := json.Unmarshal([]byte(must(t, db, "", "apps", "list", "--json")), &list); err != nil || len(list.Value) != 1 {
				t.Fatalf("after delete: %v %v", list, err)
			}
		})
	}
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 64)
	for _, b := range h {
		out = append(out, hexdigits[b>>4], hexdigits[b&15])
	}
	return string(out)
}

// TestCLIAppsClientCredentials registers a script with application permissions, prints its
// secret once (with --json too), and changes the permissions.
func TestCLIAppsClientCredentials(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			raw := must(t, db, "", "apps", "create", "Unlock script", "--client-credentials",
				"--permission", "User.Read.All", "--permission", "user-passwordprofile.readwrite.all", "--json")
			var created map[string]any
			if err := json.Unmarshal([]byte(raw), &created); err != nil {
				t.Fatalf("apps create --json: %v: %s", err, raw)
			}
			id, _ := created["clientId"].(string)
			secret, _ := created["clientSecret"].(string)
			perms, _ := created["permissions"].([]any)
			if id == "" || len(secret) < 43 || created["tenantId"] == "" || len(perms) != 2 || perms[1] != "User-PasswordProfile.ReadWrite.All" {
				t.Fatalf("apps create --json: %s", raw)
			}
			text := must(t, db, "", "apps", "create", "Report", "--client-credentials", "--permission", "AuditLog.Read.All")
			if !regexp.MustCompile(`(?m)^Client ID: \S+\nClient secret: \S+\nTenant ID: \S+\nPermissions: AuditLog.Read.All\n$`).MatchString(text) {
				t.Fatalf("apps create printed %q", text)
			}
			out := must(t, db, "", "apps", "permissions", id, "--add", "User.RevokeSessions.All", "--remove", "User.Read.All")
			if !strings.Contains(out, "User-PasswordProfile.ReadWrite.All User.RevokeSessions.All") || strings.Contains(out, "User.Read.All ") {
				t.Fatalf("apps permissions: %q", out)
			}
			if out := must(t, db, "", "apps", "permissions", id, "--json"); !strings.Contains(out, `"User.RevokeSessions.All"`) || strings.Contains(out, secret) {
				t.Fatalf("apps permissions --json: %s", out)
			}
			refused(t, db, "", "Unknown application permission", "apps", "permissions", id, "--add", "Directory.ReadWrite.All")
			refused(t, db, "", "Unknown application permission", "apps", "create", "Bad", "--client-credentials", "--permission", "Mail.Send")
			refused(t, db, "", "--client-credentials", "apps", "create", "Bad", "--redirect-uri", "https://x.example.org/cb", "--permission", "User.Read.All")
			refused(t, db, "", "public client", "apps", "create", "Bad", "--client-credentials", "--public")
			if audit := must(t, db, "", "audit", "--json"); strings.Contains(audit, secret) || !strings.Contains(audit, "app.permissions") {
				t.Fatalf("audit: %s", audit)
			}
		})
	}
}
