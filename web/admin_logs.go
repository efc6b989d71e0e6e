package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

// logPageSize is how many entries a page of a log shows.
const logPageSize = 100

// csvMaxRows bounds a CSV export; a filter narrows a larger log.
const csvMaxRows = 100_000

// formTime is how the time filters are written (an HTML datetime-local input), in the
// organisation's time zone as every time on the pages.
const formTime = "2006-01-02T15:04"

// signInsPage is what the sign-in logs page shows.
type signInsPage struct {
	User, Code, Source, From, To string
	Rows                         []signInRow
	NextURL, FirstURL, CSVURL    string
}

// signInRow is one entry of the sign-in log, with the attempts behind it when it is the
// attempt that locked an account.
type signInRow struct {
	*portier.SignIn
	Lockout bool
	Causes  []*portier.SignIn
}

// signInFilterFrom reads the sign-in log filters of the query; it returns an EInvalid
// error naming a filter it cannot read.
func signInFilterFrom(q url.Values, d *signInsPage, loc *time.Location) (portier.SignInFilter, error) {
	f := portier.SignInFilter{Limit: logPageSize}
	d.User, d.Code, d.Source = strings.TrimSpace(q.Get("user")), strings.TrimSpace(q.Get("code")), strings.TrimSpace(q.Get("source"))
	d.From, d.To = strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	f.Username = strings.ToLower(d.User)
	f.Source = d.Source
	if d.Code != "" {
		c, err := strconv.Atoi(d.Code)
		if err != nil {
			return f, portier.Errorf(portier.EInvalid, "code")
		}
		f.Code = &c
	}
	var err error
	if f.Since, err = parseFormTime(d.From, loc); err != nil {
		return f, err
	}
	if f.Until, err = parseFormTime(d.To, loc); err != nil {
		return f, err
	}
	if b := q.Get("before"); b != "" {
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before < 0 {
			return f, portier.Errorf(portier.EInvalid, "before")
		}
	}
	return f, nil
}

func parseFormTime(v string, loc *time.Location) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(formTime, v, loc)
	if err != nil {
		return time.Time{}, portier.Errorf(portier.EInvalid, "time")
	}
	return t, nil
}

// filterURL is path with the non-empty filters of q, minus the paging, plus extra.
func filterURL(path string, q url.Values, extra ...string) string {
	v := url.Values{}
	for k, vals := range q {
		if k != "before" && k != "format" && len(vals) > 0 && vals[0] != "" {
			v.Set(k, vals[0])
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// badFilter shows the log page name again, its filters d as typed, saying that one of them
// cannot be read.
func (s *server) badFilter(w http.ResponseWriter, name string, p *page, d any) {
	p.Data = d
	s.formError(w, name, p, portier.Errorf(portier.EInvalid, "%s", p.T.T("admin.filter.invalid")))
}

func (s *server) handleAdminSignIns() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p := s.adminPage(r, "admin.signins.title", "signins")
		d := &signInsPage{}
		f, err := signInFilterFrom(q, d, p.T.Location())
		if err != nil {
			s.badFilter(w, "admin_signins", p, d)
			return
		}
		if q.Get("format") == "csv" {
			s.signInsCSV(w, r, f)
			return
		}
		entries, err := s.Directory.SignIns(r.Context(), s.adminActor(r), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, e := range entries {
			row := signInRow{SignIn: e, Lockout: isLockout(e)}
			if row.Lockout {
				if row.Causes, err = s.lockoutCauses(r, e); err != nil {
					s.fail(w, r, err)
					return
				}
			}
			d.Rows = append(d.Rows, row)
		}
		if len(entries) == f.Limit {
			d.NextURL = filterURL("/admin/signins", q, "before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		}
		if f.Before != 0 {
			d.FirstURL = filterURL("/admin/signins", q)
		}
		d.CSVURL = filterURL("/admin/signins", q, "format", "csv")
		p.Data = d
		s.render(w, http.StatusOK, "admin_signins", p)
	})
}

// isLockout reports whether e is the attempt that locked an account: its wrong password
// reached the threshold. The 50053 answers that follow, while locked, computed no hash.
func isLockout(e *portier.SignIn) bool {
	return e.Code == portier.CodeLocked && e.HashComputed
}

// lockoutCauses returns the wrong passwords that led to the lockout e, newest first: the
// earlier failures of the same account at the same kind of browser (familiar or not, each has
// its own count), back to the last right password, the previous lockout, or a gap the count
// would have decayed in.
func (s *server) lockoutCauses(r *http.Request, e *portier.SignIn) ([]*portier.SignIn, error) {
	st, err := s.Directory.Settings(r.Context())
	if err != nil {
		return nil, err
	}
	f := portier.SignInFilter{Before: e.ID, Limit: 4 * st.Lockout.Threshold}
	if e.UserID != "" {
		f.UserID = e.UserID
	} else {
		f.Username = e.Username
	}
	earlier, err := s.Directory.SignIns(r.Context(), s.adminActor(r), f)
	if err != nil {
		return nil, err
	}
	var causes []*portier.SignIn
	last := e.Time
	for _, x := range earlier {
		if len(causes) >= st.Lockout.Threshold-1 || rightPassword(x.Code) || isLockout(x) || last.Sub(x.Time) >= st.Lockout.Decay {
			break
		}
		if x.Code == portier.CodeInvalidCredentials && x.HashComputed && x.FamiliarDevice == e.FamiliarDevice {
			causes = append(causes, x)
			last = x.Time
		}
	}
	return causes, nil
}

func (s *server) signInsCSV(w http.ResponseWriter, r *http.Request, f portier.SignInFilter) {
	f.Limit = 1000
	first, err := s.Directory.SignIns(r.Context(), s.adminActor(r), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cw := startCSV(w, "signins.csv")
	cw.Row("createdDateTime", "userPrincipalName", "userId", "ipAddress", "errorCode", "familiarDevice", "passwordHashComputed", "process", "failureReason", "userAgent")
	entries, rows := first, 0
	for len(entries) > 0 && rows < csvMaxRows {
		for _, e := range entries {
			cw.Row(e.Time.UTC().Format(time.RFC3339Nano), e.Username, e.UserID, e.Source, strconv.Itoa(e.Code),
				strconv.FormatBool(e.FamiliarDevice), strconv.FormatBool(e.HashComputed), e.Process, e.Detail, e.UserAgent)
			rows++
		}
		if len(entries) < f.Limit {
			break
		}
		f.Before = entries[len(entries)-1].ID
		if entries, err = s.Directory.SignIns(r.Context(), s.adminActor(r), f); err != nil {
			// The header is sent: all that is left is to end the download short and say why in the log.
			s.Log.Error("sign-in log export cut short", "err", err)
			break
		}
	}
	cw.Flush()
}

// auditPage is what the audit log page shows.
type auditPage struct {
	Actor, Action, Outcome, From string
	Actions                      []portier.Action
	Outcomes                     []string
	Rows                         []*portier.AuditEvent
	NextURL, FirstURL, CSVURL    string
}

// auditActions are the actions the audit log records, for its filter.
var auditActions = []portier.Action{
	portier.ActionCreate, portier.ActionDelete, portier.ActionResetPassword, portier.ActionUnlock,
	portier.ActionBlock, portier.ActionUnblock, portier.ActionRevokeSessions, portier.ActionEditRoles, portier.ActionEditSettings,
	portier.ActionCreateApp, portier.ActionUpdateApp, portier.ActionDeleteApp, portier.ActionAssignApp,
}

func (s *server) handleAdminAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		p := s.adminPage(r, "admin.audit.title", "audit")
		d := &auditPage{
			Actor: strings.TrimSpace(q.Get("actor")), Action: q.Get("action"), Outcome: q.Get("outcome"), From: strings.TrimSpace(q.Get("from")),
			Actions: auditActions, Outcomes: []string{portier.OutcomeSuccess, portier.OutcomeRefused, portier.OutcomeFailure},
		}
		f := portier.AuditFilter{Actor: strings.ToLower(d.Actor), Action: portier.Action(d.Action), Outcome: d.Outcome, Limit: logPageSize}
		var err error
		if f.Since, err = parseFormTime(d.From, p.T.Location()); err == nil && q.Get("before") != "" {
			f.Before, err = strconv.ParseInt(q.Get("before"), 10, 64)
		}
		if err != nil {
			s.badFilter(w, "admin_audit", p, d)
			return
		}
		if q.Get("format") == "csv" {
			s.auditCSV(w, r, f)
			return
		}
		if d.Rows, err = s.Directory.ListAudit(r.Context(), f); err != nil {
			s.fail(w, r, err)
			return
		}
		if len(d.Rows) == f.Limit {
			d.NextURL = filterURL("/admin/audit", q, "before", strconv.FormatInt(d.Rows[len(d.Rows)-1].ID, 10))
		}
		if f.Before != 0 {
			d.FirstURL = filterURL("/admin/audit", q)
		}
		d.CSVURL = filterURL("/admin/audit", q, "format", "csv")
		p.Data = d
		s.render(w, http.StatusOK, "admin_audit", p)
	})
}

func (s *server) auditCSV(w http.ResponseWriter, r *http.Request, f portier.AuditFilter) {
	f.Limit = 1000
	events, err := s.Directory.ListAudit(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cw := startCSV(w, "audit.csv")
	cw.Row("activityDateTime", "initiatedBy", "initiatedById", "activity", "target", "targetId", "source", "result", "resultReason")
	rows := 0
	for len(events) > 0 && rows < csvMaxRows {
		for _, ev := range events {
			cw.Row(ev.Time.UTC().Format(time.RFC3339Nano), ev.Actor, ev.ActorID, string(ev.Action), ev.Target,
				ev.TargetID, ev.Source, ev.Outcome, ev.Detail)
			rows++
		}
		if len(events) < f.Limit {
			break
		}
		f.Before = events[len(events)-1].ID
		if events, err = s.Directory.ListAudit(r.Context(), f); err != nil {
			s.Log.Error("audit log export cut short", "err", err)
			break
		}
	}
	cw.Flush()
}
