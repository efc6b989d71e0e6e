package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/signin"
)

// saturatedAdmission is one hash slot and a strangers' queue of one place, with deadlines no
// test reaches (the scheduler's clock is real time).
var saturatedAdmission = signin.Config{SaturatedWait: time.Minute, Admission: signin.AdmissionConfig{
	Slots: 1, Reserved: -1,
	Owner:          signin.ClassLimit{Deadline: time.Minute},
	FamiliarSource: signin.ClassLimit{Deadline: time.Minute},
	Other:          signin.ClassLimit{Queue: 1, Deadline: time.Minute},
}}

// saturate holds in's one hash slot and queues one stranger's check behind it, so that the
// next stranger is turned away; release gives the slot back and waits for the stranger.
func saturate(t *testing.T, in *instance) (adm *signin.Scheduler, release func()) {
	t.Helper()
	ctx := context.Background()
	adm = in.ts.App.Engine.Admission()
	running := testenv.Must(adm.Acquire(ctx, signin.ClassOwner))(t)
	stranger := make(chan error, 1)
	go func() {
		slot, err := adm.Acquire(ctx, signin.ClassOther)
		if err == nil {
			slot.Done()
		}
		stranger <- err
	}()
	testserver.WaitFor(t, "a stranger's check queued", func() bool { return adm.Waiting(signin.ClassOther) == 1 })
	var once bool
	release = func() {
		if !once {
			once = true
			running.Done()
			if err := <-stranger; err != nil {
				t.Errorf("the queued stranger: %v", err)
			}
		}
	}
	t.Cleanup(release)
	return adm, release
}

// Issue 12 item 1: a sign-in the hash scheduler turns away is answered, without a check and
// after the busy hold (DefaultBusyHold, held alike for every name), with 503, a
// Retry-After, and a page that says the password was not checked and to try again in the
// same number of seconds, in English and in Dutch; the sign-in log has 99503 and /metrics
// counts it. A known user and an unknown name get the same answer.
func TestShedSignInIs503WithRetryAfterInBothLanguages(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		in := newInstanceWith(t, store, testenv.NewClock(), saturatedAdmission)
		createUser(t, in.dir, "busy@example.org", false)
		saturate(t, in)
		texts := map[string]string{"en": "try again in %s second", "nl": "probeer het over %s second"}
		for lang, text := range texts {
			b := newBrowser(t, in.srv.URL)
			b.lang = lang
			for _, user := range []string{"busy@example.org", "nobody@example.org"} {
				resp, body := b.login(user, goodPassword, nil)
				retry := resp.Header.Get("Retry-After")
				if n, err := strconv.Atoi(retry); err != nil || n < 1 {
					t.Fatalf("%s %s: Retry-After %q, want whole seconds", lang, user, retry)
				}
				want := strings.Replace(text, "%s", retry, 1)
				if resp.StatusCode != http.StatusServiceUnavailable || testserver.ErrorCode(body) != "99503" || !strings.Contains(body, want) {
					t.Fatalf("%s %s: status %d code %s, want 503, 99503 and %q in the page:\n%s", lang, user, resp.StatusCode, testserver.ErrorCode(body), want, body)
				}
				if strings.Contains(body, "50126") || resp.Header.Get("Set-Cookie") != "" && strings.Contains(resp.Header.Get("Set-Cookie"), "portier_session") {
					t.Fatalf("%s %s: a busy answer is no wrong password and no session", lang, user)
				}
			}
		}
		testenv.NoErr(t, in.rec.Flush(ctx))
		logged := testenv.Must(store.ListSignIns(ctx, portier.SignInFilter{Limit: 100}))(t)
		busy := 0
		for _, l := range logged {
			if l.Code == portier.CodeBusy && !l.HashComputed {
				busy++
			}
		}
		if busy != 4 {
			t.Fatalf("sign-in log: %d busy entries without a hash, want 4", busy)
		}
		resp, err := http.Get(in.srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		metrics := string(testenv.Must(io.ReadAll(resp.Body))(t))
		for _, want := range []string{
			"portier_signin_busy_total 4",
			`portier_hash_shed_total{class="other",reason="full"} 4`,
			`portier_hash_queue_depth{class="other"} 1`,
			`portier_signin_attempts_total{code="99503"} 4`,
			`portier_hash_queue_wait_seconds_count{class="owner"}`,
		} {
			if !strings.Contains(metrics, want) {
				t.Fatalf("/metrics lacks %q", want)
			}
		}
		if u := testenv.Must(in.dir.User(ctx, "busy@example.org"))(t); u.LockoutState.Failures != 0 {
			t.Fatalf("busy answers counted %d failures", u.LockoutState.Failures)
		}
	})
}

// Issue 12 item 1: a signed-in user's password change is the owner's: while strangers are
// turned away it waits for a core instead (even from a browser without its device cookie),
// and goes through.
func TestPasswordChangeIsServedAsTheOwnersWhileSaturated(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		in := newInstanceWith(t, store, testenv.NewClock(), saturatedAdmission)
		createUser(t, in.dir, "me@example.org", false)
		b := newBrowser(t, in.srv.URL)
		if resp, _ := b.login("me@example.org", goodPassword, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: status %d", resp.StatusCode)
		}
		// Forget the device cookie: only the session says it is the owner.
		b.Client.Jar.SetCookies(b.Base, []*http.Cookie{{Name: "portier_device", Value: "gone", Path: "/"}})
		tok := b.token("/myaccount")
		adm, release := saturate(t, in)
		if resp, body := newBrowser(t, in.srv.URL).login("me@example.org", goodPassword, nil); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("a stranger's sign-in while saturated: status %d code %s, want 503", resp.StatusCode, testserver.ErrorCode(body))
		}
		done := make(chan int, 1)
		go func() {
			form := url.Values{"csrf_token": {tok}, "current_password": {goodPassword},
				"new_password": {"my new passphrase is long"}, "confirm_password": {"my new passphrase is long"}}
			resp, _, err := b.Send(b.Request("POST", "/myaccount/password", form))
			if err != nil {
				done <- -1
				return
			}
			done <- resp.StatusCode
		}()
		testserver.WaitFor(t, "the password change queued as the owner's", func() bool { return adm.Waiting(signin.ClassOwner) == 1 })
		release()
		if status := <-done; status != http.StatusSeeOther {
			t.Fatalf("password change while saturated: status %d, want 303", status)
		}
	})
}
