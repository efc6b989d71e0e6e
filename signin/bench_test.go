package signin_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/mail"
	"github.com/portier-id/portier/password"
	"github.com/portier-id/portier/postgres"
	"github.com/portier-id/portier/signin"
	"github.com/portier-id/portier/sqlite"
)

// trivialHasher is argon2id at its smallest (8 KiB, one pass): a right sign-in's server time
// without the hash, which BENCHMARKS.md measures on its own.
var trivialHasher = password.Hasher{Params: password.Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}}

// roundTrips counts what the PostgreSQL store sends: every statement outside a batch (BEGIN
// and COMMIT included) and every batch is one round trip (n); statements counts the
// statements, each of a batch's too.
type roundTrips struct{ n, statements atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	r.statements.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	r.statements.Add(1)
}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// BenchmarkRightSignIn measures the server time of a right sign-in from the owner's familiar
// browser, session included, without the cost of the hash: the real engine on a real store
// (a SQLite file, a PostgreSQL schema), one attempt at a time. On PostgreSQL it reports the
// round trips and the statements per sign-in (the sign-in log's batched writes included,
// flushed at the end).
//
//	go test -run '^$' -bench BenchmarkRightSignIn -benchtime 2000x -count 3 ./signin
func BenchmarkRightSignIn(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db")
		testenv.NoErr(b, err)
		b.Cleanup(func() { st.Close() })
		benchRightSignIn(b, st, nil)
	})
	b.Run("postgres", func(b *testing.B) {
		rt := &roundTrips{}
		st, err := postgres.Open(context.Background(), testenv.PostgresURL(b), postgres.WithTracer(rt))
		testenv.NoErr(b, err)
		b.Cleanup(func() { st.Close() })
		benchRightSignIn(b, st, rt)
	})
}

// benchOwner builds the application over store with hasher, as `portier serve` does, and
// returns it, its one user, and that user's right sign-in from a familiar browser.
func benchOwner(b *testing.B, store portier.Store, hasher password.Hasher, now func() time.Time) (*app.App, *portier.User, signin.Attempt) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := testenv.Must(app.New(ctx, app.Config{
		Store: store, Hasher: hasher, Now: now, Log: log,
		BaseURL: testenv.Must(url.Parse("http://127.0.0.1:0"))(b),
		Mail:    mail.Config{Outbox: b.TempDir(), From: "portier@example.org", Log: log},
		Process: "bench", OIDCKeys: testKeys,
	}))(b)
	b.Cleanup(func() { a.Close(ctx) })
	u, _, err := a.Directory.CreateUser(ctx, portier.CLIActor("bench"), directory.NewUser{
		UPN: "owner@example.org", DisplayName: "Owner", Password: goodPassword,
	})
	testenv.NoErr(b, err)
	device := a.Engine.ParseDevice(a.Engine.DeviceToken(a.Engine.RenewDevice(signin.Device{}, u)))
	return a, u, signin.Attempt{
		Username: "owner@example.org", Password: goodPassword, Source: netip.MustParseAddr("192.0.2.7"),
		UserAgent: "bench", Device: device, StartSession: true, Language: "en",
	}
}

func benchRightSignIn(b *testing.B, store portier.Store, rt *roundTrips) {
	ctx := context.Background()
	a, _, attempt := benchOwner(b, store, trivialHasher, testenv.NewClock().Now)
	benchStoreWork(b, a, rt, nil, func() {
		out, err := a.Engine.SignIn(ctx, attempt)
		if err != nil || out.Code != portier.CodeSuccess {
			b.Fatalf("SignIn = %d, %v; want success", out.Code, err)
		}
	})
}

// benchStoreWork runs op b.N times, after 50 to warm the caches and prepared statements, and
// reports per op this process's CPU and, on PostgreSQL (rt not nil), its processes' CPU, the
// round trips and the statements, and the disk flushes if flushes counts them. The sign-in log
// is flushed on either side of the measured ops, and its writes are counted with them.
func benchStoreWork(b *testing.B, a *app.App, rt *roundTrips, flushes func() int64, op func()) {
	ctx := context.Background()
	for range 50 {
		op()
	}
	testenv.NoErr(b, a.Recorder.Flush(ctx))
	if rt != nil {
		rt.n.Store(0)
		rt.statements.Store(0)
	}
	var flush0 int64
	if flushes != nil {
		flush0 = flushes()
	}
	cpu0, pg0 := cpuTime(), postgresCPU()
	b.ResetTimer()
	for range b.N {
		op()
	}
	testenv.NoErr(b, a.Recorder.Flush(ctx))
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	if pg0 >= 0 && rt != nil {
		b.ReportMetric(float64((postgresCPU()-pg0).Microseconds())/float64(b.N), "pg-cpu-µs/op")
	}
	if rt != nil {
		b.ReportMetric(float64(rt.n.Load())/float64(b.N), "roundtrips/op")
		b.ReportMetric(float64(rt.statements.Load())/float64(b.N), "statements/op")
	}
	if flushes != nil {
		b.ReportMetric(float64(flushes()-flush0)/float64(b.N), "flushes/op")
	}
}

// BenchmarkWrongSignIn measures what a spray's wrong password costs the store, without the
// hash: each attempt at a new unknown name, from 5,000 source addresses in turn (none
// throttled), one at a time through the real engine. On PostgreSQL it reports the round trips,
// the statements and the disk flushes (pg_stat_wal's wal_sync, the whole server's) per attempt.
//
//	go test -run '^$' -bench BenchmarkWrongSignIn -benchtime 2000x -count 2 ./signin
func BenchmarkWrongSignIn(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db")
		testenv.NoErr(b, err)
		b.Cleanup(func() { st.Close() })
		benchWrongSignIn(b, st, nil, nil)
	})
	b.Run("postgres", func(b *testing.B) {
		rt := &roundTrips{}
		st, err := postgres.Open(context.Background(), testenv.PostgresURL(b), postgres.WithTracer(rt))
		testenv.NoErr(b, err)
		b.Cleanup(func() { st.Close() })
		conn := testenv.Must(pgx.Connect(context.Background(), testenv.PostgresURL(b)))(b)
		b.Cleanup(func() { conn.Close(context.Background()) })
		flushes := func() int64 {
			var n int64
			testenv.NoErr(b, conn.QueryRow(context.Background(), `SELECT wal_sync FROM pg_stat_wal`).Scan(&n))
			return n
		}
		benchWrongSignIn(b, st, rt, flushes)
	})
}

func benchWrongSignIn(b *testing.B, store portier.Store, rt *roundTrips, flushes func() int64) {
	ctx := context.Background()
	a, _, _ := benchOwner(b, store, trivialHasher, testenv.NewClock().Now)
	n := 0
	benchStoreWork(b, a, rt, flushes, func() {
		n++
		out, err := a.Engine.SignIn(ctx, signin.Attempt{
			Username: "nobody" + strconv.Itoa(n) + "@example.org", Password: "wrong guess " + strconv.Itoa(n),
			Source: netip.AddrFrom4([4]byte{10, 0, byte(n % 5000 / 256), byte(n % 5000 % 256)}), UserAgent: "bench",
		})
		if err != nil || out.Code != portier.CodeInvalidCredentials {
			b.Fatalf("SignIn = %d, %v; want a wrong password", out.Code, err)
		}
	})
}

// BenchmarkRightSignInHashed measures right sign-ins at the default argon2id parameters through
// the engine, four in flight (as scripts/bench-signin's right phase sends them), against the
// verification rate in the same process: 2 goroutines verifying before and after, as
// password.BenchmarkVerifyParallel does. It reports both rates, their ratio, and the CPU per
// sign-in of this process and of PostgreSQL's processes: the issue 12 item 4 figure without
// HTTP, wrk or another process's benchmark in between.
//
//	go test -run '^$' -bench BenchmarkRightSignInHashed -benchtime 300x -count 3 ./signin
func BenchmarkRightSignInHashed(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db")
		testenv.NoErr(b, err)
		b.Cleanup(func() { st.Close() })
		benchRightSignInHashed(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		st, err := postgres.Open(context.Background(), testenv.PostgresURL(b))
		testenv.NoErr(b, err)
		b.Cleanup(func() { st.Close() })
		benchRightSignInHashed(b, st)
	})
}

func benchRightSignInHashed(b *testing.B, store portier.Store) {
	ctx := context.Background()
	hasher := password.Hasher{Params: password.DefaultParams()}
	a, u, attempt := benchOwner(b, store, hasher, time.Now)
	// rate runs n calls of fn by workers goroutines and returns the calls a second.
	rate := func(workers, n int, fn func()) float64 {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					fn()
				}
			})
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds()
	}
	verify := func() float64 {
		return rate(2, 100, func() {
			if r, err := hasher.Verify(u.PasswordHash, goodPassword); err != nil || !r.OK {
				b.Errorf("Verify = %+v, %v", r, err)
			}
		})
	}
	signIn := func() {
		if out, err := a.Engine.SignIn(ctx, attempt); err != nil || out.Code != portier.CodeSuccess {
			b.Errorf("SignIn = %d, %v; want success", out.Code, err)
		}
	}
	rate(4, 20, signIn) // warm the caches, the connections and the hash memories
	before := verify()
	cpu0, pg0 := cpuTime(), postgresCPU()
	b.ResetTimer()
	signIns := rate(4, b.N, signIn)
	b.StopTimer()
	cpu, pg := cpuTime()-cpu0, postgresCPU()-pg0
	verifications := (before + verify()) / 2
	b.ReportMetric(signIns, "signins/s")
	b.ReportMetric(verifications, "verifications/s")
	b.ReportMetric(signIns/verifications, "ratio")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	if pg0 >= 0 {
		if _, ok := store.(*postgres.Store); ok {
			b.ReportMetric(float64(pg.Microseconds())/float64(b.N), "pg-cpu-µs/op")
		}
	}
}

// cpuTime is the CPU time this process has used (user and system): unlike the time per
// operation, it leaves out the time the machine gave to others (steal, other processes).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU is the CPU time the processes named postgres on this machine have used (user and
// system, from /proc), or -1 where there is no /proc: the database's share of a sign-in when
// it runs here, as in CI.
func postgresCPU() time.Duration {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return -1
	}
	var ticks int64
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // the process ended meanwhile
		}
		// pid (comm) state ppid ...: utime and stime are fields 14 and 15.
		stat := string(raw)
		open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
		if open < 0 || end < open || stat[open+1:end] != "postgres" {
			continue
		}
		f := strings.Fields(stat[end+1:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + s
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ: 100 on Linux
}
