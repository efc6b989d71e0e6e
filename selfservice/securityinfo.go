package selfservice

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/portier-id/portier"
)

// Enrollment is security info being registered: an email address waiting for its code, or an
// authenticator app waiting for its first code.
// It is kept by Service.enrollments as a token of kind TokenEnroll; its ID is the one the
// confirming page names.
type Enrollment struct {
	flowMeta
	Kind    portier.MethodKind `json:"kind"`
	Address string             `json:"address,omitempty"`
	// Secret is the authenticator's key (base32), shown as text and in the QR code.
	Secret      string    `json:"secret,omitempty"`
	URL         string    `json:"url,omitempty"` // otpauth:// URL for the QR code
	CodeMAC     []byte    `json:"codeMac,omitempty"`
	CodeExpires time.Time `json:"codeExpires"`
	Tries       int       `json:"tries"`
}

// allowing reads the settings, and refuses with ReasonMethodOff when the organisation does
// not allow method k.
func (s *Service) allowing(ctx context.Context, k portier.MethodKind) (portier.Settings, error) {
	st, err := s.dir.Settings(ctx)
	// An authenticator app is also registered as a second factor of sign-in.
	if err == nil && !st.Reset.Allows(k) && !(k == portier.MethodTOTP && st.MFA.Allows(k)) {
		err = refuse(ReasonMethodOff)
	}
	return st, err
}

// Methods returns the user's registered methods.
func (s *Service) Methods(ctx context.Context, u *portier.User) ([]*portier.AuthMethod, error) {
	return s.store.ListMethods(ctx, u.ID)
}

// Registration says how a user stands with self-service reset.
type Registration struct {
	// InScope reports whether the user may use self-service reset at all.
	InScope bool
	// Required is how many methods the user must pass; Have how many the user registered.
	Required, Have int
	// Ask reports that the user should be asked to register right after signing in.
	Ask bool
}

// Registration returns how u stands with self-service reset.
func (s *Service) Registration(ctx context.Context, u *portier.User) (Registration, error) {
	st, err := s.dir.Settings(ctx)
	if err != nil {
		return Registration{}, err
	}
	n, ok := st.Reset.Required(u.Roles)
	if !ok {
		return Registration{}, nil
	}
	ms, err := s.store.ListMethods(ctx, u.ID)
	if err != nil {
		return Registration{}, err
	}
	have := 0
	for _, m := range ms {
		if st.Reset.Allows(m.Kind) {
			have++
		}
	}
	return Registration{InScope: true, Required: n, Have: have, Ask: st.Reset.RequireRegistration && have < n}, nil
}

// AskToRegister reports whether u should be asked to register security info right after
// signing in. It reads the user's methods only when the organisation asks for registration,
// since it runs at every successful sign-in.
func (s *Service) AskToRegister(ctx context.Context, u *portier.User) (bool, error) {
	st, err := s.dir.Settings(ctx)
	if err != nil || !st.Reset.RequireRegistration {
		return false, err
	}
	reg, err := s.Registration(ctx, u)
	return reg.Ask, err
}

// MaxAddressLength bounds an alternate email address (RFC 5321's path limit).
const MaxAddressLength = 254

// StartEmail begins registering an alternate email address: a code goes to it. It returns the
// enrollment's ID, which the confirming page names.
func (s *Service) StartEmail(ctx context.Context, u *portier.User, address, source string, lang string) (string, error) {
	st, err := s.allowing(ctx, portier.MethodEmail)
	if err != nil {
		return "", err
	}
	address = strings.TrimSpace(address)
	parsed, err := mail.ParseAddress(address)
	if !utf8.ValidString(address) || len(address) > MaxAddressLength || err != nil || parsed.Address != address || !strings.Contains(address[strings.LastIndex(address, "@"):], ".") {
		return "", refuse(ReasonAddress)
	}
	now := s.now()
	code := newCode()
	id := portier.NewID()
	e := Enrollment{flowMeta: flowMeta{ID: id, UserID: u.ID}, Kind: portier.MethodEmail, Address: address,
		CodeMAC: s.codeMAC("register", id, code), CodeExpires: now.Add(CodeLifetime)}
	if lang != "en" && lang != "nl" {
		lang = language(u, st)
	}
	msg, err := render("code", lang, address, map[string]any{"Name": u.DisplayName, "UPN": u.UPN, "Org": st.OrgName, "Code": code, "Purpose": "register"})
	if err != nil {
		return "", err
	}
	err = s.store.Tx(ctx, func(tx portier.Tx) error {
		retry, err := charge(ctx, tx, now, sendLimits(u.ID, source)...)
		if err != nil {
			return err
		}
		if !retry.IsZero() {
			return &Refusal{Reason: ReasonSendLimit, RetryAt: retry}
		}
		if err := s.enrollments().save(ctx, tx, &e); err != nil {
			return err
		}
		return s.mailer.Enqueue(ctx, tx, msg, nil)
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// StartTOTP begins registering an authenticator app: the page shows its key, and the user
// confirms with a first code.
func (s *Service) StartTOTP(ctx context.Context, u *portier.User) (string, error) {
	st, err := s.allowing(ctx, portier.MethodTOTP)
	if err != nil {
		return "", err
	}
	key, err := newTOTPKey(st.OrgName, u.UPN)
	if err != nil {
		return "", err
	}
	e := Enrollment{flowMeta: flowMeta{ID: portier.NewID(), UserID: u.ID}, Kind: portier.MethodTOTP, Secret: key.Secret(), URL: key.URL()}
	err = s.store.Tx(ctx, func(tx portier.Tx) error { return s.enrollments().save(ctx, tx, &e) })
	return e.ID, err
}

// Enrollment returns one of u's enrollments in progress; a Refusal ReasonExpired if it is over.
func (s *Service) Enrollment(ctx context.Context, u *portier.User, id string) (*Enrollment, error) {
	return s.enrollment(ctx, s.store, u, id)
}

// enrollment loads one of u's enrollments (locked inside a transaction); another user's is
// as good as gone.
func (s *Service) enrollment(ctx context.Context, q tokenReader, u *portier.User, id string) (*Enrollment, error) {
	e, err := s.enrollments().load(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if e.UserID != u.ID {
		return nil, refuse(ReasonExpired)
	}
	return e, nil
}

// Confirm finishes an enrollment with the code the user typed: the method is registered (an
// earlier one of the same kind is replaced) and audited.
func (s *Service) Confirm(ctx context.Context, u *portier.User, id, code, source string) (*portier.AuthMethod, error) {
	var m *portier.AuthMethod
	var refusal error
	err := s.store.Tx(ctx, func(tx portier.Tx) error {
		var err error
		m, refusal, err = s.confirm(ctx, tx, u, id, code, source)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, refusal
}

// confirm is Confirm within tx; the refusal comes back apart, with what it counted in tx.
func (s *Service) confirm(ctx context.Context, tx portier.Tx, u *portier.User, id, code, source string) (*portier.AuthMethod, error, error) {
	now := s.now()
	var m *portier.AuthMethod
	var refusal error
	err := func() error {
		e, err := s.enrollment(ctx, tx, u, id)
		var gone *Refusal
		if errors.As(err, &gone) {
			refusal = err
			return nil
		} else if err != nil {
			return err
		}
		m = &portier.AuthMethod{ID: portier.NewID(), UserID: u.ID, Kind: e.Kind, Created: now, LastUsed: &now}
		switch e.Kind {
		case portier.MethodEmail:
			switch {
			case e.Tries >= CodeTries:
				refusal = refuse(ReasonCodeDead)
			case !now.Before(e.CodeExpires):
				refusal = refuse(ReasonCodeExpired)
			case !s.codeMatches(e.CodeMAC, "register", id, code):
				e.Tries++
				refusal = &Refusal{Reason: ReasonWrongCode, TriesLeft: CodeTries - e.Tries}
				if e.Tries >= CodeTries {
					refusal = refuse(ReasonCodeDead)
				}
			}
			m.Address = e.Address
		case portier.MethodTOTP:
			step, ok := totpMatch(e.Secret, code, now, 0)
			if !ok {
				e.Tries++
				refusal = &Refusal{Reason: ReasonWrongCode, TriesLeft: max(0, CodeTries-e.Tries)}
				if e.Tries >= CodeTries {
					refusal = refuse(ReasonCodeDead)
				}
			}
			m.Secret, m.LastStep = []byte(e.Secret), step
		}
		if refusal != nil {
			if e.Tries >= CodeTries {
				return s.enrollments().end(ctx, tx, e)
			}
			return s.enrollments().save(ctx, tx, e)
		}
		existing, err := tx.ListMethods(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, old := range existing {
			if old.Kind == m.Kind {
				if err := tx.DeleteMethod(ctx, u.ID, old.ID); err != nil {
					return err
				}
			}
		}
		if err := tx.InsertMethod(ctx, m); err != nil {
			return err
		}
		if err := s.enrollments().end(ctx, tx, e); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.selfEvent(u, portier.ActionRegisterSecurityInfo, source, describe(m)))
	}()
	if err != nil {
		return nil, nil, err
	}
	if refusal != nil {
		return nil, refusal, nil
	}
	return m, nil, nil
}

// RemoveMethod removes one of u's methods. The caller has checked the user's current password.
func (s *Service) RemoveMethod(ctx context.Context, u *portier.User, id, source string) error {
	return s.store.Tx(ctx, func(tx portier.Tx) error {
		m, err := tx.MethodForUpdate(ctx, u.ID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteMethod(ctx, u.ID, id); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, s.selfEvent(u, portier.ActionDeleteSecurityInfo, source, describe(m)))
	})
}

// describe names a method for the audit log, with the address half hidden.
func describe(m *portier.AuthMethod) string {
	if m.Kind == portier.MethodTOTP {
		return "authenticator app"
	}
	return "alternate email " + MaskAddress(m.Address)
}

// MaskAddress hides most of an email address: "jane.doe@example.org" becomes "ja******@example.org".
func MaskAddress(a string) string {
	local, domain, ok := strings.Cut(a, "@")
	if !ok {
		return "***"
	}
	keep := min(2, utf8.RuneCountInString(local))
	r := []rune(local)
	return string(r[:keep]) + strings.Repeat("*", max(3, len(r)-keep)) + "@" + domain
}

// selfEvent is an audit entry of something users do to their own account.
func (s *Service) selfEvent(u *portier.User, action portier.Action, source, detail string) *portier.AuditEvent {
	return &portier.AuditEvent{
		Time: s.now(), Actor: u.UPN, ActorID: u.ID, Action: action, TargetID: u.ID, Target: u.UPN,
		Source: source, Outcome: portier.OutcomeSuccess, Detail: detail,
	}
}
