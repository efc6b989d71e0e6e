package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier/internal/testenv"
)

// BenchmarkRecoverSteps measures the server time of the self-service steps a stranger can
// reach (start, ask for a code, type a wrong code) for a user with a registered address typed
// right (a code is mailed), the same user with another address, and a name that is no one's:
// the three should be in one timing class, so that timing tells nothing of who exists.
func BenchmarkRecoverSteps(b *testing.B) {
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			clock := testenv.NewClock()
			in := newInstance(b, backend.Open(b), clock)
			createUser(b, in.dir, "bench@example.org", false)
			addEmail(b, in, signedIn(b, in, "bench@example.org"), "bench@example.net")
			handler := in.srv.Config.Handler
			for _, c := range []struct{ name, user, address string }{
				{"known-registered-address", "bench@example.org", "bench@example.net"},
				{"known-other-address", "bench@example.org", "other@example.net"},
				{"unknown-name", "nobody@example.org", "bench@example.net"},
			} {
				b.Run(c.name, func(b *testing.B) {
					br := newBrowser(b, in.srv.URL)
					token := br.token("/recover")
					u := testenv.Must(url.Parse(in.srv.URL))(b)
					var flow *http.Cookie // the portier_recover cookie of the reset in progress
					post := func(path string, form url.Values) *httptest.ResponseRecorder {
						form.Set("csrf_token", token)
						req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						req.RemoteAddr = "192.0.2.7:1234"
						for _, ck := range br.Client.Jar.Cookies(u) {
							req.AddCookie(ck)
						}
						if flow != nil {
							req.AddCookie(flow)
						}
						w := httptest.NewRecorder()
						handler.ServeHTTP(w, req)
						return w
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						// A fresh hour for the send limits, outside the timing.
						b.StopTimer()
						clock.Advance(2 * time.Hour)
						b.StartTimer()
						w := post("/recover", url.Values{"username": {c.user}})
						if w.Code != http.StatusSeeOther {
							b.Fatalf("POST /recover: %d", w.Code)
						}
						for _, ck := range w.Result().Cookies() {
							if ck.Name == "portier_recover" {
								flow = &http.Cookie{Name: ck.Name, Value: ck.Value}
							}
						}
						if w := post("/recover/email", url.Values{"address": {c.address}}); w.Code != http.StatusSeeOther {
							b.Fatalf("POST /recover/email: %d", w.Code)
						}
						if w := post("/recover/code", url.Values{"code": {"00000000"}}); w.Code != http.StatusBadRequest {
							b.Fatalf("POST /recover/code: %d", w.Code)
						}
					}
				})
			}
		})
	}
}
