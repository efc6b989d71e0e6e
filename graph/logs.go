package graph

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/portier-id/portier"
)

// The audit logs: auditLogs/signIns from Portier's sign-in log (every attempt at /login and
// its code, Entra's numbers in status.errorCode) and auditLogs/directoryAudits from its audit
// log (every admin action, under Entra's activity names).

// logPage is the position after a page of a log: the id of its last entry.
type logPage struct {
	Before int64 `json:"b"`
}

// logID is a log entry's id in the GUID form Graph's clients expect.
func logID(id int64) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", id) }

// failureReasons are Entra's texts for Portier's sign-in codes.
var failureReasons = map[int]string{
	portier.CodeInvalidCredentials:   "Invalid username or password or Invalid on-premise username or password.",
	portier.CodeLocked:               "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
	portier.CodeBlocked:              "User account is disabled. The account has been disabled by an administrator.",
	portier.CodePasswordChangeNeeded: "The password is expired.",
	portier.CodeBadRequest:           "Invalid request: a field is missing or malformed.",
	50074:                            "Strong Authentication is required.",
	500121:                           "Authentication failed during strong authentication request.",
	portier.CodeBusy:                 "The server was saturated: the attempt was turned away unchecked.",
	portier.CodeServerError:          "The attempt ended without an answer.",
}

func (a *api) listSignIns(w http.ResponseWriter, r *http.Request) {
	o, err := parseOptions(r, "$filter", "$top", "$skiptoken")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := signInFilter(o.filter)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var pos logPage
	if _, err := a.decodeSkip("/v1.0/auditLogs/signIns", o, &pos); err != nil {
		a.fail(w, r, err)
		return
	}
	limit := o.pageSize(100)
	f.Before, f.Limit = pos.Before, limit+1
	entries, err := a.Directory.SignIns(r.Context(), actorOf(r), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var out orderedObject
	out.add("@odata.context", a.base+"/v1.0/$metadata#auditLogs/signIns")
	if len(entries) > limit {
		entries = entries[:limit]
		out.add("@odata.nextLink", a.nextLink("/v1.0/auditLogs/signIns", o, logPage{Before: entries[limit-1].ID}))
	}
	names := map[string]any{}
	displayName := func(id string) any {
		if id == "" {
			return nil
		}
		if n, ok := names[id]; ok {
			return n
		}
		names[id] = nil
		if u, err := a.Directory.UserByKey(r.Context(), id); err == nil {
			names[id] = u.DisplayName
		}
		return names[id]
	}
	values := make([]orderedObject, 0, len(entries))
	for _, e := range entries {
		var reason any
		if e.Code != portier.CodeSuccess {
			text := failureReasons[e.Code]
			if text == "" {
				text = "Other."
			}
			reason = text
		}
		var v orderedObject
		v.add("id", logID(e.ID))
		v.add("createdDateTime", graphTime(e.Time))
		v.add("userDisplayName", displayName(e.UserID))
		v.add("userPrincipalName", e.Username)
		v.add("userId", orNull(e.UserID))
		v.add("appId", nil)
		v.add("appDisplayName", "Portier")
		v.add("ipAddress", e.Source)
		v.add("clientAppUsed", "Browser")
		v.add("correlationId", logID(e.ID))
		v.add("conditionalAccessStatus", "notApplied")
		v.add("isInteractive", true)
		v.add("resourceDisplayName", "Portier")
		v.add("resourceId", nil)
		v.add("deviceDetail", map[string]any{"browser": e.UserAgent})
		v.add("status", map[string]any{"errorCode": e.Code, "failureReason": reason, "additionalDetails": orNull(e.Detail)})
		values = append(values, v)
	}
	out.add("value", values)
	writeJSON(w, http.StatusOK, out)
}

// signInFilter turns a signIns $filter into a log filter: a conjunction of
// userPrincipalName eq, userId eq, createdDateTime ge/gt/le/lt and status/errorCode eq.
func signInFilter(f node) (portier.SignInFilter, error) {
	var sf portier.SignInFilter
	if f == nil {
		return sf, nil
	}
	terms, err := conjuncts(f)
	if err != nil {
		return sf, err
	}
	support := "Portier filters sign-ins with userPrincipalName eq, userId eq, createdDateTime ge, gt, le or lt, and status/errorCode eq, joined by and."
	for _, t := range terms {
		c, ok := t.(compare)
		if !ok {
			return sf, unsupported("Unsupported query: %s. %s", t, support)
		}
		switch path := strings.ToLower(c.path); {
		case path == "userprincipalname" && c.op == "eq":
			s, err := stringValue(c.path, c.value)
			if err != nil {
				return sf, err
			}
			sf.Username = portier.FoldUPN(strings.TrimSpace(s))
			if norm, err := portier.NormalizeUPN(s); err == nil {
				sf.Username = norm
			}
		case path == "userid" && c.op == "eq":
			s, err := stringValue(c.path, c.value)
			if err != nil {
				return sf, err
			}
			sf.UserID = strings.ToLower(s)
		case path == "status/errorcode" && c.op == "eq":
			if c.value.kind != "int" {
				return sf, badRequest("Request_BadRequest", "Invalid filter clause: status/errorCode is compared with a number, not %s.", c.value)
			}
			code := int(c.value.num)
			sf.Code = &code
		case path == "createddatetime":
			at, err := timeValue(c)
			if err != nil {
				return sf, err
			}
			switch c.op {
			case "ge":
				sf.Since = at
			case "gt":
				sf.Since = at.Add(time.Nanosecond)
			case "le":
				sf.Until = at.Add(time.Nanosecond) // the store's Until is exclusive
			case "lt":
				sf.Until = at
			default:
				return sf, unsupported("Unsupported query: createdDateTime %s. %s", c.op, support)
			}
		default:
			return sf, unsupported("Unsupported query: %s. %s", c, support)
		}
	}
	return sf, nil
}

func timeValue(c compare) (time.Time, error) {
	if c.value.kind != "datetime" {
		return time.Time{}, badRequest("Request_BadRequest", "Invalid filter clause: %s is compared with a date-time such as 2026-11-24T09:00:00Z, not %s.", c.path, c.value)
	}
	return c.value.t, nil
}

// activity is how a Portier action appears in directoryAudits.
type activity struct {
	name, category, operation string
}

// activities are Entra's activity names for Portier's actions where Entra has one.
var activities = map[portier.Action]activity{
	portier.ActionCreate:               {"Add user", "UserManagement", "Add"},
	portier.ActionUpdate:               {"Update user", "UserManagement", "Update"},
	portier.ActionBlock:                {"Update user", "UserManagement", "Update"},
	portier.ActionUnblock:              {"Update user", "UserManagement", "Update"},
	portier.ActionResetPassword:        {"Reset user password", "UserManagement", "Reset"},
	portier.ActionRevokeSessions:       {"Invalidate all refresh tokens for user", "UserManagement", "Invalidate"},
	portier.ActionDelete:               {"Delete user", "UserManagement", "Delete"},
	portier.ActionUnlock:               {"Unlock user account", "UserManagement", "Unlock"},
	portier.ActionEditRoles:            {"Update user roles", "RoleManagement", "Update"},
	portier.ActionResetSecurityInfo:    {"Admin deleted security info", "UserManagement", "Delete"},
	portier.ActionRegisterSecurityInfo: {"User registered security info", "UserManagement", "Add"},
	portier.ActionDeleteSecurityInfo:   {"User deleted security info", "UserManagement", "Delete"},
	portier.ActionSelfServiceReset:     {"Reset password (self-service)", "UserManagement", "Update"},
	portier.ActionSelfServiceUnlock:    {"Unlock user account (self-service)", "UserManagement", "Update"},
	portier.ActionSSPRBlocked:          {"Blocked from self-service password reset", "UserManagement", "Update"},
	portier.ActionReportLockout:        {"User reported suspicious activity", "UserManagement", "Update"},
	portier.ActionNotifyUser:           {"Send notification to user", "UserManagement", "Other"},
	portier.ActionNotifyAdmins:         {"Send notification to admins", "UserManagement", "Other"},
	portier.ActionEditSettings:         {"Update policy", "Policy", "Update"},
	portier.ActionCreateApp:            {"Add application", "ApplicationManagement", "Add"},
	portier.ActionUpdateApp:            {"Update application", "ApplicationManagement", "Update"},
	portier.ActionDeleteApp:            {"Delete application", "ApplicationManagement", "Delete"},
	portier.ActionAssignApp:            {"Add app role assignment grant to user", "ApplicationManagement", "Assign"},
	portier.ActionAppPermissions:       {"Update application permissions", "ApplicationManagement", "Update"},
}

func activityOf(a portier.Action) activity {
	if act, ok := activities[a]; ok {
		return act
	}
	return activity{string(a), "Other", "Other"}
}

// changeDetail reads a "Name: "old" -> "new"" change of the directory's audit detail.
var changeDetail = regexp.MustCompile(`(\w+): ("(?:[^"\\]|\\.)*") -> ("(?:[^"\\]|\\.)*")`)

// modifiedProperties are the changes an event made, in Graph's form (JSON arrays as text).
func modifiedProperties(ev *portier.AuditEvent) []map[string]any {
	out := []map[string]any{}
	switch ev.Action {
	case portier.ActionBlock:
		return append(out, map[string]any{"displayName": "AccountEnabled", "oldValue": "[true]", "newValue": "[false]"})
	case portier.ActionUnblock:
		return append(out, map[string]any{"displayName": "AccountEnabled", "oldValue": "[false]", "newValue": "[true]"})
	case portier.ActionUpdate:
		for _, m := range changeDetail.FindAllStringSubmatch(ev.Detail, -1) {
			oldV, err1 := strconv.Unquote(m[2])
			newV, err2 := strconv.Unquote(m[3])
			if err1 != nil || err2 != nil {
				continue
			}
			out = append(out, map[string]any{"displayName": m[1], "oldValue": jsonArray(oldV), "newValue": jsonArray(newV)})
		}
	}
	return out
}

func jsonArray(s string) string {
	if s == "" {
		return "[]"
	}
	return "[" + strconv.Quote(s) + "]"
}

func (a *api) listDirectoryAudits(w http.ResponseWriter, r *http.Request) {
	o, err := parseOptions(r, "$filter", "$top", "$skiptoken")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := auditFilter(o.filter)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var pos logPage
	if _, err := a.decodeSkip("/v1.0/auditLogs/directoryAudits", o, &pos); err != nil {
		a.fail(w, r, err)
		return
	}
	limit := o.pageSize(100)
	f.Before, f.Limit = pos.Before, limit+1
	events, err := a.Directory.ListAudit(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var out orderedObject
	out.add("@odata.context", a.base+"/v1.0/$metadata#auditLogs/directoryAudits")
	if len(events) > limit {
		events = events[:limit]
		out.add("@odata.nextLink", a.nextLink("/v1.0/auditLogs/directoryAudits", o, logPage{Before: events[limit-1].ID}))
	}
	values := make([]orderedObject, 0, len(events))
	for _, ev := range events {
		act := activityOf(ev.Action)
		result, reason := "success", ""
		if ev.Outcome != portier.OutcomeSuccess {
			result, reason = "failure", ev.Detail
		}
		var v orderedObject
		v.add("id", "Directory_"+logID(ev.ID))
		v.add("category", act.category)
		v.add("correlationId", logID(ev.ID))
		v.add("result", result)
		v.add("resultReason", reason)
		v.add("activityDisplayName", act.name)
		v.add("activityDateTime", graphTime(ev.Time))
		v.add("loggedByService", "Core Directory")
		v.add("operationType", act.operation)
		v.add("initiatedBy", initiatedBy(ev))
		v.add("targetResources", []map[string]any{target(ev)})
		details := []map[string]string{}
		if ev.Detail != "" {
			details = append(details, map[string]string{"key": "detail", "value": ev.Detail})
		}
		v.add("additionalDetails", details)
		values = append(values, v)
	}
	out.add("value", values)
	writeJSON(w, http.StatusOK, out)
}

// initiatedBy names the actor: an application (initiatedBy.app), a user, or the operator's
// command line and the setup page (a user without an id).
func initiatedBy(ev *portier.AuditEvent) map[string]any {
	if name, ok := strings.CutPrefix(ev.Actor, portier.AppActorPrefix); ok {
		return map[string]any{"user": nil, "app": map[string]any{
			"appId": ev.ActorID, "displayName": name, "servicePrincipalId": ev.ActorID, "servicePrincipalName": nil,
		}}
	}
	user := map[string]any{"id": orNull(ev.ActorID), "displayName": nil, "userPrincipalName": ev.Actor, "ipAddress": ev.Source}
	return map[string]any{"user": user, "app": nil}
}

// target is the event's target resource: a user, an application, or the settings.
func target(ev *portier.AuditEvent) map[string]any {
	t := map[string]any{"id": orNull(ev.TargetID), "displayName": nil, "type": "User", "userPrincipalName": orNull(ev.Target),
		"modifiedProperties": modifiedProperties(ev)}
	switch {
	case strings.HasPrefix(string(ev.Action), "app."):
		t["type"], t["displayName"], t["userPrincipalName"] = "Application", ev.Target, nil
	case ev.Action == portier.ActionEditSettings:
		t["type"], t["displayName"], t["userPrincipalName"] = "Policy", ev.Target, nil
	}
	return t
}

// auditFilter turns a directoryAudits $filter into an audit filter: a conjunction of
// targetResources/any(t:t/id eq '…'), activityDisplayName eq '…' and activityDateTime ge/le.
func auditFilter(f node) (portier.AuditFilter, error) {
	var af portier.AuditFilter
	if f == nil {
		return af, nil
	}
	terms, err := conjuncts(f)
	if err != nil {
		return af, err
	}
	support := "Portier filters directory audits with targetResources/any(t:t/id eq 'id'), activityDisplayName eq 'name' and activityDateTime ge, gt, le or lt, joined by and."
	for _, t := range terms {
		switch t := t.(type) {
		case lambda:
			body, ok := t.body.(compare)
			if !strings.EqualFold(t.collection, "targetResources") || t.op != "any" || !ok ||
				!strings.EqualFold(body.path, t.variable+"/id") || body.op != "eq" {
				return af, unsupported("Unsupported query: %s. %s", t, support)
			}
			s, err := stringValue(body.path, body.value)
			if err != nil {
				return af, err
			}
			af.TargetID = s
		case compare:
			switch path := strings.ToLower(t.path); {
			case path == "activitydisplayname" && t.op == "eq":
				s, err := stringValue(t.path, t.value)
				if err != nil {
					return af, err
				}
				for action, act := range activities {
					if strings.EqualFold(act.name, s) {
						af.Actions = append(af.Actions, action)
					}
				}
				if len(af.Actions) == 0 {
					af.Actions = []portier.Action{"(no such activity)"}
				}
			case path == "activitydatetime":
				at, err := timeValue(t)
				if err != nil {
					return af, err
				}
				switch t.op {
				case "ge":
					af.Since = at
				case "gt":
					af.Since = at.Add(time.Nanosecond)
				case "le":
					af.Until = at
				case "lt":
					af.Until = at.Add(-time.Nanosecond)
				default:
					return af, unsupported("Unsupported query: activityDateTime %s. %s", t.op, support)
				}
			default:
				return af, unsupported("Unsupported query: %s. %s", t, support)
			}
		default:
			return af, unsupported("Unsupported query: %s. %s", t, support)
		}
	}
	return af, nil
}
