package signin

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

// PendingLifetime is how long a sign-in may wait between its right password and its second
// factor (or the registration of one) before it must start again.
const PendingLifetime = 10 * time.Minute

// Pending is a sign-in between its first factor (a right password, or a Temporary Access Pass
// for the registration of new methods) and its second: there is no session yet. It is kept in
// the store as a token of kind portier.TokenMFAPending whose ID is the SHA-256 of the secret
// in the browser's cookie, so it is bound to that browser; it is used up by the step that
// completes it, so a replayed form finds it gone. It is also bound to the password step's
// result: a password change or reset, or a sign-out everywhere, in between (the user's
// credential generation moves) ends it.
type Pending struct {
	ID     string `json:"-"` // the token's ID
	UserID string `json:"userId"`
	// Generation is the user's CredentialGeneration when the first factor passed.
	Generation int64 `json:"generation"`
	// AMR are the methods passed so far ("pwd").
	AMR []string `json:"amr"`
	// Register is set when the user must register a second factor before going on (none is
	// registered); Methods are the registered second factors the user may use otherwise.
	Register bool                 `json:"register,omitempty"`
	Methods  []portier.MethodKind `json:"methods,omitempty"`
	// Enrollment is the authenticator app being registered (Register), selfservice's id.
	Enrollment string `json:"enrollment,omitempty"`
	// DeviceID is the browser's device cookie id at the first factor ("" if none), and
	// Familiar whether it was a familiar browser of the user.
	DeviceID string `json:"deviceId,omitempty"`
	Familiar bool   `json:"familiar,omitempty"`
	Language string `json:"language,omitempty"`
	// ReturnTo is where the sign-in goes once complete (a local path), set by the web layer.
	ReturnTo string    `json:"returnTo,omitempty"`
	Expires  time.Time `json:"-"`
}

// Has reports whether the user may use method k as the second factor of p.
func (p *Pending) Has(k portier.MethodKind) bool { return slices.Contains(p.Methods, k) }

// FormState returns the value the second step's form carries besides the cookie: the forms of
// another browser's pending sign-in do not carry it, so a form posted with the wrong browser's
// cookie (or a cookie swapped under a form) is refused.
func (e *Engine) FormState(secret string) string {
	m := hmac.New(sha256.New, e.secret)
	m.Write([]byte("portier mfa form\x00"))
	m.Write([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// newPending stores a pending sign-in of u within tx and returns the cookie's secret.
func (e *Engine) newPending(ctx context.Context, tx portier.Tx, u *portier.User, p *Pending, now time.Time) (string, error) {
	var raw [32]byte
	rand.Read(raw[:])
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	p.UserID, p.Generation = u.ID, u.CredentialGeneration
	data, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	p.ID, p.Expires = pendingID(secret), now.Add(PendingLifetime)
	return secret, tx.InsertToken(ctx, &portier.Token{
		Kind: portier.TokenMFAPending, ID: p.ID, UserID: u.ID, Data: data, Created: now, Expires: p.Expires,
	})
}

func pendingID(secret string) string {
	h := sha256.Sum256([]byte("portier mfa pending\x00" + secret))
	return hex.EncodeToString(h[:])
}

// ErrOutOfOrder is the error of a second step reached out of order: without a first step,
// with another browser's pending sign-in, after it completed or expired (a replayed form), or
// after the user's password changed. It is EInvalid, answered with portier.CodeBadRequest.
var ErrOutOfOrder = portier.Errorf(portier.EInvalid, "This step of the sign-in is out of order: sign in again.")

// loadPending reads (locked, inside tx, when q is a Tx and lock is set) the pending sign-in of
// the cookie secret and its user, checking the form state when form is not nil.
func (e *Engine) loadPending(ctx context.Context, q interface {
	Token(ctx context.Context, kind, id string) (*portier.Token, error)
	UserByID(ctx context.Context, id string) (*portier.User, error)
}, secret string, form *string, lock portier.Tx) (*Pending, *portier.User, error) {
	if secret == "" || len(secret) > 64 {
		return nil, nil, ErrOutOfOrder
	}
	if form != nil && !hmac.Equal([]byte(*form), []byte(e.FormState(secret))) {
		return nil, nil, ErrOutOfOrder
	}
	var t *portier.Token
	var err error
	if lock != nil {
		t, err = lock.TokenForUpdate(ctx, portier.TokenMFAPending, pendingID(secret))
	} else {
		t, err = q.Token(ctx, portier.TokenMFAPending, pendingID(secret))
	}
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, nil, ErrOutOfOrder
	} else if err != nil {
		return nil, nil, err
	}
	if !e.now().Before(t.Expires) {
		return nil, nil, ErrOutOfOrder
	}
	var p Pending
	if err := json.Unmarshal(t.Data, &p); err != nil {
		return nil, nil, ErrOutOfOrder
	}
	p.ID, p.Expires = t.ID, t.Expires
	u, err := q.UserByID(ctx, p.UserID)
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, nil, ErrOutOfOrder
	} else if err != nil {
		return nil, nil, err
	}
	if u.CredentialGeneration != p.Generation || !u.AccountEnabled {
		return nil, nil, ErrOutOfOrder
	}
	return &p, u, nil
}

// Pending returns the pending sign-in of a cookie secret and its user, for the pages of the
// second step; ErrOutOfOrder when there is none.
func (e *Engine) Pending(ctx context.Context, secret string) (*Pending, *portier.User, error) {
	return e.loadPending(ctx, e.store, secret, nil, nil)
}

// UpdatePending writes p (its Enrollment, ReturnTo) back, checking the form state; the
// registration step keeps its enrollment in it.
func (e *Engine) UpdatePending(ctx context.Context, secret, form string, change func(p *Pending, u *portier.User) error) error {
	return e.store.Tx(ctx, func(tx portier.Tx) error {
		p, u, err := e.loadPending(ctx, tx, secret, &form, tx)
		if err != nil {
			return err
		}
		if err := change(p, u); err != nil {
			return err
		}
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return tx.UpdateToken(ctx, &portier.Token{Kind: portier.TokenMFAPending, ID: p.ID, UserID: u.ID, Data: data, Expires: p.Expires})
	})
}

// FactorResult is a second factor's verdict (FactorCheck).
type FactorResult struct {
	// OK lets the sign-in in; AMR are the methods it adds to the session ("otp", "hwk", ...).
	OK  bool
	AMR []string
	// Locked says that the method's own counter is locked until RetryAt: the answer is
	// portier.CodeLocked, with a text that names the method.
	Locked  bool
	RetryAt time.Time
	// Detail says in the sign-in log what happened ("wrong code"); never a code or secret.
	Detail string
}

// FactorCheck checks a second factor within tx, with the pending sign-in and its user locked.
// What it writes (a wrong try counted, a credential's counter moved) commits whatever the
// verdict; only an error rolls back.
type FactorCheck func(ctx context.Context, tx portier.Tx, p *Pending, u *portier.User) (FactorResult, error)

// SecondFactor is one try at the second step of a sign-in, as the browser sent it.
type SecondFactor struct {
	// Secret is the pending sign-in's cookie value, Form the form state it posted (FormState).
	Secret, Form string
	// Method is the method tried: portier.MethodTOTP, portier.MethodPasskey.
	Method    portier.MethodKind
	Source    string
	UserAgent string
	Check     FactorCheck
}

// FactorOutcome is the answer to a SecondFactor.
type FactorOutcome struct {
	// Code is portier.CodeSuccess (Session set), CodeMFAFailed, CodeLocked (RetryAt set) or
	// CodeBadRequest (out of order: nothing changed).
	Code    int
	RetryAt time.Time
	User    *portier.User
	// Session is the new session's cookie value; AMR its methods.
	Session  string
	AMR      []string
	ReturnTo string
	Pending  *Pending
}

// methodName names a method in the sign-in log.
func methodName(k portier.MethodKind) string {
	switch k {
	case portier.MethodTOTP:
		return "authenticator app (totp)"
	case portier.MethodPasskey:
		return "passkey"
	}
	return string(k)
}

// CompleteSecondFactor runs one try at the second step: in one transaction the pending
// sign-in is loaded and locked, the check decides, and on success the pending sign-in is used
// up and the session opened, with the methods of both factors (and "mfa"). Every try is in the
// sign-in log with the method and its result: CodeSuccess, CodeMFAFailed, CodeLocked, or
// CodeBadRequest for a step out of order, which changes nothing. Errors are for a store that
// fails.
func (e *Engine) CompleteSecondFactor(ctx context.Context, f SecondFactor) (FactorOutcome, error) {
	now := e.now()
	entry := &portier.SignIn{Time: now, Source: f.Source, UserAgent: logUserAgent(f.UserAgent), Process: e.process}
	var out FactorOutcome
	var result FactorResult
	err := e.store.Tx(ctx, func(tx portier.Tx) error {
		p, u, err := e.loadPending(ctx, tx, f.Secret, &f.Form, tx)
		if err != nil {
			return err
		}
		entry.Username, entry.UserID, entry.FamiliarDevice = u.UPN, u.ID, p.Familiar
		out.User, out.Pending, out.ReturnTo = u, p, p.ReturnTo
		if p.Register || !p.Has(f.Method) {
			// Registration completes through CompleteRegistration; a method the user does
			// not have (or may not use) is no second factor.
			return ErrOutOfOrder
		}
		if result, err = f.Check(ctx, tx, p, u); err != nil {
			return err
		}
		if !result.OK {
			return nil
		}
		return e.complete(ctx, tx, p, u, result.AMR, now, f, &out)
	})
	if err != nil {
		if err == ErrOutOfOrder {
			entry.Code, entry.Detail = portier.CodeBadRequest, "second factor: "+methodName(f.Method)+": step out of order"
			if entry.Username == "" {
				entry.Username = "(unknown)"
			}
			e.metrics.Attempt(entry.Code)
			e.record.Add(entry)
			return FactorOutcome{Code: portier.CodeBadRequest}, nil
		}
		return FactorOutcome{}, err
	}
	detail := "second factor: " + methodName(f.Method) + ": "
	switch {
	case result.OK:
		entry.Code, entry.Detail = portier.CodeSuccess, detail+cmp.Or(result.Detail, "passed")
	case result.Locked:
		entry.Code, entry.Detail = portier.CodeLocked, detail+cmp.Or(result.Detail, "method locked")
		out.RetryAt = result.RetryAt
	default:
		entry.Code, entry.Detail = portier.CodeMFAFailed, detail+cmp.Or(result.Detail, "failed")
	}
	out.Code = entry.Code
	e.metrics.Attempt(entry.Code)
	e.record.Add(entry)
	return out, nil
}

// CompleteRegistration completes a pending sign-in that had to register a second factor
// (Pending.Register): register runs within the transaction, and reports whether the new
// method is registered and verified (a right first code, a valid attestation); then the
// session opens with amr, the new method's AMR values. A wrong code keeps the sign-in pending.
// The log has the registration's result as the second factor's.
func (e *Engine) CompleteRegistration(ctx context.Context, f SecondFactor) (FactorOutcome, error) {
	check := f.Check
	f.Check = nil
	var out FactorOutcome
	now := e.now()
	entry := &portier.SignIn{Time: now, Source: f.Source, UserAgent: logUserAgent(f.UserAgent), Process: e.process, Username: "(unknown)"}
	var result FactorResult
	err := e.store.Tx(ctx, func(tx portier.Tx) error {
		p, u, err := e.loadPending(ctx, tx, f.Secret, &f.Form, tx)
		if err != nil {
			return err
		}
		entry.Username, entry.UserID, entry.FamiliarDevice = u.UPN, u.ID, p.Familiar
		out.User, out.Pending, out.ReturnTo = u, p, p.ReturnTo
		if !p.Register {
			return ErrOutOfOrder
		}
		if result, err = check(ctx, tx, p, u); err != nil {
			return err
		}
		if !result.OK {
			return nil
		}
		return e.complete(ctx, tx, p, u, result.AMR, now, f, &out)
	})
	if err == ErrOutOfOrder {
		entry.Code, entry.Detail = portier.CodeBadRequest, "second factor registration: "+methodName(f.Method)+": step out of order"
		e.record.Add(entry)
		return FactorOutcome{Code: portier.CodeBadRequest}, nil
	} else if err != nil {
		return FactorOutcome{}, err
	}
	entry.Code, entry.Detail = portier.CodeMFAFailed, "second factor registered: "+methodName(f.Method)+": "+cmp.Or(result.Detail, "not verified")
	if result.OK {
		entry.Code, entry.Detail = portier.CodeSuccess, "second factor registered: "+methodName(f.Method)+": "+cmp.Or(result.Detail, "verified")
	}
	out.Code = entry.Code
	e.metrics.Attempt(entry.Code)
	e.record.Add(entry)
	return out, nil
}

// complete uses up the pending sign-in p and opens its session, within tx: the user's last
// sign-in time and language are written with it.
func (e *Engine) complete(ctx context.Context, tx portier.Tx, p *Pending, u *portier.User, amr []string, now time.Time, f SecondFactor, out *FactorOutcome) error {
	st, err := e.dir.Settings(ctx)
	if err != nil {
		return err
	}
	if err := tx.DeleteToken(ctx, portier.TokenMFAPending, p.ID); err != nil {
		return err
	}
	fresh, err := tx.UserForUpdate(ctx, u.ID)
	if err != nil {
		return err
	}
	fresh.LastSignIn = &now
	if p.Language == "en" || p.Language == "nl" {
		fresh.Language = p.Language
	}
	if err := tx.UpdateUser(ctx, fresh); err != nil {
		return err
	}
	all := append(slices.Clone(p.AMR), amr...)
	if len(p.AMR) > 0 && len(amr) > 0 && !slices.Contains(all, portier.AMRMFA) {
		all = append(all, portier.AMRMFA)
	}
	token, s := e.newSession(u, st, now, f.Source, f.UserAgent)
	s.AMR = all
	out.Session, out.AMR, out.User = token, all, fresh
	return tx.InsertSession(ctx, s)
}

// mfaNeeded decides, for a right first factor of u under st, whether the sign-in needs a
// second factor: the policy requires one of u, and this browser is not remembered. It returns
// the registered methods u may use (none: u must register one first).
func (e *Engine) mfaNeeded(ctx context.Context, st portier.Settings, u *portier.User, remembered string, deviceID string, force bool) (bool, []portier.MethodKind, error) {
	if !force && !st.MFA.RequiredFor(u.Roles) {
		return false, nil, nil
	}
	if !force && e.RememberedMFA(st, u, deviceID, remembered) {
		return false, nil, nil
	}
	ms, err := e.store.ListMethods(ctx, u.ID)
	if err != nil {
		return false, nil, err
	}
	var kinds []portier.MethodKind
	for _, m := range ms {
		if st.MFA.Allows(m.Kind) && !slices.Contains(kinds, m.Kind) {
			kinds = append(kinds, m.Kind)
		}
	}
	// Passkeys live in their own table (several per user).
	if st.MFA.Allows(portier.MethodPasskey) {
		ps, err := e.store.ListPasskeys(ctx, u.ID)
		if err != nil {
			return false, nil, err
		}
		if len(ps) > 0 {
			kinds = append(kinds, portier.MethodPasskey)
		}
	}
	// The authenticator app first: it is the method most users have with them.
	slices.SortStableFunc(kinds, func(a, b portier.MethodKind) int { return strings.Compare(string(b), string(a)) })
	return true, kinds, nil
}

// RememberToken returns the value of the cookie that spares u the second factor at the
// browser of device deviceID (the device cookie's id), issued now: bound to u's credential
// generation, so a password change or reset and a sign-out everywhere end it.
func (e *Engine) RememberToken(u *portier.User, deviceID string) string {
	payload := u.ID + "." + deviceID + "." + strconv.FormatInt(u.CredentialGeneration, 10) + "." + strconv.FormatInt(e.now().Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(e.rememberMAC(payload))
}

// RememberedMFA reports whether the remember cookie value spares u the second factor at the
// browser of deviceID under the settings st: signed here, for u and this device, at u's
// current generation, issued within st.MFA.RememberDays (0: never).
func (e *Engine) RememberedMFA(st portier.Settings, u *portier.User, deviceID, token string) bool {
	if st.MFA.RememberDays <= 0 || token == "" || deviceID == "" || len(token) > 300 {
		return false
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return false
	}
	mac, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || !hmac.Equal(mac, e.rememberMAC(token[:i])) {
		return false
	}
	parts := strings.Split(token[:i], ".")
	if len(parts) != 4 || parts[0] != u.ID || parts[1] != deviceID || parts[2] != strconv.FormatInt(u.CredentialGeneration, 10) {
		return false
	}
	issued, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return false
	}
	return e.now().Before(time.Unix(issued, 0).Add(st.MFA.Remember()))
}

func (e *Engine) rememberMAC(payload string) []byte {
	m := hmac.New(sha256.New, e.secret)
	m.Write([]byte("portier remember mfa\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// SecondStep decides, for u who has just passed a first factor outside SignIn (the forced
// password change after CodePasswordChangeNeeded), whether a second factor must follow
// before a session; if so it stores the pending sign-in and returns its cookie secret, ""
// otherwise. amr are the methods passed ("pwd").
func (e *Engine) SecondStep(ctx context.Context, u *portier.User, device Device, remember, language, returnTo string, force bool) (string, error) {
	st, err := e.dir.Settings(ctx)
	if err != nil {
		return "", err
	}
	need, methods, err := e.mfaNeeded(ctx, st, u, remember, device.ID, force)
	if err != nil || !need {
		return "", err
	}
	p := &Pending{AMR: []string{portier.AMRPassword}, Methods: methods, Register: len(methods) == 0, DeviceID: device.ID,
		Familiar: e.Familiar(device, u), Language: cmp.Or(language, st.DefaultLanguage), ReturnTo: returnTo}
	var secret string
	err = e.store.Tx(ctx, func(tx portier.Tx) error {
		secret, err = e.newPending(ctx, tx, u, p, e.now())
		return err
	})
	return secret, err
}
