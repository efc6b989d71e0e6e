package directory

import (
	"context"

	"github.com/portier-id/portier"
)

// The reads the admin center makes beyond the users themselves: the sign-in log and a user's
// security info. They are for admins only, as the admin center's pages are; the web edge reads
// them here rather than from the store, so that the rule of who may read lives in one place.
// A refused read changes nothing, so unlike a refused action it is not audited.

// SignIns returns the sign-in log entries f selects, newest first, to an actor holding any
// admin role. Errors: EForbidden.
func (s *Service) SignIns(ctx context.Context, actor portier.Actor, f portier.SignInFilter) ([]*portier.SignIn, error) {
	if !portier.IsAdmin(actor.Roles) {
		return nil, refusedRead(actor, "the sign-in log")
	}
	return s.store.ListSignIns(ctx, f)
}

// Methods returns the security-info methods (for self-service reset) of the user with the
// id, oldest first, to an actor holding any admin role. Errors: EForbidden.
func (s *Service) Methods(ctx context.Context, actor portier.Actor, userID string) ([]*portier.AuthMethod, error) {
	if !portier.IsAdmin(actor.Roles) {
		return nil, refusedRead(actor, "a user's security info")
	}
	return s.store.ListMethods(ctx, userID)
}

// Ready returns nil when the store commits a write: it increments portier.CounterHeartbeat.
// A store that answers reads but cannot write (a full disk, another process holding SQLite's
// write lock, a PostgreSQL standby) is not ready, since every sign-in writes.
func (s *Service) Ready(ctx context.Context) error {
	return s.store.Tx(ctx, func(tx portier.Tx) error {
		_, err := tx.Increment(ctx, portier.CounterHeartbeat)
		return err
	})
}

func refusedRead(actor portier.Actor, what string) error {
	return portier.Errorf(portier.EForbidden, "%s may not read %s: only an admin may.", actor.Name, what)
}
