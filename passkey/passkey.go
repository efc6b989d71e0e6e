// Package passkey registers passkeys (WebAuthn credentials) and checks their assertions, for
// the second factor after a password and for passwordless sign-in. The WebAuthn ceremony
// itself (client data, authenticator data, attestation, signatures, flags) is
// github.com/go-webauthn/webauthn's; this package is what Portier adds around it: the
// relying party from --base-url, user verification always required, challenges kept
// server-side and bound to one browser, one use and a short life, the credentials in the
// store, and the sign counter checked under the credential's row lock.
//
// A ceremony is begun (Begin*) and finished in two requests. Begin stores the library's
// session data as a token of kind portier.TokenWebAuthn whose ID is the SHA-256 of a random
// ticket that only the browser holds (in a cookie), and hands the browser the options for
// navigator.credentials. Finish loads the token by the ticket, deletes it whatever the
// outcome (a challenge is good for one answer), and verifies the answer against it: an
// assertion made for another browser's challenge, a replayed one, or one for another origin
// or relying party fails. It knows nothing of HTTP.
package passkey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/portier-id/portier"
)

// CeremonyLifetime is how long a challenge may be answered: enough to find and touch a key.
const CeremonyLifetime = 5 * time.Minute

// MaxResponseBytes bounds the JSON of an authenticator's answer that Finish reads.
const MaxResponseBytes = 16 << 10

// Purpose says what a ceremony is for; a challenge begun for one purpose is refused for another.
type Purpose string

// The purposes of a ceremony.
const (
	PurposeRegister     Purpose = "register"      // register a passkey (Security info, or at sign-in)
	PurposeSignIn       Purpose = "sign-in"       // passwordless sign-in: no user name, a discoverable credential
	PurposeSecondFactor Purpose = "second-factor" // the second step after a right password
)

// Store is what the service reads of the store outside a transaction, and its transactions.
type Store interface {
	Tx(ctx context.Context, fn func(tx portier.Tx) error) error
	ListPasskeys(ctx context.Context, userID string) ([]*portier.Passkey, error)
}

// Config is what New needs.
type Config struct {
	Store Store
	// BaseURL is the public URL: its host is the relying party ID, its origin the one origin
	// whose assertions are taken.
	BaseURL *url.URL
	Now     portier.Clock
	Log     *slog.Logger
}

// Service registers passkeys and checks assertions. Create it with New.
type Service struct {
	store Store
	wa    *webauthn.WebAuthn // nil: passkeys cannot work at this base URL
	now   portier.Clock
	log   *slog.Logger
	// off says why passkeys are off, when wa is nil.
	off string
}

// New returns the service. Passkeys need a relying party ID that is a domain name: a base
// URL whose host is an IP address (http://127.0.0.1:8080) leaves them off, and Enabled says so.
func New(c Config) *Service {
	s := &Service{store: c.Store, now: c.Now, log: c.Log}
	host := c.BaseURL.Hostname()
	if net.ParseIP(host) != nil {
		s.off = "the base URL's host " + host + " is an IP address; WebAuthn needs a domain name (e.g. localhost)"
		c.Log.Warn("passkeys are off", "reason", s.off)
		return s
	}
	origin := c.BaseURL.Scheme + "://" + c.BaseURL.Host
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  host,
		RPDisplayName:         "Portier",
		RPOrigins:             []string{origin},
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: CeremonyLifetime, TimeoutUVD: CeremonyLifetime},
			Registration: webauthn.TimeoutConfig{Timeout: CeremonyLifetime, TimeoutUVD: CeremonyLifetime},
		},
	})
	if err != nil {
		s.off = err.Error()
		c.Log.Warn("passkeys are off", "reason", s.off)
		return s
	}
	s.wa = wa
	return s
}

// Enabled reports whether passkeys work at this base URL.
func (s *Service) Enabled() bool { return s != nil && s.wa != nil }

// Challenge is a ceremony begun: what the browser passes to navigator.credentials, and the
// ticket that binds the ceremony to the browser (its cookie).
type Challenge struct {
	// Options is the JSON of the creation or request options ({"publicKey": {...}}).
	Options json.RawMessage
	Ticket  string
}

// ceremony is a challenge waiting for its answer, kept as the Data of a TokenWebAuthn token.
type ceremony struct {
	Purpose Purpose `json:"purpose"`
	// Bind is what else the answer must come with: the pending sign-in's id of a second
	// factor, so that a challenge begun for one sign-in serves no other.
	Bind    string               `json:"bind,omitempty"`
	Session webauthn.SessionData `json:"session"`
}

// Refusal is a ceremony that did not succeed: bad input, an answer that does not verify, a
// challenge gone. Reason is one of the Reason constants; Detail says more in the sign-in and
// audit logs (never a secret).
type Refusal struct {
	Reason string
	Detail string
	// User is whose passkey the answer named, when that is known: for the sign-in log.
	User *portier.User
}

func (r *Refusal) Error() string { return "passkey: " + r.Reason + ": " + r.Detail }

// Reasons of a Refusal.
const (
	ReasonOff     = "off"     // passkeys cannot work at this base URL
	ReasonName    = "name"    // the name is empty, too long or not plain text
	ReasonLimit   = "limit"   // the user has MaxPasskeys already
	ReasonExists  = "exists"  // the credential is registered already
	ReasonExpired = "expired" // no such challenge: expired, used, or another browser's
	ReasonFailed  = "failed"  // the answer does not verify
)

func refuse(reason, detail string) *Refusal { return &Refusal{Reason: reason, Detail: detail} }

// user is a portier.User as go-webauthn sees it: its handle is the user's opaque id, never
// the name, so a passkey carries nothing that names the person.
type user struct {
	u     *portier.User
	creds []webauthn.Credential
}

func (w *user) WebAuthnID() []byte                         { return []byte(w.u.ID) }
func (w *user) WebAuthnName() string                       { return w.u.UPN }
func (w *user) WebAuthnDisplayName() string                { return w.u.DisplayName }
func (w *user) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// credential is a stored passkey as go-webauthn sees it.
func credential(p *portier.Passkey) (webauthn.Credential, error) {
	id, err := base64.RawURLEncoding.DecodeString(p.ID)
	if err != nil {
		return webauthn.Credential{}, fmt.Errorf("passkey %q: credential id: %w", p.ID, err)
	}
	flags := protocol.FlagUserPresent | protocol.FlagUserVerified
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackupState {
		flags |= protocol.FlagBackupState
	}
	var transports []protocol.AuthenticatorTransport
	for _, t := range p.Transports {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID: id, PublicKey: p.PublicKey, AttestationFormat: p.AttestationFormat, Transport: transports,
		Flags:         webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}, nil
}

func credentials(ps []*portier.Passkey) ([]webauthn.Credential, error) {
	out := make([]webauthn.Credential, 0, len(ps))
	for _, p := range ps {
		c, err := credential(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// ticketID is the token ID of a ticket: only its hash is stored.
func ticketID(ticket string) string {
	h := sha256.Sum256([]byte("portier webauthn\x00" + ticket))
	return hex.EncodeToString(h[:])
}

// begin stores a ceremony and returns its challenge.
func (s *Service) begin(ctx context.Context, userID string, c ceremony, options any) (*Challenge, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var raw [32]byte
	rand.Read(raw[:])
	ticket := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		return tx.InsertToken(ctx, &portier.Token{Kind: portier.TokenWebAuthn, ID: ticketID(ticket), UserID: userID,
			Data: data, Created: now, Expires: now.Add(CeremonyLifetime)})
	})
	if err != nil {
		return nil, err
	}
	return &Challenge{Options: opts, Ticket: ticket}, nil
}

// take loads and ends the ceremony of ticket within tx: a challenge answers once, whatever
// the answer. It is refused (ReasonExpired) when there is none, when it is over, or when it
// was begun for another purpose, user or binding.
func (s *Service) take(ctx context.Context, tx portier.Tx, ticket string, purpose Purpose, userID, bind string) (*ceremony, error) {
	if ticket == "" || len(ticket) > 100 {
		return nil, refuse(ReasonExpired, "no challenge: this browser began no ceremony")
	}
	t, err := tx.TokenForUpdate(ctx, portier.TokenWebAuthn, ticketID(ticket))
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, refuse(ReasonExpired, "no challenge: used already, expired, or another browser's")
	} else if err != nil {
		return nil, err
	}
	if err := tx.DeleteToken(ctx, portier.TokenWebAuthn, t.ID); err != nil {
		return nil, err
	}
	if !s.now().Before(t.Expires) {
		return nil, refuse(ReasonExpired, "challenge expired")
	}
	var c ceremony
	if err := json.Unmarshal(t.Data, &c); err != nil {
		return nil, refuse(ReasonExpired, "challenge unreadable")
	}
	if c.Purpose != purpose || t.UserID != userID || c.Bind != bind {
		return nil, refuse(ReasonExpired, "challenge begun for another purpose or sign-in")
	}
	// The store's expiry, on the injected clock, is the one that counts.
	c.Session.Expires = time.Time{}
	return &c, nil
}

// failed turns go-webauthn's error into a Refusal whose detail says what did not verify.
func failed(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		detail := pe.Details
		if pe.DevInfo != "" {
			detail += ": " + pe.DevInfo
		}
		return refuse(ReasonFailed, truncate(portier.SafeText(detail), 300))
	}
	var ref *Refusal
	if errors.As(err, &ref) {
		return ref
	}
	return refuse(ReasonFailed, truncate(portier.SafeText(err.Error()), 300))
}

// BeginRegistration begins registering a passkey of u: a discoverable credential (so that it
// signs in without a user name), user verification required, no attestation asked, and the
// user's passkeys excluded so that one authenticator is not registered twice.
//
// bind is what the answer must come with: the pending sign-in's id when the passkey is
// registered as the first second factor during a sign-in, "" under Security info.
func (s *Service) BeginRegistration(ctx context.Context, u *portier.User, bind string) (*Challenge, error) {
	if s.wa == nil {
		return nil, refuse(ReasonOff, s.off)
	}
	have, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(have) >= portier.MaxPasskeys {
		return nil, refuse(ReasonLimit, fmt.Sprintf("%d passkeys registered already", len(have)))
	}
	creds, err := credentials(have)
	if err != nil {
		return nil, err
	}
	creation, session, err := s.wa.BeginRegistration(&user{u: u, creds: creds},
		webauthn.WithExclusions(webauthn.Credentials(creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
	)
	if err != nil {
		return nil, err
	}
	return s.begin(ctx, u.ID, ceremony{Purpose: PurposeRegister, Bind: bind, Session: *session}, creation)
}

// CheckName checks a passkey's name as typed and returns it trimmed.
func CheckName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > portier.MaxPasskeyName || !portier.IsPlainText(name, false) {
		return "", refuse(ReasonName, "name empty, too long or not plain text")
	}
	return name, nil
}

// Register finishes registering a passkey of u within tx: response is the JSON of the
// browser's PublicKeyCredential. The passkey is stored, named name; the caller audits it.
// A Refusal commits the end of the challenge; the caller commits tx for it.
func (s *Service) Register(ctx context.Context, tx portier.Tx, u *portier.User, ticket, name, response, bind string) (*portier.Passkey, error) {
	if s.wa == nil {
		return nil, refuse(ReasonOff, s.off)
	}
	c, err := s.take(ctx, tx, ticket, PurposeRegister, u.ID, bind)
	if err != nil {
		return nil, err
	}
	name, err = CheckName(name)
	if err != nil {
		return nil, err
	}
	if len(response) > MaxResponseBytes {
		return nil, refuse(ReasonFailed, "answer too long")
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes([]byte(response))
	if err != nil {
		return nil, failed(err)
	}
	have, err := tx.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(have) >= portier.MaxPasskeys {
		return nil, refuse(ReasonLimit, fmt.Sprintf("%d passkeys registered already", len(have)))
	}
	cred, err := s.wa.CreateCredential(&user{u: u}, c.Session, parsed)
	if err != nil {
		return nil, failed(err)
	}
	if !cred.Flags.UserVerified {
		return nil, refuse(ReasonFailed, "the authenticator did not verify the user")
	}
	now := s.now()
	p := &portier.Passkey{
		ID: base64.RawURLEncoding.EncodeToString(cred.ID), UserID: u.ID, Name: name, PublicKey: cred.PublicKey,
		SignCount: cred.Authenticator.SignCount, AAGUID: cred.Authenticator.AAGUID, AttestationFormat: cred.AttestationFormat,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, Created: now,
	}
	for _, t := range cred.Transport {
		if t := string(t); t != "" && len(t) <= 32 && portier.IsPlainText(t, false) && !strings.Contains(t, ",") && len(p.Transports) < 8 {
			p.Transports = append(p.Transports, t)
		}
	}
	if err := tx.InsertPasskey(ctx, p); err != nil {
		if portier.ErrorCode(err) == portier.EConflict {
			return nil, refuse(ReasonExists, "credential registered already")
		}
		return nil, err
	}
	return p, nil
}

// BeginSignIn begins a passwordless sign-in: no user is named, so the challenge allows any
// discoverable credential of this relying party and tells nothing of who exists.
func (s *Service) BeginSignIn(ctx context.Context) (*Challenge, error) {
	if s.wa == nil {
		return nil, refuse(ReasonOff, s.off)
	}
	assertion, session, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	return s.begin(ctx, "", ceremony{Purpose: PurposeSignIn, Session: *session}, assertion)
}

// BeginSecondFactor begins the second step of u's sign-in with a passkey; bind is the
// pending sign-in's id, which the answer must come with.
func (s *Service) BeginSecondFactor(ctx context.Context, u *portier.User, bind string) (*Challenge, error) {
	if s.wa == nil {
		return nil, refuse(ReasonOff, s.off)
	}
	have, err := s.store.ListPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	creds, err := credentials(have)
	if err != nil {
		return nil, err
	}
	if len(creds) == 0 {
		return nil, refuse(ReasonFailed, "the user has no passkey")
	}
	assertion, session, err := s.wa.BeginLogin(&user{u: u, creds: creds}, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, err
	}
	return s.begin(ctx, u.ID, ceremony{Purpose: PurposeSecondFactor, Bind: bind, Session: *session}, assertion)
}

// Assertion is an assertion that verified: whose passkey it was, updated (counter, backup
// state, last use) in the transaction.
type Assertion struct {
	User    *portier.User
	Passkey *portier.Passkey
}

// VerifySignIn checks the answer to a passwordless sign-in's challenge within tx: the
// credential is looked up by its id, its user by the passkey, and the user handle the
// authenticator returned must be that user's. The caller decides what a blocked user gets.
func (s *Service) VerifySignIn(ctx context.Context, tx portier.Tx, ticket, response string) (*Assertion, error) {
	return s.verify(ctx, tx, ticket, response, PurposeSignIn, nil, "")
}

// VerifySecondFactor checks the answer to u's second-factor challenge within tx; bind is the
// pending sign-in's id the challenge was begun for.
func (s *Service) VerifySecondFactor(ctx context.Context, tx portier.Tx, u *portier.User, ticket, response, bind string) (*Assertion, error) {
	return s.verify(ctx, tx, ticket, response, PurposeSecondFactor, u, bind)
}

func (s *Service) verify(ctx context.Context, tx portier.Tx, ticket, response string, purpose Purpose, u *portier.User, bind string) (*Assertion, error) {
	if s.wa == nil {
		return nil, refuse(ReasonOff, s.off)
	}
	userID := ""
	if u != nil {
		userID = u.ID
	}
	c, err := s.take(ctx, tx, ticket, purpose, userID, bind)
	if err != nil {
		return nil, err
	}
	if len(response) > MaxResponseBytes {
		return nil, refuse(ReasonFailed, "answer too long")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes([]byte(response))
	if err != nil {
		return nil, failed(err)
	}
	// The credential's row stays locked to the end of tx, so that two answers of one
	// credential settle its sign counter one after the other.
	p, err := tx.PasskeyForUpdate(ctx, base64.RawURLEncoding.EncodeToString(parsed.RawID))
	if portier.ErrorCode(err) == portier.ENotFound {
		return nil, refuse(ReasonFailed, "unknown passkey")
	} else if err != nil {
		return nil, err
	}
	if u == nil {
		if u, err = tx.UserByID(ctx, p.UserID); portier.ErrorCode(err) == portier.ENotFound {
			return nil, refuse(ReasonFailed, "unknown passkey")
		} else if err != nil {
			return nil, err
		}
	} else if p.UserID != u.ID {
		return nil, refuse(ReasonFailed, "another user's passkey")
	}
	cred, err := credential(p)
	if err != nil {
		return nil, err
	}
	a, err := s.check(ctx, tx, c, parsed, purpose, u, p, cred)
	var ref *Refusal
	if errors.As(err, &ref) {
		ref.User = u
	}
	return a, err
}

// check verifies a parsed answer against the ceremony and u's passkey p, and moves p's
// counter, backup state and last use.
func (s *Service) check(ctx context.Context, tx portier.Tx, c *ceremony, parsed *protocol.ParsedCredentialAssertionData, purpose Purpose, u *portier.User, p *portier.Passkey, cred webauthn.Credential) (*Assertion, error) {
	wu := &user{u: u, creds: []webauthn.Credential{cred}}
	var got *webauthn.Credential
	var err error
	if purpose == PurposeSignIn {
		_, got, err = s.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return wu, nil }, c.Session, parsed)
	} else {
		got, err = s.wa.ValidateLogin(wu, c.Session, parsed)
	}
	if err != nil {
		return nil, failed(err)
	}
	if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return nil, refuse(ReasonFailed, "the authenticator did not verify the user")
	}
	if got.Authenticator.CloneWarning {
		// The counter did not go past the stored one: a copy of the key, or a replay of an
		// answer that slipped past the challenge. Refused, and the stored count stays.
		return nil, refuse(ReasonFailed, fmt.Sprintf("sign counter %d did not go past %d: a cloned authenticator?", parsed.Response.AuthenticatorData.Counter, p.SignCount))
	}
	now := s.now()
	p.SignCount, p.BackupState, p.LastUsed = got.Authenticator.SignCount, got.Flags.BackupState, &now
	if err := tx.UpdatePasskey(ctx, p); err != nil {
		return nil, err
	}
	return &Assertion{User: u, Passkey: p}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Add registers a passkey of u under Security info, in its own transaction, and audits it.
func (s *Service) Add(ctx context.Context, u *portier.User, ticket, name, response, source string) (*portier.Passkey, error) {
	var p *portier.Passkey
	var refusal error
	err := s.store.Tx(ctx, func(tx portier.Tx) error {
		var err error
		p, err = s.Register(ctx, tx, u, ticket, name, response, "")
		var ref *Refusal
		if errors.As(err, &ref) {
			refusal = err // the challenge is used up all the same
			return nil
		} else if err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.SelfEvent(u, portier.ActionRegisterSecurityInfo, source, Describe(p)))
	})
	if err != nil {
		return nil, err
	}
	return p, refusal
}

// Remove removes one of u's passkeys and audits it. The caller has checked that it is u
// asking (the current password).
func (s *Service) Remove(ctx context.Context, u *portier.User, id, source string) error {
	return s.store.Tx(ctx, func(tx portier.Tx) error {
		p, err := tx.PasskeyForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if p.UserID != u.ID {
			return portier.NoPasskey()
		}
		if err := tx.DeletePasskey(ctx, u.ID, id); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.SelfEvent(u, portier.ActionDeleteSecurityInfo, source, Describe(p)))
	})
}

// Describe names a passkey in the audit log.
func Describe(p *portier.Passkey) string { return fmt.Sprintf("passkey %q", p.Name) }

// SelfEvent is an audit entry of something users do to their own account.
func (s *Service) SelfEvent(u *portier.User, action portier.Action, source, detail string) *portier.AuditEvent {
	return &portier.AuditEvent{
		Time: s.now(), Actor: u.UPN, ActorID: u.ID, Action: action, TargetID: u.ID, Target: u.UPN,
		Source: source, Outcome: portier.OutcomeSuccess, Detail: detail,
	}
}

// List returns u's passkeys, oldest first.
func (s *Service) List(ctx context.Context, u *portier.User) ([]*portier.Passkey, error) {
	return s.store.ListPasskeys(ctx, u.ID)
}
