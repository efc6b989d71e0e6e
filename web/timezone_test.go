package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// setZone sets the organisation's time zone as a global admin would.
func setZone(t *testing.T, in *instance, zone string) error {
	t.Helper()
	_, err := in.dir.UpdateSettings(context.Background(), portier.CLIActor("test"), func(st *portier.Settings) error {
		st.TimeZone = zone
		return nil
	})
	return err
}

// TestTimesInTheOrganisationsZone: with the organisation in Europe/Amsterdam, the lockout's
// "try again after" on the sign-in page, the badge on Active users and the sentence on the
// user's page are in Amsterdam's time, named (CET in November), and the log filters read
// their times in it too. Names that are not IANA zones are refused and change nothing.
func TestTimesInTheOrganisationsZone(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock() // 2026-11-24 09:00 UTC: 10:00 in Amsterdam
		in := newInstance(t, store, clock)
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		addUser(t, in.dir, "anna@example.org", "Anna Jansen")
		for _, bad := range []string{"Mars/Olympus", "Local", "", "CET; DROP", strings.Repeat("A", 100)} {
			if err := setZone(t, in, bad); portier.ErrorCode(err) != portier.EInvalid {
				t.Errorf("time zone %q: err %v, want EInvalid", bad, err)
			}
		}
		if st, _ := in.dir.Settings(context.Background()); st.TimeZone != "UTC" {
			t.Fatalf("a refused zone changed the setting to %q", st.TimeZone)
		}
		testenv.NoErr(t, setZone(t, in, "Europe/Amsterdam"))

		guesser := newBrowser(t, in.srv.URL)
		var body string
		for i := range 10 {
			_, body = guesser.login("anna@example.org", "wrong guess number "+string(rune('a'+i)), nil)
		}
		if testserver.ErrorCode(body) != "50053" || !strings.Contains(body, "Try again after 10:01:00 (CET).") {
			t.Fatalf("the lockout answer does not give the time in CET: %s", regexp.MustCompile(`(?s)<p class="error".*?</p>`).FindString(body))
		}
		testenv.NoErr(t, in.rec.Flush(context.Background()))

		boss := signedIn(t, in, "boss@example.org")
		_, list := boss.do("GET", "/admin/users?filter=locked", nil)
		if !strings.Contains(list, "Locked until 10:01 CET (10 attempts)") {
			t.Fatal("the Active users badge is not in CET")
		}
		_, user := boss.do("GET", "/admin/users/anna@example.org", nil)
		if !strings.Contains(user, "Locked until 10:01 CET after 10 wrong passwords from 127.0.0.1 (unfamiliar browser) between 10:00 and 10:00") {
			t.Fatalf("the user's page does not open with the lockout in CET: %s", regexp.MustCompile(`(?s)<p class="summary-sentence".*?</p>`).FindString(user))
		}
		if !strings.Contains(user, "24 Nov 2026 10:00:00 CET") || strings.Contains(user, " UTC") {
			t.Fatal("the attempts are not listed in CET, or a time is still in UTC")
		}
		// Dutch writes the date its own way, the zone the same.
		boss.lang = "nl"
		boss.withLang()
		_, nl := boss.do("GET", "/admin/users/anna@example.org", nil)
		if !strings.Contains(nl, "Vergrendeld tot 10:01 CET na 10 verkeerde wachtwoorden") || !strings.Contains(nl, "24-11-2026 10:00:00 CET") {
			t.Fatal("the Dutch page is not in CET")
		}
		boss.lang = ""
		boss.withLang()

		// The log's "from" filter is read in Amsterdam's time: from 10:00 CET (09:00 UTC)
		// includes the attempts, from 10:01 CET excludes them.
		_, from := boss.do("GET", "/admin/signins?"+url.Values{"user": {"anna@example.org"}, "from": {"2026-11-24T10:00"}}.Encode(), nil)
		_, after := boss.do("GET", "/admin/signins?"+url.Values{"user": {"anna@example.org"}, "from": {"2026-11-24T10:01"}}.Encode(), nil)
		if strings.Count(from, "data-signin=") != 10 || strings.Count(after, "data-signin=") != 0 {
			t.Fatalf("from 10:00 CET: %d entries, want 10; from 10:01 CET: %d, want 0",
				strings.Count(from, "data-signin="), strings.Count(after, "data-signin="))
		}
		if !strings.Contains(from, "Times are in Europe/Amsterdam.") {
			t.Fatal("the sign-in log does not name its time zone")
		}

		// Summer time is named as such.
		clock.Advance(200 * 24 * time.Hour) // June 2027
		_, summer := signedIn(t, in, "boss@example.org").do("GET", "/myaccount", nil)
		if !strings.Contains(summer, "CEST") {
			t.Fatal("a time in June is not shown in CEST")
		}
	})
}
