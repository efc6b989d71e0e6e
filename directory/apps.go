package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/portier-id/portier"
)

// AppInput is what CreateApp and UpdateApp need: an application's registration.
type AppInput struct {
	Name string
	// RedirectURIs are where the authorization response may be sent; at least one.
	RedirectURIs []string
	// PostLogoutURIs are where RP-initiated logout may send the browser back to.
	PostLogoutURIs []string
	// Public marks a client that cannot keep a secret (a single-page or native app): it gets
	// no secret and must use PKCE with S256. It cannot change after creation.
	Public bool
	// AssignedOnly lets only the users assigned to the application sign in to it.
	AssignedOnly bool
	// ClientCredentials lets a confidential application act on its own behalf (a script or
	// a service, with the client credentials grant); it then needs no redirect URI.
	ClientCredentials bool
	// Permissions are the application permissions granted at creation (Graph's names);
	// SetAppPermissions changes them later.
	Permissions []string
}

// Limits on application registrations.
const (
	MaxAppNameLength = 120
	MaxAppURIs       = 20
	maxURILength     = 2000
)

// CreateApp registers an application and returns it with its client secret, shown this once
// and stored only as a hash; the secret is "" for a public client.
// Errors: EForbidden (only a global admin may), EInvalid (a field breaks a rule).
func (s *Service) CreateApp(ctx context.Context, actor portier.Actor, in AppInput) (*portier.App, string, error) {
	ev := s.appEvent(actor, portier.ActionCreateApp, nil, in.Name)
	app, secret, err := func() (*portier.App, string, error) {
		if !portier.Can(actor.Roles, portier.ActionCreateApp, nil) {
			return nil, "", refusedApp(actor, portier.ActionCreateApp)
		}
		in, err := validateApp(in)
		if err != nil {
			return nil, "", err
		}
		app := &portier.App{
			ID: portier.NewID(), Name: in.Name, Public: in.Public, RedirectURIs: in.RedirectURIs,
			PostLogoutURIs: in.PostLogoutURIs, AssignedOnly: in.AssignedOnly, Created: s.now(),
			ClientCredentials: in.ClientCredentials, Permissions: in.Permissions,
		}
		var secret string
		if !in.Public {
			secret = NewClientSecret()
			app.SecretHash = HashClientSecret(secret)
		}
		ev.Target, ev.TargetID = app.Name, app.ID
		ev.Detail = appDetail(app)
		err = s.store.Tx(ctx, func(tx portier.Tx) error {
			if err := tx.InsertApp(ctx, app); err != nil {
				return err
			}
			ev.Outcome = portier.OutcomeSuccess
			return tx.AppendAudit(ctx, ev)
		})
		return app, secret, err
	}()
	if err != nil {
		s.auditFailure(ctx, ev, err)
		return nil, "", err
	}
	return app, secret, nil
}

// ListApps returns every application, ordered by name. Errors: EForbidden.
func (s *Service) ListApps(ctx context.Context, actor portier.Actor) ([]*portier.App, error) {
	if !portier.Can(actor.Roles, portier.ActionUpdateApp, nil) {
		return nil, refusedApp(actor, portier.ActionUpdateApp)
	}
	return s.store.ListApps(ctx)
}

// App returns the application with the client id. Errors: ENotFound, EForbidden.
func (s *Service) App(ctx context.Context, actor portier.Actor, id string) (*portier.App, error) {
	if !portier.Can(actor.Roles, portier.ActionUpdateApp, nil) {
		return nil, refusedApp(actor, portier.ActionUpdateApp)
	}
	app, err := s.store.App(ctx, strings.TrimSpace(id))
	return app, appNotFound(err, id)
}

// UpdateApp changes an application's name, URIs and assignment requirement. Its client
// type (public or confidential) cannot change: a confidential client would have no secret,
// and a public one would keep a secret it cannot keep.
// Errors: ENotFound, EForbidden, EInvalid.
func (s *Service) UpdateApp(ctx context.Context, actor portier.Actor, id string, in AppInput) (*portier.App, error) {
	var updated *portier.App
	err := s.actOnApp(ctx, actor, portier.ActionUpdateApp, id, func(tx portier.Tx, app *portier.App, ev *portier.AuditEvent) error {
		// Whether it acts on its own behalf is fixed at registration, as its client type is;
		// its permissions change through SetAppPermissions.
		in.ClientCredentials, in.Permissions = app.ClientCredentials && !in.Public, nil
		in, err := validateApp(in)
		if err != nil {
			return err
		}
		if in.Public != app.Public {
			return portier.Errorf(portier.EInvalid, "An application cannot change between public and confidential; register a new one.")
		}
		before := appDetail(app)
		app.Name, app.RedirectURIs, app.PostLogoutURIs, app.AssignedOnly = in.Name, in.RedirectURIs, in.PostLogoutURIs, in.AssignedOnly
		ev.Target = app.Name
		ev.Detail = before + " -> " + appDetail(app)
		updated = app
		return tx.UpdateApp(ctx, app)
	})
	return updated, err
}

// NewAppSecret replaces a confidential application's client secret and returns the new
// one, shown this once; the old secret stops working at once.
// Errors: ENotFound, EForbidden, EInvalid (a public client has no secret).
func (s *Service) NewAppSecret(ctx context.Context, actor portier.Actor, id string) (string, error) {
	var secret string
	err := s.actOnApp(ctx, actor, portier.ActionUpdateApp, id, func(tx portier.Tx, app *portier.App, ev *portier.AuditEvent) error {
		if app.Public {
			return portier.Errorf(portier.EInvalid, "%s is a public client: it has no secret.", app.Name)
		}
		secret = NewClientSecret()
		app.SecretHash = HashClientSecret(secret)
		ev.Detail = "new client secret"
		return tx.UpdateApp(ctx, app)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// DeleteApp removes an application with its assignments and tokens: its users are signed
// out of it at once. Errors: ENotFound, EForbidden.
func (s *Service) DeleteApp(ctx context.Context, actor portier.Actor, id string) error {
	return s.actOnApp(ctx, actor, portier.ActionDeleteApp, id, func(tx portier.Tx, app *portier.App, ev *portier.AuditEvent) error {
		return tx.DeleteApp(ctx, app.ID)
	})
}

// SetAppAssigned assigns the user named upn to the application, or removes the assignment.
// Removing it ends the user's tokens for the application.
// Errors: ENotFound (no such application or user), EForbidden.
func (s *Service) SetAppAssigned(ctx context.Context, actor portier.Actor, appID, upn string, assigned bool) error {
	return s.actOnApp(ctx, actor, portier.ActionAssignApp, appID, func(tx portier.Tx, app *portier.App, ev *portier.AuditEvent) error {
		norm, err := portier.NormalizeUPN(upn)
		if err != nil {
			return err
		}
		u, err := tx.UserByUPN(ctx, norm)
		if err != nil {
			return notFound(err, norm)
		}
		// The audit entry is about the user; the application is named in the detail.
		ev.Target, ev.TargetID = u.UPN, u.ID
		verb := "assigned to "
		if !assigned {
			verb = "unassigned from "
		}
		ev.Detail = verb + app.Name + " (" + app.ID + ")"
		if err := tx.SetAppAssigned(ctx, app.ID, u.ID, assigned); err != nil {
			return err
		}
		if !assigned && app.AssignedOnly {
			_, err := tx.DeleteTokens(ctx, portier.TokenFilter{
				UserID: u.ID, AppID: app.ID,
				Kinds: []string{portier.TokenCode, portier.TokenAccess, portier.TokenRefresh},
			})
			return err
		}
		return nil
	})
}

// ListAppUsers returns the users assigned to the application, ordered by UPN.
// Errors: ENotFound, EForbidden.
func (s *Service) ListAppUsers(ctx context.Context, actor portier.Actor, appID string) ([]*portier.User, error) {
	if _, err := s.App(ctx, actor, appID); err != nil {
		return nil, err
	}
	ids, err := s.store.ListAppUsers(ctx, strings.TrimSpace(appID))
	if err != nil {
		return nil, err
	}
	now := s.now()
	users := make([]*portier.User, 0, len(ids))
	for _, id := range ids {
		u, err := s.store.UserByID(ctx, id)
		if portier.ErrorCode(err) == portier.ENotFound {
			continue // deleted meanwhile
		} else if err != nil {
			return nil, err
		}
		u.SetLockoutView(now)
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b *portier.User) int { return strings.Compare(a.UPN, b.UPN) })
	return users, nil
}

// NewClientSecret returns a new client secret: 256 random bits, base64url without padding.
func NewClientSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashClientSecret returns the stored form of a client secret: its SHA-256. A 256-bit random
// secret cannot be guessed, so a slow hash would add cost without adding safety.
func HashClientSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CheckClientSecret reports, in constant time, whether secret is the application's.
func CheckClientSecret(app *portier.App, secret string) bool {
	if app == nil || app.Public || len(app.SecretHash) != sha256.Size || secret == "" {
		return false
	}
	return subtle.ConstantTimeCompare(HashClientSecret(secret), app.SecretHash) == 1
}

// actOnApp runs one administrative action on the application id: the role check, then change
// and the audit entry in one transaction; a refusal or failure is audited on its own.
func (s *Service) actOnApp(ctx context.Context, actor portier.Actor, action portier.Action, id string,
	change func(tx portier.Tx, app *portier.App, ev *portier.AuditEvent) error) error {
	id = strings.TrimSpace(id)
	ev := s.appEvent(actor, action, nil, id)
	err := func() error {
		if !portier.Can(actor.Roles, action, nil) {
			return refusedApp(actor, action)
		}
		return s.store.Tx(ctx, func(tx portier.Tx) error {
			app, err := tx.App(ctx, id)
			if err != nil {
				return appNotFound(err, id)
			}
			ev.Target, ev.TargetID = app.Name, app.ID
			if err := change(tx, app, ev); err != nil {
				return err
			}
			ev.Outcome = portier.OutcomeSuccess
			return tx.AppendAudit(ctx, ev)
		})
	}()
	if err != nil {
		s.auditFailure(ctx, ev, err)
	}
	return err
}

func (s *Service) appEvent(actor portier.Actor, action portier.Action, app *portier.App, target string) *portier.AuditEvent {
	ev := s.event(actor, action, nil, target)
	if app != nil {
		ev.TargetID, ev.Target = app.ID, app.Name
	}
	return ev
}

// appDetail describes a registration for the audit log: never its secret.
func appDetail(app *portier.App) string {
	kind := "confidential"
	if app.Public {
		kind = "public"
	}
	d := kind + "; redirect " + strings.Join(app.RedirectURIs, " ")
	if app.ClientCredentials {
		d = kind + ", client credentials; permissions " + orNone(strings.Join(app.Permissions, ","))
		if len(app.RedirectURIs) > 0 {
			d += "; redirect " + strings.Join(app.RedirectURIs, " ")
		}
	}
	if len(app.PostLogoutURIs) > 0 {
		d += "; post-logout " + strings.Join(app.PostLogoutURIs, " ")
	}
	if app.AssignedOnly {
		d += "; assigned users only"
	}
	return d
}

func refusedApp(actor portier.Actor, action portier.Action) error {
	return portier.Errorf(portier.EForbidden, "%s may not %s applications: only a global admin may.",
		actor.Name, strings.TrimPrefix(string(action), "app."))
}

func appNotFound(err error, id string) error {
	if portier.ErrorCode(err) == portier.ENotFound {
		return portier.Errorf(portier.ENotFound, "No application with client id %s.", id)
	}
	return err
}

// validateApp returns in with its fields trimmed and checked, or an EInvalid error naming
// the first that breaks a rule.
func validateApp(in AppInput) (AppInput, error) {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case !utf8.ValidString(in.Name):
		return in, portier.Errorf(portier.EInvalid, "The application name is not valid UTF-8.")
	case in.Name == "":
		return in, portier.Errorf(portier.EInvalid, "The application name is empty.")
	case utf8.RuneCountInString(in.Name) > MaxAppNameLength:
		return in, portier.Errorf(portier.EInvalid, "The application name is longer than %d characters.", MaxAppNameLength)
	}
	for _, r := range in.Name {
		if r < 0x20 || r == 0x7f {
			return in, portier.Errorf(portier.EInvalid, "The application name holds a control character.")
		}
	}
	var err error
	if in.RedirectURIs, err = validateURIs(in.RedirectURIs, "redirect URI"); err != nil {
		return in, err
	}
	if len(in.RedirectURIs) == 0 && !in.ClientCredentials {
		return in, portier.Errorf(portier.EInvalid, "An application needs at least one redirect URI.")
	}
	if in.ClientCredentials && in.Public {
		return in, portier.Errorf(portier.EInvalid, "A public client cannot act on its own behalf: client credentials need a secret.")
	}
	if len(in.Permissions) > 0 && !in.ClientCredentials {
		return in, portier.Errorf(portier.EInvalid, "Application permissions are for an application that acts on its own behalf (client credentials).")
	}
	if in.Permissions, err = parsePermissions(in.Permissions); err != nil {
		return in, err
	}
	in.Permissions = portier.SortPermissions(in.Permissions)
	if in.PostLogoutURIs, err = validateURIs(in.PostLogoutURIs, "post-logout redirect URI"); err != nil {
		return in, err
	}
	return in, nil
}

// validateURIs trims, deduplicates and checks URIs: absolute, https (or http to this machine,
// for development and native apps), no fragment, no user info.
func validateURIs(uris []string, what string) ([]string, error) {
	out := []string{}
	for _, raw := range uris {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if err := ValidateRedirectURI(raw); err != nil {
			return nil, portier.Errorf(portier.EInvalid, "The %s %q %s", what, raw, portier.ErrorMessage(err))
		}
		if !slices.Contains(out, raw) {
			out = append(out, raw)
		}
	}
	if len(out) > MaxAppURIs {
		return nil, portier.Errorf(portier.EInvalid, "An application may have at most %d of each kind of URI.", MaxAppURIs)
	}
	return out, nil
}

// ValidateRedirectURI checks one redirect URI; the EInvalid message completes
// "The redirect URI X ...".
func ValidateRedirectURI(raw string) error {
	if len(raw) > maxURILength {
		return portier.Errorf(portier.EInvalid, "is longer than %d characters.", maxURILength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return portier.Errorf(portier.EInvalid, "is not an absolute URI such as https://app.example.org/callback.")
	}
	if strings.Contains(raw, "#") {
		return portier.Errorf(portier.EInvalid, "may not hold a fragment (#).")
	}
	if u.User != nil {
		return portier.Errorf(portier.EInvalid, "may not hold a user name or password.")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" || host == "127.0.0.1" || host == "::1" {
			return nil
		}
		return portier.Errorf(portier.EInvalid, "must use https (http only for localhost or 127.0.0.1).")
	}
	return portier.Errorf(portier.EInvalid, "must use https (http only for localhost or 127.0.0.1).")
}
