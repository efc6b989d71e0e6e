package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSettingsSetForms: NAME VALUE works like NAME=VALUE, durations read and print in the
// operator's form (days included), and the JSON of settings show is what set takes back.
func TestSettingsSetForms(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			must(t, db, "", "settings", "set", "lockout-threshold", "5", "lockout-decay=14d", "session-idle", "90m")
			var shown map[string]string
			if err := json.Unmarshal([]byte(must(t, db, "", "settings", "show", "--json")), &shown); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{"lockout-threshold": "5", "lockout-decay": "14d", "session-idle": "1h30m",
				"lockout-duration": "1m", "lockout-max-duration": "1h"} {
				if shown[k] != want {
					t.Errorf("%s = %q, want %q", k, shown[k], want)
				}
			}
			// What show prints, set takes back unchanged.
			must(t, db, "", "settings", "set", "lockout-decay", shown["lockout-decay"], "session-idle="+shown["session-idle"])
			refused(t, db, "", "No value for lockout-threshold", "settings", "set", "lockout-threshold")
			refused(t, db, "", `Unknown setting "colour"`, "settings", "set", "colour", "blue")
			refused(t, db, "", "lockout-decay takes a duration", "settings", "set", "lockout-decay", "2w")
		})
	}
}

func TestFormatAndParseDuration(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"336h", "14d"}, {"24h", "1d"}, {"36h", "36h"}, {"1d12h", "36h"}, {"60s", "1m"}, {"90s", "1m30s"},
		{"1h30m", "1h30m"}, {"12h", "12h"}, {"5m", "5m"}, {"1500ms", "1.5s"},
	} {
		d, err := parseDuration(c.in)
		if err != nil {
			t.Fatalf("parseDuration(%q): %v", c.in, err)
		}
		if got := formatDuration(d); got != c.out {
			t.Errorf("formatDuration(parseDuration(%q)) = %q, want %q", c.in, got, c.out)
		}
	}
	for _, bad := range []string{"d", "xd", "1d-1h", "2w", "1dd"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
}

// TestActionsSayWhenNothingChanged: unlock, block, unblock and reset-security-info on a user
// already in the state asked for exit 0 with a line that says nothing changed, and the audit
// log says so too.
func TestActionsSayWhenNothingChanged(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			must(t, db, "", "users", "create", "bo@example.org", "--display-name", "Bo", "--generate-password")
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"users", "unlock", "bo@example.org"}, "Nothing changed: bo@example.org was not locked out."},
				{[]string{"users", "unblock", "bo@example.org"}, "Nothing changed: sign-in was already allowed for bo@example.org."},
				{[]string{"users", "block", "bo@example.org"}, "Sign-in blocked for bo@example.org."},
				{[]string{"users", "block", "bo@example.org"}, "Nothing changed: sign-in was already blocked for bo@example.org."},
				{[]string{"users", "unblock", "bo@example.org"}, "Sign-in allowed for bo@example.org."},
				{[]string{"users", "reset-security-info", "bo@example.org"}, "Nothing changed: bo@example.org had no security info registered."},
			} {
				if out := must(t, db, "", c.args...); strings.TrimSpace(out) != c.want {
					t.Errorf("portier %s: %q, want %q", strings.Join(c.args, " "), out, c.want)
				}
			}
			audit := must(t, db, "", "audit")
			if n := strings.Count(audit, "no change:"); n != 4 {
				t.Errorf("audit log has %d no-change entries, want 4:\n%s", n, audit)
			}
		})
	}
}

// TestCreateDefaultsAndJSON: users create makes the user change the password at the first
// sign-in unless told not to, as the admin center does; roles are [] in JSON, never null.
func TestCreateDefaultsAndJSON(t *testing.T) {
	db := databases(t)["sqlite"]
	must(t, db, "", "users", "create", "one@example.org", "--display-name", "One", "--generate-password")
	must(t, db, "", "users", "create", "two@example.org", "--display-name", "Two", "--generate-password", "--no-force-change")
	refused(t, db, "", "not both", "users", "create", "three@example.org", "--display-name", "Three", "--generate-password", "--force-change", "--no-force-change")
	for upn, want := range map[string]bool{"one@example.org": true, "two@example.org": false} {
		out := must(t, db, "", "users", "show", upn, "--json")
		if !strings.Contains(out, `"roles": []`) {
			t.Errorf("users show %s --json: no \"roles\": []\n%s", upn, out)
		}
		var u struct {
			Roles           []string `json:"roles"`
			PasswordProfile struct {
				Force bool `json:"forceChangePasswordNextSignIn"`
			} `json:"passwordProfile"`
		}
		if err := json.Unmarshal([]byte(out), &u); err != nil {
			t.Fatal(err)
		}
		if u.PasswordProfile.Force != want || u.Roles == nil {
			t.Errorf("%s: forceChange %v, roles %v; want %v, []", upn, u.PasswordProfile.Force, u.Roles, want)
		}
	}
	if out := must(t, db, "", "users", "list", "--json"); strings.Contains(out, `"roles": null`) {
		t.Errorf("users list --json has null roles:\n%s", out)
	}
}

func TestCommandName(t *testing.T) {
	for arg0, want := range map[string]string{
		"/tmp/go-build3141/b001/exe/portier": "go run ./cmd/portier",
		"portier":                            "portier",
		"./portier":                          "./portier",
		"/usr/local/bin/portier":             "/usr/local/bin/portier",
		"":                                   "portier",
	} {
		if got := commandName(arg0); got != want {
			t.Errorf("commandName(%q) = %q, want %q", arg0, got, want)
		}
	}
}
