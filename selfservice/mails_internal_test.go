package selfservice

import (
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

// TestMailTimesInTheOrganisationsZone: a lockout mail gives its times in the organisation's
// zone, named, in winter and in summer; without a zone set, in UTC.
func TestMailTimesInTheOrganisationsZone(t *testing.T) {
	st := portier.DefaultSettings()
	st.TimeZone = "Europe/Amsterdam"
	u := &portier.User{UPN: "anna@example.org", DisplayName: "Anna"}
	for _, tc := range []struct {
		zone string
		at   time.Time
		want string
	}{
		{"Europe/Amsterdam", time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), "2026-11-24 10:00 CET"},
		{"Europe/Amsterdam", time.Date(2027, 6, 24, 9, 0, 0, 0, time.UTC), "2027-06-24 11:00 CEST"},
		{"UTC", time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), "2026-11-24 09:00 UTC"},
	} {
		st.TimeZone = tc.zone
		for _, lang := range []string{"en", "nl"} {
			msg, err := render("lockout", lang, zone(u, st), "anna@example.org", map[string]any{"Name": u.DisplayName, "UPN": u.UPN, "Org": st.OrgName,
				"LockedAt": tc.at, "Until": tc.at.Add(time.Minute), "Sources": []string{"192.0.2.1"}, "ReportURL": "http://x/"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(msg.Text, tc.want) {
				t.Errorf("%s mail in %s: lacks %q:\n%s", lang, tc.zone, tc.want, msg.Text)
			}
		}
	}
}
