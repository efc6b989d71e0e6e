package web

import (
	"context"
	"net/http"

	"github.com/portier-id/portier"
)

// bulkMax is how many users one bulk action takes: a page of Active users.
const bulkMax = usersPageSize

// bulkPage is the confirm page of a bulk action, and then its results.
type bulkPage struct {
	Action  string
	UPNs    []string
	Results []bulkResult
	// Done counts the users the action was taken on.
	Done int
}

// bulkResult is what came of a bulk action on one user.
type bulkResult struct {
	UPN string
	// Outcome is done, refused, not-found or failed.
	Outcome string
	Text    string
}

// bulkAct returns the directory call of a bulk action (the form's action field: unlock,
// revoke-sessions, block), nil for any other; each checks the actor's role on the
// user and writes the audit entry (success or refused) for that user.
func (s *server) bulkAct(action string) func(ctx context.Context, actor portier.Actor, upn string) error {
	switch action {
	case "unlock":
		return s.Directory.Unlock
	case "revoke-sessions":
		return s.Directory.RevokeSessions
	case "block":
		return func(ctx context.Context, actor portier.Actor, upn string) error {
			return s.Directory.SetSignInStatus(ctx, actor, upn, false)
		}
	}
	return nil
}

// handleAdminBulk takes the users ticked on Active users and an action: without confirm=yes
// it shows what will be done, to whom, for a confirm; with it, it acts on each user in turn
// and shows each user's result. A refusal on one user does not stop the others.
func (s *server) handleAdminBulk() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.adminPage(r, "admin.bulk.title", "users")
		d := &bulkPage{Action: r.PostFormValue("action")}
		act := s.bulkAct(d.Action)
		seen := map[string]bool{}
		for _, upn := range r.PostForm["upn"] {
			if upn != "" && !seen[upn] && len(upn) <= portier.MaxUsernameBytes {
				seen[upn] = true
				d.UPNs = append(d.UPNs, upn)
			}
		}
		switch {
		case act == nil:
			s.formError(w, "admin_bulk", p, portier.Errorf(portier.EInvalid, "%s", p.T.T("admin.bulk.badaction")))
			return
		case len(d.UPNs) == 0:
			p.Data = d
			s.formError(w, "admin_bulk", p, portier.Errorf(portier.EInvalid, "%s", p.T.T("admin.bulk.none")))
			return
		case len(d.UPNs) > bulkMax:
			p.Data = d
			s.formError(w, "admin_bulk", p, portier.Errorf(portier.EInvalid, "%s", p.T.T("admin.bulk.toomany", "Max", bulkMax)))
			return
		}
		p.Data = d
		if r.PostFormValue("confirm") != "yes" {
			s.render(w, http.StatusOK, "admin_bulk", p)
			return
		}
		actor := s.adminActor(r)
		for _, upn := range d.UPNs {
			res := bulkResult{UPN: upn, Outcome: "done"}
			err := noSuchUser(act(r.Context(), actor, upn))
			switch portier.ErrorCode(err) {
			case "":
				d.Done++
				res.Text = p.T.T("admin.bulk.done." + d.Action)
			case portier.EForbidden:
				res.Outcome, res.Text = "refused", p.T.T("admin.bulk.refused")
			case portier.ENotFound:
				res.Outcome, res.Text = "not-found", p.T.T("admin.bulk.notfound")
			case portier.EInvalid, portier.EConflict:
				res.Outcome, res.Text = "failed", p.T.Error(err)
			default:
				// The store failed: say so for this user and stop, since the rest would fail too.
				res.Outcome, res.Text = "failed", p.T.T("admin.bulk.storefailed")
				d.Results = append(d.Results, res)
				s.Log.Error("bulk action", "action", d.Action, "user", upn, "err", err)
				s.render(w, http.StatusServiceUnavailable, "admin_bulk", p)
				return
			}
			d.Results = append(d.Results, res)
		}
		p.Title = p.T.T("admin.bulk.results")
		s.render(w, http.StatusOK, "admin_bulk", p)
	})
}
