package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/portier-id/portier"
)

// SetupTokenLifetime is how long a setup link printed by `portier serve` stays valid.
const SetupTokenLifetime = time.Hour

// setupDoneKey is the setting claimed once, by whichever setup creates the first admin. Each
// setup link is a Token of kind TokenSetup named after the link's hash (never the link), so
// that every process sharing the store can print its own link and any process accepts it; an
// unused one is pruned with the other expired tokens.
const setupDoneKey = "setup.done"

func setupTokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// errSetupDone is the answer to every setup request once the directory has a user.
func errSetupDone() error {
	return portier.Errorf(portier.ENotFound, "There is no setup to do: the directory already has users.")
}

// IssueSetupToken creates a one-time setup token for an empty directory: 256 random bits,
// valid for SetupTokenLifetime, of which the store keeps only the SHA-256 and the expiry.
// Errors: ENotFound when the directory already has users.
func (s *Service) IssueSetupToken(ctx context.Context) (string, time.Time, error) {
	var raw [32]byte
	rand.Read(raw[:])
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	expires := now.Add(SetupTokenLifetime)
	err := s.store.Tx(ctx, func(tx portier.Tx) error {
		if err := setupOpen(ctx, tx); err != nil {
			return err
		}
		return tx.InsertToken(ctx, &portier.Token{Kind: portier.TokenSetup, ID: setupTokenID(token), Created: now, Expires: expires})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return token, expires, nil
}

// CheckSetupToken reports whether token may still create the first admin.
// Errors: ENotFound (the directory has users or the token was used: setup is over),
// EForbidden (the token is unknown or expired).
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	if err := setupOpen(ctx, s.store); err != nil {
		return err
	}
	return s.checkToken(ctx, s.store, token)
}

// SetupOpen reports whether the one-time setup may still run: ENotFound once the directory has
// a user (or a setup has completed), nil otherwise.
func (s *Service) SetupOpen(ctx context.Context) error { return setupOpen(ctx, s.store) }

func setupOpen(ctx context.Context, q setupReader) error {
	n, err := q.CountUsers(ctx, portier.UserFilter{})
	if err != nil {
		return err
	}
	if n > 0 {
		return errSetupDone()
	}
	done, err := q.Setting(ctx, setupDoneKey)
	if err != nil {
		return err
	}
	if done != nil {
		return errSetupDone()
	}
	return nil
}

func (s *Service) checkToken(ctx context.Context, q setupReader, token string) error {
	invalid := portier.Errorf(portier.EForbidden, "This setup link is not valid: it is wrong, used or expired.")
	if token == "" || len(token) > 128 {
		return invalid
	}
	t, err := q.Token(ctx, portier.TokenSetup, setupTokenID(token))
	switch {
	case portier.ErrorCode(err) == portier.ENotFound:
		// Unknown, or used by a parallel setup that committed between the users count and this read.
		if err := setupOpen(ctx, q); err != nil {
			return err
		}
		return invalid
	case err != nil:
		return err
	case !s.now().Before(t.Expires):
		return invalid
	}
	return nil
}

// CompleteSetup creates the first global admin of an empty directory with a setup token, on
// behalf of the setup page (audited as portier.SetupActor). The token is consumed in the
// transaction that inserts the admin, so of two uses, in one process or several sharing the
// store, at most one succeeds; a refused password leaves the token usable.
// Errors: ENotFound (setup is over), EForbidden (bad token), EInvalid (a field or the password
// breaks a rule).
func (s *Service) CompleteSetup(ctx context.Context, token, source string, nu NewUser) (*portier.User, error) {
	if err := s.CheckSetupToken(ctx, token); err != nil {
		return nil, err
	}
	actor := portier.SetupActor(source)
	nu.Roles = []portier.Role{portier.RoleGlobalAdmin}
	nu.Generate, nu.SignedIn = false, true
	ev := s.event(actor, portier.ActionCreate, nil, nu.UPN)
	ev.Detail = "first global admin, through the setup link"
	u, _, err := s.createUser(ctx, actor, nu, ev, func(tx portier.Tx) error {
		// Under the transaction: the token may have been used, or a user created, since the check.
		if err := setupOpen(ctx, tx); err != nil {
			return err
		}
		if err := s.checkToken(ctx, tx, token); err != nil {
			return err
		}
		now := s.now().UTC()
		done, err := json.Marshal(map[string]any{"time": now})
		if err != nil {
			return err
		}
		// The claim is what makes consumption atomic: of concurrent setups, in this process
		// or another, only one inserts the key; the others wait for it and find it taken.
		claimed, err := tx.InsertSetting(ctx, setupDoneKey, done)
		if err != nil {
			return err
		}
		if !claimed {
			return errSetupDone()
		}
		return tx.DeleteToken(ctx, portier.TokenSetup, setupTokenID(token))
	})
	if err != nil {
		s.auditFailure(ctx, ev, err)
		return nil, err
	}
	return u, nil
}
