package advisory

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// TestCVE_2023_22492_ZitadelRefreshAfterDeactivation replays Zitadel CVE-2023-22492: a
// refresh token keeps getting new access tokens after its user was deactivated.
func TestCVE_2023_22492_ZitadelRefreshAfterDeactivation(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		in := testserver.Start(t, b.Open(t), testserver.Options{})
		in.CreateUser(t, directory.NewUser{UPN: "admin@example.org", Roles: []portier.Role{portier.RoleUserAdmin}})
		in.CreateUser(t, directory.NewUser{UPN: "leaver@example.org", Mail: "leaver@example.org"})
		const callback = "https://app.example.org/callback"
		app, secret, err := in.Dir.CreateApp(t.Context(), portier.CLIActor("test"), directory.AppInput{Name: "App", RedirectURIs: []string{callback}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		provider, err := gooidc.NewProvider(ctx, in.URL)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		conf := &oauth2.Config{ClientID: app.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: callback,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}}

		verifier := oauth2.GenerateVerifier()
		start := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-1"))
		back := testserver.NewBrowser(t, in.URL).Authorize(start, callback, "leaver@example.org", testserver.Password)
		tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}
		refresh := func(rt string) (*oauth2.Token, error) {
			return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
		}
		// While the user is active a refresh works (and rotates the refresh token).
		fresh, err := refresh(tok.RefreshToken)
		if err != nil {
			t.Fatalf("refresh of an active user: %v", err)
		}

		// The admin blocks the user in the admin center.
		admin := in.SignedIn(t, "admin@example.org")
		status := "/admin/users/leaver@example.org/sign-in-status"
		if resp, body := admin.Post(status, status, url.Values{"blocked": {"on"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("blocking: status %d %s", resp.StatusCode, testserver.ErrorCode(body))
		}
		if _, err := refresh(fresh.RefreshToken); !invalidGrant(err) {
			t.Fatalf("refresh after the block: %v, want invalid_grant", err)
		}
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
			t.Fatal("userinfo still answers with the blocked user's access token")
		}
		// Unblocking lets the user sign in again, but the tokens of before stay dead.
		if resp, _ := admin.Post(status, status, url.Values{}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("unblocking: status %d", resp.StatusCode)
		}
		if _, err := refresh(fresh.RefreshToken); !invalidGrant(err) {
			t.Fatalf("refresh with a token from before the block, after the unblock: %v, want invalid_grant", err)
		}
	})
}

func invalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}
