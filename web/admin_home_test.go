package web_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
)

// homeFigure reads a card's number from the admin home.
func homeFigure(t *testing.T, body, key string) int {
	t.Helper()
	m := regexp.MustCompile(`data-figure="` + key + `"><span class="n">(\d+)\+?</span>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the admin home has no %s card", key)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// homeRows reads a figures table of the admin home: start (RFC 3339) -> failed, lockouts.
func homeRows(body, attr string) map[string][2]int {
	out := map[string][2]int{}
	re := regexp.MustCompile(`<tr ` + attr + `="([^"]+)"><th scope="row">[^<]*</th><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td></tr>`)
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		f, _ := strconv.Atoi(m[2])
		l, _ := strconv.Atoi(m[3])
		out[m[1]] = [2]int{f, l}
	}
	return out
}

// TestAdminHomeFiguresFromTheLog seeds the sign-in log through real sign-ins at known times
// (three days ago, yesterday evening, this morning) and checks the admin home's cards, its
// hourly and daily tables (the chart's text alternative) and the chart itself against them.
func TestAdminHomeFiguresFromTheLog(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock() // Tuesday 2026-11-24 09:00 UTC
		clock.Advance(-3 * 24 * time.Hour)
		in := newInstance(t, store, clock)
		addUser(t, in.dir, "boss@example.org", "The Boss", portier.RoleGlobalAdmin)
		addUser(t, in.dir, "anna@example.org", "Anna Jansen")
		addUser(t, in.dir, "bob@example.org", "Bob de Vries")
		_, _, err := in.dir.CreateUser(context.Background(), portier.CLIActor("test"),
			directory.NewUser{UPN: "cleo@example.org", DisplayName: "Cleo Smit", Password: goodPassword, ForceChange: true})
		testenv.NoErr(t, err)
		testenv.NoErr(t, in.dir.SetSignInStatus(context.Background(), portier.CLIActor("test"), "bob@example.org", true))
		addUser(t, in.dir, "dirk@example.org", "Dirk Blok")
		testenv.NoErr(t, in.dir.SetSignInStatus(context.Background(), portier.CLIActor("test"), "dirk@example.org", false))

		lock(t, in, "anna@example.org") // Saturday 09:00: 10 failures, 1 lockout; outside 24 h
		clock.Advance(3*24*time.Hour - 14*time.Hour)
		wrong := newBrowser(t, in.srv.URL)
		for i := range 3 { // Monday 19:00: 3 wrong passwords at bob, no lockout
			wrong.login("bob@example.org", fmt.Sprintf("not it %d", i), nil)
		}
		testenv.NoErr(t, in.rec.Flush(context.Background()))
		clock.Advance(13*time.Hour + 30*time.Minute)
		lock(t, in, "bob@example.org")  // Tuesday 08:30: 10 more, the lockout among them
		clock.Advance(20 * time.Minute) // 08:50: bob's 60 s lockout is over
		// A success is not a failure.
		boss := signedIn(t, in, "boss@example.org")
		testenv.NoErr(t, in.rec.Flush(context.Background()))

		_, body := boss.do("GET", "/admin", nil)
		if n := homeFigure(t, body, "failed-24h"); n != 13 {
			t.Errorf("failed sign-ins in the last 24 h: %d, want 13 (3 on Monday evening, 10 this morning)", n)
		}
		if n := homeFigure(t, body, "blocked"); n != 1 {
			t.Errorf("blocked: %d, want 1", n)
		}
		if n := homeFigure(t, body, "must-change"); n != 1 {
			t.Errorf("must change password: %d, want 1", n)
		}
		if n := homeFigure(t, body, "locked"); n != 0 {
			t.Errorf("locked now: %d, want 0 (bob's minute is over)", n)
		}
		hours := homeRows(body, "data-hour")
		if len(hours) != 24 {
			t.Fatalf("%d hours in the table, want 24", len(hours))
		}
		want := map[string][2]int{"2026-11-23T19:00:00Z": {3, 0}, "2026-11-24T08:00:00Z": {10, 1}}
		for start, fl := range hours {
			if fl != want[start] {
				t.Errorf("hour from %s: %v failed, lockouts; want %v", start, fl, want[start])
			}
		}
		days := homeRows(body, "data-day")
		wantDays := map[string][2]int{"2026-11-21T00:00:00Z": {10, 1}, "2026-11-23T00:00:00Z": {3, 0}, "2026-11-24T00:00:00Z": {10, 1}}
		if len(days) != 7 {
			t.Fatalf("%d days in the table, want 7", len(days))
		}
		for start, fl := range days {
			if fl != wantDays[start] {
				t.Errorf("day %s: %v failed, lockouts; want %v", start, fl, wantDays[start])
			}
		}
		// The charts: SVG drawn on the server, named for screen readers, with a bar per hour.
		if strings.Count(body, `<svg class="chart"`) != 2 || strings.Count(body, `class="bar-failed"`) != 31 || !strings.Contains(body, `<title id="chart-hours-title">Failed sign-ins and lockouts per hour, last 24 hours</title>`) {
			t.Error("the admin home does not draw its two charts")
		}
		if strings.Contains(body, "<script") {
			t.Error("the admin home carries a script")
		}
		// The cards lead to the filtered lists.
		for _, href := range []string{`href="/admin/users?filter=locked"`, `href="/admin/users?filter=blocked"`, `href="/admin/users?filter=must-change"`, `href="/admin/signins?from=2026-11-23T08%3A50"`} {
			if !strings.Contains(body, href) {
				t.Errorf("no card links to %s", href)
			}
		}
		_, must := boss.do("GET", "/admin/users?filter=must-change", nil)
		if !strings.Contains(must, `data-user="cleo@example.org"`) || strings.Contains(must, `data-user="anna@example.org"`) {
			t.Error("the must-change filter does not list exactly the users who must change their password")
		}
	})
}
