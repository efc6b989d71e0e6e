package graph_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/graph"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// TestBadInput sends each kind of bad input the issue lists and checks that each gets a
// Graph-shaped 4xx naming the problem, and that nothing changed: the user, the directory's
// size and the audit log are as before.
func TestBadInput(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{})
		script := register(t, in, "Script", portier.AppPermissions...)
		c := newClient(t, in, token(t, in, script, graphScope))
		u := in.CreateUser(t, directory.NewUser{UPN: "carol@example.com", DisplayName: "Carol"})
		for i := range 3 {
			in.CreateUser(t, directory.NewUser{UPN: "user" + string(rune('a'+i)) + "@example.com"})
		}
		before := user(t, in, u.ID)
		audits := func() int {
			return len(testenv.Must(in.Store.ListAudit(t.Context(), portier.AuditFilter{Limit: 1000}))(t))
		}
		auditsBefore := audits()
		patch := "/v1.0/users/" + u.ID
		long := strings.Repeat("x", 300)
		cases := []struct {
			name, method, path string
			body               any
			header             []string
			status             int
			code, says         string
		}{
			{"malformed JSON", "PATCH", patch, []byte(`{"displayName": "Carol",`), nil, 400, "Request_BadRequest", "not a valid JSON object"},
			{"two JSON values", "PATCH", patch, []byte(`{} {}`), nil, 400, "Request_BadRequest", "more than one JSON value"},
			{"not an object", "PATCH", patch, []byte(`["displayName"]`), nil, 400, "Request_BadRequest", "not a valid JSON object"},
			{"empty body", "POST", "/v1.0/users", []byte(``), nil, 400, "Request_BadRequest", "empty"},
			{"unknown property", "PATCH", patch, map[string]any{"favouriteColour": "blue"}, nil, 400, "Request_BadRequest", "'favouriteColour' does not exist"},
			{"property Portier does not keep", "PATCH", patch, map[string]any{"jobTitle": "Boss"}, nil, 400, "Request_BadRequest", "'jobTitle' of resource 'user' is not supported"},
			{"read-only property", "PATCH", patch, map[string]any{"id": "x"}, nil, 400, "Request_BadRequest", "'id' is read-only"},
			{"read-only lockout", "PATCH", patch, map[string]any{"portierLockout": map[string]any{"locked": false}}, nil, 400, "Request_BadRequest", "'portierLockout' is read-only"},
			{"rename", "PATCH", patch, map[string]any{"userPrincipalName": "x@example.com"}, nil, 400, "Request_BadRequest", "'userPrincipalName' cannot be changed"},
			{"wrong type", "PATCH", patch, map[string]any{"accountEnabled": "no"}, nil, 400, "Request_BadRequest", "'accountEnabled'"},
			{"null display name", "PATCH", patch, map[string]any{"displayName": nil}, nil, 400, "Request_BadRequest", "'displayName'"},
			{"nested unknown", "PATCH", patch, map[string]any{"passwordProfile": map[string]any{"password": newPassword, "colour": 1}}, nil, 400, "Request_BadRequest", "'colour' does not exist"},
			{"over-long value", "PATCH", patch, map[string]any{"displayName": long}, nil, 400, "Request_BadRequest", "longer than 256"},
			{"control character", "PATCH", patch, map[string]any{"displayName": "Carol\x07"}, nil, 400, "Request_BadRequest", "control character"},
			{"invalid UTF-8", "PATCH", patch, []byte("{\"displayName\": \"Car\xffol\"}"), nil, 400, "Request_BadRequest", "not valid UTF-8"},
			{"weak password", "PATCH", patch, map[string]any{"passwordProfile": map[string]any{"password": "carol"}}, nil, 400, "Request_BadRequest", "password complexity"},
			{"password with a bad other field", "PATCH", patch, map[string]any{"passwordProfile": map[string]any{"password": newPassword}, "mail": "not a mail"}, nil, 400, "Request_BadRequest", "mail address"},
			{"bad gzip", "PATCH", patch, rawBody("not gzip"), []string{"Content-Encoding", "gzip"}, 400, "Request_BadRequest", "not valid gzip"},
			{"unknown encoding", "PATCH", patch, map[string]any{}, []string{"Content-Encoding", "br"}, 415, "Request_UnsupportedMediaType", "'br'"},
			{"form body", "PATCH", patch, rawBody(`{}`), []string{"Content-Type", "application/x-www-form-urlencoded", "Content-Encoding", ""}, 400, "Request_BadRequest", "application/json"},
			{"body over the limit", "PATCH", patch, map[string]any{"displayName": strings.Repeat("x", 70000)}, nil, 413, "Request_EntityTooLarge", "65536"},
			{"create without password", "POST", "/v1.0/users", map[string]any{"displayName": "D", "userPrincipalName": "d@example.com", "mailNickname": "d"}, nil, 400, "Request_BadRequest", "'passwordProfile' is required"},
			{"create with a bad UPN", "POST", "/v1.0/users", map[string]any{"displayName": "D", "userPrincipalName": "d@", "passwordProfile": map[string]any{"password": newPassword}}, nil, 400, "Request_BadRequest", "name@domain"},
			{"filter that does not parse", "GET", "/v1.0/users?" + filterQuery("startswith(userPrincipalName,'a'"), nil, nil, 400, "Request_BadRequest", "Invalid filter clause"},
			{"filter with an unclosed string", "GET", "/v1.0/users?" + filterQuery("mail eq 'a"), nil, nil, 400, "Request_BadRequest", "not closed"},
			{"filter with or", "GET", "/v1.0/users?" + filterQuery("mail eq 'a@example.com' or mail eq 'b@example.com'"), nil, nil, 400, "Request_UnsupportedQuery", "'or'"},
			{"filter on another property", "GET", "/v1.0/users?" + filterQuery("jobTitle eq 'Boss'"), nil, nil, 400, "Request_UnsupportedQuery", "jobTitle"},
			{"filter with endswith", "GET", "/v1.0/users?" + filterQuery("endswith(mail,'@example.com')"), nil, nil, 400, "Request_UnsupportedQuery", "endswith"},
			{"filter with ne", "GET", "/v1.0/users?" + filterQuery("accountEnabled ne true"), nil, nil, 400, "Request_UnsupportedQuery", "'ne'"},
			{"filter with a wrong type", "GET", "/v1.0/users?" + filterQuery("accountEnabled eq 'yes'"), nil, nil, 400, "Request_BadRequest", "true or false"},
			{"sign-in filter on an unknown field", "GET", "/v1.0/auditLogs/signIns?" + filterQuery("appId eq 'x'"), nil, nil, 400, "Request_UnsupportedQuery", "appId"},
			{"audit filter with all", "GET", "/v1.0/auditLogs/directoryAudits?" + filterQuery("targetResources/all(t:t/id eq 'x')"), nil, nil, 400, "Request_UnsupportedQuery", "all"},
			{"unsupported option", "GET", "/v1.0/users?$orderby=displayName", nil, nil, 400, "Request_UnsupportedQuery", "$orderby"},
			{"count", "GET", "/v1.0/users?$count=true", nil, nil, 400, "Request_UnsupportedQuery", "$count"},
			{"top 0", "GET", "/v1.0/users?$top=0", nil, nil, 400, "Request_BadRequest", "between 1 and 999"},
			{"top 1000", "GET", "/v1.0/users?$top=1000", nil, nil, 400, "Request_BadRequest", "between 1 and 999"},
			{"top twice", "GET", "/v1.0/users?$top=1&$top=2", nil, nil, 400, "Request_BadRequest", "once"},
			{"unknown select", "GET", "/v1.0/users?$select=id,shoeSize", nil, nil, 400, "Request_BadRequest", "'shoeSize'"},
			{"tampered skiptoken", "GET", "/v1.0/users?$skiptoken=eyJhIjoieiJ9.AAAAAAAAAAAAAAAAAAAAAA", nil, nil, 400, "Request_BadRequest", "$skiptoken is not valid"},
			{"garbage skiptoken", "GET", "/v1.0/users?$skiptoken=%%%", nil, nil, 400, "Request_BadRequest", ""},
			{"control character in the path", "GET", "/v1.0/users/a%01b", nil, nil, 400, "Request_BadRequest", "control character"},
			{"unknown user", "DELETE", "/v1.0/users/00000000-0000-4000-8000-000000000000", nil, nil, 404, "Request_ResourceNotFound", "does not exist"},
			{"unknown endpoint", "GET", "/v1.0/groups", nil, nil, 400, "Request_BadRequest", "/v1.0/groups"},
		}
		for _, tc := range cases {
			c.do(tc.method, tc.path, tc.body, tc.header...).want(t, tc.name, tc.status, tc.code, tc.says)
		}

		// A skiptoken of one query is refused by another, and a changed one by its own.
		first := c.do("GET", "/v1.0/users?$top=1", nil).want(t, "first page", http.StatusOK)
		next := first.body["@odata.nextLink"].(string)
		skip := next[strings.Index(next, "$skiptoken=")+len("$skiptoken="):]
		c.do("GET", "/v1.0/users?$top=2&$skiptoken="+skip, nil).want(t, "skiptoken of another query", 400, "Request_BadRequest", "$skiptoken is not valid")
		pos, mac, _ := strings.Cut(skip, ".")
		raw := testenv.Must(base64.RawURLEncoding.DecodeString(pos))(t)
		forged := base64.RawURLEncoding.EncodeToString(bytes.Replace(raw, []byte(`"a":"`), []byte(`"a":"z`), 1)) + "." + mac
		c.do("GET", "/v1.0/users?$top=1&$skiptoken="+forged, nil).want(t, "forged skiptoken", 400, "Request_BadRequest", "$skiptoken is not valid")
		c.do("GET", next, nil).want(t, "the real next page", http.StatusOK)

		// Nothing changed.
		after := user(t, in, u.ID)
		if after.DisplayName != before.DisplayName || after.Mail != before.Mail || after.PasswordHash != before.PasswordHash ||
			after.AccountEnabled != before.AccountEnabled || !after.SessionsValidFrom.Equal(before.SessionsValidFrom) {
			t.Fatalf("bad input changed the user:\n before %+v\n after  %+v", before, after)
		}
		if n := testenv.Must(in.Store.CountUsers(t.Context(), portier.UserFilter{}))(t); n != 4 {
			t.Fatalf("%d users, want 4", n)
		}
		// Refused input is audited as a failure by the directory where it reached it (the
		// weak password, the bad mail and the bad UPN), and nothing succeeded.
		events := testenv.Must(in.Store.ListAudit(t.Context(), portier.AuditFilter{Limit: 1000}))(t)
		for _, ev := range events[:len(events)-auditsBefore] {
			if ev.Outcome == portier.OutcomeSuccess {
				t.Fatalf("bad input was audited as a success: %+v", ev)
			}
		}

		// The application reaches accounts as a user admin: never a global admin.
		admin := in.CreateUser(t, directory.NewUser{UPN: "boss@example.com", Roles: []portier.Role{portier.RoleGlobalAdmin}})
		c.do("PATCH", "/v1.0/users/"+admin.ID, map[string]any{"accountEnabled": false}).want(t, "block a global admin", 403, "Authorization_RequestDenied", "may not")
		c.do("PATCH", "/v1.0/users/"+admin.ID, map[string]any{"passwordProfile": map[string]any{"password": newPassword}}).want(t, "reset a global admin", 403, "Authorization_RequestDenied")
		c.do("DELETE", "/v1.0/users/"+admin.ID, nil).want(t, "delete a global admin", 403, "Authorization_RequestDenied")
		if got := user(t, in, admin.ID); !got.AccountEnabled || got.PasswordHash != admin.PasswordHash {
			t.Fatal("a refused action changed the global admin")
		}
		refused := testenv.Must(in.Store.ListAudit(t.Context(), portier.AuditFilter{TargetID: admin.ID, Outcome: portier.OutcomeRefused}))(t)
		if len(refused) != 3 || refused[0].Actor != "app:Script" || refused[0].ActorID != script.ID {
			t.Fatalf("refusals audited: %+v", refused)
		}
		// A helpdesk admin is within reach.
		helpdesk := in.CreateUser(t, directory.NewUser{UPN: "helpdesk@example.com", Roles: []portier.Role{portier.RoleHelpdeskAdmin}})
		c.do("POST", "/v1.0/users/"+helpdesk.ID+"/revokeSignInSessions", nil).want(t, "revoke a helpdesk admin", http.StatusOK)
	})
}

// TestTokens checks the token endpoint and every way a token is refused at /v1.0: missing,
// malformed, expired, of a deleted application, signed by another key, for another audience.
func TestTokens(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{})
		script := register(t, in, "Script", portier.PermUserRead)
		get := func(tok string, header ...string) answer {
			return newClient(t, in, tok).do("GET", "/v1.0/users", nil, header...)
		}
		tok := token(t, in, script, graphScope)
		get(tok).want(t, "graph scope", http.StatusOK)
		get(token(t, in, script, in.URL+"/.default")).want(t, "Portier's own scope", http.StatusOK)

		// The JWT: Microsoft's claims, the roles, the audience asked for.
		parsed := testenv.Must(jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256}))(t)
		var claims map[string]any
		testenv.NoErr(t, parsed.UnsafeClaimsWithoutVerification(&claims))
		if claims["aud"] != "https://graph.microsoft.com" || claims["appid"] != script.ID || claims["iss"] != in.URL ||
			claims["idtyp"] != "app" || len(claims["roles"].([]any)) != 1 || claims["roles"].([]any)[0] != portier.PermUserRead {
			t.Fatalf("token claims %v", claims)
		}

		unauthorized := func(a answer, what, says string) {
			t.Helper()
			a.want(t, what, http.StatusUnauthorized, "InvalidAuthenticationToken", says)
			if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Fatalf("%s: WWW-Authenticate %q", what, a.header.Get("WWW-Authenticate"))
			}
		}
		unauthorized(get(""), "no token", "Access token is empty.")
		unauthorized(get("", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(script.ID+":"+script.Secret))), "basic", "Access token is empty.")
		unauthorized(get("not-a-jwt"), "malformed", "IDX14100")
		unauthorized(get(tok[:len(tok)-4]+"AAAA"), "changed signature", "signature")

		// Signed by another key with the same key id, claims and all.
		other := testenv.Must(rsa.GenerateKey(rand.Reader, 1024))(t)
		signer := testenv.Must(jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", parsed.Headers[0].KeyID)))(t)
		forged := testenv.Must(jwt.Signed(signer).Claims(claims).Serialize())(t)
		unauthorized(get(forged), "another key", "signature")

		// A token of another Portier (another store, so other keys) is foreign here.
		elsewhere := testserver.Start(t, testenv.Backends()[0].Open(t), testserver.Options{Clock: in.Clock})
		foreign := token(t, elsewhere, register(t, elsewhere, "Elsewhere", portier.PermUserRead), graphScope)
		unauthorized(get(foreign), "another server's token", "")

		// Expired: the token lives 3599 s on Portier's clock.
		in.Clock.Advance(time.Hour)
		unauthorized(get(tok), "expired", "expired")
		tok = token(t, in, script, graphScope)
		get(tok).want(t, "a fresh token", http.StatusOK)

		// A removed permission counts at once; a deleted application's token is dead.
		testenv.Must(in.Dir.SetAppPermissions(t.Context(), portier.CLIActor("test"), script.ID, nil, []string{portier.PermUserRead}))(t)
		get(tok).want(t, "permission removed", http.StatusForbidden, "Authorization_RequestDenied", "User.Read.All")
		testenv.NoErr(t, in.Dir.DeleteApp(t.Context(), portier.CLIActor("test"), script.ID))
		unauthorized(get(tok), "deleted application", "no longer exists")

		// The token endpoint's refusals, in OAuth 2.0's shape.
		live := register(t, in, "Live", portier.PermUserRead)
		post := func(form url.Values) (int, map[string]any) {
			resp := testenv.Must(http.PostForm(in.URL+"/oauth2/token", form))(t)
			defer resp.Body.Close()
			var body map[string]any
			testenv.NoErr(t, json.NewDecoder(resp.Body).Decode(&body))
			return resp.StatusCode, body
		}
		form := func(kv ...string) url.Values {
			v := url.Values{"grant_type": {"client_credentials"}, "client_id": {live.ID}, "client_secret": {live.Secret}, "scope": {graphScope}}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		for _, tc := range []struct {
			name   string
			form   url.Values
			status int
			code   string
		}{
			{"wrong secret", form("client_secret", "nope"), 401, "invalid_client"},
			{"unknown client", form("client_id", "nobody"), 401, "invalid_client"},
			{"no scope", form("scope", ""), 400, "invalid_scope"},
			{"a delegated scope", form("scope", "User.Read"), 400, "invalid_scope"},
			{"another resource", form("scope", "https://management.azure.com/.default"), 400, "invalid_scope"},
		} {
			if status, body := post(tc.form); status != tc.status || body["error"] != tc.code {
				t.Fatalf("%s: %d %v, want %d %s", tc.name, status, body, tc.status, tc.code)
			}
		}
		oidcApp, secret, err := in.Dir.CreateApp(t.Context(), portier.CLIActor("test"),
			directory.AppInput{Name: "Web app", RedirectURIs: []string{"https://app.example.org/cb"}})
		testenv.NoErr(t, err)
		if status, body := post(form("client_id", oidcApp.ID, "client_secret", secret)); status != 400 || body["error"] != "unauthorized_client" {
			t.Fatalf("a sign-in application: %d %v, want unauthorized_client", status, body)
		}

		// Microsoft's identity library: the tenant's OpenID configuration and token endpoint,
		// with the claims (CAE) and client_info parameters it adds.
		tenant := in.App.OIDC.TenantID()
		resp := testenv.Must(http.Get(in.URL + "/" + tenant + "/v2.0/.well-known/openid-configuration"))(t)
		var disc map[string]any
		testenv.NoErr(t, json.NewDecoder(resp.Body).Decode(&disc))
		resp.Body.Close()
		if disc["token_endpoint"] != in.URL+"/"+tenant+"/oauth2/v2.0/token" || !strings.HasPrefix(disc["issuer"].(string), in.URL+"/") {
			t.Fatalf("tenant discovery %v", disc)
		}
		msal := form("claims", `{"access_token":{"xms_cc":{"values":["cp1"]}}}`, "client_info", "1")
		resp = testenv.Must(http.PostForm(disc["token_endpoint"].(string), msal))(t)
		var got map[string]any
		testenv.NoErr(t, json.NewDecoder(resp.Body).Decode(&got))
		resp.Body.Close()
		if resp.StatusCode != 200 || got["token_type"] != "Bearer" || got["expires_in"] != 3599.0 || got["ext_expires_in"] != 3599.0 {
			t.Fatalf("tenant token endpoint: %d %v", resp.StatusCode, got)
		}
		get(got["access_token"].(string)).want(t, "token from the tenant endpoint", http.StatusOK)
		if resp := testenv.Must(http.Get(in.URL + "/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration"))(t); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("another tenant's configuration: %d", resp.StatusCode)
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// TestRateLimit checks that an application past its rate gets 429 with Retry-After, and
// another application does not.
func TestRateLimit(t *testing.T) {
	in := testserver.Start(t, testenv.Backends()[0].Open(t), testserver.Options{GraphRate: graph.Rate{PerSecond: 1, Burst: 3}})
	busy := newClient(t, in, token(t, in, register(t, in, "Busy", portier.PermUserRead), graphScope))
	calm := newClient(t, in, token(t, in, register(t, in, "Calm", portier.PermUserRead), graphScope))
	for range 3 {
		busy.do("GET", "/v1.0/users", nil).want(t, "within the burst", http.StatusOK)
	}
	over := busy.do("GET", "/v1.0/users", nil).want(t, "over the rate", http.StatusTooManyRequests, "TooManyRequests")
	if over.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1", over.header.Get("Retry-After"))
	}
	calm.do("GET", "/v1.0/users", nil).want(t, "another application", http.StatusOK)
	in.Clock.Advance(time.Second)
	busy.do("GET", "/v1.0/users", nil).want(t, "after Retry-After", http.StatusOK)
}
