package signin

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

// touchEvery is how stale a session's LastSeen may get before a request writes it again;
// it spares a write per request and bounds how early an idle session may end.
const touchEvery = time.Minute

// StartSession opens a session for u and returns the cookie value: 256 random bits, of which
// the store keeps only the SHA-256.
func (e *Engine) StartSession(ctx context.Context, u *portier.User, source, userAgent string) (string, error) {
	st, err := e.dir.Settings(ctx)
	if err != nil {
		return "", err
	}
	token, s := e.newSession(u, st, e.now(), source, userAgent)
	err = e.store.Tx(ctx, func(tx portier.Tx) error { return tx.InsertSession(ctx, s) })
	return token, err
}

// newSession returns a new session of u starting at now, not yet stored, and its cookie value.
func (e *Engine) newSession(u *portier.User, st portier.Settings, now time.Time, source, userAgent string) (string, *portier.Session) {
	var raw [32]byte
	rand.Read(raw[:])
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	e.sources.add(source)
	return token, &portier.Session{
		IDHash: hashToken(token), UserID: u.ID, Created: now, LastSeen: now,
		Expires: now.Add(st.SessionAbsolute), Source: source, UserAgent: logUserAgent(userAgent),
	}
}

// ErrIdle is Session's error for a session that went unused too long: ENotFound, so callers
// treat it as "not signed in", and distinct, so a page can say why.
var ErrIdle = portier.Errorf(portier.ENotFound, "Signed out after a time without activity.")

// Session returns the signed-in user and the session of a cookie value. ENotFound when the
// session is unknown, expired, revoked, or its user is blocked or gone; ErrIdle (also
// ENotFound) when it went unused longer than the idle limit, which for a user holding an admin
// role is the shorter AdminSessionIdle. The store is asked on every request, so a block on any
// process ends the session everywhere.
func (e *Engine) Session(ctx context.Context, token string) (*portier.User, *portier.Session, error) {
	none := portier.Errorf(portier.ENotFound, "Not signed in.")
	if token == "" || len(token) > 64 {
		return nil, nil, none
	}
	s, err := e.store.SessionByHash(ctx, hashToken(token))
	if err != nil {
		if portier.ErrorCode(err) == portier.ENotFound {
			return nil, nil, none
		}
		return nil, nil, err
	}
	now := e.now()
	if !now.Before(s.Expires) {
		return nil, nil, none
	}
	u, err := e.store.UserByID(ctx, s.UserID)
	if err != nil {
		if portier.ErrorCode(err) == portier.ENotFound {
			return nil, nil, none
		}
		return nil, nil, err
	}
	if !u.AccountEnabled || s.Created.Before(u.SessionsValidFrom) {
		return nil, nil, none
	}
	st, err := e.dir.Settings(ctx)
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(s.LastSeen) >= st.SessionIdleFor(u.Roles) {
		if err := e.EndSession(ctx, token); err != nil {
			return nil, nil, err
		}
		return nil, nil, ErrIdle
	}
	if now.Sub(s.LastSeen) >= touchEvery {
		err := e.store.Tx(ctx, func(tx portier.Tx) error { return tx.TouchSession(ctx, s.IDHash, now) })
		if err != nil && portier.ErrorCode(err) != portier.ENotFound {
			return nil, nil, err
		}
		s.LastSeen = now
	}
	u.SetLockoutView(now)
	return u, s, nil
}

// EndSession signs one session out.
func (e *Engine) EndSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return e.store.Tx(ctx, func(tx portier.Tx) error { return tx.DeleteSession(ctx, hashToken(token)) })
}

// EndSessionByHash signs out one session of u, named by its hash (from ListSessions).
func (e *Engine) EndSessionByHash(ctx context.Context, u *portier.User, idHash []byte) error {
	return e.store.Tx(ctx, func(tx portier.Tx) error {
		s, err := tx.SessionByHash(ctx, idHash)
		if err != nil || s.UserID != u.ID {
			return portier.Errorf(portier.ENotFound, "No such session.")
		}
		return tx.DeleteSession(ctx, idHash)
	})
}

// EndOtherSessions signs u out of every session but the one of keepToken.
func (e *Engine) EndOtherSessions(ctx context.Context, u *portier.User, keepToken string) error {
	keep := hashToken(keepToken)
	return e.store.Tx(ctx, func(tx portier.Tx) error {
		sessions, err := tx.ListSessions(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, s := range sessions {
			if !hmac.Equal(s.IDHash, keep) {
				if err := tx.DeleteSession(ctx, s.IDHash); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Sessions lists u's sessions, newest first.
func (e *Engine) Sessions(ctx context.Context, u *portier.User) ([]*portier.Session, error) {
	return e.store.ListSessions(ctx, u.ID)
}

// SessionHash returns the stored hash of a cookie value.
func SessionHash(token string) []byte { return hashToken(token) }

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// DeviceLifetime is how long a browser stays familiar after its last sign-in: the cookie's
// Max-Age and the expiry inside its signed value, so a copy kept past it and replayed by hand
// is refused too.
const DeviceLifetime = 90 * 24 * time.Hour

// Device is a browser that signed in to a user's account before: its own lockout counter
// keeps a stranger's guessing elsewhere from locking the owner out at it. It counts as
// familiar only until Expires and only for the user's CredentialGeneration it was issued at,
// so a password reset or change and a sign-out everywhere make every older cookie a stranger's.
type Device struct {
	UserID     string
	ID         string
	Generation int64
	Expires    time.Time
}

// DeviceToken returns the signed cookie value of d.
func (e *Engine) DeviceToken(d Device) string {
	payload := d.UserID + "." + strconv.FormatInt(d.Generation, 10) + "." + strconv.FormatInt(d.Expires.Unix(), 10) + "." + d.ID
	return payload + "." + base64.RawURLEncoding.EncodeToString(e.deviceMAC(payload))
}

// ParseDevice returns the device of a cookie value, or the zero Device when the value was not
// signed by this service or has expired.
func (e *Engine) ParseDevice(token string) Device {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || len(token) > 200 {
		return Device{}
	}
	mac, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || !hmac.Equal(mac, e.deviceMAC(token[:i])) {
		return Device{}
	}
	parts := strings.Split(token[:i], ".")
	if len(parts) != 4 || parts[0] == "" || parts[3] == "" {
		return Device{}
	}
	gen, err1 := strconv.ParseInt(parts[1], 10, 64)
	exp, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return Device{}
	}
	d := Device{UserID: parts[0], Generation: gen, Expires: time.Unix(exp, 0).UTC(), ID: parts[3]}
	if !e.now().Before(d.Expires) {
		return Device{}
	}
	return d
}

// Familiar reports whether d is a familiar browser of u: issued to u at u's current credential
// generation and not expired.
func (e *Engine) Familiar(d Device, u *portier.User) bool {
	return d.ID != "" && d.UserID == u.ID && d.Generation == u.CredentialGeneration && e.now().Before(d.Expires)
}

// RenewDevice returns the device to set in a browser that just signed in as u: the one it
// sent when that is still familiar (its lockout counter stays its own), a new one otherwise;
// either way at u's current generation and valid for DeviceLifetime from now.
func (e *Engine) RenewDevice(d Device, u *portier.User) Device {
	if !e.Familiar(d, u) {
		d = NewDevice(u)
	}
	d.Generation = u.CredentialGeneration
	d.Expires = e.now().Add(DeviceLifetime).Truncate(time.Second)
	return d
}

// NewDevice returns a new device for u at u's current credential generation; RenewDevice sets
// its expiry.
func NewDevice(u *portier.User) Device {
	var raw [16]byte
	rand.Read(raw[:])
	return Device{UserID: u.ID, ID: base64.RawURLEncoding.EncodeToString(raw[:]), Generation: u.CredentialGeneration}
}

func (e *Engine) deviceMAC(payload string) []byte {
	m := hmac.New(sha256.New, e.secret)
	// v2: the value carries the generation and the expiry; a cookie of the first form, which
	// lived forever, no longer verifies.
	m.Write([]byte("portier device cookie v2\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}
