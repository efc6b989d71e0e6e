package oidc_test

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/oidc"
)

// amrClaims reads the amr and acr of an ID token through go-oidc.
type amrClaims struct {
	AMR []string `json:"amr"`
	ACR string   `json:"acr"`
}

// TestIDTokenAMR: through go-oidc, an ID token of a sign-in with a password and an
// authenticator carries amr ["pwd","otp","mfa"] and the multi-factor acr; one of a password
// alone ["pwd"] and the password acr. An application asking for multi-factor (acr_values)
// sends a password-only session back to sign in, where the second factor is asked although
// the policy would not; prompt=login asks for both factors again.
func TestIDTokenAMR(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ts := testserver.Start(t, store, testserver.Options{MFARequired: portier.MFAAdmins, Keys: testKeys})
		inst := &instance{store: store, srv: ts.Server, dir: ts.Dir}
		app := newRP(t, inst, directory.AppInput{})
		createUser(t, ts.Dir, "admin@example.org", portier.RoleHelpdeskAdmin)
		createUser(t, ts.Dir, "plain@example.org")
		secret := ts.RegisterAtSignIn(t, testserver.NewBrowser(t, ts.URL), "admin@example.org")
		plainSecret := ts.AddAuthenticator(t, ts.SignedIn(t, "plain@example.org"))
		code := func(secret string) func() string {
			return func() string {
				ts.Clock.Advance(30 * time.Second) // each sign-in a fresh step
				return testserver.TOTP(t, secret, ts.Clock.Now())
			}
		}
		idClaims := func(b *browser, upn string, opts ...oauth2.AuthCodeOption) amrClaims {
			t.Helper()
			a := app.authURL(opts...)
			out := b.authorize(a.url, redirectConfidential, upn, goodPassword)
			if out.Callback == nil {
				t.Fatalf("%s: stopped with %d code %s", upn, out.Status, out.Code)
			}
			_, id, err := app.exchange(a, out.Callback)
			if err != nil {
				t.Fatal(err)
			}
			var c amrClaims
			if err := id.Claims(&c); err != nil {
				t.Fatal(err)
			}
			return c
		}

		admin := newBrowser(t, ts.URL)
		admin.mfaCode = code(secret)
		if c := idClaims(admin, "admin@example.org"); !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) || c.ACR != oidc.ACRMFA || admin.mfaSteps != 1 {
			t.Fatalf("admin: amr %v acr %q after %d second steps", c.AMR, c.ACR, admin.mfaSteps)
		}
		// prompt=login: both factors again (a second on, so the session predates the request).
		ts.Clock.Advance(time.Second)
		if c := idClaims(admin, "admin@example.org", oauth2.SetAuthURLParam("prompt", "login")); !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) || admin.mfaSteps != 2 {
			t.Fatalf("prompt=login: amr %v after %d second steps", c.AMR, admin.mfaSteps)
		}

		plain := newBrowser(t, ts.URL)
		plain.mfaCode = code(plainSecret)
		if c := idClaims(plain, "plain@example.org"); !slices.Equal(c.AMR, []string{"pwd"}) || c.ACR != oidc.ACRPassword || plain.mfaSteps != 0 {
			t.Fatalf("plain user: amr %v acr %q after %d second steps", c.AMR, c.ACR, plain.mfaSteps)
		}
		// The application asks for multi-factor: the password-only session is not enough.
		if c := idClaims(plain, "plain@example.org", oauth2.SetAuthURLParam("acr_values", oidc.ACRMFA)); !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) || plain.mfaSteps != 1 {
			t.Fatalf("acr_values mfa: amr %v after %d second steps", c.AMR, plain.mfaSteps)
		}
	})
}
