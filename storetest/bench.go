package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/lockout"
)

// benchHash is one precomputed argon2id hash shared by every seeded user: hashing a million
// passwords would take hours, and no benchmark here checks a password.
const benchHash = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2g$7YkDGUhvVeDKbO9sQrwhm5sl1mCzbLJqG6m0Z0uTR1M"

// benchSeedBatch is how many users one seeding transaction inserts.
const benchSeedBatch = 10000

// RunBenchmarks seeds a store made by newStore with PORTIER_BENCH_USERS users (default 10,000;
// the published figures use 1,000,000): about 1% blocked, 1% locked, 0.5% admins. It then
// measures the reads the admin center and sign-in make, reporting per-operation p50 and p95
// latency in milliseconds and operations per second.
func RunBenchmarks(b *testing.B, newStore func(b *testing.B) portier.Store) {
	n := BenchUsers(b)
	s := newStore(b)
	seed := time.Now()
	sample := SeedUsers(b, s, n, base)
	b.Logf("seeded %d users in %v (%.0f users/s)", n, time.Since(seed).Round(time.Millisecond), float64(n)/time.Since(seed).Seconds())

	prefixes := SearchPrefixes(sample.UPNs)
	locked := portier.UserFilter{Status: portier.StatusLocked, Now: base}
	b.Run("UserByUPN", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error {
			_, err := s.UserByUPN(ctx, sample.UPNs[i%len(sample.UPNs)])
			return err
		})
	})
	b.Run("UserByID", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error {
			_, err := s.UserByID(ctx, sample.IDs[i%len(sample.IDs)])
			return err
		})
	})
	b.Run("ListUsers/FirstPage", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error {
			return wantPage(s.ListUsers(ctx, portier.UserFilter{Now: base}))
		})
	})
	b.Run("ListUsers/NextPage", func(b *testing.B) {
		// After a UPN anywhere in the directory, as a user paging through would reach it.
		Measure(b, func(ctx context.Context, i int) error {
			_, err := s.ListUsers(ctx, portier.UserFilter{Now: base, After: sample.UPNs[i%len(sample.UPNs)]})
			return err
		})
	})
	b.Run("ListUsers/PrefixSearch", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error {
			_, err := s.ListUsers(ctx, portier.UserFilter{Now: base, Search: prefixes[i%len(prefixes)]})
			return err
		})
	})
	b.Run("ListUsers/Locked", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error { return wantPage(s.ListUsers(ctx, locked)) })
	})
	b.Run("ListUsers/LockedNextPage", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error {
			f := locked
			f.After = sample.LockedUPNs[i%len(sample.LockedUPNs)]
			_, err := s.ListUsers(ctx, f)
			return err
		})
	})
	b.Run("ListUsers/Blocked", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error {
			return wantPage(s.ListUsers(ctx, portier.UserFilter{Status: portier.StatusBlocked, Now: base}))
		})
	})
	b.Run("ListUsers/Admins", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error {
			return wantPage(s.ListUsers(ctx, portier.UserFilter{AdminsOnly: true, Now: base}))
		})
	})
	b.Run("CountUsers/Locked", func(b *testing.B) {
		Measure(b, func(ctx context.Context, i int) error {
			_, err := s.CountUsers(ctx, locked)
			return err
		})
	})
	b.Run("LockoutCharge", func(b *testing.B) {
		// The write a sign-in makes before checking a password.
		p := lockout.DefaultPolicy()
		Measure(b, func(ctx context.Context, i int) error {
			id := sample.IDs[i%len(sample.IDs)]
			return s.Tx(ctx, func(tx portier.Tx) error {
				st, err := tx.LockoutForUpdate(ctx, id, "")
				if err != nil {
					return err
				}
				p.Charge(&st, base.Add(time.Duration(i)*time.Millisecond))
				p.Refund(&st)
				return tx.PutLockout(ctx, id, "", st)
			})
		})
	})
}

// BenchUsers is how many users a benchmark seeds: PORTIER_BENCH_USERS, 10,000 when unset
// (the published figures use 1,000,000).
func BenchUsers(tb testing.TB) int {
	v := os.Getenv("PORTIER_BENCH_USERS")
	if v == "" {
		return 10000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("PORTIER_BENCH_USERS=%q: want a positive number of users", v)
	}
	return n
}

// Seeded is a spread of the users SeedUsers inserted, for benchmarks to look up.
type Seeded struct {
	// UPNs and IDs are about 10,000 users in random order; LockedUPNs are locked ones in order.
	UPNs, IDs, LockedUPNs []string
}

// SeedUsers inserts n generated users through InsertUsers in transactions of benchSeedBatch,
// all sharing one precomputed hash: every hundredth one blocked, every hundredth one locked
// until an hour after now, one in two hundred an admin. The benchmarks of the store and of
// the packages above it (the admin center's pages) seed the same directory this way.
func SeedUsers(tb testing.TB, s portier.Store, n int, now time.Time) Seeded {
	rng := rand.New(rand.NewPCG(3, 4))
	every := max(1, n/10000)
	var sample Seeded
	locked := lockout.State{LockedUntil: now.Add(time.Hour), Lockouts: 1, LastFailure: now.Add(-time.Minute), LockFailures: 10}
	for start := 0; start < n; start += benchSeedBatch {
		batch := make([]*portier.User, 0, benchSeedBatch)
		var lockIDs []string
		for i := start; i < min(start+benchSeedBatch, n); i++ {
			u := generatedUser(rng, i, benchHash)
			switch i % 100 {
			case 1:
				u.AccountEnabled = false
			case 2:
				lockIDs = append(lockIDs, u.ID)
				if i%every == 2%every {
					sample.LockedUPNs = append(sample.LockedUPNs, u.UPN)
				}
			}
			if i%200 == 3 {
				u.Roles = []portier.Role{portier.Roles[i%len(portier.Roles)]}
			}
			if i%every == 0 {
				sample.UPNs = append(sample.UPNs, u.UPN)
				sample.IDs = append(sample.IDs, u.ID)
			}
			batch = append(batch, u)
		}
		inTx(tb, s, func(ctx context.Context, tx portier.Tx) error {
			if err := tx.InsertUsers(ctx, batch); err != nil {
				return err
			}
			for _, id := range lockIDs {
				if err := tx.PutLockout(ctx, id, "", locked); err != nil {
					return err
				}
			}
			return nil
		})
	}
	// Look users up in random order, not the order they were inserted in.
	rng.Shuffle(len(sample.UPNs), func(i, j int) { sample.UPNs[i], sample.UPNs[j] = sample.UPNs[j], sample.UPNs[i] })
	rng.Shuffle(len(sample.IDs), func(i, j int) { sample.IDs[i], sample.IDs[j] = sample.IDs[j], sample.IDs[i] })
	if len(sample.LockedUPNs) == 0 {
		sample.LockedUPNs = []string{""}
	}
	return sample
}

// SearchPrefixes returns 2- and 3-letter search prefixes as an administrator types them: the
// start of a name, in whatever case.
func SearchPrefixes(upns []string) []string {
	var out []string
	for i, upn := range upns[:min(len(upns), 1000)] {
		p := upn[:min(len(upn), 2+i%2)]
		if i%3 == 0 {
			p = strings.ToUpper(p[:1]) + p[1:]
		}
		out = append(out, p)
	}
	return out
}

// wantPage turns an empty first page into an error: a benchmark of an empty answer measures nothing.
func wantPage(page portier.UserPage, err error) error {
	if err == nil && len(page.Users) == 0 {
		return fmt.Errorf("the page is empty")
	}
	return err
}

// Measure runs op b.N times, timing each call, and reports the p50 and p95 latency in
// milliseconds and the rate in operations per second.
func Measure(b *testing.B, op func(ctx context.Context, i int) error) {
	ctx := b.Context()
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := op(ctx, i); err != nil {
			b.Fatalf("operation %d: %v", i, err)
		}
		lat[i] = time.Since(start)
	}
	b.StopTimer()
	slices.Sort(lat)
	at := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
