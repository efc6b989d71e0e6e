package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/softkey"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// Passkeys through the HTTP surface, with a software authenticator (softkey) whose answers
// are built byte by byte: registration under Security info, passwordless sign-in, and each
// answer the server must refuse.

// startPasskeys runs a server whose base URL is http://localhost:PORT: a relying party ID must
// be a domain name.
func startPasskeys(t *testing.T, store portier.Store) *testserver.Instance {
	t.Helper()
	return testserver.Start(t, store, testserver.Options{Host: "localhost"})
}

// passkeyUser creates a user and signs them in with their password in a new browser.
func passkeyUser(t *testing.T, in *testserver.Instance, upn string) (*portier.User, *testserver.Browser) {
	t.Helper()
	u := in.CreateUser(t, directory.NewUser{UPN: upn, DisplayName: "Passkey " + upn})
	b := testserver.NewBrowser(t, in.URL)
	if resp, body := b.Login(upn, testserver.Password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password sign-in of %s: %d %s", upn, resp.StatusCode, testserver.ErrorCode(body))
	}
	return u, b
}

// options begins a ceremony: POST path with the CSRF token of the page from; the JSON options.
func options(t *testing.T, b *testserver.Browser, from, path string) []byte {
	t.Helper()
	resp, body := b.Post(from, path, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("POST %s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return []byte(body)
}

// registerPasskey registers key for the signed-in user of b, named name, and returns the
// answer to the registration form.
func registerPasskey(t *testing.T, b *testserver.Browser, key *softkey.Authenticator, name string) (*http.Response, string) {
	t.Helper()
	opts := options(t, b, "/myaccount/security-info", "/myaccount/security-info/passkey/options")
	cred, err := key.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b.Post("/myaccount/security-info", "/myaccount/security-info/passkey", url.Values{"name": {name}, "credential": {cred}})
}

// mustRegister registers key and fails the test unless it worked.
func mustRegister(t *testing.T, b *testserver.Browser, key *softkey.Authenticator, name string) {
	t.Helper()
	resp, body := registerPasskey(t, b, key, name)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=passkey-added") {
		t.Fatalf("registering passkey %q: %d %s %s", name, resp.StatusCode, resp.Header.Get("Location"), errorText(body))
	}
}

// errorText is the text of a page's error box, for failure messages.
func errorText(body string) string {
	i := strings.Index(body, `class="error"`)
	if i < 0 {
		return ""
	}
	end := strings.Index(body[i:], "</p>")
	if end < 0 {
		return body[i:]
	}
	return body[i : i+end]
}

// signInWith signs in without a user name: the options, the key's answer, the form.
func signInWith(t *testing.T, b *testserver.Browser, key *softkey.Authenticator, form url.Values) (*http.Response, string, string) {
	t.Helper()
	opts := options(t, b, "/login", "/login/passkey/options")
	assertion, err := key.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("assertion", assertion)
	resp, body := b.Post("/login", "/login/passkey", form)
	return resp, body, assertion
}

// postAssertion posts an assertion to the passwordless sign-in form as it is.
func postAssertion(b *testserver.Browser, assertion string) (*http.Response, string) {
	return b.Post("/login", "/login/passkey", url.Values{"assertion": {assertion}})
}

// wantRefused checks that a passkey sign-in was refused with 500121, the one text for every
// refusal, and no session.
func wantRefused(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || testserver.ErrorCode(body) != "500121" {
		t.Fatalf("%s: status %d code %q, want the sign-in page with 500121 (%s)", what, resp.StatusCode, testserver.ErrorCode(body), errorText(body))
	}
	if !strings.Contains(body, "Your passkey could not be verified.") {
		t.Fatalf("%s: error text %q", what, errorText(body))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "portier_session" && c.Value != "" {
			t.Fatalf("%s: a session cookie was set", what)
		}
	}
}

// wantRefusedFor is wantRefused that also checks why, in the sign-in log's newest entry.
func wantRefusedFor(t *testing.T, in *testserver.Instance, what string, resp *http.Response, body, why string) {
	t.Helper()
	wantRefused(t, what, resp, body)
	if e := lastSignIn(t, in); e.Code != 500121 || !strings.Contains(e.Detail, why) || e.HashComputed {
		t.Fatalf("%s: sign-in log %d %q, want 500121 with %q", what, e.Code, e.Detail, why)
	}
}

// lastSignIn returns the newest sign-in log entry.
func lastSignIn(t *testing.T, in *testserver.Instance) *portier.SignIn {
	t.Helper()
	in.FlushSignIns(t)
	entries, err := in.Store.ListSignIns(context.Background(), portier.SignInFilter{Limit: 1})
	if err != nil || len(entries) == 0 {
		t.Fatalf("sign-in log: %v, %d entries", err, len(entries))
	}
	return entries[0]
}

func onlyPasskey(t *testing.T, in *testserver.Instance, u *portier.User) *portier.Passkey {
	t.Helper()
	ps, err := in.Store.ListPasskeys(context.Background(), u.ID)
	if err != nil || len(ps) != 1 {
		t.Fatalf("passkeys of %s: %d, %v; want 1", u.UPN, len(ps), err)
	}
	return ps[0]
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := startPasskeys(t, store)
		alice, b := passkeyUser(t, in, "alice@example.org")
		key := softkey.New(in.URL)

		// The options ask for a discoverable credential with user verification, for this
		// relying party, with the user's opaque id as handle.
		opts := options(t, b, "/myaccount/security-info", "/myaccount/security-info/passkey/options")
		_, rpID, uv, rk, err := softkey.CreationOptions(opts)
		if err != nil || rpID != "localhost" || uv != "required" || rk != "required" {
			t.Fatalf("creation options: rp %q uv %q resident key %q (%v)\n%s", rpID, uv, rk, err, opts)
		}
		if strings.Contains(string(opts), `"attestation":"direct"`) {
			t.Fatalf("creation options ask for attestation: %s", opts)
		}

		mustRegister(t, b, key, "Work laptop")
		if got := string(key.UserHandle()); got != alice.ID {
			t.Fatalf("user handle %q, want the user's id %q", got, alice.ID)
		}
		p := onlyPasskey(t, in, alice)
		if p.Name != "Work laptop" || p.ID != key.CredentialID() || p.SignCount != 1 || p.LastUsed != nil || p.AttestationFormat != "none" ||
			p.BackupEligible || len(p.AAGUID) != 16 || strings.Join(p.Transports, ",") != "internal,hybrid" {
			t.Fatalf("stored passkey: %+v", *p)
		}
		_, page := b.Do("GET", "/myaccount/security-info?done=passkey-added", nil)
		if !strings.Contains(page, `data-passkey="Work laptop"`) || !strings.Contains(page, "Never") || !strings.Contains(page, "Your passkey was added.") {
			t.Fatalf("security info after registering does not list the passkey:\n%s", page)
		}
		evs := auditedSelf(t, store, portier.ActionRegisterSecurityInfo)
		if len(evs) != 1 || evs[0].Detail != `passkey "Work laptop"` || evs[0].TargetID != alice.ID {
			t.Fatalf("audit of the registration: %+v", evs)
		}

		// Sign in without a user name or password, in a browser that never saw the user.
		other := testserver.NewBrowser(t, in.URL)
		_, login := other.Do("GET", "/login", nil)
		for _, want := range []string{`autocomplete="username webauthn"`, `data-passkey-get`, `data-conditional`, `src="/static/passkey.js"`, "Sign in with a passkey"} {
			if !strings.Contains(login, want) {
				t.Fatalf("sign-in page lacks %s", want)
			}
		}
		signInOpts := options(t, other, "/login", "/login/passkey/options")
		if strings.Contains(string(signInOpts), "allowCredentials") || !strings.Contains(string(signInOpts), `"userVerification":"required"`) ||
			!strings.Contains(string(signInOpts), `"rpId":"localhost"`) {
			t.Fatalf("passwordless options must name no credential and require user verification: %s", signInOpts)
		}
		in.Clock.Advance(time.Minute)
		resp, body, _ := signInWith(t, other, key, url.Values{"return_to": {"/myaccount/security-info"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/myaccount/security-info" {
			t.Fatalf("passkey sign-in: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), errorText(body))
		}
		resp, page = other.Do("GET", "/myaccount/security-info", nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-passkey="Work laptop"`) {
			t.Fatalf("after the passkey sign-in, security info: %d", resp.StatusCode)
		}
		if strings.Contains(page, `data-passkey="Work laptop"`) && strings.Contains(page, "Never") {
			t.Fatalf("the passkey's last use is not shown after it signed in")
		}
		p = onlyPasskey(t, in, alice)
		if p.SignCount != 2 || p.LastUsed == nil || !p.LastUsed.Equal(in.Clock.Now()) {
			t.Fatalf("after the sign-in the passkey is %+v; want count 2, last used now", *p)
		}
		e := lastSignIn(t, in)
		if e.Code != portier.CodeSuccess || e.UserID != alice.ID || e.HashComputed || !strings.Contains(e.Detail, "passkey") {
			t.Fatalf("sign-in log: %+v", *e)
		}
		if u, err := store.UserByID(context.Background(), alice.ID); err != nil || u.LastSignIn == nil || !u.LastSignIn.Equal(in.Clock.Now()) {
			t.Fatalf("last sign-in time not written: %v", err)
		}

		// A second passkey, named; both listed.
		mustRegister(t, b, softkey.New(in.URL), "YubiKey")
		if ps, err := store.ListPasskeys(context.Background(), alice.ID); err != nil || len(ps) != 2 || ps[1].Name != "YubiKey" {
			t.Fatalf("two passkeys: %v", err)
		}
	})
}

func TestPasskeyRemoveWithConfirmPage(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := startPasskeys(t, store)
		alice, b := passkeyUser(t, in, "alice@example.org")
		key := softkey.New(in.URL)
		mustRegister(t, b, key, "Phone")
		secret := in.AddAuthenticator(t, b)
		_ = secret
		_, page := b.Do("GET", "/myaccount/security-info", nil)
		if strings.Contains(page, `name="current_password"`) {
			t.Fatalf("security info still asks for the password in the table")
		}
		if !strings.Contains(page, "Replace your authenticator app") {
			t.Fatalf("with an authenticator app registered, the form does not offer a change")
		}
		p := onlyPasskey(t, in, alice)
		path := "/myaccount/security-info/remove/" + p.ID
		if !strings.Contains(page, `href="`+path+`"`) {
			t.Fatalf("no removal link for the passkey")
		}
		resp, confirm := b.Do("GET", path, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(confirm, `data-removing="passkey"`) || !strings.Contains(confirm, "Phone") {
			t.Fatalf("removal page: %d", resp.StatusCode)
		}
		// A wrong password removes nothing and shows the page again.
		resp, body := b.Post(path, path, url.Values{"current_password": {"wrong password entirely"}})
		if resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(body) != "50126" || !strings.Contains(body, `data-removing="passkey"`) {
			t.Fatalf("wrong password: %d %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		onlyPasskey(t, in, alice)
		// Another user cannot remove it.
		_, bob := passkeyUser(t, in, "bob@example.org")
		if resp, _ := bob.Do("GET", path, nil); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("another user's removal page: %d", resp.StatusCode)
		}
		resp, _ = bob.Post("/myaccount/security-info", path, url.Values{"current_password": {testserver.Password}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("another user's removal: %d", resp.StatusCode)
		}
		onlyPasskey(t, in, alice)
		resp, _ = b.Post(path, path, url.Values{"current_password": {testserver.Password}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("removal: %d", resp.StatusCode)
		}
		if ps, _ := store.ListPasskeys(context.Background(), alice.ID); len(ps) != 0 {
			t.Fatalf("passkey still there after removal")
		}
		evs := auditedSelf(t, store, portier.ActionDeleteSecurityInfo)
		if len(evs) != 1 || evs[0].Detail != `passkey "Phone"` {
			t.Fatalf("audit of the removal: %+v", evs)
		}
		// The removed passkey signs in no more.
		resp, body, _ = signInWith(t, testserver.NewBrowser(t, in.URL), key, nil)
		wantRefusedFor(t, in, "a removed passkey", resp, body, "unknown passkey")

		// The authenticator app goes through the same page.
		ms, _ := store.ListMethods(context.Background(), alice.ID)
		if len(ms) != 1 {
			t.Fatalf("methods: %d", len(ms))
		}
		path = "/myaccount/security-info/remove/" + ms[0].ID
		if _, confirm := b.Do("GET", path, nil); !strings.Contains(confirm, `data-removing="totp"`) {
			t.Fatalf("removal page of the authenticator app")
		}
		if resp, _ := b.Post(path, path, url.Values{"current_password": {testserver.Password}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("removing the authenticator app: %d", resp.StatusCode)
		}
	})
}

func TestPasskeyRegistrationRefusals(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := startPasskeys(t, store)
		alice, b := passkeyUser(t, in, "alice@example.org")
		cases := []struct {
			name   string
			break_ func(k *softkey.Authenticator)
			label  string
			want   string
		}{
			{"wrong origin", func(k *softkey.Authenticator) { k.Origin = "http://evil.example" }, "Key", "could not be verified"},
			{"wrong relying party", func(k *softkey.Authenticator) { k.RPID = "evil.example" }, "Key", "could not be verified"},
			{"no user verification", func(k *softkey.Authenticator) { k.UserVerified = false }, "Key", "could not be verified"},
			{"no name", func(*softkey.Authenticator) {}, "  ", "Give the passkey a name"},
			{"name too long", func(*softkey.Authenticator) {}, strings.Repeat("x", 65), "Give the passkey a name"},
		}
		for _, tc := range cases {
			key := softkey.New(in.URL)
			tc.break_(key)
			resp, body := registerPasskey(t, b, key, tc.label)
			if resp.StatusCode != http.StatusBadRequest || testserver.ErrorCode(body) != "90100" || !strings.Contains(body, tc.want) {
				t.Fatalf("%s: %d %s %q", tc.name, resp.StatusCode, testserver.ErrorCode(body), errorText(body))
			}
		}
		// An answer with no challenge begun in this browser, and a challenge answered twice.
		key := softkey.New(in.URL)
		opts := options(t, b, "/myaccount/security-info", "/myaccount/security-info/passkey/options")
		cred, _ := key.Create(opts)
		stranger, _ := passkeyUser(t, in, "mallory@example.org")
		_ = stranger
		if resp, body := b.Post("/myaccount/security-info", "/myaccount/security-info/passkey", url.Values{"name": {"Key"}, "credential": {cred}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("registration: %d %s", resp.StatusCode, errorText(body))
		}
		resp, body := b.Post("/myaccount/security-info", "/myaccount/security-info/passkey", url.Values{"name": {"Key"}, "credential": {cred}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "took too long") {
			t.Fatalf("a replayed registration: %d %q", resp.StatusCode, errorText(body))
		}
		if ps, _ := store.ListPasskeys(context.Background(), alice.ID); len(ps) != 1 {
			t.Fatalf("%d passkeys after the refusals, want 1", len(ps))
		}
		// Without a session there is no registration.
		anon := testserver.NewBrowser(t, in.URL)
		if resp, _ := anon.Post("/login", "/myaccount/security-info/passkey/options", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("options without a session: %d", resp.StatusCode)
		}
	})
}

func TestPasskeySignInRefusals(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := startPasskeys(t, store)
		alice, b := passkeyUser(t, in, "alice@example.org")
		key := softkey.New(in.URL)
		mustRegister(t, b, key, "Laptop")

		// One good sign-in to replay.
		first := testserver.NewBrowser(t, in.URL)
		resp, _, used := signInWith(t, first, key, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first sign-in: %d", resp.StatusCode)
		}
		count := onlyPasskey(t, in, alice).SignCount

		t.Run("replayed assertion", func(t *testing.T) {
			// The same answer again, from the same browser: its challenge is used up.
			resp, body := postAssertion(first, used)
			wantRefusedFor(t, in, "replay with the used challenge", resp, body, "no challenge")
			// And from a browser that began a new ceremony: the challenge differs.
			c := testserver.NewBrowser(t, in.URL)
			options(t, c, "/login", "/login/passkey/options")
			resp, body = postAssertion(c, used)
			wantRefusedFor(t, in, "replay under a new challenge", resp, body, "challenge")
			if e := lastSignIn(t, in); e.Code != 500121 || e.UserID != alice.ID || !strings.Contains(e.Detail, "passkey") {
				t.Fatalf("sign-in log of the replay: %+v", *e)
			}
		})

		t.Run("challenge from another session", func(t *testing.T) {
			victim, attacker := testserver.NewBrowser(t, in.URL), testserver.NewBrowser(t, in.URL)
			challenge := softkey.Challenge(options(t, victim, "/login", "/login/passkey/options"))
			options(t, attacker, "/login", "/login/passkey/options")
			key.Counter++
			answer := key.Assert(challenge)
			resp, body := postAssertion(attacker, answer)
			wantRefusedFor(t, in, "another browser's challenge", resp, body, "Error validating challenge")
			// Nor with no ceremony begun at all.
			resp, body = postAssertion(testserver.NewBrowser(t, in.URL), answer)
			wantRefusedFor(t, in, "no challenge", resp, body, "no challenge")
			// The victim's own ceremony still works with its own answer.
			key.Counter++
			resp, body = postAssertion(victim, key.Assert(challenge))
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("the victim's sign-in: %d %s", resp.StatusCode, errorText(body))
			}
		})

		t.Run("wrong origin", func(t *testing.T) {
			k := *key
			k.Origin = "http://localhost.evil.example"
			resp, body, _ := signInWith(t, testserver.NewBrowser(t, in.URL), &k, nil)
			key.Counter = k.Counter
			wantRefusedFor(t, in, "wrong origin", resp, body, "Error validating origin")
		})

		t.Run("wrong relying party", func(t *testing.T) {
			k := *key
			k.RPID = "evil.example"
			resp, body, _ := signInWith(t, testserver.NewBrowser(t, in.URL), &k, nil)
			key.Counter = k.Counter
			wantRefusedFor(t, in, "wrong RP ID", resp, body, "RP Hash mismatch")
		})

		t.Run("no user verification", func(t *testing.T) {
			k := *key
			k.UserVerified = false
			resp, body, _ := signInWith(t, testserver.NewBrowser(t, in.URL), &k, nil)
			key.Counter = k.Counter
			wantRefusedFor(t, in, "no user verification", resp, body, "User verification required")
		})

		t.Run("counter going backwards", func(t *testing.T) {
			stored := onlyPasskey(t, in, alice).SignCount
			if stored <= count {
				t.Fatalf("the counter did not move: %d", stored)
			}
			k := *key
			k.Counter = stored - 2 // Get adds one: an answer at stored-1
			resp, body, _ := signInWith(t, testserver.NewBrowser(t, in.URL), &k, nil)
			wantRefused(t, "a counter going backwards", resp, body)
			if e := lastSignIn(t, in); !strings.Contains(e.Detail, "did not go past") {
				t.Fatalf("sign-in log detail: %q", e.Detail)
			}
			// An equal counter is refused too; the stored count stays.
			k.Counter = stored - 1
			resp, body, _ = signInWith(t, testserver.NewBrowser(t, in.URL), &k, nil)
			wantRefused(t, "an equal counter", resp, body)
			if got := onlyPasskey(t, in, alice).SignCount; got != stored {
				t.Fatalf("stored counter moved to %d after refusals, want %d", got, stored)
			}
		})

		t.Run("expired challenge", func(t *testing.T) {
			c := testserver.NewBrowser(t, in.URL)
			opts := options(t, c, "/login", "/login/passkey/options")
			in.Clock.Advance(5*time.Minute + time.Second)
			answer, _ := key.Get(opts)
			resp, body := postAssertion(c, answer)
			wantRefusedFor(t, in, "an expired challenge", resp, body, "challenge expired")
		})

		t.Run("unknown passkey tells nothing", func(t *testing.T) {
			// A credential this server never registered gets the same page as a known one
			// refused: nothing tells whether a passkey, or a user, exists.
			stranger := softkey.New(in.URL)
			if _, err := stranger.Create([]byte(`{"publicKey":{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","rp":{"id":"localhost"},"user":{"id":"bm9ib2R5"}}}`)); err != nil {
				t.Fatal(err)
			}
			c := testserver.NewBrowser(t, in.URL)
			resp, unknown, _ := signInWith(t, c, stranger, nil)
			wantRefusedFor(t, in, "an unknown passkey", resp, unknown, "unknown passkey")
			k := *key
			k.Counter = 0
			resp, known, _ := signInWith(t, c, &k, nil)
			wantRefused(t, "a known passkey refused", resp, known)
			if testserver.WithoutCSRF(unknown) != testserver.WithoutCSRF(known) {
				t.Fatalf("an unknown passkey's page differs from a known one's refusal")
			}
		})

		t.Run("bad input", func(t *testing.T) {
			c := testserver.NewBrowser(t, in.URL)
			for _, bad := range []string{"", "{", `{"id":"x"}`, strings.Repeat("a", 20000)} {
				options(t, c, "/login", "/login/passkey/options")
				resp, body := postAssertion(c, bad)
				wantRefused(t, "a malformed answer", resp, body)
			}
			// Without the CSRF token nothing is begun.
			resp, _ := c.Do("POST", "/login/passkey/options", url.Values{})
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("options without a CSRF token: %d", resp.StatusCode)
			}
		})
	})
}

func TestPasskeyBlockedAndLockedOut(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := startPasskeys(t, store)
		alice, b := passkeyUser(t, in, "alice@example.org")
		key := softkey.New(in.URL)
		mustRegister(t, b, key, "Laptop")

		// A stranger guesses at the password until the account locks.
		guesser := testserver.NewBrowser(t, in.URL)
		var code string
		for i := 0; i < 12 && code != "50053"; i++ {
			_, body := guesser.Login("alice@example.org", "wrong guess number "+string(rune('a'+i)))
			code = testserver.ErrorCode(body)
		}
		if code != "50053" {
			t.Fatalf("the account did not lock: %s", code)
		}
		owner := testserver.NewBrowser(t, in.URL)
		if _, body := owner.Login("alice@example.org", testserver.Password); testserver.ErrorCode(body) != "50053" {
			t.Fatalf("the password is not locked for a new browser: %s", testserver.ErrorCode(body))
		}
		// The passkey signs the owner in all the same, and leaves the lock as it was.
		resp, body, _ := signInWith(t, owner, key, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("passkey sign-in while the password is locked: %d %s", resp.StatusCode, errorText(body))
		}
		if resp, _ := owner.Do("GET", "/myaccount", nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("no session after the passkey sign-in: %d", resp.StatusCode)
		}
		u, _ := store.UserByID(context.Background(), alice.ID)
		u.SetLockoutView(in.Clock.Now())
		if !u.Lockout.Locked {
			t.Fatalf("the passkey sign-in cleared the password's lock")
		}

		// A blocked account is refused, after the passkey verified.
		if err := in.Dir.SetSignInStatus(context.Background(), portier.CLIActor("test"), alice.UPN, false); err != nil {
			t.Fatal(err)
		}
		resp, body, _ = signInWith(t, testserver.NewBrowser(t, in.URL), key, nil)
		if resp.StatusCode != http.StatusOK || testserver.ErrorCode(body) != "50057" {
			t.Fatalf("blocked user: %d %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		if e := lastSignIn(t, in); e.Code != portier.CodeBlocked || e.UserID != alice.ID {
			t.Fatalf("sign-in log of the blocked user: %+v", *e)
		}
		if resp, _ := owner.Do("GET", "/myaccount", nil); resp.StatusCode == http.StatusOK {
			t.Fatalf("the blocked user's passkey session goes on")
		}
	})
}

// TestPasskeysOffAtAnIPAddress: a base URL whose host is an IP address cannot be a relying
// party: the pages offer no passkeys, and the endpoints refuse.
func TestPasskeysOffAtAnIPAddress(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{})
		b := testserver.NewBrowser(t, in.URL)
		_, login := b.Do("GET", "/login", nil)
		if strings.Contains(login, "passkey") || strings.Contains(login, "webauthn") {
			t.Fatalf("the sign-in page offers passkeys at %s", in.URL)
		}
		resp, body := b.Post("/login", "/login/passkey/options", nil)
		var msg map[string]string
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal([]byte(body), &msg) != nil || msg["error"] != "off" {
			t.Fatalf("options at an IP address: %d %s", resp.StatusCode, body)
		}
	})
}

// mfaState reads the form state of a second step's page.
func mfaState(t *testing.T, page string) string {
	t.Helper()
	const marker = `name="mfa_state" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("no mfa_state on the page")
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestPasskeySecondFactor: a user who must use a second factor registers a passkey as the
// first one at sign-in, then signs in with password and passkey; the session's amr is pwd,
// hwk, mfa; the refusals of the second step are 500121 and change nothing.
func TestPasskeySecondFactor(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := testserver.Start(t, store, testserver.Options{Host: "localhost", MFARequired: "all"})
		alice := in.CreateUser(t, directory.NewUser{UPN: "alice@example.org", DisplayName: "Alice"})
		key := softkey.New(in.URL)

		// First sign-in: a right password, no second factor yet: register one.
		b := testserver.NewBrowser(t, in.URL)
		resp, _ := b.Login(alice.UPN, testserver.Password)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/mfa" {
			t.Fatalf("password step: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := b.Do("GET", "/login/mfa", nil); resp.Header.Get("Location") != "/login/mfa/register" {
			t.Fatalf("no second factor registered: sent to %q", resp.Header.Get("Location"))
		}
		_, reg := b.Do("GET", "/login/mfa/register", nil)
		if !strings.Contains(reg, `href="/login/mfa/register/passkey"`) {
			t.Fatalf("the registration page offers no passkey")
		}
		_, page := b.Do("GET", "/login/mfa/register/passkey", nil)
		if !strings.Contains(page, `data-mfa-method="passkey"`) || !strings.Contains(page, "data-passkey-register") {
			t.Fatalf("passkey registration page at sign-in:\n%s", page)
		}
		state := mfaState(t, page)
		resp, opts := b.Post("/login/mfa/register/passkey", "/login/mfa/register/passkey/options", url.Values{"mfa_state": {state}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("registration options at sign-in: %d %s", resp.StatusCode, opts)
		}
		cred, err := key.Create([]byte(opts))
		if err != nil {
			t.Fatal(err)
		}
		resp, body := b.Post("/login/mfa/register/passkey", "/login/mfa/register/passkey", url.Values{"mfa_state": {state}, "name": {"Security key"}, "credential": {cred}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("registering the passkey at sign-in: %d %s", resp.StatusCode, errorText(body))
		}
		if amr := strings.Join(sessionAMR(t, in, b), " "); amr != "pwd hwk mfa" {
			t.Fatalf("session amr after registering a passkey at sign-in: %q", amr)
		}
		onlyPasskey(t, in, alice)

		// Next sign-in: password, then the passkey.
		b = testserver.NewBrowser(t, in.URL)
		b.Login(alice.UPN, testserver.Password)
		if resp, _ := b.Do("GET", "/login/mfa", nil); resp.Header.Get("Location") != "/login/mfa/passkey" {
			t.Fatalf("second step: sent to %q", resp.Header.Get("Location"))
		}
		_, page = b.Do("GET", "/login/mfa/passkey", nil)
		if !strings.Contains(page, `data-mfa-method="passkey"`) || !strings.Contains(page, `src="/static/passkey.js"`) {
			t.Fatalf("second-step page:\n%s", page)
		}
		state = mfaState(t, page)
		begin := func(b *testserver.Browser, state string) []byte {
			t.Helper()
			resp, opts := b.Post("/login/mfa/passkey", "/login/mfa/passkey/options", url.Values{"mfa_state": {state}})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("second-factor options: %d %s", resp.StatusCode, opts)
			}
			if !strings.Contains(opts, key.CredentialID()) || !strings.Contains(opts, `"userVerification":"required"`) {
				t.Fatalf("second-factor options must allow the user's passkey and require user verification: %s", opts)
			}
			return []byte(opts)
		}
		answer := func(b *testserver.Browser, state, assertion string) (*http.Response, string) {
			return b.Post("/login/mfa/passkey", "/login/mfa/passkey", url.Values{"mfa_state": {state}, "assertion": {assertion}})
		}
		wantFactorRefused := func(what string, resp *http.Response, body, why string) {
			t.Helper()
			if resp.StatusCode != http.StatusOK || testserver.ErrorCode(body) != "500121" || !strings.Contains(body, `data-mfa-method="passkey"`) {
				t.Fatalf("%s: %d %s", what, resp.StatusCode, testserver.ErrorCode(body))
			}
			if e := lastSignIn(t, in); e.Code != 500121 || !strings.Contains(e.Detail, "second factor: passkey") || !strings.Contains(e.Detail, why) {
				t.Fatalf("%s: sign-in log %d %q, want 500121 with %q", what, e.Code, e.Detail, why)
			}
		}

		// A passwordless challenge is not a second factor's.
		other := options(t, testserver.NewBrowser(t, in.URL), "/login", "/login/passkey/options")
		begin(b, state)
		key.Counter++
		resp, body = answer(b, state, key.Assert(softkey.Challenge(other)))
		wantFactorRefused("a passwordless challenge's answer", resp, body, "challenge")
		// Another pending sign-in's challenge (mallory signs in with alice's password
		// elsewhere): bound to that sign-in, it serves no other.
		m := testserver.NewBrowser(t, in.URL)
		m.Login(alice.UPN, testserver.Password)
		_, mpage := m.Do("GET", "/login/mfa/passkey", nil)
		theirs := begin(m, mfaState(t, mpage))
		begin(b, state)
		key.Counter++
		resp, body = answer(b, state, key.Assert(softkey.Challenge(theirs)))
		wantFactorRefused("another sign-in's challenge", resp, body, "challenge")
		// A counter going backwards.
		k := *key
		k.Counter = 0
		resp, body = answer(b, state, mustGet(t, &k, begin(b, state)))
		wantFactorRefused("a counter going backwards", resp, body, "did not go past")
		// No user verification.
		k = *key
		k.UserVerified = false
		resp, body = answer(b, state, mustGet(t, &k, begin(b, state)))
		key.Counter = k.Counter
		wantFactorRefused("no user verification", resp, body, "User verification required")
		if resp, _ := b.Do("GET", "/myaccount", nil); resp.StatusCode == http.StatusOK {
			t.Fatalf("a session after refused second factors")
		}

		// The right answer signs in.
		in.Clock.Advance(time.Minute)
		resp, body = answer(b, state, mustGet(t, key, begin(b, state)))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/myaccount" {
			t.Fatalf("second factor: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), errorText(body))
		}
		if amr := strings.Join(sessionAMR(t, in, b), " "); amr != "pwd hwk mfa" {
			t.Fatalf("session amr: %q", amr)
		}
		log := signInLog(t, in, alice.ID)
		last := log[len(log)-1]
		if last.Code != 0 || !strings.Contains(last.Detail, "second factor: passkey") {
			t.Fatalf("sign-in log: %+v", *last)
		}
		if p := onlyPasskey(t, in, alice); p.LastUsed == nil || !p.LastUsed.Equal(in.Clock.Now()) {
			t.Fatalf("the passkey's last use was not written")
		}
		// The same step again is out of order: the pending sign-in is used up.
		resp, body = answer(b, state, mustGet(t, key, []byte(`{"publicKey":{"challenge":"AAAAAAAAAAAAAAAAAAAAAA"}}`)))
		if testserver.ErrorCode(body) != "90100" {
			t.Fatalf("a second step after the sign-in completed: %d %s", resp.StatusCode, testserver.ErrorCode(body))
		}

		// A passwordless sign-in needs no second step: the passkey is both factors.
		pl := testserver.NewBrowser(t, in.URL)
		resp, body, _ = signInWith(t, pl, key, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/myaccount" {
			t.Fatalf("passwordless with mfa required of all: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), errorText(body))
		}
		if amr := strings.Join(sessionAMR(t, in, pl), " "); amr != "hwk mfa" {
			t.Fatalf("passwordless session amr: %q", amr)
		}
	})
}

func mustGet(t *testing.T, k *softkey.Authenticator, opts []byte) string {
	t.Helper()
	a, err := k.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPasskeyAdminView: the admin center lists a user's passkeys with their names and last use,
// and "Require re-register" removes them.
func TestPasskeyAdminView(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := startPasskeys(t, store)
		alice, b := passkeyUser(t, in, "alice@example.org")
		mustRegister(t, b, softkey.New(in.URL), "Desk key")
		in.CreateUser(t, directory.NewUser{UPN: "helen@example.org", DisplayName: "Helen", Roles: []portier.Role{portier.RoleHelpdeskAdmin}})
		admin := testserver.NewBrowser(t, in.URL)
		admin.Login("helen@example.org", testserver.Password)
		page := "/admin/users/" + alice.UPN
		_, body := admin.Do("GET", page, nil)
		if !strings.Contains(body, `data-auth-method="passkey"`) || !strings.Contains(body, "Desk key") {
			t.Fatalf("the admin's user page does not list the passkey")
		}
		if resp, _ := admin.Post(page, page+"/security-info/reset", nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("require re-register: %d", resp.StatusCode)
		}
		if ps, _ := store.ListPasskeys(context.Background(), alice.ID); len(ps) != 0 {
			t.Fatalf("%d passkeys after require re-register", len(ps))
		}
		evs := testenv.Must(store.ListAudit(context.Background(), portier.AuditFilter{Action: portier.ActionResetSecurityInfo}))(t)
		if len(evs) != 1 || !strings.Contains(evs[0].Detail, `passkey "Desk key"`) {
			t.Fatalf("audit of require re-register: %+v", evs)
		}
	})
}
