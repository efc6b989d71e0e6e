package graph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
)

// userProperty is one property of Graph's user resource as Portier fills it.
type userProperty struct {
	name  string
	value func(u *portier.User) any
}

// graphTime is Graph's date-time form; nil for "never".
func graphTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// defaultProperties are Graph's default property set of a user, in Graph's order.
var defaultProperties = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

// userProperties are every property $select may name. Those Portier does not keep (phones,
// job title, ...) are null, as Graph has them for a user who has none.
var userProperties = func() map[string]userProperty {
	none := func(*portier.User) any { return nil }
	list := []userProperty{
		{"id", func(u *portier.User) any { return u.ID }},
		{"businessPhones", func(*portier.User) any { return []string{} }},
		{"displayName", func(u *portier.User) any { return u.DisplayName }},
		{"givenName", none}, {"surname", none}, {"jobTitle", none}, {"mobilePhone", none}, {"officeLocation", none},
		{"mail", func(u *portier.User) any { return orNull(u.Mail) }},
		{"preferredLanguage", func(u *portier.User) any { return orNull(u.Language) }},
		{"userPrincipalName", func(u *portier.User) any { return u.UPN }},
		{"accountEnabled", func(u *portier.User) any { return u.AccountEnabled }},
		{"mailNickname", func(u *portier.User) any { local, _, _ := strings.Cut(u.UPN, "@"); return local }},
		{"userType", func(*portier.User) any { return "Member" }},
		{"createdDateTime", func(u *portier.User) any { return graphTime(u.Created) }},
		{"signInSessionsValidFromDateTime", func(u *portier.User) any { return graphTime(u.SessionsValidFrom) }},
		{"lastPasswordChangeDateTime", func(u *portier.User) any { return graphTime(u.PasswordChanged) }},
		// Graph never returns a password; a selected passwordProfile is null, as Graph's is.
		{"passwordProfile", none},
		{"signInActivity", func(u *portier.User) any {
			var last any
			if u.LastSignIn != nil {
				last = graphTime(*u.LastSignIn)
			}
			return map[string]any{"lastSignInDateTime": last}
		}},
		{LockoutProperty, func(u *portier.User) any {
			var until any
			if u.Lockout.LockedUntil != nil {
				until = graphTime(*u.Lockout.LockedUntil)
			}
			return map[string]any{"locked": u.Lockout.Locked, "lockedUntil": until, "failedAttempts": u.Lockout.FailedAttempts}
		}},
	}
	m := map[string]userProperty{}
	for _, p := range list {
		m[strings.ToLower(p.name)] = p
	}
	return m
}()

// selection resolves $select against the user's properties; nil selects the default set.
func selection(names []string) ([]userProperty, error) {
	if names == nil {
		names = defaultProperties
	}
	var out []userProperty
	seen := map[string]bool{}
	for _, n := range names {
		p, ok := userProperties[strings.ToLower(n)]
		if !ok {
			return nil, badRequest("Request_BadRequest", "Could not find a property named '%s' on type 'microsoft.graph.user'.", n)
		}
		if !seen[p.name] {
			out = append(out, p)
			seen[p.name] = true
		}
	}
	return out, nil
}

// orderedObject is a JSON object written in the order its keys were added, as Graph orders
// a resource's properties.
type orderedObject struct {
	keys []string
	vals []any
}

func (o *orderedObject) add(k string, v any) {
	o.keys, o.vals = append(o.keys, k), append(o.vals, v)
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func userObject(u *portier.User, sel []userProperty) orderedObject {
	var o orderedObject
	for _, p := range sel {
		o.add(p.name, p.value(u))
	}
	return o
}

// context returns @odata.context for users, with the selected properties.
func (a *api) usersContext(o *options, entity bool) string {
	c := a.base + "/v1.0/$metadata#users"
	if o.rawSelect != "" {
		c += "(" + strings.Join(o.selects, ",") + ")"
	}
	if entity {
		c += "/$entity"
	}
	return c
}

// usersPage is the position after a page of users.
type usersPage struct {
	After string `json:"a"`
}

func (a *api) listUsers(w http.ResponseWriter, r *http.Request) {
	o, err := parseOptions(r, "$filter", "$select", "$top", "$skiptoken")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sel, err := selection(o.selects)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q, err := userQuery(o.filter)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var pos usersPage
	if _, err := a.decodeSkip("/v1.0/users", o, &pos); err != nil {
		a.fail(w, r, err)
		return
	}
	q.After, q.Limit = pos.After, o.pageSize(100)
	page, err := a.Directory.FindUsers(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var out orderedObject
	out.add("@odata.context", a.usersContext(o, false))
	if page.Next != "" {
		out.add("@odata.nextLink", a.nextLink("/v1.0/users", o, usersPage{After: page.Next}))
	}
	values := make([]orderedObject, 0, len(page.Users))
	for _, u := range page.Users {
		values = append(values, userObject(u, sel))
	}
	out.add("value", values)
	writeJSON(w, http.StatusOK, out)
}

// userQuery turns a users $filter into a store query: a conjunction of
// userPrincipalName/mail/id eq 'text', startswith(userPrincipalName|displayName, 'text') and
// accountEnabled eq true|false, each property at most once.
func userQuery(f node) (portier.UserQuery, error) {
	var q portier.UserQuery
	if f == nil {
		return q, nil
	}
	terms, err := conjuncts(f)
	if err != nil {
		return q, err
	}
	used := map[string]bool{}
	support := "Portier filters users with userPrincipalName, mail or id eq 'value', startswith(userPrincipalName or displayName, 'value') and accountEnabled eq true or false, joined by and."
	for _, t := range terms {
		var field string
		switch t := t.(type) {
		case compare:
			path := strings.ToLower(t.path)
			if t.op != "eq" {
				return q, unsupported("Unsupported query: the operator '%s' on %s. %s", t.op, t.path, support)
			}
			switch path {
			case "userprincipalname", "mail", "id":
				s, err := stringValue(t.path, t.value)
				if err != nil {
					return q, err
				}
				field = path
				switch path {
				case "userprincipalname":
					q.UPN = s
				case "mail":
					q.Mail = s
				case "id":
					q.ID = strings.ToLower(s)
				}
			case "accountenabled":
				if t.value.kind != "bool" {
					return q, badRequest("Request_BadRequest", "Invalid filter clause: accountEnabled is compared with true or false, not %s.", t.value)
				}
				b := t.value.b
				q.Enabled, field = &b, path
			default:
				return q, unsupported("Unsupported query: filtering on %s. %s", t.path, support)
			}
		case call:
			path := strings.ToLower(t.path)
			if t.name != "startswith" || (path != "userprincipalname" && path != "displayname") {
				return q, unsupported("Unsupported query: %s. %s", t, support)
			}
			s, err := stringValue(t.path, t.value)
			if err != nil {
				return q, err
			}
			if path == "userprincipalname" {
				q.UPNPrefix = s
			} else {
				q.NamePrefix = s
			}
			field = "startswith " + path
		default:
			return q, unsupported("Unsupported query: %s. %s", t, support)
		}
		if used[field] {
			return q, unsupported("Unsupported query: %s is filtered on twice. %s", field, support)
		}
		used[field] = true
	}
	return q, nil
}

// stringValue is the text of a string literal compared with path.
func stringValue(path string, v literal) (string, error) {
	if v.kind != "string" {
		return "", badRequest("Request_BadRequest", "Invalid filter clause: %s is compared with a 'string', not %s.", path, v)
	}
	if !portier.IsPlainText(v.str, false) || len(v.str) > portier.MaxUsernameBytes {
		return "", badRequest("Request_BadRequest", "Invalid filter clause: the value compared with %s is not plain text of at most %d bytes.", path, portier.MaxUsernameBytes)
	}
	return v.str, nil
}

// user returns the user named by the path's {key}, an id or a UPN.
func (a *api) user(r *http.Request) (*portier.User, error) {
	key := r.PathValue("key")
	if !portier.IsPlainText(key, false) || len(key) > portier.MaxUsernameBytes {
		return nil, notFound(key)
	}
	return a.Directory.UserByKey(r.Context(), key)
}

func (a *api) getUser(w http.ResponseWriter, r *http.Request) {
	o, err := parseOptions(r, "$select")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sel, err := selection(o.selects)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.user(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var out orderedObject
	out.add("@odata.context", a.usersContext(o, true))
	obj := userObject(u, sel)
	out.keys, out.vals = append(out.keys, obj.keys...), append(out.vals, obj.vals...)
	writeJSON(w, http.StatusOK, out)
}

// Properties of a user a request may not set: Portier keeps them itself, or does not keep them.
var (
	readOnlyUser = []string{"id", "createdDateTime", "signInSessionsValidFromDateTime", "lastPasswordChangeDateTime",
		LockoutProperty, "signInActivity", "userType", "businessPhones"}
	notStoredUser = []string{"givenName", "surname", "jobTitle", "mobilePhone", "officeLocation", "usageLocation",
		"department", "companyName", "employeeId", "otherMails", "passwordPolicies", "city", "country", "state",
		"streetAddress", "postalCode", "ageGroup", "onPremisesImmutableId", "identities", "employeeType"}
)

// passwordInput is a passwordProfile as sent.
type passwordInput struct {
	password    *string
	forceChange bool
}

// readPasswordProfile reads passwordProfile: password is required, forceChangePasswordNextSignIn
// defaults to true, as in Microsoft Entra.
func readPasswordProfile(p *props) (*passwordInput, error) {
	if p == nil {
		return nil, nil
	}
	pw, err := p.str("password", false)
	if err != nil {
		return nil, err
	}
	force, err := p.boolean("forceChangePasswordNextSignIn")
	if err != nil {
		return nil, err
	}
	mfa, err := p.boolean("forceChangePasswordNextSignInWithMfa")
	if err != nil {
		return nil, err
	}
	if err := p.rest(nil, nil); err != nil {
		return nil, err
	}
	if pw == nil || *pw == "" {
		return nil, badRequest("Request_BadRequest", "The property 'password' of passwordProfile is required: Portier sets no password without one.")
	}
	if mfa != nil && *mfa {
		return nil, badRequest("Request_BadRequest", "Property 'forceChangePasswordNextSignInWithMfa' is not supported by Portier: set forceChangePasswordNextSignIn; the organisation's MFA policy applies at the next sign-in.")
	}
	in := &passwordInput{password: pw, forceChange: true}
	if force != nil {
		in.forceChange = *force
	}
	return in, nil
}

// language reads preferredLanguage: Portier speaks en and nl; "en-US" and "nl-NL" name them too.
func language(s *string) (*string, error) {
	if s == nil {
		return nil, nil
	}
	tag := strings.ToLower(strings.TrimSpace(*s))
	base, _, _ := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-")
	var out string
	switch {
	case tag == "":
	case base == "en" || base == "nl":
		out = base
	default:
		return nil, badRequest("Request_BadRequest", "Invalid value specified for property 'preferredLanguage' of resource 'user': Portier speaks en and nl.")
	}
	return &out, nil
}

func (a *api) createUser(w http.ResponseWriter, r *http.Request) {
	obj, err := readBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	nu, err := newUserFrom(obj)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, _, err := a.Directory.CreateUser(r.Context(), actorOf(r), nu.NewUser)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if nu.language != nil && *nu.language != "" {
		if err := a.Directory.UpdateUser(r.Context(), actorOf(r), u.UPN, directory.UserUpdate{Language: nu.language}); err != nil {
			a.fail(w, r, err)
			return
		}
		u.Language = *nu.language
	}
	sel, _ := selection(nil)
	var out orderedObject
	out.add("@odata.context", a.base+"/v1.0/$metadata#users/$entity")
	obj2 := userObject(u, sel)
	out.keys, out.vals = append(out.keys, obj2.keys...), append(out.vals, obj2.vals...)
	w.Header().Set("Location", a.base+"/v1.0/users/"+url.PathEscape(u.ID))
	writeJSON(w, http.StatusCreated, out)
}

type newUserInput struct {
	directory.NewUser
	language *string
}

// newUserFrom reads a POST /users body.
func newUserFrom(obj map[string]json.RawMessage) (*newUserInput, error) {
	p := newProps(obj, "user")
	enabled, err := p.boolean("accountEnabled")
	if err != nil {
		return nil, err
	}
	name, err := p.str("displayName", false)
	if err != nil {
		return nil, err
	}
	upn, err := p.str("userPrincipalName", false)
	if err != nil {
		return nil, err
	}
	nick, err := p.str("mailNickname", false)
	if err != nil {
		return nil, err
	}
	mail, err := p.str("mail", true)
	if err != nil {
		return nil, err
	}
	lang, err := p.str("preferredLanguage", true)
	if err != nil {
		return nil, err
	}
	pp, err := p.object("passwordProfile")
	if err != nil {
		return nil, err
	}
	pw, err := readPasswordProfile(pp)
	if err != nil {
		return nil, err
	}
	if err := p.rest(readOnlyUser, notStoredUser); err != nil {
		return nil, err
	}
	switch {
	case name == nil:
		return nil, badRequest("Request_BadRequest", "The property 'displayName' is required when creating the entity.")
	case upn == nil:
		return nil, badRequest("Request_BadRequest", "The property 'userPrincipalName' is required when creating the entity.")
	case pw == nil:
		return nil, badRequest("Request_BadRequest", "The property 'passwordProfile' is required when creating the entity.")
	}
	if nick != nil {
		// Portier derives the nickname from the UPN; a given one must at least be a valid one.
		if *nick == "" || len(*nick) > 64 || !portier.IsPlainText(*nick, false) || strings.ContainsAny(*nick, " @") {
			return nil, badRequest("Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'user'.")
		}
	}
	in := &newUserInput{NewUser: directory.NewUser{UPN: *upn, DisplayName: *name, Password: *pw.password, ForceChange: pw.forceChange}}
	if mail != nil {
		in.Mail = *mail
	}
	if enabled != nil {
		in.Disabled = !*enabled
	}
	if in.language, err = language(lang); err != nil {
		return nil, err
	}
	return in, nil
}

// userPatch is a PATCH body: only the properties it changes.
type userPatch struct {
	enabled  *bool
	update   directory.UserUpdate
	password *passwordInput
}

func patchFrom(obj map[string]json.RawMessage) (*userPatch, error) {
	p := newProps(obj, "user")
	var up userPatch
	var err error
	if up.enabled, err = p.boolean("accountEnabled"); err != nil {
		return nil, err
	}
	if up.update.DisplayName, err = p.str("displayName", false); err != nil {
		return nil, err
	}
	if up.update.Mail, err = p.str("mail", true); err != nil {
		return nil, err
	}
	lang, err := p.str("preferredLanguage", true)
	if err != nil {
		return nil, err
	}
	if up.update.Language, err = language(lang); err != nil {
		return nil, err
	}
	pp, err := p.object("passwordProfile")
	if err != nil {
		return nil, err
	}
	if up.password, err = readPasswordProfile(pp); err != nil {
		return nil, err
	}
	if p.has("userPrincipalName") || p.has("mailNickname") {
		name := "userPrincipalName"
		if !p.has(name) {
			name = "mailNickname"
		}
		return nil, badRequest("Request_BadRequest", "Property '%s' cannot be changed in Portier: a user keeps the sign-in name given at creation.", name)
	}
	if err := p.rest(readOnlyUser, notStoredUser); err != nil {
		return nil, err
	}
	return &up, nil
}

func (up *userPatch) profile() bool {
	return up.update.DisplayName != nil || up.update.Mail != nil || up.update.Language != nil
}

// patchPermissions checks that the token holds, for each kind of property the PATCH
// changes, one of the permissions that allow it.
func patchPermissions(r *http.Request, up *userPatch) error {
	tok := tokenOf(r)
	check := func(perms ...string) error {
		if !holds(tok, perms...) {
			return denied(perms)
		}
		return nil
	}
	if up.password != nil {
		if err := check(portier.PermUserPassword, portier.PermUserReadWrite); err != nil {
			return err
		}
	}
	if up.enabled != nil {
		if err := check(portier.PermUserEnableDisable, portier.PermUserReadWrite); err != nil {
			return err
		}
	}
	if up.profile() {
		if err := check(portier.PermUserReadWrite); err != nil {
			return err
		}
	}
	return nil
}

// updateUser applies a PATCH: every property is checked first (permissions, the
// application's reach over the user, the values, the password policy), so that bad input
// changes nothing; then each change is made through the directory service, which audits it:
// a profile change as "Update user", the password as "Reset user password" (which clears
// the lockout and ends the sessions and tokens, as the admin center's reset does),
// accountEnabled as "Update user" (AccountEnabled).
func (a *api) updateUser(w http.ResponseWriter, r *http.Request) {
	obj, err := readBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	up, err := patchFrom(obj)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := patchPermissions(r, up); err != nil {
		a.fail(w, r, err)
		return
	}
	ctx, actor := r.Context(), actorOf(r)
	u, err := a.user(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The application's reach over this user: a refused action is audited by the directory.
	var actions []portier.Action
	if up.profile() {
		actions = append(actions, portier.ActionUpdate)
	}
	if up.password != nil {
		actions = append(actions, portier.ActionResetPassword)
	}
	if up.enabled != nil {
		actions = append(actions, portier.ActionBlock)
	}
	for _, act := range actions {
		if err := a.Directory.CheckReach(ctx, actor, act, u.UPN); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if up.profile() {
		if up.update, err = directory.CheckUserUpdate(up.update); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if up.password != nil {
		if err := a.Directory.CheckPassword(ctx, u, *up.password.password); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if up.profile() {
		if err := a.Directory.UpdateUser(ctx, actor, u.UPN, up.update); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if up.password != nil {
		reset := directory.PasswordReset{Password: *up.password.password, ForceChange: up.password.forceChange}
		if _, err := a.Directory.ResetPassword(ctx, actor, u.UPN, reset); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if up.enabled != nil {
		if err := a.Directory.SetSignInStatus(ctx, actor, u.UPN, *up.enabled); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) deleteUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.user(r)
	if err == nil {
		err = a.Directory.DeleteUser(r.Context(), actorOf(r), u.UPN)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// revokeSessions is "sign out everywhere": every session and token of the user issued before
// now ends, and signInSessionsValidFromDateTime becomes now.
func (a *api) revokeSessions(w http.ResponseWriter, r *http.Request) {
	u, err := a.user(r)
	if err == nil {
		err = a.Directory.RevokeSessions(r.Context(), actorOf(r), u.UPN)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var out orderedObject
	out.add("@odata.context", a.base+"/v1.0/$metadata#Edm.Boolean")
	out.add("value", true)
	writeJSON(w, http.StatusOK, out)
}

// unlock clears the user's lockout and nothing else (portier.unlock).
func (a *api) unlock(w http.ResponseWriter, r *http.Request) {
	u, err := a.user(r)
	if err == nil {
		err = a.Directory.Unlock(r.Context(), actorOf(r), u.UPN)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
