package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/graph"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/oidc"
	"github.com/portier-id/portier/storetest"
)

// BenchmarkGraphUsers measures the server time of GET /v1.0/users over a directory of
// PORTIER_BENCH_USERS users (10,000 by default; BENCHMARKS.md has 1,000,000), seeded as for
// the Active users page: the whole handler in process, bearer token check (RS256, 2048-bit
// key, as in production) to encoded JSON, with $top=100 and each $filter the issue names,
// plus a next page through @odata.nextLink. It reports p50 and p95 in milliseconds.
func BenchmarkGraphUsers(b *testing.B) {
	n := storetest.BenchUsers(b)
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			store := backend.Open(b)
			clock := testenv.NewClock()
			start := time.Now()
			seeded := storetest.SeedUsers(b, store, n, clock.Now())
			b.Logf("seeded %d users in %v", n, time.Since(start).Round(time.Millisecond))
			in := testserver.Start(b, store, testserver.Options{Clock: clock, Keys: oidc.DefaultKeyPolicy(),
				GraphRate: graph.Rate{PerSecond: 1e9, Burst: 1 << 30}})
			tok := token(b, in, register(b, in, "Bench", portier.PermUserRead), graphScope)
			handler := in.Server.Config.Handler
			prefixes := storetest.SearchPrefixes(seeded.UPNs)
			get := func(ctx context.Context, target string) (map[string]any, error) {
				req := httptest.NewRequestWithContext(ctx, "GET", target, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					return nil, fmt.Errorf("GET %s: status %d: %s", target, w.Code, w.Body.String())
				}
				var body map[string]any
				return body, json.Unmarshal(w.Body.Bytes(), &body)
			}
			quote := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
			filter := func(f string) string {
				return "/v1.0/users?$filter=" + strings.ReplaceAll(url.QueryEscape(f), "+", "%20") + "&$top=100"
			}
			mail := func(upn string) string { local, _, _ := strings.Cut(upn, "@"); return local + "@mail.example.org" }
			// Next pages: the nextLink of each prefix's first page, collected before timing.
			var nexts []string
			for _, p := range prefixes[:200] {
				body, err := get(b.Context(), filter("startswith(userPrincipalName,'"+p[:1]+"')"))
				if err != nil {
					b.Fatal(err)
				}
				if next, ok := body["@odata.nextLink"].(string); ok {
					nexts = append(nexts, strings.TrimPrefix(next, in.URL))
				}
			}
			for _, c := range []struct {
				name   string
				target func(i int) string
				// rows is whether the answer must list users: a random prefix may match none.
				rows bool
			}{
				{"FirstPage", func(int) string { return "/v1.0/users?$top=100" }, true},
				{"UPNEq", func(i int) string { return filter("userPrincipalName eq " + quote(seeded.UPNs[i%len(seeded.UPNs)])) }, true},
				{"IDEq", func(i int) string { return filter("id eq " + quote(seeded.IDs[i%len(seeded.IDs)])) }, true},
				{"MailEq", func(i int) string { return filter("mail eq " + quote(mail(seeded.UPNs[i%len(seeded.UPNs)]))) }, true},
				{"UPNStartsWith", func(i int) string {
					return filter("startswith(userPrincipalName," + quote(prefixes[i%len(prefixes)]) + ")")
				}, false},
				{"DisplayNameStartsWith", func(i int) string {
					return filter("startswith(displayName," + quote(prefixes[i%len(prefixes)]) + ")")
				}, false},
				{"Disabled", func(int) string { return filter("accountEnabled eq false") }, true},
				{"EnabledAndPrefix", func(i int) string {
					return filter("accountEnabled eq true and startswith(userPrincipalName," + quote(prefixes[i%len(prefixes)]) + ")")
				}, false},
				{"NextPage", func(i int) string { return nexts[i%len(nexts)] }, true},
			} {
				b.Run(c.name, func(b *testing.B) {
					storetest.Measure(b, func(ctx context.Context, i int) error {
						body, err := get(ctx, c.target(i))
						if err != nil {
							return err
						}
						if v, _ := body["value"].([]any); c.rows && len(v) == 0 {
							return fmt.Errorf("GET %s: no users", c.target(i))
						}
						return nil
					})
				})
			}
		})
	}
}
