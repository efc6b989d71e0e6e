package selfservice

import (
	"context"
	"time"

	"github.com/portier-id/portier"
)

// FactorVerdict is the result of a second factor checked by this package at sign-in.
type FactorVerdict struct {
	OK bool
	// Locked says the authenticator's own counter is locked until RetryAt.
	Locked  bool
	RetryAt time.Time
	// TriesLeft is how many wrong codes the counter takes before it locks.
	TriesLeft int
}

// SecondFactorTOTP checks an authenticator code as the second factor of u's sign-in, within
// tx (the sign-in engine's transaction): on the authenticator's own counter, the one
// self-service reset charges too, under the organisation's lockout policy; every wrong code
// counts, and a code is accepted once only.
func (s *Service) SecondFactorTOTP(ctx context.Context, tx portier.Tx, st portier.Settings, u *portier.User, code, source string) (FactorVerdict, error) {
	refusal, err := s.totpTry(ctx, tx, st, "totp:"+u.ID, u, true, code, source, "too many wrong authenticator codes at sign-in")
	if err != nil || refusal == nil {
		return FactorVerdict{OK: err == nil}, err
	}
	if refusal.Reason == ReasonTOTPLocked {
		return FactorVerdict{Locked: true, RetryAt: refusal.RetryAt}, nil
	}
	return FactorVerdict{TriesLeft: refusal.TriesLeft}, nil
}

// ConfirmIn is Confirm within tx: the registration of a second factor during a pending
// sign-in completes in the transaction that opens the session. The Refusal (a wrong code)
// comes back as refusal, with what it counted written to tx.
func (s *Service) ConfirmIn(ctx context.Context, tx portier.Tx, u *portier.User, id, code, source string) (m *portier.AuthMethod, refusal error, err error) {
	return s.confirm(ctx, tx, u, id, code, source)
}
