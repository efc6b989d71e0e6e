package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/storetest"
)

// BenchmarkActiveUsers measures the server time of the Active users page over a directory of
// PORTIER_BENCH_USERS users (10,000 by default; BENCHMARKS.md has 1,000,000): the whole
// handler, session check to rendered page, in process, for the first page, a 2-3 letter
// search, the Locked filter and a next page. It reports p50 and p95 in milliseconds.
func BenchmarkActiveUsers(b *testing.B) {
	n := storetest.BenchUsers(b)
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			store := backend.Open(b)
			clock := testenv.NewClock()
			start := time.Now()
			seeded := storetest.SeedUsers(b, store, n, clock.Now())
			b.Logf("seeded %d users in %v", n, time.Since(start).Round(time.Millisecond))
			in := newInstance(b, store, clock)
			addUser(b, in.dir, "bench.admin@example.org", "Bench Admin", portier.RoleGlobalAdmin)
			u := testenv.Must(url.Parse(in.srv.URL))(b)
			cookies := signedIn(b, in, "bench.admin@example.org").Client.Jar.Cookies(u)
			handler := in.srv.Config.Handler
			prefixes := storetest.SearchPrefixes(seeded.UPNs)

			for _, c := range []struct {
				name string
				path func(i int) string
				// rows is whether the page must list users: a random search may match none.
				rows bool
			}{
				{"FirstPage", func(int) string { return "/admin/users" }, true},
				{"Search", func(i int) string { return "/admin/users?q=" + url.QueryEscape(prefixes[i%len(prefixes)]) }, false},
				{"Locked", func(int) string { return "/admin/users?filter=locked" }, true},
				{"NextPage", func(i int) string { return "/admin/users?after=" + url.QueryEscape(seeded.UPNs[i%len(seeded.UPNs)]) }, false},
			} {
				b.Run(c.name, func(b *testing.B) {
					storetest.Measure(b, func(ctx context.Context, i int) error {
						req := httptest.NewRequestWithContext(ctx, "GET", c.path(i), nil)
						for _, ck := range cookies {
							req.AddCookie(ck)
						}
						w := httptest.NewRecorder()
						handler.ServeHTTP(w, req)
						if w.Code != http.StatusOK {
							return fmt.Errorf("GET %s: status %d", c.path(i), w.Code)
						}
						if c.rows && !strings.Contains(w.Body.String(), `<tr data-user="`) {
							return fmt.Errorf("GET %s: no users listed", c.path(i))
						}
						return nil
					})
				})
			}
		})
	}
}
