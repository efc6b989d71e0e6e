package directory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

// EndSessions ends, within tx, every session and token of u issued before now, and makes
// every device cookie of u unfamiliar: what a password reset, a block or a revoke does, for
// the self-service reset that shares it. The caller writes u.
func EndSessions(ctx context.Context, tx portier.Tx, u *portier.User, now time.Time) error {
	return endSessions(ctx, tx, u, now)
}

// ResetSecurityInfo removes every security-info method and passkey of the user named upn, and any being
// registered, so that the user registers anew (Entra's "Require re-register"): for a lost
// phone or mailbox. Errors: ENotFound, EForbidden (refused and audited). See
// ResetSecurityInfoChanged for whether there was anything to remove.
func (s *Service) ResetSecurityInfo(ctx context.Context, actor portier.Actor, upn string) error {
	_, err := s.ResetSecurityInfoChanged(ctx, actor, upn)
	return err
}

// ResetSecurityInfoChanged is ResetSecurityInfo that reports whether anything was removed:
// false when the user had no method registered and none being registered.
func (s *Service) ResetSecurityInfoChanged(ctx context.Context, actor portier.Actor, upn string) (changed bool, err error) {
	err = s.act(ctx, actor, portier.ActionResetSecurityInfo, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		ms, err := tx.ListMethods(ctx, u.ID)
		if err != nil {
			return err
		}
		var removed []string
		for _, m := range ms {
			if err := tx.DeleteMethod(ctx, u.ID, m.ID); err != nil {
				return err
			}
			removed = append(removed, string(m.Kind))
		}
		ps, err := tx.ListPasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := tx.DeletePasskey(ctx, u.ID, p.ID); err != nil {
				return err
			}
			removed = append(removed, fmt.Sprintf("passkey %q", p.Name))
		}
		pending, err := tx.DeleteTokens(ctx, portier.TokenFilter{UserID: u.ID, Kinds: []string{portier.TokenEnroll}})
		if err != nil {
			return err
		}
		changed = len(removed) > 0 || pending > 0
		switch {
		case len(removed) > 0:
			ev.Detail = "removed methods: " + strings.Join(removed, ", ")
		case pending > 0:
			ev.Detail = "no methods were registered; ended a registration in progress"
		default:
			ev.Detail = NoChange + ": no methods were registered"
		}
		return nil
	}, nil)
	return changed && err == nil, err
}

// ClearLockouts removes every lockout counter of a user within tx and makes every process
// forget what it remembers of the lock once tx commits (see LockoutCleared).
func ClearLockouts(ctx context.Context, tx portier.Tx, userID string) error {
	if err := tx.DeleteLockouts(ctx, userID); err != nil {
		return err
	}
	return LockoutCleared(ctx, tx, userID)
}

// LockoutCleared says, within tx, that the user's lockout counters are gone: it moves
// portier.CounterLockoutCleared, which every process checks before it answers from its lock
// memory, so from the commit on no process answers "locked" from memory, and it publishes the
// user on portier.ChannelLockoutCleared so that every process also drops the memory itself.
func LockoutCleared(ctx context.Context, tx portier.Tx, userID string) error {
	if _, err := tx.Increment(ctx, portier.CounterLockoutCleared); err != nil {
		return err
	}
	return tx.Publish(ctx, portier.ChannelLockoutCleared, userID)
}
