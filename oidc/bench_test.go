package oidc_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/oidc"
)

// BenchmarkRefreshGrant measures refresh-token grants per second over HTTP against the real
// handler: each grant authenticates the client, locks and rotates the refresh token, checks
// the user, stores a new access and refresh token and signs an RS256 (2048-bit) ID token.
// Every parallel worker rotates its own grant, as many applications' users would.
//
//	go test ./oidc -run '^$' -bench 'RefreshGrant|Discovery|JWKS' -benchtime 3s -cpu 2
func BenchmarkRefreshGrant(b *testing.B) {
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			clock := testenv.NewClock()
			inst := newInstance(b, backend.Open(b), clock, oidc.DefaultKeyPolicy())
			createUser(b, inst.dir, "bench@example.org")
			app := newRP(b, inst, directory.AppInput{})
			const parallelism = 8
			workers := runtime.GOMAXPROCS(0) * parallelism
			grants := make(chan string, workers)
			for range workers {
				a := app.authURL()
				out := newBrowser(b, inst.srv.URL).authorize(a.url, redirectConfidential, "bench@example.org", goodPassword)
				tok, _, err := app.exchange(a, out.Callback)
				if err != nil {
					b.Fatal(err)
				}
				grants <- tok.RefreshToken
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
			b.SetParallelism(parallelism)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				refresh := <-grants
				for pb.Next() {
					var err error
					if refresh, err = refreshGrant(client, inst.srv.URL, app, refresh); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "grants/s")
		})
	}
}

func refreshGrant(client *http.Client, base string, app *rp, refresh string) (string, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
	req, err := http.NewRequest("POST", base+oidc.PathToken, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(app.app.ID, app.secret)
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.RefreshToken == "" || out.IDToken == "" {
		return "", fmt.Errorf("refresh grant: %d %v", resp.StatusCode, err)
	}
	return out.RefreshToken, nil
}

// BenchmarkDiscovery measures discovery document requests per second.
func BenchmarkDiscovery(b *testing.B) { benchGet(b, oidc.PathDiscovery) }

// BenchmarkJWKS measures JWKS requests per second: the keys come from the store through the
// process's key cache, as every relying party's verifier asks for them.
func BenchmarkJWKS(b *testing.B) { benchGet(b, oidc.PathKeys) }

func benchGet(b *testing.B, path string) {
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			inst := newInstance(b, backend.Open(b), testenv.NewClock(), oidc.DefaultKeyPolicy())
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			get := func() error {
				resp, err := client.Get(inst.srv.URL + path)
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("GET %s: %d", path, resp.StatusCode)
				}
				return nil
			}
			if err := get(); err != nil { // creates the first key
				b.Fatal(err)
			}
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
