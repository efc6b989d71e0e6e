package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portier-id/portier/internal/testenv"
)

// BenchmarkLockedAnswer measures the whole answer to a sign-in at a locked account, handler
// to store, without the network: the path a guessing flood takes.
func BenchmarkLockedAnswer(b *testing.B) {
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			store := backend.Open(b)
			clock := testenv.NewClock()
			in := newInstance(b, store, clock)
			createUser(b, in.dir, "locked@example.org", false)
			br := newBrowser(b, in.srv.URL)
			for i := 0; i < 10; i++ {
				br.login("locked@example.org", "wrong guess "+string(rune('a'+i)), nil)
			}
			token := br.token("/login")
			u := testenv.Must(url.Parse(in.srv.URL))(b)
			form := url.Values{"username": {"locked@example.org"}, "password": {"still guessing"}, "csrf_token": {token}}.Encode()
			handler := in.srv.Config.Handler
			cookies := br.Client.Jar.Cookies(u)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/login", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.RemoteAddr = "192.0.2.1:1234"
					for _, c := range cookies {
						req.AddCookie(c)
					}
					w := httptest.NewRecorder()
					handler.ServeHTTP(w, req)
					if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `data-error-code="50053"`) {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
			testenv.NoErr(b, in.rec.Flush(context.Background()))
		})
	}
}
