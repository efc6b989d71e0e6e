package signin

import (
	"cmp"
	"context"
	"errors"

	"github.com/portier-id/portier"
)

// PasswordlessResult is the verdict of a sign-in method that names its own user (a passkey):
// no password, so no password lockout either.
type PasswordlessResult struct {
	// OK lets the user in (unless blocked); User is whose method it was (nil when unknown).
	OK   bool
	User *portier.User
	// AMR are the methods the session records ("hwk", "mfa", ...).
	AMR []string
	// Detail says in the sign-in log what happened; never a secret.
	Detail string
}

// PasswordlessCheck verifies the method within tx. What it writes (a challenge used up, a
// credential's counter moved) commits whatever the verdict; only an error rolls back.
type PasswordlessCheck func(ctx context.Context, tx portier.Tx) (PasswordlessResult, error)

// Passwordless is one passwordless sign-in attempt as the browser sent it.
type Passwordless struct {
	// Method names the method in the sign-in log ("passkey").
	Method    string
	Source    string
	UserAgent string
	// Device is the verified device cookie the browser sent, if any.
	Device Device
	// Language ("en" or "nl") is kept as the user's language on success.
	Language string
	Check    PasswordlessCheck
}

// SignInPasswordless runs a passwordless sign-in: in one transaction the check verifies the
// method, and on success the user's last sign-in time and language are written and the
// session opened. The password's lockout is neither asked nor touched: a method that cannot
// be guessed is no guess, so a password locked by guessing does not lock its owner out of it.
// A blocked user is refused (CodeBlocked) only after the method verified, as after a right
// password. A method that does not verify is portier.CodeMFAFailed (500121), the same answer
// whoever it names, so that nothing tells who exists. Every attempt is in the sign-in log
// with the method and its result. Errors are for a store that fails.
func (e *Engine) SignInPasswordless(ctx context.Context, a Passwordless) (Outcome, error) {
	now := e.now()
	entry := &portier.SignIn{Time: now, Username: "(" + a.Method + ")", Source: a.Source, UserAgent: logUserAgent(a.UserAgent), Process: e.process}
	var out Outcome
	var result PasswordlessResult
	err := e.store.Tx(ctx, func(tx portier.Tx) error {
		var err error
		if result, err = a.Check(ctx, tx); err != nil {
			return err
		}
		u := result.User
		if u == nil {
			return nil
		}
		entry.Username, entry.UserID = u.UPN, u.ID
		out.User, out.Familiar = u, e.Familiar(a.Device, u)
		if !result.OK || !u.AccountEnabled {
			return nil
		}
		st, err := e.dir.Settings(ctx)
		if err != nil {
			return err
		}
		fresh, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		fresh.LastSignIn = &now
		if lang := cmp.Or(a.Language, st.DefaultLanguage); lang == "en" || lang == "nl" {
			fresh.Language = lang
		}
		if err := tx.UpdateUser(ctx, fresh); err != nil {
			return err
		}
		token, s := e.newSession(fresh, st, now, a.Source, a.UserAgent)
		s.AMR = result.AMR
		out.User, out.Session = fresh, token
		return tx.InsertSession(ctx, s)
	})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			entry.Code, entry.Detail = portier.CodeServerError, errorDetail(err)
			e.metrics.Attempt(portier.CodeServerError)
			e.record.Add(entry)
		}
		return Outcome{}, err
	}
	detail := a.Method + ": "
	entry.FamiliarDevice = out.Familiar
	switch {
	case !result.OK:
		out = Outcome{Code: portier.CodeMFAFailed}
		entry.Code, entry.Detail = portier.CodeMFAFailed, detail+cmp.Or(result.Detail, "refused")
	case !out.User.AccountEnabled:
		out.Code = portier.CodeBlocked
		entry.Code, entry.Detail = portier.CodeBlocked, detail+"verified; sign-in blocked"
	default:
		out.Code = portier.CodeSuccess
		entry.Code, entry.Detail = portier.CodeSuccess, detail+cmp.Or(result.Detail, "verified")
	}
	e.metrics.Attempt(entry.Code)
	e.record.Add(entry)
	return out, nil
}
