package selfservice

import (
	"fmt"
	"time"
)

// Reasons of a Refusal; the web package turns each into a sentence in the viewer's language.
const (
	ReasonWrongCode    = "wrong-code"    // the code is not right; TriesLeft says how many remain
	ReasonCodeExpired  = "code-expired"  // the code's 10 minutes are over
	ReasonCodeDead     = "code-dead"     // 5 wrong tries: the code no longer works
	ReasonNoCode       = "no-code"       // no code is waiting (never sent, or already used)
	ReasonSendLimit    = "send-limit"    // too many codes sent; RetryAt says when more may be
	ReasonStartLimit   = "start-limit"   // too many resets started from the address; RetryAt says until when
	ReasonTOTPLocked   = "totp-locked"   // too many wrong authenticator codes; RetryAt says until when
	ReasonAddress      = "address"       // not a usable email address
	ReasonMethodOff    = "method-off"    // the organisation does not allow the method
	ReasonNotVerified  = "not-verified"  // the flow has not passed enough methods for this step
	ReasonBlocked      = "blocked"       // sign-in is blocked by an administrator: self-service cannot undo that
	ReasonNotLocked    = "not-locked"    // unlock asked for an account that is not locked
	ReasonSamePassword = "same-password" // the new password is the current one
	ReasonUnlockOff    = "unlock-off"    // the organisation does not allow unlocking without a reset
	ReasonExpired      = "expired"       // the reset, enrolment or link is over or unknown: start again
	ReasonDisabled     = "disabled"      // self-service password reset is off for everyone
)

// Refusal is a step of self-service that did not go through, for a reason the user can act on.
// Nothing changed, except the count of tries where the reason says so.
type Refusal struct {
	Reason    string
	RetryAt   time.Time
	TriesLeft int
}

func (r *Refusal) Error() string { return fmt.Sprintf("self-service: %s", r.Reason) }

func refuse(reason string) error { return &Refusal{Reason: reason} }
