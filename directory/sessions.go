package directory

import (
	"context"
	"time"

	"github.com/portier-id/portier"
)

// EndSessions ends, within tx, every session and token of u issued before now: what a
// password reset, a block or a revoke does, for the self-service reset that shares it.
func EndSessions(ctx context.Context, tx portier.Tx, u *portier.User, now time.Time) error {
	return endSessions(ctx, tx, u, now)
}

// RememberLanguage keeps lang ("en" or "nl") as u's language for mail, when it changed: the
// language a user signs in with is the one their mail should speak. Not audited: it is the
// user's own preference, not an admin action.
func (s *Service) RememberLanguage(ctx context.Context, u *portier.User, lang string) error {
	if lang != "en" && lang != "nl" || u.Language == lang {
		return nil
	}
	return s.store.Tx(ctx, func(tx portier.Tx) error {
		fresh, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		fresh.Language = lang
		u.Language = lang
		return tx.UpdateUser(ctx, fresh)
	})
}
