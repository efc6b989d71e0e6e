package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/portier-id/portier"
)

// tapAlphabet is the alphabet of a Temporary Access Pass: no 0/O, 1/l/I, so that a pass read
// out over the phone is typed right.
const tapAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789@#$%&*+=?"

// tapLength makes a pass of 16 characters from 64: 96 bits, far beyond guessing.
const tapLength = 16

// TAPData is what a Temporary Access Pass's token keeps besides its user and lifetime.
type TAPData struct {
	OneTime   bool       `json:"oneTime"`
	CreatedBy string     `json:"createdBy"`
	LastUsed  *time.Time `json:"lastUsed,omitempty"`
}

// TAPID is the token ID of a Temporary Access Pass: the hex SHA-256 of the pass, as for every
// token that stands for a secret. A pass has 96 random bits, so a fast hash is as safe as a
// slow one against a stolen database, and unlike argon2id it costs the sign-in no core per
// try, so a flood of passes costs no more than a flood of passwords.
func TAPID(pass string) string {
	h := sha256.Sum256([]byte("portier tap\x00" + pass))
	return hex.EncodeToString(h[:])
}

func newTAP() string {
	var raw [tapLength]byte
	rand.Read(raw[:])
	out := make([]byte, tapLength)
	for i, b := range raw {
		out[i] = tapAlphabet[int(b)%len(tapAlphabet)] // 256 is a multiple of 64: no bias
	}
	return string(out)
}

// CreateTAP creates a Temporary Access Pass for the user named upn, valid for lifetime
// (portier.TAPMinLifetime to TAPMaxLifetime; 0 means TAPDefaultLifetime), once or until it
// expires. The pass is in the answer only. An admin who may reset the user's password may;
// the creation is audited, the pass never. Errors: ENotFound, EForbidden, EInvalid.
func (s *Service) CreateTAP(ctx context.Context, actor portier.Actor, upn string, lifetime time.Duration, oneTime bool) (*portier.TAP, error) {
	if lifetime == 0 {
		lifetime = portier.TAPDefaultLifetime
	}
	if lifetime < portier.TAPMinLifetime || lifetime > portier.TAPMaxLifetime {
		err := portier.Errorf(portier.EInvalid, "A Temporary Access Pass lives from 10 minutes to 30 days.")
		s.auditFailure(ctx, s.event(actor, portier.ActionCreateTAP, nil, upn), err)
		return nil, err
	}
	var tap *portier.TAP
	err := s.act(ctx, actor, portier.ActionCreateTAP, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		now := s.now()
		pass := newTAP()
		data, err := json.Marshal(TAPData{OneTime: oneTime, CreatedBy: actor.Name})
		if err != nil {
			return err
		}
		t := &portier.Token{Kind: portier.TokenTAP, ID: TAPID(pass), UserID: u.ID, Data: data, Created: now, Expires: now.Add(lifetime)}
		if err := tx.InsertToken(ctx, t); err != nil {
			return err
		}
		tap = &portier.TAP{ID: t.ID[:16], UserID: u.ID, OneTime: oneTime, Created: now, Expires: t.Expires, CreatedBy: actor.Name, Pass: pass}
		use := "multi-use"
		if oneTime {
			use = "one-time"
		}
		ev.Detail = fmt.Sprintf("%s, valid until %s", use, t.Expires.UTC().Format(time.RFC3339))
		return nil
	}, nil)
	return tap, err
}

// RevokeTAPs removes every Temporary Access Pass of the user named upn, audited.
func (s *Service) RevokeTAPs(ctx context.Context, actor portier.Actor, upn string) error {
	return s.act(ctx, actor, portier.ActionRevokeTAP, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		n, err := tx.DeleteTokens(ctx, portier.TokenFilter{Kinds: []string{portier.TokenTAP}, UserID: u.ID})
		ev.Detail = fmt.Sprintf("%d passes revoked", n)
		return err
	}, nil)
}

// TAPs lists the user's Temporary Access Passes that have not expired, without the passes.
func (s *Service) TAPs(ctx context.Context, userID string) ([]*portier.TAP, error) {
	ts, err := s.store.ListTokens(ctx, portier.TokenFilter{Kinds: []string{portier.TokenTAP}, UserID: userID})
	if err != nil {
		return nil, err
	}
	var out []*portier.TAP
	now := s.now()
	for _, t := range ts {
		var d TAPData
		if json.Unmarshal(t.Data, &d) != nil || !now.Before(t.Expires) {
			continue
		}
		out = append(out, &portier.TAP{ID: t.ID[:16], UserID: t.UserID, OneTime: d.OneTime, Created: t.Created, Expires: t.Expires, CreatedBy: d.CreatedBy, LastUsed: d.LastUsed})
	}
	return out, nil
}
