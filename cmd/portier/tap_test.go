package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestCLITemporaryAccessPass: `portier users tap` prints the pass once on stdout (the JSON
// document too), honours --lifetime and --one-time, refuses a lifetime out of range and an
// unknown user with one line, and --revoke ends the passes; the audit log names none of it.
func TestCLITemporaryAccessPass(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			must(t, db, "correct horse battery staple\n", "users", "create", "lost@example.org", "--display-name", "Lost Phone", "--password-stdin")
			pass := strings.TrimSpace(must(t, db, "", "users", "tap", "lost@example.org"))
			if len(pass) != 16 || strings.ContainsAny(pass, " \n") {
				t.Fatalf("the pass printed: %q", pass)
			}
			var tap struct {
				Pass    string    `json:"temporaryAccessPass"`
				OneTime bool      `json:"isUsableOnce"`
				Created time.Time `json:"createdDateTime"`
				Expires time.Time `json:"expiresDateTime"`
			}
			out := must(t, db, "", "users", "tap", "lost@example.org", "--lifetime", "30m", "--one-time", "--json")
			if err := json.Unmarshal([]byte(out), &tap); err != nil || len(tap.Pass) != 16 || !tap.OneTime || tap.Expires.Sub(tap.Created) != 30*time.Minute {
				t.Fatalf("--json: %q (%v)", out, err)
			}
			refused(t, db, "", "10 minutes to 30 days", "users", "tap", "lost@example.org", "--lifetime", "5m")
			refused(t, db, "", "nobody@example.org", "users", "tap", "nobody@example.org")
			must(t, db, "", "users", "tap", "lost@example.org", "--revoke")
			audit := must(t, db, "", "audit", "--json")
			if strings.Contains(audit, pass) || strings.Contains(audit, tap.Pass) || !strings.Contains(audit, "user.revoke-temporary-access-pass") {
				t.Fatalf("audit log: %s", audit)
			}
		})
	}
}
