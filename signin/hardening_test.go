package signin_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/signin"
)

// flushAll flushes rec until it reports nothing left, as its loop would; at most tries times.
func flushAll(t *testing.T, rec *signin.Recorder, tries int) {
	t.Helper()
	var err error
	for range tries {
		if err = rec.Flush(context.Background()); err == nil {
			return
		}
	}
	t.Fatalf("the sign-in log is still not written after %d flushes: %v", tries, err)
}

// Issue 10 item 1: one entry the store refuses (PostgreSQL takes no NUL in text) is dropped,
// logged escaped, and every other entry of its batch is written; the queue goes on.
func TestRecorderDropsOnlyTheEntryTheStoreRefuses(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		var logged bytes.Buffer
		rec := signin.NewRecorder(store, slog.New(slog.NewTextHandler(&logged, nil)))
		t.Cleanup(func() { testenv.NoErr(t, rec.Close(context.Background())) })
		at := testenv.NewClock().Now()
		add := func(name string) {
			rec.Add(&portier.SignIn{Time: at, Username: name, Source: "192.0.2.1", Code: portier.CodeInvalidCredentials, Process: "test"})
		}
		for i := range 7 {
			add("good" + strconv.Itoa(i) + "@example.org")
		}
		add("bad\x00name@example.org")
		for i := 7; i < 12; i++ {
			add("good" + strconv.Itoa(i) + "@example.org")
		}
		flushAll(t, rec, 3)
		entries, err := store.ListSignIns(context.Background(), portier.SignInFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		good := 0
		for _, e := range entries {
			if strings.HasPrefix(e.Username, "good") {
				good++
			}
		}
		if good != 12 {
			t.Fatalf("%d of 12 good entries written around a refused one", good)
		}
		if strings.HasSuffix(t.Name(), "/postgres") && len(entries) != 12 {
			t.Fatalf("PostgreSQL took the entry with a NUL byte: %d entries", len(entries))
		}
		if len(entries) == 12 && !strings.Contains(logged.String(), `bad\\x00name@example.org`) {
			// The store refused the NUL entry (PostgreSQL): it must be in the log, escaped.
			t.Fatalf("the dropped entry is not logged escaped; log:\n%s", logged.String())
		}
		if strings.ContainsRune(logged.String(), 0) {
			t.Fatal("the log holds a raw NUL byte")
		}
		// The queue is not wedged: the next entry is written at the first flush.
		add("after@example.org")
		if err := rec.Flush(context.Background()); err != nil {
			t.Fatalf("flush after the refused entry: %v", err)
		}
		if after := testenv.Must(store.ListSignIns(context.Background(), portier.SignInFilter{Username: "after@example.org"}))(t); len(after) != 1 {
			t.Fatalf("the entry after the refused one: %d written, want 1", len(after))
		}
	})
}

// logHook is a LogStore that runs before ahead of each write of its store.
type logHook struct {
	signin.LogStore
	before func()
}

func (h logHook) RecordSignIns(ctx context.Context, entries []*portier.SignIn) error {
	h.before()
	return h.LogStore.RecordSignIns(ctx, entries)
}

// Issue 12: a flush writes what was queued when it began, and what arrives while it writes
// waits for the next flush. Going on until the queue is empty kept a flush writing for as long
// as sign-ins arrived faster than one write took, in small durable transactions back to back
// (0.35-0.48 a right sign-in on PostgreSQL, where one flush an interval is 0.14).
func TestRecorderFlushWritesWhatWasQueuedWhenItBegan(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		at := testenv.NewClock().Now()
		entry := func(name string) *portier.SignIn {
			return &portier.SignIn{Time: at, Username: name, Source: "192.0.2.1", Code: portier.CodeSuccess, Process: "test"}
		}
		var rec *signin.Recorder
		writes := 0
		rec = signin.NewRecorder(logHook{LogStore: store, before: func() {
			if writes++; writes == 1 {
				rec.Add(entry("late@example.org")) // arrives while the first write is under way
			}
		}}, slog.New(slog.DiscardHandler))
		testenv.NoErr(t, rec.Close(ctx)) // no loop: the flushes below are the only ones
		written := func() []string {
			var names []string
			for _, e := range testenv.Must(store.ListSignIns(ctx, portier.SignInFilter{Limit: 10}))(t) {
				names = append(names, e.Username)
			}
			return names
		}
		rec.Add(entry("early@example.org"))
		testenv.NoErr(t, rec.Flush(ctx))
		if got := written(); writes != 1 || len(got) != 1 || got[0] != "early@example.org" {
			t.Fatalf("the first flush: %d writes, wrote %q; want 1 write of the entry queued when it began", writes, got)
		}
		testenv.NoErr(t, rec.Flush(ctx))
		if got := written(); writes != 2 || len(got) != 2 {
			t.Fatalf("the second flush: %d writes in all, the log holds %q; want the late entry written in a second", writes, got)
		}
		testenv.NoErr(t, rec.Flush(ctx))
		if writes != 2 {
			t.Fatalf("a flush with nothing queued wrote: %d writes, want 2", writes)
		}
	})
}

// Issue 10 item 1: a store that is down is not a store that refuses: nothing is dropped, and
// everything is written once it is back.
func TestRecorderKeepsEverythingWhileTheStoreIsDown(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		faults := testenv.NewFaults(store)
		rec := signin.NewRecorder(faults, slog.New(slog.DiscardHandler))
		t.Cleanup(func() { testenv.NoErr(t, rec.Close(context.Background())) })
		faults.FailWhen(func(method, _ string) error { return testenv.Unavailable() })
		at := testenv.NewClock().Now()
		for i := range 20 {
			rec.Add(&portier.SignIn{Time: at, Username: "u" + strconv.Itoa(i) + "@example.org", Source: "192.0.2.1", Process: "test"})
		}
		for range 5 {
			if err := rec.Flush(context.Background()); portier.ErrorCode(err) != portier.EUnavailable {
				t.Fatalf("flush while the store is down: %v, want EUnavailable", err)
			}
		}
		faults.FailWhen(nil)
		if err := rec.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if entries := testenv.Must(store.ListSignIns(context.Background(), portier.SignInFilter{Limit: 100}))(t); len(entries) != 20 {
			t.Fatalf("%d of 20 entries written after the outage, want all", len(entries))
		}
	})
}

// Issue 10 item 1: the engine refuses a user name with a control character as bad input,
// without a hash, and the sign-in log keeps it escaped, so PostgreSQL takes the entry.
func TestControlCharactersInUserNameAreBadRequests(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		e := newEnv(t, store)
		e.createUser(t, "nul@example.org")
		for _, name := range []string{"nul@example.org\x00", "nul\x00@example.org", "nul@exam\x1bple.org", "nul@example.org\u0085"} {
			before := e.verifications()
			if out := e.try(t, name, goodPassword); out.Code != portier.CodeBadRequest {
				t.Errorf("%q: code %d, want 90100", name, out.Code)
			}
			if e.verifications() != before {
				t.Errorf("%q: a password was hashed", name)
			}
		}
		e.eng.RecordBadRequest("csrf\x00user@example.org", "192.0.2.1", "agent\xff", "CSRF token: missing")
		// One flush writes all: no entry is refused.
		if err := e.rec.Flush(context.Background()); err != nil {
			t.Fatalf("the sign-in log cannot be written: %v", err)
		}
		for _, want := range []string{`"nul\x00@example.org"`, `"csrf\x00user@example.org"`} {
			got := testenv.Must(store.ListSignIns(context.Background(), portier.SignInFilter{Username: want}))(t)
			if len(got) != 1 || got[0].Code != portier.CodeBadRequest {
				t.Fatalf("sign-in log entries for %s: %d, want one 90100", want, len(got))
			}
			if want == `"csrf\x00user@example.org"` && got[0].UserAgent != `"agent\xff"` {
				t.Fatalf("user agent kept as %q, want it escaped", got[0].UserAgent)
			}
		}
	})
}

// Issue 10 item 3: a repeated wrong password is free for the account but not for the source:
// with a source threshold of 5, 40 identical wrong passwords from one address cost 5 hashes.
func TestRepeatedWrongPasswordsAreChargedToTheSource(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		e := newEnv(t, store)
		st := portier.DefaultSettings()
		st.SourceThreshold = 5
		putSettings(t, store, st)
		e.createUser(t, "busy@example.org")
		attacker := netip.MustParseAddr("198.51.100.66")
		throttled := 0
		for range 40 {
			if out := e.tryFrom(t, "busy@example.org", "the same wrong password", attacker, signin.Device{}); out.Throttled {
				throttled++
			}
		}
		if v := e.verifications(); v != 5 {
			t.Fatalf("%d password verifications for 40 repeats, want 5 (the source threshold)", v)
		}
		if throttled != 35 {
			t.Fatalf("%d of 40 repeats throttled, want 35", throttled)
		}
		// The account itself is not locked by the repeats: its owner still gets in from elsewhere.
		if out := e.try(t, "busy@example.org", goodPassword); out.Code != portier.CodeSuccess {
			t.Fatalf("owner from another address: code %d, want success", out.Code)
		}
	})
}

// Issue 10 item 16: a wait for checks in flight that gives up is "busy", not "locked": the
// attempt is turned away unchecked with CodeBusy, nothing is counted, and nothing is
// remembered, so the next attempt after the stall gets in.
func TestStalledChecksAnswerBusyNotLocked(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		clock := testenv.NewClock()
		e := newEnvWithConfig(t, store, clock, app.Config{SaturatedWait: 50 * time.Millisecond})
		u := e.createUser(t, "stall@example.org")
		ctx := context.Background()
		// Ten checks in flight on a process whose database stalled: charged, never settled.
		inFlight := lockout.State{Failures: 10, LastFailure: clock.Now()}
		if err := store.Tx(ctx, func(tx portier.Tx) error { return tx.PutLockout(ctx, u.ID, "", inFlight) }); err != nil {
			t.Fatal(err)
		}
		out := e.try(t, "stall@example.org", goodPassword)
		if out.Code != portier.CodeBusy || !out.RetryAt.IsZero() {
			t.Fatalf("right password during the stall: code %d retry %v, want 99503 without a lock time", out.Code, out.RetryAt)
		}
		if v := e.verifications(); v != 0 {
			t.Fatalf("%d hashes while busy, want 0", v)
		}
		if st := testenv.Must(store.Lockout(ctx, u.ID, ""))(t); st.Failures != 10 || !st.LockedUntil.IsZero() {
			t.Fatalf("counter after a busy answer = %+v, want the 10 in flight and no lock", st)
		}
		// The stalled checks settle (right passwords): the very next attempt gets in, with
		// nothing remembered of the busy answer.
		if err := store.Tx(ctx, func(tx portier.Tx) error { return tx.PutLockout(ctx, u.ID, "", lockout.State{}) }); err != nil {
			t.Fatal(err)
		}
		if out := e.try(t, "stall@example.org", goodPassword); out.Code != portier.CodeSuccess {
			t.Fatalf("right password after the stall: code %d, want success", out.Code)
		}
		flushAll(t, e.rec, 1)
		logged := testenv.Must(store.ListSignIns(ctx, portier.SignInFilter{UserID: u.ID}))(t)
		if len(logged) != 2 || logged[1].Code != portier.CodeBusy || logged[1].HashComputed {
			t.Fatalf("sign-in log: %d entries, want the busy answer (99503, no hash) then the success", len(logged))
		}
	})
}

// Issue 10 items 16 and 18: a store that fails while an attempt is settled counts no failed
// attempt (the charge is refunded, so nothing goes stale and counts 30 s later), and the
// attempt is in the sign-in log as CodeServerError.
func TestStoreErrorIsNoFailedAttempt(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		faults := testenv.NewFaults(store)
		e := newEnv(t, faults)
		u := e.createUser(t, "flaky@example.org")
		// counterWrite fails the writes of the counters whose key has prefix: a swap, or a
		// locking read in a transaction.
		counterWrite := func(prefix string) func(method, key string) bool {
			return func(method, key string) bool {
				return (method == "SwapLockout" || method == "LockoutForUpdate") && strings.HasPrefix(key, prefix)
			}
		}
		// settlementOf fails the second swap of counter key: the settlement's, after the
		// charge's; the refund's, third, holds.
		settlementOf := func(key string) func(method, key string) bool {
			swaps := 0
			return func(method, k string) bool {
				if method == "SwapLockout" && k == key {
					swaps++
					return swaps == 2
				}
				return false
			}
		}
		cases := []struct {
			name, password string
			// fail tells the write that fails: the wrong password's settlement writes the
			// source's counter, then the account's; the right one's writes the user.
			fail func(method, key string) bool
		}{
			{"wrong password, the source's counter", wrong(1), counterWrite("source:")},
			{"wrong password, the account's counter", wrong(2), settlementOf(u.ID)},
			{"right password", goodPassword, func(method, _ string) bool { return method == "UpdateUser" }},
		}
		for _, c := range cases {
			faults.FailWhen(func(method, key string) error {
				if c.fail(method, key) {
					return testenv.Unavailable()
				}
				return nil
			})
			_, err := e.eng.SignIn(ctx, signin.Attempt{Username: "flaky@example.org", Password: c.password, Source: source, UserAgent: "test"})
			faults.FailWhen(nil)
			if portier.ErrorCode(err) != portier.EUnavailable {
				t.Fatalf("%s: err %v, want EUnavailable", c.name, err)
			}
			if st := testenv.Must(store.Lockout(ctx, u.ID, ""))(t); st.Failures != 0 {
				t.Fatalf("%s: %d charges left after the store error, want 0", c.name, st.Failures)
			}
		}
		fresh := testenv.Must(store.UserByID(ctx, u.ID))(t)
		if fresh.LastSignIn != nil {
			t.Fatal("a sign-in whose settlement failed set the last sign-in time")
		}
		// Long after, the refunded charges do not turn into failures.
		e.clock.Advance(lockout.StaleCharge + time.Second)
		if out := e.try(t, "flaky@example.org", goodPassword); out.Code != portier.CodeSuccess {
			t.Fatalf("right password after the errors: code %d", out.Code)
		}
		flushAll(t, e.rec, 1)
		logged := testenv.Must(store.ListSignIns(ctx, portier.SignInFilter{UserID: u.ID, Code: ptr(portier.CodeServerError)}))(t)
		if len(logged) != len(cases) || !strings.Contains(logged[0].Detail, "cannot be reached") {
			t.Fatalf("%d sign-ins logged as 99500, want %d with the store's reason", len(logged), len(cases))
		}
	})
}

// Issue 10 items 3 and 16: a client that hangs up once its password was hashed does not get
// the guess for free: the wrong password is settled, on the account and on the source, though
// the request's context ended, and the refund for store errors does not take it back.
func TestHangingUpAfterTheHashStillCounts(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		faults := testenv.NewFaults(store)
		e := newEnv(t, faults)
		u := e.createUser(t, "hangup@example.org")
		ctx, hangUp := context.WithCancel(context.Background())
		// The request ends just as the wrong password is being settled.
		faults.FailWhen(func(method, key string) error {
			if method == "LockoutForUpdate" && strings.HasPrefix(key, "source:") {
				hangUp()
			}
			return nil
		})
		out, err := e.eng.SignIn(ctx, signin.Attempt{Username: "hangup@example.org", Password: wrong(1), Source: source, UserAgent: "test"})
		faults.FailWhen(nil)
		if err != nil || out.Code != portier.CodeInvalidCredentials {
			t.Fatalf("wrong password whose client hung up: code %d err %v, want 50126 settled", out.Code, err)
		}
		if st := testenv.Must(store.Lockout(context.Background(), u.ID, ""))(t); st.Failures != 1 {
			t.Fatalf("account counter: %d failures, want 1", st.Failures)
		}
		if st := testenv.Must(store.Lockout(context.Background(), lockout.Source(source).Key, ""))(t); st.Failures != 1 {
			t.Fatalf("source counter: %d failures, want 1", st.Failures)
		}
	})
}

// Issue 10 item 9: on success the session, the last sign-in time and the language are written
// with the settlement, all or none.
func TestSignInSessionIsOneTransaction(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		faults := testenv.NewFaults(store)
		e := newEnv(t, faults)
		u := e.createUser(t, "one@example.org")
		a := signin.Attempt{Username: "one@example.org", Password: goodPassword, Source: source, UserAgent: "test", StartSession: true, Language: "nl"}
		faults.FailWhen(func(method, _ string) error {
			if method == "InsertSession" {
				return testenv.Unavailable()
			}
			return nil
		})
		if _, err := e.eng.SignIn(ctx, a); portier.ErrorCode(err) != portier.EUnavailable {
			t.Fatalf("sign-in whose session cannot be written: err %v, want EUnavailable", err)
		}
		faults.FailWhen(nil)
		fresh := testenv.Must(store.UserByID(ctx, u.ID))(t)
		sessions := testenv.Must(store.ListSessions(ctx, u.ID))(t)
		if fresh.LastSignIn != nil || fresh.Language == "nl" || len(sessions) != 0 {
			t.Fatalf("after a failed sign-in: last sign-in %v, language %q, %d sessions; want none of them", fresh.LastSignIn, fresh.Language, len(sessions))
		}
		out, err := e.eng.SignIn(ctx, a)
		if err != nil || out.Code != portier.CodeSuccess || out.Session == "" {
			t.Fatalf("sign-in: %v code %d session %q", err, out.Code, out.Session)
		}
		got, _, err := e.eng.Session(ctx, out.Session)
		if err != nil || got.ID != u.ID || got.Language != "nl" || got.LastSignIn == nil {
			t.Fatalf("the session of the sign-in: %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// Issue 12: a wrong password that locks nothing is settled by swaps on its counter and on the
// source's, without a transaction's locking read (so with no disk flush on PostgreSQL), and
// still counts; the wrong password that locks takes its transaction, so that the lock is
// durable: with the locking reads failing it is no answer, and its charge is taken back.
func TestWrongPasswordsSettleWithoutATransactionUntilTheLock(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		faults := testenv.NewFaults(store)
		e := newEnv(t, faults)
		u := e.createUser(t, "swapped@example.org")
		threshold := lockout.DefaultPolicy().Threshold
		// Whatever a first attempt creates (the settings, the server's secret) is there.
		if out := e.try(t, "swapped@example.org", goodPassword); out.Code != portier.CodeSuccess {
			t.Fatalf("right password: code %d", out.Code)
		}
		faults.FailWhen(func(method, _ string) error {
			if method == "LockoutForUpdate" {
				return testenv.Unavailable()
			}
			return nil
		})
		for i := 1; i < threshold; i++ {
			if out := e.try(t, "swapped@example.org", wrong(i)); out.Code != portier.CodeInvalidCredentials {
				t.Fatalf("wrong password %d without locking reads: code %d, want %d", i, out.Code, portier.CodeInvalidCredentials)
			}
		}
		st := testenv.Must(store.Lockout(ctx, u.ID, ""))(t)
		if st.Failures != threshold-1 || len(st.Recent) != lockout.RecentWrong {
			t.Fatalf("account counter after %d wrong passwords: %d failures, %d remembered; want %d and %d",
				threshold-1, st.Failures, len(st.Recent), threshold-1, lockout.RecentWrong)
		}
		src := lockout.Source(source)
		if st := testenv.Must(store.Lockout(ctx, src.Key, src.Bucket))(t); st.Failures != threshold-1 {
			t.Fatalf("source counter: %d failures, want %d", st.Failures, threshold-1)
		}
		// The lock needs its transaction.
		_, err := e.eng.SignIn(ctx, signin.Attempt{Username: "swapped@example.org", Password: wrong(threshold), Source: source, UserAgent: "test"})
		if portier.ErrorCode(err) != portier.EUnavailable {
			t.Fatalf("the locking wrong password without locking reads: err %v, want EUnavailable", err)
		}
		if st := testenv.Must(store.Lockout(ctx, u.ID, ""))(t); st.Failures != threshold-1 || st.Locked(e.clock.Now()) {
			t.Fatalf("after the failed lock: %d failures, locked %v; want %d, not locked (the charge taken back)",
				st.Failures, st.Locked(e.clock.Now()), threshold-1)
		}
		faults.FailWhen(nil)
		if out := e.try(t, "swapped@example.org", wrong(threshold)); out.Code != portier.CodeLocked {
			t.Fatalf("the locking wrong password: code %d, want %d", out.Code, portier.CodeLocked)
		}
		if st := testenv.Must(store.Lockout(ctx, u.ID, ""))(t); !st.Locked(e.clock.Now()) || st.LockFailures != threshold {
			t.Fatalf("after the lock: locked %v with %d failures, want locked with %d", st.Locked(e.clock.Now()), st.LockFailures, threshold)
		}
	})
}
