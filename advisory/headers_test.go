package advisory

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// TestCVE_2024_47070_AuthentikForgedForwardedFor replays authentik CVE-2024-47070: a forged
// X-Forwarded-For (there an unparsable one) changes how a password is checked or throttled.
// Without trusted proxies the header is ignored; behind a trusted proxy only the address the
// proxy appended counts, whatever the client wrote to the left of it.
func TestCVE_2024_47070_AuthentikForgedForwardedFor(t *testing.T) {
	t.Parallel()
	forged := []string{"203.0.113.1", "not-an-ip", "127.0.0.1", "::1", "10.0.0.1, 203.0.113.2", "1.2.3.4:80", strings.Repeat("9", 300), "", "198.51.100.3"}
	const limit = 5
	setup := func(t *testing.T, b testenv.Backend, proxies []netip.Prefix) *testserver.Instance {
		in := testserver.Start(t, b.Open(t), testserver.Options{TrustedProxies: proxies})
		_, err := in.Dir.UpdateSettings(t.Context(), portier.CLIActor("test"), func(st *portier.Settings) error {
			st.SourceThreshold = limit
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(forged) + 1 {
			in.CreateUser(t, directory.NewUser{UPN: fmt.Sprintf("user%d@example.org", i)})
		}
		return in
	}
	// spray makes one wrong guess at each of limit accounts, each with a different forged
	// header, and returns the sign-in page answered to the next guess.
	spray := func(t *testing.T, in *testserver.Instance, header func(i int) string) (verified float64, next string) {
		t.Helper()
		b := testserver.NewBrowser(t, in.URL)
		for i := range limit {
			b.Header.Set("X-Forwarded-For", header(i))
			if _, body := b.Login(fmt.Sprintf("user%d@example.org", i), "a wrong password here"); testserver.ErrorCode(body) != "50126" {
				t.Fatalf("wrong password %d with X-Forwarded-For %q: code %q, want 50126", i, header(i), testserver.ErrorCode(body))
			}
		}
		before := in.Metric(t, "portier_password_verifications_total")
		b.Header.Set("X-Forwarded-For", header(limit))
		_, next = b.Login(fmt.Sprintf("user%d@example.org", limit), testserver.Password)
		return in.Metric(t, "portier_password_verifications_total") - before, next
	}
	throttled := func(t *testing.T, verified float64, page string) {
		t.Helper()
		if testserver.ErrorCode(page) != "50053" || !strings.Contains(page, "suspicious activity from your address") {
			t.Fatalf("after %d failures from one address under forged headers: code %q, want 50053 for the source", limit, testserver.ErrorCode(page))
		}
		if verified != 0 {
			t.Fatalf("%v passwords verified for a throttled source", verified)
		}
	}
	sources := func(t *testing.T, in *testserver.Instance) map[string]int {
		in.FlushSignIns(t)
		entries, err := in.Store.ListSignIns(t.Context(), portier.SignInFilter{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, e := range entries {
			out[e.Source]++
		}
		return out
	}

	t.Run("no trusted proxy: the header is ignored", func(t *testing.T) {
		eachStore(t, func(t *testing.T, b testenv.Backend) {
			in := setup(t, b, nil)
			verified, page := spray(t, in, func(i int) string { return forged[i%len(forged)] })
			throttled(t, verified, page)
			if got := sources(t, in); len(got) != 1 || got["127.0.0.1"] != limit+1 {
				t.Fatalf("sign-in log sources %v, want only the peer 127.0.0.1", got)
			}
		})
	})
	t.Run("behind a trusted proxy: only the proxy's hop counts", func(t *testing.T) {
		eachStore(t, func(t *testing.T, b testenv.Backend) {
			in := setup(t, b, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
			// The proxy appends the address it saw; the client wrote whatever it liked before.
			verified, page := spray(t, in, func(i int) string { return forged[i%len(forged)] + ", 203.0.113.50" })
			throttled(t, verified, page)
			if got := sources(t, in); len(got) != 1 || got["203.0.113.50"] != limit+1 {
				t.Fatalf("sign-in log sources %v, want only the client the proxy saw, 203.0.113.50", got)
			}
			// Another client behind the same proxy is not throttled.
			other := testserver.NewBrowser(t, in.URL)
			other.Header.Set("X-Forwarded-For", "198.51.100.7")
			if resp, body := other.Login("user0@example.org", testserver.Password); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("another client behind the proxy: status %d code %s", resp.StatusCode, testserver.ErrorCode(body))
			}
		})
	})
}

var anyURL = regexp.MustCompile(`https?://[^\s"'<>]+`)

// TestGHSA_2wmj_46rj_qm2w_ZitadelHostHeaderInMailedLinks replays Zitadel GHSA-2wmj-46rj-qm2w:
// links in mails are built from the request's Host or X-Forwarded-Host, so an attacker who
// starts the mail with a forged header sends the victim a link to the attacker's site.
func TestGHSA_2wmj_46rj_qm2w_ZitadelHostHeaderInMailedLinks(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		// Loopback is a trusted proxy here, so even a proxy's forwarded host is not believed.
		in := testserver.Start(t, b.Open(t), testserver.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
		in.CreateUser(t, directory.NewUser{UPN: "victim@example.org", Mail: "victim@example.org"})
		in.AddEmail(t, in.SignedIn(t, "victim@example.org"), "victim@example.net")
		evil := func(b *testserver.Browser) *testserver.Browser {
			b.Host = "evil.example"
			b.Header.Set("X-Forwarded-Host", "evil.example")
			b.Header.Set("X-Forwarded-Proto", "https")
			b.Header.Set("Forwarded", "host=evil.example;proto=https")
			return b
		}

		// The attacker locks the account: the owner gets the lockout mail with its report link.
		attacker := evil(testserver.NewBrowser(t, in.URL))
		for i := range 10 {
			attacker.Login("victim@example.org", fmt.Sprintf("wrong guess number %d", i))
		}
		lockMail := in.WaitMail(t, "victim@example.org", "/recover/report?token=")
		// The attacker then walks a self-service reset with the same headers: code and notices.
		known := in.Codes(t, "victim@example.net")
		if resp, _ := attacker.Post("/recover", "/recover", url.Values{"username": {"victim@example.org"}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST /recover: status %d", resp.StatusCode)
		}
		attacker.Post("/recover/verify", "/recover/email", url.Values{"address": {"victim@example.net"}})
		in.NextCode(t, "victim@example.net", known)

		links := anyURL.FindAllString(lockMail.Body, -1)
		if len(links) == 0 || !strings.HasPrefix(links[0], in.URL+"/recover/report?token=") {
			t.Fatalf("lockout mail links %v, want the configured base URL %s", links, in.URL)
		}
		for _, m := range in.Mails(t) {
			for _, link := range anyURL.FindAllString(m.Subject+"\n"+m.Body, -1) {
				if !strings.HasPrefix(link, in.URL+"/") {
					t.Errorf("mail %q to %s links to %s, not the configured base URL", m.Subject, m.To, link)
				}
			}
			if strings.Contains(m.Body, "evil.example") {
				t.Errorf("mail %q to %s names the forged host", m.Subject, m.To)
			}
		}
		// Pages and the discovery document do not take the forged host either.
		for _, path := range []string{"/.well-known/openid-configuration", "/login", "/recover"} {
			resp, body := evil(testserver.NewBrowser(t, in.URL)).Do("GET", path, nil)
			if strings.Contains(body, "evil.example") || strings.Contains(resp.Header.Get("Location"), "evil.example") {
				t.Errorf("GET %s with a forged host answers with it", path)
			}
		}
	})
}
