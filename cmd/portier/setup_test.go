package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portier-id/portier/internal/testenv"
)

var setupURL = regexp.MustCompile(`(http://\S+)/setup\?token=(\S+)`)

// client is a browser that keeps cookies and does not follow redirects.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar := testenv.Must(cookiejar.New(nil))(t)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := testenv.Must(io.ReadAll(resp.Body))(t)
	return resp.StatusCode, string(b)
}

// completeSetup fills the setup form behind link in browser c and returns the answer.
func completeSetup(t *testing.T, c *http.Client, base, link, token, upn string) *http.Response {
	t.Helper()
	_, page := get(t, c, link)
	csrf := tokenField.FindStringSubmatch(page)
	if csrf == nil {
		// The page is gone or refused; post with a token from the sign-in form instead.
		_, page = get(t, c, base+"/login")
		csrf = tokenField.FindStringSubmatch(page)
	}
	form := url.Values{"csrf_token": {csrf[1]}, "token": {token}, "username": {upn}, "display_name": {"The Admin"},
		"password": {"correct horse battery staple"}, "confirm_password": {"correct horse battery staple"}}
	resp, err := c.PostForm(base+"/setup", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestServeSetupLinkWorksOnceOnAnyProcess starts two `portier serve` processes on one empty
// store: each prints a setup link; the first process's link works on the second, creates a
// global admin and signs them in, and afterwards neither link nor page exists.
func TestServeSetupLinkWorksOnceOnAnyProcess(t *testing.T) {
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			one, two := startServe(t, db), startServe(t, db)
			link1, link2 := one.stdout.waitFor(t, setupURL), two.stdout.waitFor(t, setupURL)
			if link1[2] == link2[2] || len(link1[2]) < 43 {
				t.Fatalf("setup tokens %q and %q, want two different 256-bit tokens", link1[2], link2[2])
			}
			if strings.Contains(one.stderr.String(), link1[2]) {
				t.Fatal("the setup token is in the log (stderr)")
			}
			if !strings.Contains(one.stderr.String(), "users create admin@example.org") {
				t.Fatalf("no CLI hint on stderr:\n%s", one.stderr.String())
			}

			c := client(t)
			resp := completeSetup(t, c, two.url, two.url+"/setup?token="+link1[2], link1[2], "root@example.org")
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
				t.Fatalf("setup with process 1's link on process 2: %d %q, want 303 to /admin", resp.StatusCode, resp.Header.Get("Location"))
			}
			if status, body := get(t, c, one.url+"/myaccount"); status != 200 || !strings.Contains(body, "root@example.org") {
				t.Fatalf("the new admin is not signed in: /myaccount answered %d", status)
			}

			for _, link := range [][]string{link1, link2} {
				other := client(t)
				if status, _ := get(t, other, link[0]); status != http.StatusNotFound {
					t.Fatalf("GET %s after setup: %d, want 404", link[0], status)
				}
				if resp := completeSetup(t, other, one.url, link[0], link[2], "second@example.org"); resp.StatusCode != http.StatusNotFound {
					t.Fatalf("a second setup: %d, want 404", resp.StatusCode)
				}
			}

			var list struct {
				Value []struct {
					UPN   string   `json:"userPrincipalName"`
					Roles []string `json:"roles"`
				} `json:"value"`
			}
			if err := jsonUnmarshal(must(t, db, "", "users", "list", "--json"), &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Value) != 1 || list.Value[0].UPN != "root@example.org" || strings.Join(list.Value[0].Roles, ",") != "global-admin" {
				t.Fatalf("users after setup: %+v, want only root@example.org, a global admin", list.Value)
			}
			if audit := must(t, db, "", "audit"); !regexp.MustCompile(`\ssetup\s+user\.create\s+root@example\.org\s+success`).MatchString(audit) {
				t.Fatalf("audit log without the setup's creation:\n%s", audit)
			}
		})
	}
}

// userStates is the part of `users list --json` the demo test reads.
type userStates struct {
	Value []struct {
		UPN             string   `json:"userPrincipalName"`
		Roles           []string `json:"roles"`
		AccountEnabled  bool     `json:"accountEnabled"`
		PasswordProfile struct {
			Force bool `json:"forceChangePasswordNextSignIn"`
		} `json:"passwordProfile"`
		Lockout struct {
			Locked bool `json:"locked"`
		} `json:"lockout"`
	} `json:"value"`
}

func listUsers(t *testing.T, db string, args ...string) userStates {
	t.Helper()
	var us userStates
	if err := jsonUnmarshal(must(t, db, "", append([]string{"users", "list", "--json"}, args...)...), &us); err != nil {
		t.Fatal(err)
	}
	return us
}

var demoAdmin = regexp.MustCompile(`user name: (\S+)\s+password:\s+(\S+)`)

func TestServeDemoFillsAnEmptyDirectoryOnly(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	p := startServe(t, db, "--demo")
	admin := p.stdout.waitFor(t, demoAdmin)
	if strings.Contains(p.stderr.String(), admin[2]) {
		t.Fatal("the demo admin's password is in the log (stderr)")
	}
	if strings.Contains(p.stdout.String(), "/setup?token=") {
		t.Fatal("a setup link was printed for a filled directory")
	}

	all := listUsers(t, db)
	if n := len(all.Value); n < 45 || n > 55 {
		t.Fatalf("%d demo users, want about 50", n)
	}
	roles := map[string]int{}
	forced := 0
	for _, u := range all.Value {
		if !strings.HasSuffix(u.UPN, "@demo.example.org") {
			t.Errorf("demo user %s is not at demo.example.org", u.UPN)
		}
		for _, r := range u.Roles {
			roles[r]++
		}
		if u.PasswordProfile.Force {
			forced++
		}
	}
	if roles["global-admin"] != 1 || roles["user-admin"] != 1 || roles["helpdesk-admin"] < 2 || forced != 1 {
		t.Fatalf("roles %v and %d users who must change their password; want 1 global, 1 user, 2+ helpdesk admins and 1", roles, forced)
	}
	locked, blocked := listUsers(t, db, "--status", "locked"), listUsers(t, db, "--status", "blocked")
	if len(locked.Value) < 2 || len(blocked.Value) != 1 {
		t.Fatalf("%d locked and %d blocked demo users, want some and 1", len(locked.Value), len(blocked.Value))
	}
	for _, u := range locked.Value {
		if !u.Lockout.Locked {
			t.Fatalf("%s is listed as locked but its lockout says otherwise", u.UPN)
		}
		// The sign-in log explains the lockout: wrong passwords, then the lock.
		log := must(t, db, "", "signins", "--user", u.UPN)
		if !strings.Contains(log, "50126") || !strings.Contains(log, "50053") {
			t.Fatalf("the sign-in log of locked %s does not explain the lockout:\n%s", u.UPN, log)
		}
	}

	// The printed password signs the demo admin in.
	c := client(t)
	_, page := get(t, c, p.url+"/login")
	form := url.Values{"csrf_token": {tokenField.FindStringSubmatch(page)[1]}, "username": {admin[1]}, "password": {admin[2]}}
	resp, err := c.PostForm(p.url+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the demo admin's sign-in answered %d, want 303", resp.StatusCode)
	}

	// Once filled, the directory refuses another --demo, also when asked through the environment.
	env := map[string]string{"PORTIER_DB": db, "PORTIER_DEMO": "1", "PORTIER_ADDR": "127.0.0.1:0"}
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(stderr.String(), "--demo fills an empty directory only") {
		t.Fatalf("--demo on a filled directory: err %v, stderr %q", err, stderr.String())
	}
	if n := len(listUsers(t, db).Value); n != len(all.Value) {
		t.Fatalf("the refused --demo changed the user count from %d to %d", len(all.Value), n)
	}
}
