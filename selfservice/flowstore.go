package selfservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portier-id/portier"
)

// flowMeta is what the token store keeps of every flow besides the flow's own fields. Every
// flow type embeds it; flowStore fills it on load and writes it on save.
type flowMeta struct {
	// ID is the token's id: a random id, or the hash of the secret a browser or link holds.
	ID string `json:"-"`
	// UserID is the user the flow is for; empty when there is none.
	UserID string `json:"-"`
	// Expires is when the flow is over: load refuses it from then. save sets it on insert.
	Expires time.Time `json:"-"`
	// stored says the flow is in the store already, so save updates it.
	stored bool
}

func (m *flowMeta) meta() *flowMeta { return m }

// flowValue is a pointer to a flow type that embeds flowMeta.
type flowValue[T any] interface {
	*T
	meta() *flowMeta
}

// tokenReader reads tokens: a Store outside a transaction, a Tx inside one.
type tokenReader interface {
	Token(ctx context.Context, kind, id string) (*portier.Token, error)
}

// tokenLocker is a tokenReader inside a transaction.
type tokenLocker interface {
	TokenForUpdate(ctx context.Context, kind, id string) (*portier.Token, error)
}

// tokenWriter writes tokens inside a transaction.
type tokenWriter interface {
	InsertToken(ctx context.Context, t *portier.Token) error
	UpdateToken(ctx context.Context, t *portier.Token) error
	DeleteToken(ctx context.Context, kind, id string) error
}

// flowStore keeps the flows of one token kind as typed values, in the manner of Ory Kratos'
// FlowPersister: the one place that marshals them, checks their kind and expiry, and knows
// whether a flow is new. Every flow of self-service (a reset, an enrollment, a "This wasn't
// me" link, a queued mail) goes through one.
type flowStore[T any, P flowValue[T]] struct {
	kind string
	// life is how long a flow lasts from its first save.
	life time.Duration
	now  portier.Clock
}

// goneError is what load returns for a flow it cannot give. It unwraps to the Refusal
// ReasonExpired, which the pages tell as "start again"; over says that the flow is still
// stored, past its expiry (load then returns it too, for the mailer to drop and log).
type goneError struct{ over bool }

func (e *goneError) Error() string { return "self-service: flow gone" }

// Unwrap makes a gone flow a Refusal for errors.As.
func (e *goneError) Unwrap() error { return refuse(ReasonExpired) }

// isOver reports whether err is load's for a flow still stored past its expiry.
func isOver(err error) bool {
	var g *goneError
	return errors.As(err, &g) && g.over
}

// load reads the flow id. Inside a transaction (q a Tx) it locks the flow until the
// transaction ends, since every step that loads a flow in one goes on to save or delete it.
// A flow that is missing, of another kind or over is a *goneError.
func (fs flowStore[T, P]) load(ctx context.Context, q tokenReader, id string) (P, error) {
	var t *portier.Token
	var err error
	if l, ok := q.(tokenLocker); ok {
		t, err = l.TokenForUpdate(ctx, fs.kind, id)
	} else {
		t, err = q.Token(ctx, fs.kind, id)
	}
	switch {
	case portier.ErrorCode(err) == portier.ENotFound:
		return nil, &goneError{}
	case err != nil:
		return nil, err
	case t.Kind != fs.kind:
		return nil, &goneError{}
	}
	v := P(new(T))
	if err := json.Unmarshal(t.Data, v); err != nil {
		return nil, fmt.Errorf("self-service: reading %s token: %w", fs.kind, err)
	}
	m := v.meta()
	m.ID, m.UserID, m.Expires, m.stored = t.ID, t.UserID, t.Expires, true
	if !fs.now().Before(t.Expires) {
		return v, &goneError{over: true}
	}
	return v, nil
}

// save writes v within tx: a new flow is inserted to last fs.life from now, a loaded one
// updated (ENotFound if it is gone meanwhile).
func (fs flowStore[T, P]) save(ctx context.Context, tx tokenWriter, v P) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("self-service: writing %s token: %w", fs.kind, err)
	}
	m := v.meta()
	t := &portier.Token{Kind: fs.kind, ID: m.ID, UserID: m.UserID, Data: data, Expires: m.Expires}
	if m.stored {
		return tx.UpdateToken(ctx, t)
	}
	now := fs.now()
	t.Created, t.Expires = now, now.Add(fs.life)
	if err := tx.InsertToken(ctx, t); err != nil {
		return err
	}
	m.Expires, m.stored = t.Expires, true
	return nil
}

// end removes v within tx: the flow is used up.
func (fs flowStore[T, P]) end(ctx context.Context, tx tokenWriter, v P) error {
	return tx.DeleteToken(ctx, fs.kind, v.meta().ID)
}

// resets keeps the self-service resets in progress.
func (s *Service) resets() flowStore[flow, *flow] {
	return flowStore[flow, *flow]{kind: portier.TokenRecovery, life: FlowLifetime, now: s.now}
}

// enrollments keeps the security info being registered.
func (s *Service) enrollments() flowStore[Enrollment, *Enrollment] {
	return flowStore[Enrollment, *Enrollment]{kind: portier.TokenEnroll, life: CodeLifetime, now: s.now}
}

// reports keeps the "This wasn't me" links of lockout mails.
func (s *Service) reports() flowStore[report, *report] {
	return flowStore[report, *report]{kind: portier.TokenReport, life: ReportLifetime, now: s.now}
}
