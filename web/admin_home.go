package web

import (
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

// homeLogCap bounds how many sign-in log entries of the last 7 days the admin home reads; a
// larger log (a flood) is shown as "at least" the figures counted.
const homeLogCap = 50_000

// homePage is what the admin center's home shows.
type homePage struct {
	Locked, Blocked, MustChange int
	Figures                     homeFigures
	// Capped reports that the log held more than homeLogCap entries in 7 days: the figures
	// are those of the newest homeLogCap.
	Capped    bool
	FailedURL string
	HourChart template.HTML
	DayChart  template.HTML
}

// bucket is one bar of a chart: failed sign-ins and lockouts from Start, for one hour or day.
type bucket struct {
	Start    time.Time
	Failed   int
	Lockouts int
}

// homeFigures are the sign-in figures of the admin home.
type homeFigures struct {
	Failed24h   int
	Lockouts24h int
	Hours       []bucket // the last 24 hours, oldest first; the last is the current hour
	Days        []bucket // the last 7 days, oldest first; the last is today
}

// failedSignIn reports whether a sign-in log entry is a failed sign-in: anything but a
// success and the interrupts that ask for a new password or a second factor.
func failedSignIn(code int) bool {
	return code != portier.CodeSuccess && code != portier.CodePasswordChangeNeeded && code != 50074
}

// figuresOf counts entries (any order) into the last 24 hours by hour and the last 7 days
// by day, as of now in loc: hours and days begin on loc's clock.
func figuresOf(entries []*portier.SignIn, now time.Time, loc *time.Location) homeFigures {
	local := now.In(loc)
	hour := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), 0, 0, 0, loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	f := homeFigures{Hours: make([]bucket, 24), Days: make([]bucket, 7)}
	for i := range f.Hours {
		f.Hours[i].Start = hour.Add(time.Duration(i-23) * time.Hour)
	}
	for i := range f.Days {
		f.Days[i].Start = day.AddDate(0, 0, i-6)
	}
	since24 := now.Add(-24 * time.Hour)
	for _, e := range entries {
		if !failedSignIn(e.Code) || e.Time.After(now) {
			continue
		}
		lock := isLockout(e)
		add := func(b *bucket) {
			b.Failed++
			if lock {
				b.Lockouts++
			}
		}
		if e.Time.After(since24) {
			f.Failed24h++
			if lock {
				f.Lockouts24h++
			}
		}
		for i := len(f.Hours) - 1; i >= 0; i-- {
			if !e.Time.Before(f.Hours[i].Start) {
				add(&f.Hours[i])
				break
			}
		}
		for i := len(f.Days) - 1; i >= 0; i-- {
			if !e.Time.Before(f.Days[i].Start) {
				add(&f.Days[i])
				break
			}
		}
	}
	return f
}

func (s *server) handleAdminHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.adminPage(r, "admin.home.title", "home")
		ctx := r.Context()
		d := &homePage{}
		var err error
		for _, c := range []struct {
			status portier.UserStatus
			dst    *int
		}{{portier.StatusLocked, &d.Locked}, {portier.StatusBlocked, &d.Blocked}, {portier.StatusMustChange, &d.MustChange}} {
			if err == nil {
				*c.dst, _, err = s.countUsers(ctx, portier.UserFilter{Status: c.status, Now: s.Now()})
			}
		}
		now := s.Now()
		var entries []*portier.SignIn
		f := portier.SignInFilter{Since: now.Add(-8 * 24 * time.Hour), Limit: 1000}
		for err == nil {
			var batch []*portier.SignIn
			batch, err = s.Directory.SignIns(ctx, s.adminActor(r), f)
			entries = append(entries, batch...)
			if len(batch) < f.Limit {
				break
			}
			if len(entries) >= homeLogCap {
				d.Capped = true
				break
			}
			f.Before = batch[len(batch)-1].ID
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		loc := p.T.Location()
		d.Figures = figuresOf(entries, now, loc)
		d.FailedURL = "/admin/signins?" + url.Values{"from": {now.Add(-24 * time.Hour).In(loc).Format(formTime)}}.Encode()
		d.HourChart = barChart(p.T, d.Figures.Hours, "chart-hours", func(b bucket, i int) string {
			if i%3 != 0 {
				return ""
			}
			return b.Start.In(loc).Format("15")
		})
		d.DayChart = barChart(p.T, d.Figures.Days, "chart-days", func(b bucket, _ int) string {
			return p.T.Weekday(b.Start)
		})
		p.Data = d
		s.render(w, http.StatusOK, "admin_home", p)
	})
}

// barChart draws buckets as an SVG bar chart, failed sign-ins and lockouts side by side,
// labelled under every bar that label names; the page carries the same figures as a table.
func barChart(t *translator, bs []bucket, id string, label func(b bucket, i int) string) template.HTML {
	const w, h, left, bottom, top = 720, 220, 36, 24, 12
	peak := 1
	for _, b := range bs {
		peak = max(peak, b.Failed)
	}
	// A round top for the axis: 1, 2, 5, 10, 20, 50, …
	scale := 1
	for scale < peak {
		switch {
		case scale*2 >= peak:
			scale *= 2
		case scale*5 >= peak:
			scale *= 5
		default:
			scale *= 10
		}
	}
	plotH := float64(h - bottom - top)
	slot := float64(w-left) / float64(len(bs))
	barW := slot * 0.38
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title" xmlns="http://www.w3.org/2000/svg">`, id, w, h, id)
	fmt.Fprintf(&sb, `<title id="%s-title">%s</title>`, id, html.EscapeString(t.T("admin.home."+id)))
	for _, v := range []int{0, scale / 2, scale} {
		if v == 0 && scale == 1 {
			continue
		}
		y := float64(top) + plotH*(1-float64(v)/float64(scale))
		fmt.Fprintf(&sb, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/><text x="%d" y="%.1f" text-anchor="end">%d</text>`, left, w, y, y, left-6, y+4, v)
	}
	for i, b := range bs {
		x := float64(left) + slot*float64(i) + slot*0.1
		for j, n := range []int{b.Failed, b.Lockouts} {
			bh := plotH * float64(n) / float64(scale)
			class := "bar-failed"
			if j == 1 {
				class = "bar-lockout"
			}
			fmt.Fprintf(&sb, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, class, x+float64(j)*barW, float64(top)+plotH-bh, barW, bh)
		}
		if l := label(b, i); l != "" {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+barW, h-6, html.EscapeString(l))
		}
	}
	fmt.Fprintf(&sb, `<line class="axis" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/></svg>`, left, w, float64(top)+plotH, float64(top)+plotH)
	return template.HTML(sb.String())
}
