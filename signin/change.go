package signin

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/password"
)

// pendingLifetime is how long a user who must change their password has to do so after
// signing in with the old one.
const pendingLifetime = 10 * time.Minute

// PendingToken returns a token that lets u, who just gave the right password but must change
// it (CodePasswordChangeNeeded), set a new one without a session. It dies after
// pendingLifetime and as soon as the password changes.
func (e *Engine) PendingToken(u *portier.User) string {
	exp := e.now().Add(pendingLifetime).Unix()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(exp))
	payload := u.ID + "." + base64.RawURLEncoding.EncodeToString(b[:])
	return payload + "." + base64.RawURLEncoding.EncodeToString(e.pendingMAC(payload, u))
}

func (e *Engine) pendingMAC(payload string, u *portier.User) []byte {
	m := hmac.New(sha256.New, e.secret)
	m.Write([]byte("portier pending change\x00"))
	m.Write([]byte(payload))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(u.PasswordChanged.UnixNano()))
	m.Write(b[:])
	m.Write([]byte(u.PasswordHash))
	return m.Sum(nil)
}

// PendingUser returns the user of a valid pending token; ENotFound otherwise.
func (e *Engine) PendingUser(ctx context.Context, token string) (*portier.User, error) {
	none := portier.Errorf(portier.ENotFound, "The time to change your password has run out: sign in again.")
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(token) > 300 {
		return nil, none
	}
	rawExp, err1 := base64.RawURLEncoding.DecodeString(parts[1])
	mac, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(rawExp) != 8 {
		return nil, none
	}
	if e.now().Unix() > int64(binary.BigEndian.Uint64(rawExp)) {
		return nil, none
	}
	u, err := e.store.UserByID(ctx, parts[0])
	if err != nil {
		if portier.ErrorCode(err) == portier.ENotFound {
			return nil, none
		}
		return nil, err
	}
	if !hmac.Equal(mac, e.pendingMAC(parts[0]+"."+parts[1], u)) || !u.AccountEnabled || !u.PasswordProfile.ForceChangePasswordNextSignIn {
		return nil, none
	}
	return u, nil
}

// CompleteForcedChange sets the new password of the user of a pending token and signs them in
// (the caller starts the session). The new password must pass the policy and differ from the
// old one. device is the browser's device cookie: the change is logged as familiar when the
// browser was familiar to the user before it (as its 50055 answer was), and the device to set
// in the browser, returned, keeps that browser familiar (and its lockout counter its own)
// across the new credential generation. Errors: ENotFound (token invalid or expired), EInvalid
// (the password breaks a rule).
func (e *Engine) CompleteForcedChange(ctx context.Context, token, newPassword, source, userAgent string, device Device) (*portier.User, Device, error) {
	u, err := e.PendingUser(ctx, token)
	if err != nil {
		return nil, Device{}, err
	}
	familiar := e.Familiar(device, u)
	if err := checkNewPasswordText(newPassword); err != nil {
		return nil, Device{}, err
	}
	if err := e.dir.CheckPassword(ctx, u, newPassword); err != nil {
		return nil, Device{}, err
	}
	var same password.Result
	var hash string
	var hashErr error
	// The pending token proves the old password was right: the owner's.
	err = e.withHashSlot(ctx, ClassOwner, func() {
		e.metrics.PasswordVerified()
		if same, hashErr = e.hasher.Verify(u.PasswordHash, newPassword); hashErr == nil && same.OK {
			return
		}
		hash, hashErr = e.hasher.Hash(newPassword)
	})
	if same.OK {
		return nil, Device{}, portier.Errorf(portier.EInvalid, "The new password must differ from the current one.")
	}
	if err = cmp.Or(err, hashErr); err != nil {
		return nil, Device{}, err
	}
	now := e.now()
	err = e.store.Tx(ctx, func(tx portier.Tx) error {
		fresh, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		if fresh.PasswordHash != u.PasswordHash {
			return portier.Errorf(portier.ENotFound, "The password was changed meanwhile: sign in again.")
		}
		fresh.PasswordHash, fresh.PasswordChanged, fresh.LastSignIn = hash, now, &now
		fresh.PasswordProfile.ForceChangePasswordNextSignIn = false
		fresh.EndCredentials()
		u = fresh
		return tx.UpdateUser(ctx, fresh)
	})
	if err != nil {
		return nil, Device{}, err
	}
	e.metrics.Attempt(portier.CodeSuccess)
	e.record.Add(&portier.SignIn{
		Time: now, Username: u.UPN, UserID: u.ID, Source: source, UserAgent: logUserAgent(userAgent),
		Code: portier.CodeSuccess, HashComputed: true, Process: e.process, Detail: "password changed as required",
		FamiliarDevice: familiar,
	})
	u.SetLockoutView(now)
	if familiar {
		// The same browser, at the generation the change began: it stays the one it was.
		device.Generation = u.CredentialGeneration
	}
	return u, e.RenewDevice(device, u), nil
}

// SignOutEverywhere ends every session and token of u, the current one included.
func (e *Engine) SignOutEverywhere(ctx context.Context, u *portier.User, source string) error {
	now := e.now()
	return e.store.Tx(ctx, func(tx portier.Tx) error {
		fresh, err := tx.UserForUpdate(ctx, u.ID)
		if err != nil {
			return err
		}
		fresh.SessionsValidFrom = now
		fresh.EndCredentials()
		if _, err := tx.DeleteUserSessions(ctx, u.ID); err != nil {
			return err
		}
		if _, err := tx.DeleteTokens(ctx, portier.TokenFilter{UserID: u.ID,
			Kinds: []string{portier.TokenCode, portier.TokenAccess, portier.TokenRefresh}}); err != nil {
			return err
		}
		if err := tx.UpdateUser(ctx, fresh); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &portier.AuditEvent{
			Time: now, Actor: u.UPN, ActorID: u.ID, Action: portier.ActionRevokeSessions,
			TargetID: u.ID, Target: u.UPN, Source: source, Outcome: portier.OutcomeSuccess, Detail: "self-service",
		})
	})
}

// RecordBadRequest logs an attempt refused before it reached the engine (a bad CSRF token,
// a field that is not plain text) with CodeBadRequest, so that the sign-in log holds it too.
// A user name that is not plain text is kept escaped (portier.SafeText), never as typed.
func (e *Engine) RecordBadRequest(username, source, userAgent, detail string) {
	name, _ := userName(username)
	e.metrics.Attempt(portier.CodeBadRequest)
	e.record.Add(&portier.SignIn{
		Time: e.now(), Username: truncate(name, portier.MaxUsernameBytes),
		Source: source, UserAgent: logUserAgent(userAgent), Code: portier.CodeBadRequest, Process: e.process, Detail: portier.SafeText(detail),
	})
}
