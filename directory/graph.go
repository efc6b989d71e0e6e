package directory

import (
	"context"

	"fmt"
	"strings"

	"github.com/portier-id/portier"
)

// What the Graph-compatible API needs of the directory beyond the admin center's actions:
// users found by id or name and by query, profile updates, the tenant id, and applications'
// permissions.

// UserByKey returns the user whose id or UPN is key (a UPN in any case), its lockout view
// filled; ENotFound if none.
func (s *Service) UserByKey(ctx context.Context, key string) (*portier.User, error) {
	var u *portier.User
	var err error
	if strings.Contains(key, "@") {
		var norm string
		if norm, err = portier.NormalizeUPN(key); err != nil {
			return nil, portier.Errorf(portier.ENotFound, "No user named %s.", key)
		}
		u, err = s.store.UserByUPN(ctx, norm)
	} else {
		u, err = s.store.UserByID(ctx, strings.ToLower(key))
	}
	if err != nil {
		return nil, notFound(err, key)
	}
	u.SetLockoutView(s.now())
	return u, nil
}

// FindUsers returns one page of the users q selects, ordered by UPN, their lockout views filled.
func (s *Service) FindUsers(ctx context.Context, q portier.UserQuery) (portier.UserPage, error) {
	page, err := s.store.FindUsers(ctx, q)
	now := s.now()
	for _, u := range page.Users {
		u.SetLockoutView(now)
	}
	return page, err
}

// UserUpdate is what UpdateUser changes; a nil field stays as it is.
type UserUpdate struct {
	DisplayName *string
	// Mail is the user's mail address; "" removes it.
	Mail *string
	// Language is the user's preferred language: "en", "nl", or "" for the organisation's.
	Language *string
}

// CheckUserUpdate returns the update with its fields validated and normalised, or an
// EInvalid error naming the first that breaks a rule; UpdateUser runs it too.
func CheckUserUpdate(up UserUpdate) (UserUpdate, error) {
	if up.DisplayName != nil {
		name, err := portier.ValidateDisplayName(*up.DisplayName)
		if err != nil {
			return up, err
		}
		up.DisplayName = &name
	}
	if up.Mail != nil {
		mail, err := validateMail(*up.Mail)
		if err != nil {
			return up, err
		}
		up.Mail = &mail
	}
	if up.Language != nil && *up.Language != "" && *up.Language != "en" && *up.Language != "nl" {
		return up, portier.Errorf(portier.EInvalid, "The preferred language must be en or nl.")
	}
	return up, nil
}

// UpdateUser changes the display name or mail of the user named upn, audited with the old
// and new values. Errors: ENotFound, EForbidden, EInvalid.
func (s *Service) UpdateUser(ctx context.Context, actor portier.Actor, upn string, up UserUpdate) error {
	up, err := CheckUserUpdate(up)
	if err != nil {
		ev := s.event(actor, portier.ActionUpdate, nil, upn)
		s.auditFailure(ctx, ev, err)
		return err
	}
	return s.act(ctx, actor, portier.ActionUpdate, upn, func(tx portier.Tx, u *portier.User, ev *portier.AuditEvent) error {
		var changes []string
		if up.DisplayName != nil && *up.DisplayName != u.DisplayName {
			changes = append(changes, fmt.Sprintf("DisplayName: %q -> %q", u.DisplayName, *up.DisplayName))
			u.DisplayName = *up.DisplayName
		}
		if up.Mail != nil && *up.Mail != u.Mail {
			changes = append(changes, fmt.Sprintf("Mail: %q -> %q", u.Mail, *up.Mail))
			u.Mail = *up.Mail
		}
		if up.Language != nil && *up.Language != u.Language {
			changes = append(changes, fmt.Sprintf("PreferredLanguage: %q -> %q", u.Language, *up.Language))
			u.Language = *up.Language
		}
		ev.Detail = strings.Join(changes, "; ")
		if len(changes) == 0 {
			ev.Detail = "no change"
			return nil
		}
		return tx.UpdateUser(ctx, u)
	}, nil)
}

// CheckReach returns nil when actor may take action on the user named upn, and otherwise the
// refusal (EForbidden), audited as the action's own refusal would be: for a request that
// checks every action it will take before it takes the first.
// Errors: ENotFound, EForbidden.
func (s *Service) CheckReach(ctx context.Context, actor portier.Actor, action portier.Action, upn string) error {
	ev := s.event(actor, action, nil, upn)
	norm, err := portier.NormalizeUPN(upn)
	if err != nil {
		return err
	}
	u, err := s.store.UserByUPN(ctx, norm)
	if err != nil {
		return notFound(err, norm)
	}
	if portier.Can(actor.Roles, action, u.Roles) {
		return nil
	}
	ev.Target, ev.TargetID = u.UPN, u.ID
	err = refused(actor, action)
	s.auditFailure(ctx, ev, err)
	return err
}

// tenantKey names the setting holding the organisation's tenant id.
const tenantKey = "tenant.id"

// TenantID returns the organisation's tenant id: a GUID made on first use and kept in the
// store, so that every process, and Microsoft's identity library configured with it, agree.
func (s *Service) TenantID(ctx context.Context) (string, error) {
	fresh := portier.NewID()
	err := s.store.Tx(ctx, func(tx portier.Tx) error {
		_, err := tx.InsertSetting(ctx, tenantKey, []byte(fresh))
		return err
	})
	if err != nil {
		return "", err
	}
	b, err := s.store.Setting(ctx, tenantKey)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// SetAppPermissions grants the application permissions add and removes remove, audited with
// the list before and after; it returns the application as changed. The application's access
// tokens carry the permissions of their issue, but every request is also checked against
// the current ones, so a removal takes effect at once.
// Errors: ENotFound, EForbidden (only a global admin may), EInvalid (an unknown permission,
// or a public client, which cannot use client credentials).
func (s *Service) SetAppPermissions(ctx context.Context, actor portier.Actor, id string, add, remove []string) (*portier.App, error) {
	var changed *portier.App
	err := s.actOnApp(ctx, actor, portier.ActionAppPermissions, id, func(tx portier.Tx, app *portier.App, ev *portier.AuditEvent) error {
		adds, err := parsePermissions(add)
		if err != nil {
			return err
		}
		removes, err := parsePermissions(remove)
		if err != nil {
			return err
		}
		if app.Public && len(adds) > 0 {
			return portier.Errorf(portier.EInvalid, "%s is a public client: it cannot act on its own behalf, so it takes no application permissions.", app.Name)
		}
		before := strings.Join(portier.SortPermissions(app.Permissions), ",")
		perms := append(app.Permissions, adds...)
		var kept []string
		for _, p := range perms {
			if !contains(removes, p) {
				kept = append(kept, p)
			}
		}
		app.Permissions = portier.SortPermissions(kept)
		ev.Detail = "permissions: " + orNone(before) + " -> " + orNone(strings.Join(app.Permissions, ","))
		changed = app
		return tx.UpdateApp(ctx, app)
	})
	return changed, err
}

func parsePermissions(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		p, err := portier.ParsePermission(n)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
