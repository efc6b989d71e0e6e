package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portier-id/portier/internal/testenv"
)

// TestMain lets the tests start the test binary itself as real portier processes.
func TestMain(m *testing.M) {
	if os.Getenv("PORTIER_RUN_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// cheapHashEnv lowers the argon2id cost for tests, as the README allows.
var cheapHashEnv = map[string]string{"PORTIER_ARGON2_MEMORY": "64", "PORTIER_ARGON2_TIME": "1"}

// cli runs the command line in-process against db and returns stdout, stderr and the error.
func cli(t *testing.T, db, stdin string, args ...string) (string, string, error) {
	t.Helper()
	env := map[string]string{"PORTIER_DB": db}
	for k, v := range cheapHashEnv {
		env[k] = v
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// must runs the command line and fails the test when it fails.
func must(t *testing.T, db, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := cli(t, db, stdin, args...)
	if err != nil {
		t.Fatalf("portier %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// refused runs the command line, expects it to fail with one line on stderr containing want,
// and returns what it wrote on stdout.
func refused(t *testing.T, db, stdin, want string, args ...string) string {
	t.Helper()
	out, errOut, err := cli(t, db, stdin, args...)
	if err == nil {
		t.Fatalf("portier %s succeeded, want a refusal", strings.Join(args, " "))
	}
	if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("portier %s: stderr %q, want one line containing %q", strings.Join(args, " "), errOut, want)
	}
	return out
}

// databases are the stores every CLI test runs against.
func databases(t *testing.T) map[string]string {
	return map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "portier.db"),
		"postgres": testenv.PostgresURL(t),
	}
}

func TestCLIRoundTrip(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			must(t, db, "correct horse battery staple\n", "users", "create", "Ada@Example.org", "--display-name", "Ada Lovelace", "--mail", "ada@example.org", "--password-stdin")
			must(t, db, "", "users", "block", "ada@example.org")
			var u struct {
				UPN            string `json:"userPrincipalName"`
				AccountEnabled bool   `json:"accountEnabled"`
				Lockout        struct {
					Locked bool `json:"locked"`
				} `json:"lockout"`
				PasswordProfile struct {
					Force bool `json:"forceChangePasswordNextSignIn"`
				} `json:"passwordProfile"`
			}
			if err := json.Unmarshal([]byte(must(t, db, "", "users", "show", "ADA@example.org", "--json")), &u); err != nil {
				t.Fatal(err)
			}
			if u.UPN != "ada@example.org" || u.AccountEnabled {
				t.Fatalf("after block: %+v, want accountEnabled false", u)
			}
			must(t, db, "", "users", "unblock", "ada@example.org")
			generated := strings.TrimSpace(must(t, db, "", "users", "reset-password", "ada@example.org", "--generate-password"))
			if len(generated) < 16 || strings.Contains(generated, " ") {
				t.Fatalf("generated password %q, want at least 16 characters on one line", generated)
			}
			testenv.NoErr(t, jsonUnmarshal(must(t, db, "", "users", "show", "ada@example.org", "--json"), &u))
			if !u.AccountEnabled || !u.PasswordProfile.Force {
				t.Fatalf("after unblock and reset: %+v", u)
			}
			var audit struct {
				Value []struct {
					Actor   string `json:"initiatedBy"`
					Action  string `json:"activity"`
					Target  string `json:"target"`
					Outcome string `json:"result"`
					Detail  string `json:"resultReason"`
				} `json:"value"`
			}
			if err := json.Unmarshal([]byte(must(t, db, "", "audit", "--json")), &audit); err != nil {
				t.Fatal(err)
			}
			var steps []string
			for i := len(audit.Value) - 1; i >= 0; i-- {
				e := audit.Value[i]
				if e.Actor != "cli:"+osUser() || e.Target != "ada@example.org" || e.Outcome != "success" {
					t.Errorf("audit entry %+v", e)
				}
				if strings.Contains(e.Detail, generated) {
					t.Fatal("the generated password is in the audit log")
				}
				steps = append(steps, e.Action)
			}
			want := "user.create user.block user.unblock user.reset-password"
			if strings.Join(steps, " ") != want {
				t.Fatalf("audit steps = %v, want %s", steps, want)
			}
			list := must(t, db, "", "users", "list", "--search", "ad")
			if !strings.Contains(list, "ada@example.org") {
				t.Fatalf("list: %s", list)
			}
			must(t, db, "", "users", "revoke-sessions", "ada@example.org")
			must(t, db, "", "users", "unlock", "ada@example.org")
			must(t, db, "", "users", "delete", "ada@example.org")
			refused(t, db, "", "No user named ada@example.org", "users", "show", "ada@example.org")
		})
	}
}

func TestCLIRefusesBadInput(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			must(t, db, "correct horse battery staple\n", "users", "create", "bo@example.org", "--display-name", "Bo", "--password-stdin")
			cases := []struct {
				name, stdin, want string
				args              []string
			}{
				{"duplicate in another case", "another fine passphrase\n", "already exists", []string{"users", "create", "BO@EXAMPLE.ORG", "--display-name", "Bo 2", "--password-stdin"}},
				{"malformed UPN", "another fine passphrase\n", "name@domain", []string{"users", "create", "bo-at-example", "--display-name", "Bo", "--password-stdin"}},
				{"unknown user", "", "No user named", []string{"users", "unlock", "nobody@example.org"}},
				{"short password", "short\n", "at least 15", []string{"users", "create", "cy@example.org", "--display-name", "Cy", "--password-stdin"}},
				{"blocklisted password", "passwordpassword\n", "", []string{"users", "create", "cy@example.org", "--display-name", "Cy", "--password-stdin"}},
				{"context word", "cyrilcyril is my name\n", "", []string{"users", "create", "cyril@example.org", "--display-name", "Cyril", "--password-stdin"}},
				{"missing display name", "another fine passphrase\n", "--display-name is required", []string{"users", "create", "cy@example.org", "--password-stdin"}},
				{"no password source", "", "--password-stdin or --generate-password", []string{"users", "create", "cy@example.org", "--display-name", "Cy"}},
				{"unknown role", "", "Unknown role", []string{"users", "create", "cy@example.org", "--display-name", "Cy", "--role", "root", "--generate-password"}},
				{"bad status filter", "", "--status must be", []string{"users", "list", "--status", "sleepy"}},
				{"missing argument", "", "needs UPN", []string{"users", "show"}},
			}
			for _, c := range cases {
				refused(t, db, c.stdin, c.want, c.args...)
			}
			// Nothing half-written: still one user, and every refusal that reached the service is audited.
			out := must(t, db, "", "users", "list", "--json")
			var list struct{ Value []map[string]any }
			testenv.NoErr(t, jsonUnmarshal(out, &list))
			if len(list.Value) != 1 {
				t.Fatalf("%d users after refusals, want 1", len(list.Value))
			}
		})
	}
}

func TestCLIStoreErrors(t *testing.T) {
	// A path below a regular file cannot be created, not even by root.
	file := filepath.Join(t.TempDir(), "a-file")
	testenv.NoErr(t, os.WriteFile(file, nil, 0o600))
	refused(t, "sqlite:"+filepath.Join(file, "p.db"), "", "p.db", "users", "list")
	refused(t, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", "", "127.0.0.1:1", "users", "list")
	refused(t, "mysql://x", "", "--db must be", "users", "list")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// osUser is the operating-system user the audit log names for the CLI.
func osUser() string {
	u, err := user.Current()
	if err != nil {
		return os.Getenv("USER")
	}
	return u.Username
}

func TestCLISettings(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "portier.db")
	var shown map[string]string
	testenv.NoErr(t, jsonUnmarshal(must(t, db, "", "settings", "show", "--json"), &shown))
	if shown["lockout-threshold"] != "10" || shown["lockout-duration"] != "1m" || shown["password-min-length"] != "15" {
		t.Fatalf("defaults: %v", shown)
	}
	must(t, db, "", "settings", "set", "lockout-threshold=5", "lockout-duration=2m", "org-name=Gemeente Voorbeeld")
	testenv.NoErr(t, jsonUnmarshal(must(t, db, "", "settings", "show", "--json"), &shown))
	if shown["lockout-threshold"] != "5" || shown["lockout-duration"] != "2m" || shown["org-name"] != "Gemeente Voorbeeld" {
		t.Fatalf("after set: %v", shown)
	}
	refused(t, db, "", "may not be below 8", "settings", "set", "password-min-length=6")
	refused(t, db, "", "Unknown setting", "settings", "set", "colour=blue")
	refused(t, db, "", "takes a duration", "settings", "set", "lockout-decay=soon")
	testenv.NoErr(t, jsonUnmarshal(must(t, db, "", "settings", "show", "--json"), &shown))
	if shown["password-min-length"] != "15" {
		t.Fatal("a refused change was stored")
	}
	audit := must(t, db, "", "audit")
	if !strings.Contains(audit, "settings.edit") || !strings.Contains(audit, "lockout.threshold: 10 -> 5") {
		t.Fatalf("audit: %s", audit)
	}
}

func TestUnknownCommandIsAUsageError(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "portier.db")
	for _, args := range [][]string{
		{"frobnicate"},
		{"users", "frobnicate"},
		{"users", "frobnicate", "ada@example.org"},
		{"apps", "frobnicate"},
		{"settings", "frobnicate"},
		{"completion", "frobnicate"},
		{"help", "frobnicate"},
		{"help", "users", "frobnicate"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if out := refused(t, db, "", `unknown command "frobnicate"`, args...); out != "" {
				t.Fatalf("stdout %q, want nothing", out)
			}
		})
	}
	// A group without a word still shows its help, and that is no error.
	for _, args := range [][]string{{}, {"users"}, {"help", "users"}} {
		if out := must(t, db, "", args...); !strings.Contains(out, "Usage:") {
			t.Fatalf("portier %s: no help on stdout: %q", strings.Join(args, " "), out)
		}
	}
}

// TestCLITimeZone: the organisation's time zone is set by its IANA name, refused otherwise
// (nothing stored), and the change is audited.
func TestCLITimeZone(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "portier.db")
	refused(t, db, "", "IANA time zone", "settings", "set", "time-zone=Mars/Olympus")
	refused(t, db, "", "IANA time zone", "settings", "set", "time-zone=Local")
	must(t, db, "", "settings", "set", "time-zone=Europe/Amsterdam")
	var shown map[string]string
	testenv.NoErr(t, jsonUnmarshal(must(t, db, "", "settings", "show", "--json"), &shown))
	if shown["time-zone"] != "Europe/Amsterdam" {
		t.Fatalf("time-zone after set: %q", shown["time-zone"])
	}
	if audit := must(t, db, "", "audit"); !strings.Contains(audit, "Europe/Amsterdam") {
		t.Fatalf("the change is not audited: %s", audit)
	}
}
