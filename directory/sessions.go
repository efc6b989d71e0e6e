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
