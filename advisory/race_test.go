package advisory

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// TestCVE_2024_4629_KeycloakParallelGuessesPassTheThreshold replays Keycloak CVE-2024-4629:
// wrong passwords sent all at once each pass the lockout check before the first failure is
// counted, so an attacker gets far more guesses than the threshold.
func TestCVE_2024_4629_KeycloakParallelGuessesPassTheThreshold(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		in := testserver.Start(t, b.Open(t), testserver.Options{})
		in.CreateUser(t, directory.NewUser{UPN: "race@example.org"})
		guessAtOnce(t, []*testserver.Instance{in}, "race@example.org", 50)
	})
}

// TestGHSA_7h8m_vrxx_vr4m_ZitadelParallelGuessesOnSeveralProcesses replays Zitadel
// GHSA-7h8m-vrxx-vr4m: the lockout counter is read and written without a lock, so parallel
// wrong passwords, here split over two processes sharing one database, outrun it.
func TestGHSA_7h8m_vrxx_vr4m_ZitadelParallelGuessesOnSeveralProcesses(t *testing.T) {
	eachStore(t, func(t *testing.T, b testenv.Backend) {
		open := b.OpenShared(t)
		clock := testenv.NewClock()
		one := testserver.Start(t, open(), testserver.Options{Clock: clock})
		two := testserver.Start(t, open(), testserver.Options{Clock: clock})
		one.CreateUser(t, directory.NewUser{UPN: "race@example.org"})
		guessAtOnce(t, []*testserver.Instance{one, two}, "race@example.org", 50)
	})
}

// guessAtOnce sends n wrong passwords for upn at the same moment, spread over the instances,
// each from its own browser with its own CSRF token, and checks that at most the threshold's
// worth of passwords were verified and that the account ends locked.
func guessAtOnce(t *testing.T, ins []*testserver.Instance, upn string, n int) {
	t.Helper()
	st, err := ins[0].Dir.Settings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	threshold := st.Lockout.Threshold
	browsers := make([]*testserver.Browser, n)
	forms := make([]url.Values, n)
	for i := range n {
		b := testserver.NewBrowser(t, ins[i%len(ins)].URL)
		browsers[i] = b
		forms[i] = url.Values{"username": {upn}, "password": {fmt.Sprintf("wrong guess number %d", i)}, "csrf_token": {b.Token("/login")}}
	}
	// Every guess at once; then, at once again, each guess turned away busy (503, 99503), as
	// an attacker would send it again. A server whose hashing is saturated (a loaded machine,
	// the race detector) sheds what would wait too long (issue 12): never a wrong password's
	// answer, never a way past the lockout.
	codes := make([]string, n)
	pending := make([]int, n)
	for i := range n {
		pending[i] = i
	}
	busy := 0
	for round := 0; len(pending) > 0; round++ {
		if round == 20 {
			t.Fatalf("%d guesses still answered busy after %d rounds", len(pending), round)
		}
		reqs := make([]*http.Request, n)
		for _, i := range pending {
			reqs[i] = browsers[i].Request("POST", "/login", forms[i])
		}
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for _, i := range pending {
			wg.Go(func() {
				<-start
				resp, body, err := browsers[i].Send(reqs[i])
				if err != nil {
					errs[i] = err
					return
				}
				codes[i] = fmt.Sprintf("%d/%s", resp.StatusCode, testserver.ErrorCode(body))
			})
		}
		close(start)
		wg.Wait()
		var again []int
		for _, i := range pending {
			if errs[i] != nil {
				t.Fatalf("guess %d: %v", i, errs[i])
			}
			if codes[i] == "503/99503" {
				again = append(again, i)
			}
		}
		busy += len(again)
		pending = again
	}
	if busy > 0 {
		t.Logf("%d answers were busy (503) and sent again", busy)
	}

	answers := map[string]int{}
	for i := range n {
		answers[codes[i]]++
	}
	if answers["200/50126"]+answers["200/50053"] != n || answers["200/50126"] > threshold-1 {
		t.Errorf("answers %v: want only 50126 (at most %d) and 50053", answers, threshold-1)
	}
	verified := 0.0
	for _, in := range ins {
		verified += in.Metric(t, "portier_password_verifications_total")
	}
	if verified > float64(threshold) || verified < 1 {
		t.Errorf("%v passwords verified for %d parallel guesses, want between 1 and the threshold %d", verified, n, threshold)
	}
	if _, body := testserver.NewBrowser(t, ins[0].URL).Login(upn, testserver.Password); testserver.ErrorCode(body) != "50053" {
		t.Fatalf("the right password after %d parallel guesses: code %q, want 50053 (locked)", n, testserver.ErrorCode(body))
	}
}
