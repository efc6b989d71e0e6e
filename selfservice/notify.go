package selfservice

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// report is a "This wasn't me" link of a lockout mail, kept by Service.reports as a token of
// kind TokenReport whose ID is the hash of the link's secret.
type report struct {
	flowMeta
	LockedAt time.Time `json:"lockedAt"`
	Since    time.Time `json:"since"`
}

// LockoutNotice is called by the sign-in engine in the transaction that locked a user's
// account-wide counter. At the first lockout of an episode (no success since) it queues the
// lockout mail to the owner, with the time, the sources of the failures and a "This wasn't
// me" link; the doublings that follow send nothing more. st are the settings the engine read
// for the attempt: nothing here may take a second connection from the store while the
// transaction holds the counter's lock, or a flood would wait on itself.
func (s *Service) LockoutNotice(ctx context.Context, tx portier.Tx, st portier.Settings, userID string, state lockout.State, source string) error {
	if state.Lockouts != 1 || !st.LockoutEmail {
		return nil
	}
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	to := s.addresses(ctx, tx, u)
	if len(to) == 0 {
		return nil
	}
	now := s.now()
	since := now.Add(-st.Lockout.Decay)
	sources := []string{source}
	seen := map[string]bool{source: true}
	recent, err := tx.ListSignIns(ctx, portier.SignInFilter{UserID: u.ID, Since: since, Limit: 200})
	if err != nil {
		return err
	}
	for _, e := range recent {
		if e.Code != portier.CodeSuccess && !seen[e.Source] && len(sources) < 10 {
			seen[e.Source] = true
			sources = append(sources, e.Source)
		}
	}
	secret, id := newSecret()
	if err := s.reports().save(ctx, tx, &report{flowMeta: flowMeta{ID: id, UserID: u.ID}, LockedAt: now, Since: since}); err != nil {
		return err
	}
	link := s.baseURL + "/recover/report?token=" + url.QueryEscape(secret)
	return s.notify(ctx, tx, st, u, to, "lockout", "lockout notice", source, map[string]any{"Name": u.DisplayName, "UPN": u.UPN, "Org": st.OrgName,
		"LockedAt": now, "Until": state.LockedUntil, "Failed": state.FailedAttempts(now), "Sources": sources, "ReportURL": link})
}

// notify queues the mail of template to u at each address of to; each delivery writes an
// audit entry "<what> sent to <masked address>".
func (s *Service) notify(ctx context.Context, tx portier.Tx, st portier.Settings, u *portier.User, to []string, template, what, source string, data map[string]any) error {
	for _, addr := range to {
		msg, err := render(template, language(u, st), zone(u, st), addr, data)
		if err != nil {
			return err
		}
		ev := s.selfEvent(u, portier.ActionNotifyUser, source, what+" sent to "+MaskAddress(addr))
		ev.Actor, ev.ActorID = "portier", ""
		if err := s.mailer.Enqueue(ctx, tx, msg, ev); err != nil {
			return err
		}
	}
	return nil
}

// ReportTarget returns the UPN a "This wasn't me" link is for; ReasonExpired if it is used or over.
func (s *Service) ReportTarget(ctx context.Context, secret string) (string, error) {
	r, err := s.reports().load(ctx, s.store, TokenID(secret))
	if err != nil {
		return "", err
	}
	u, err := s.store.UserByID(ctx, r.UserID)
	if portier.ErrorCode(err) == portier.ENotFound {
		return "", refuse(ReasonExpired)
	}
	if err != nil {
		return "", err
	}
	return u.UPN, nil
}

// Report takes the owner's "This wasn't me": the failed sign-ins of the episode are flagged
// in the sign-in log for admins, the report is audited, and the link is used up. It returns
// the user's UPN, to start a self-service reset with.
func (s *Service) Report(ctx context.Context, secret, source string) (string, error) {
	now := s.now()
	var upn string
	err := s.store.Tx(ctx, func(tx portier.Tx) error {
		r, err := s.reports().load(ctx, tx, TokenID(secret))
		if err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, r.UserID)
		if err != nil {
			return err
		}
		n, err := tx.FlagSignIns(ctx, u.ID, r.Since, now)
		if err != nil {
			return err
		}
		ev := s.selfEvent(u, portier.ActionReportLockout, source, "the owner reported the lockout of "+r.LockedAt.UTC().Format(time.RFC3339)+" as not theirs; flagged failed sign-ins: "+strconv.Itoa(n))
		if err := tx.AppendAudit(ctx, ev); err != nil {
			return err
		}
		upn = u.UPN
		return s.reports().end(ctx, tx, r)
	})
	return upn, err
}

// codeLockNotice is called in the transaction that locked a user's authenticator counter in a
// self-service reset. At the first lock of an episode it queues a notice to the owner, since
// someone guessing at their codes is trying to take the account over; the doublings that
// follow send nothing more, like the password lockout mail.
func (s *Service) codeLockNotice(ctx context.Context, tx portier.Tx, st portier.Settings, u *portier.User, state lockout.State, source string) error {
	if state.Lockouts != 1 || !st.LockoutEmail {
		return nil
	}
	return s.notify(ctx, tx, st, u, s.addresses(ctx, tx, u), "code-lockout", "authenticator code lockout notice", source,
		map[string]any{"Name": u.DisplayName, "UPN": u.UPN, "Org": st.OrgName, "LockedAt": s.now(), "Until": state.LockedUntil, "Source": source})
}
