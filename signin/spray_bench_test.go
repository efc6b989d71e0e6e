package signin_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/mail"
	"github.com/portier-id/portier/postgres"
	"github.com/portier-id/portier/signin"
	"github.com/portier-id/portier/sqlite"
)

// BenchmarkSprayHour drives the real engine (trivial hasher, injected clock) through an hour
// of a spray at the saturated hashing rate: 70 wrong passwords a second, each at a new
// unknown name, from 5,000 source addresses in turn (so no source is throttled and every
// attempt is hashed), with the maintenance prune every simulated minute as `portier serve`
// runs it. It reports what the store holds at the end: the lockout counters (rows, and the
// table's bytes), the sign-in log's rows, and the database's size on disk (SQLite: the file
// and its write-ahead log; PostgreSQL: the relations). PORTIER_SPRAY_MINUTES shortens the
// hour and PORTIER_SPRAY_CAP sets the cap on unknown names' counters (-1: none).
//
//	go test -run '^$' -bench BenchmarkSprayHour -benchtime 1x -timeout 60m ./signin
func BenchmarkSprayHour(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(context.Background(), b.TempDir()+"/spray.db")
		testenv.NoErr(b, err)
		b.Cleanup(func() { st.Close() })
		spray(b, st, func() map[string]float64 { return sqliteSizes(b, st) })
	})
	b.Run("postgres", func(b *testing.B) {
		u := testenv.PostgresURL(b)
		st, err := postgres.Open(context.Background(), u)
		testenv.NoErr(b, err)
		b.Cleanup(func() { st.Close() })
		spray(b, st, func() map[string]float64 { return postgresSizes(b, u) })
	})
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func spray(b *testing.B, store portier.Store, sizes func() map[string]float64) {
	const perSecond, sources, workers = 70, 5000, 8
	minutes := envInt("PORTIER_SPRAY_MINUTES", 60)
	ctx := context.Background()
	clock := testenv.NewClock()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := testenv.Must(app.New(ctx, app.Config{
		Store: store, Hasher: trivialHasher, Now: clock.Now, Log: log,
		BaseURL: testenv.Must(url.Parse("http://127.0.0.1:0"))(b),
		Mail:    mail.Config{Outbox: b.TempDir(), From: "portier@example.org", Log: log},
		Process: "spray", OIDCKeys: testKeys, MaxUnknownCounters: envInt("PORTIER_SPRAY_CAP", 0),
	}))(b)
	defer a.Close(ctx)
	b.ResetTimer()
	for range b.N {
		n := 0
		for range minutes {
			var wg sync.WaitGroup
			jobs := make(chan int)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range jobs {
						src := netip.AddrFrom4([4]byte{10, byte(i % sources >> 8), byte(i % sources), 1})
						out, err := a.Engine.SignIn(ctx, signin.Attempt{
							Username: fmt.Sprintf("spray-%d@example.org", i), Password: wrong(i), Source: src, UserAgent: "spray",
						})
						if err != nil || out.Code != portier.CodeInvalidCredentials {
							b.Errorf("attempt %d: code %d, %v", i, out.Code, err)
						}
					}
				}()
			}
			for range 60 {
				for range perSecond {
					jobs <- n
					n++
				}
				clock.Advance(time.Second / 2) // the half second the attempts took
				clock.Advance(time.Second / 2)
			}
			close(jobs)
			wg.Wait()
			testenv.NoErr(b, a.Prune(ctx))
		}
		testenv.NoErr(b, a.Recorder.Flush(ctx))
		b.ReportMetric(float64(n), "attempts")
	}
	b.StopTimer()
	for k, v := range sizes() {
		b.ReportMetric(v, k)
	}
}

func sqliteSizes(b *testing.B, st *sqlite.Store) map[string]float64 {
	out := map[string]float64{}
	for _, f := range []struct{ name, suffix string }{{"file-bytes", ""}, {"wal-bytes", "-wal"}} {
		if fi, err := os.Stat(st.Path() + f.suffix); err == nil {
			out[f.name] = float64(fi.Size())
		}
	}
	var rows, signins int64
	db := testenv.Must(sql.Open("sqlite", "file:"+st.Path()+"?_pragma=query_only(1)"))(b)
	defer db.Close()
	testenv.NoErr(b, db.QueryRow(`SELECT count(*) FROM lockouts`).Scan(&rows))
	testenv.NoErr(b, db.QueryRow(`SELECT count(*) FROM signins`).Scan(&signins))
	var lockoutBytes int64
	if err := db.QueryRow(`SELECT sum(pgsize) FROM dbstat WHERE name = 'lockouts'`).Scan(&lockoutBytes); err == nil {
		out["lockouts-bytes"] = float64(lockoutBytes)
	}
	out["lockout-rows"], out["signin-rows"] = float64(rows), float64(signins)
	return out
}

func postgresSizes(b *testing.B, u string) map[string]float64 {
	ctx := context.Background()
	conn := testenv.Must(pgx.Connect(ctx, u))(b)
	defer conn.Close(ctx)
	out := map[string]float64{}
	var rows, signins, lockoutBytes, signinBytes, total int64
	testenv.NoErr(b, conn.QueryRow(ctx, `SELECT count(*) FROM lockouts`).Scan(&rows))
	testenv.NoErr(b, conn.QueryRow(ctx, `SELECT count(*) FROM sign_ins`).Scan(&signins))
	testenv.NoErr(b, conn.QueryRow(ctx, `SELECT pg_total_relation_size('lockouts'), pg_total_relation_size('sign_ins'),
		(SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r')::bigint`).Scan(&lockoutBytes, &signinBytes, &total))
	out["lockout-rows"], out["signin-rows"], out["lockouts-bytes"], out["signins-bytes"], out["schema-bytes"] = float64(rows), float64(signins), float64(lockoutBytes), float64(signinBytes), float64(total)
	return out
}
