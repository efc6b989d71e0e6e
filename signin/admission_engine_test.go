package signin_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/app"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
	"github.com/portier-id/portier/lockout"
	"github.com/portier-id/portier/signin"
)

// saturated is an engine whose one hash slot the test holds, with one stranger's check
// waiting and the strangers' queue (one place) full: the next stranger is turned away.
type saturated struct {
	*env
	adm      *signin.Scheduler
	running  *signin.Slot
	stranger chan error
}

// Long deadlines: the scheduler's clock is real time, and nothing here may pass one.
var saturatedConfig = app.Config{SaturatedWait: time.Minute, Admission: signin.AdmissionConfig{
	Slots: 1, Reserved: -1,
	Owner:          signin.ClassLimit{Deadline: time.Minute},
	FamiliarSource: signin.ClassLimit{Deadline: time.Minute},
	Other:          signin.ClassLimit{Queue: 1, Deadline: time.Minute},
}}

func (e *env) saturate(t *testing.T) *saturated {
	t.Helper()
	ctx := context.Background()
	s := &saturated{env: e, adm: e.eng.Admission(), stranger: make(chan error, 1)}
	s.running = testenv.Must(s.adm.Acquire(ctx, signin.ClassOwner))(t)
	go func() {
		slot, err := s.adm.Acquire(ctx, signin.ClassOther)
		if err == nil {
			slot.Done()
		}
		s.stranger <- err
	}()
	testserver.WaitFor(t, "a stranger's check queued", func() bool { return s.adm.Waiting(signin.ClassOther) == 1 })
	return s
}

// background runs an attempt in its own goroutine; its outcome arrives on the channel.
func (e *env) background(a signin.Attempt) chan signin.Outcome {
	ch := make(chan signin.Outcome, 1)
	go func() {
		out, err := e.eng.SignIn(context.Background(), a)
		if err != nil {
			out.Code = -1
		}
		ch <- out
	}()
	return ch
}

// Issue 12 item 1: while the hashing is saturated, a stranger's attempt at a known user and
// one at an unknown name are turned away alike: CodeBusy with a Retry-After, no hash, nothing
// counted (account, unknown name, source), "busy" in the sign-in log and in the metrics. A
// locked account is still told it is locked. The owner's browser and a source the owner
// signed in from wait instead, and are served first when a core comes free.
func TestSaturatedHashingTurnsStrangersAwayAndServesTheOwner(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		e := newEnvWithConfig(t, store, testenv.NewClock(), saturatedConfig)
		u := e.createUser(t, "owner@example.org")
		e.createUser(t, "locked@example.org")
		for i := 0; e.try(t, "locked@example.org", wrong(i)).Code != portier.CodeLocked; i++ {
			if i > 20 {
				t.Fatal("the account never locked")
			}
		}
		device := e.eng.ParseDevice(e.eng.DeviceToken(e.eng.RenewDevice(signin.Device{}, u)))
		home := netip.MustParseAddr("198.51.100.7")
		testenv.Must(e.eng.StartSession(ctx, u, home.String(), "browser"))(t)
		stranger := netip.MustParseAddr("203.0.113.99")
		verifiedBefore := e.verifications()
		s := e.saturate(t)

		tries := []struct{ name, user, pw string }{
			{"known user, wrong password", "owner@example.org", "a guess"},
			{"known user, right password", "owner@example.org", goodPassword},
			{"unknown name", "nobody@example.org", "a guess"},
		}
		for _, tc := range tries {
			out := e.tryFrom(t, tc.user, tc.pw, stranger, signin.Device{})
			if out.Code != portier.CodeBusy || out.RetryAfter < time.Second || out.User != nil || !out.RetryAt.IsZero() {
				t.Fatalf("%s from a stranger while saturated: %+v, want 99503 with a Retry-After and nothing else", tc.name, out)
			}
		}
		if out := e.tryFrom(t, "locked@example.org", "a guess", stranger, signin.Device{}); out.Code != portier.CodeLocked {
			t.Fatalf("locked account while saturated: code %d, want 50053 (the lockout answers before the queue)", out.Code)
		}
		if v := e.verifications() - verifiedBefore; v != 0 {
			t.Fatalf("%d hashes while turning attempts away, want 0", v)
		}
		for _, c := range []lockout.Counter{lockout.Account(u.ID), lockout.UnknownName("nobody@example.org"), lockout.Source(stranger)} {
			if st := testenv.Must(store.Lockout(ctx, c.Key, c.Bucket))(t); st.Failures != 0 || !st.LockedUntil.IsZero() {
				t.Fatalf("counter %s after busy answers: %+v, want nothing counted", c.Key, st)
			}
		}
		if got := testutil.ToFloat64(e.m.BusyAnswers); got != 3 {
			t.Fatalf("portier_signin_busy_total = %v, want 3", got)
		}
		if got := testutil.ToFloat64(e.m.HashShedTotal.WithLabelValues("other", "full")); got != 3 {
			t.Fatalf("portier_hash_shed_total{other,full} = %v, want 3", got)
		}
		if got := testutil.ToFloat64(e.m.SignInAttempts.WithLabelValues("99503")); got != 3 {
			t.Fatalf("attempts with code 99503 = %v, want 3", got)
		}

		// The owner's browser and the owner's home address queue behind the running hash, in
		// their own classes, and get in first.
		fromBrowser := e.background(signin.Attempt{Username: "owner@example.org", Password: goodPassword, Source: stranger, Device: device})
		testserver.WaitFor(t, "the owner's browser queued", func() bool { return s.adm.Waiting(signin.ClassOwner) == 1 })
		fromHome := e.background(signin.Attempt{Username: "owner@example.org", Password: goodPassword, Source: home})
		testserver.WaitFor(t, "the owner's home address queued", func() bool { return s.adm.Waiting(signin.ClassFamiliarSource) == 1 })
		s.running.Done()
		for what, ch := range map[string]chan signin.Outcome{"owner's browser": fromBrowser, "owner's home address": fromHome} {
			if out := <-ch; out.Code != portier.CodeSuccess {
				t.Fatalf("%s: code %d, want success", what, out.Code)
			}
		}
		if err := <-s.stranger; err != nil {
			t.Fatalf("the waiting stranger: %v, want served last", err)
		}
		if got := testutil.ToFloat64(e.m.HashShedTotal.WithLabelValues("owner", "full")) + testutil.ToFloat64(e.m.HashShedTotal.WithLabelValues("familiar_source", "full")); got != 0 {
			t.Fatalf("likely owners shed: %v", got)
		}

		flushAll(t, e.rec, 1)
		logged := testenv.Must(store.ListSignIns(ctx, portier.SignInFilter{Limit: 100}))(t)
		var busy []*portier.SignIn
		for _, l := range logged {
			if l.Code == portier.CodeBusy {
				busy = append(busy, l)
			}
		}
		if len(busy) != 3 {
			t.Fatalf("busy entries in the sign-in log: %d, want 3", len(busy))
		}
		for _, l := range busy {
			// One detail for a known and an unknown name alike: nothing tells them apart.
			if l.HashComputed || l.Detail != busy[0].Detail || !strings.Contains(l.Detail, "busy") {
				t.Fatalf("busy entry %+v: want no hash and the same detail as %q", l, busy[0].Detail)
			}
		}
	})
}

// Issue 12: a hundred parallel right sign-ins from the owner's browser all get in while a
// spray of wrong passwords at the same user and at unknown names, from many sources, saturates
// the hashing; the spray gets only "wrong", "locked" or "busy", and hashes at most the
// threshold's worth of the owner's account-wide counter.
func TestOwnersBrowserGetsInThroughASpray(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		// The saturated wait is long: on a loaded machine the hundred sign-ins on one device
		// counter take PostgreSQL more than the default 5 s, and the wait for the checks in
		// flight on that counter (the gate's, not the scheduler's) would answer the last ones
		// busy. What is tested is that the scheduler never turns the owner away.
		e := newEnvWithConfig(t, store, testenv.NewClock(), app.Config{SaturatedWait: time.Minute,
			Admission: signin.AdmissionConfig{Slots: 2, Other: signin.ClassLimit{Queue: 4, Deadline: time.Second}}})
		u := e.createUser(t, "owner@example.org")
		device := e.eng.ParseDevice(e.eng.DeviceToken(e.eng.RenewDevice(signin.Device{}, u)))
		var wg sync.WaitGroup
		var mu sync.Mutex
		owners, spray := map[int]int{}, map[int]int{}
		for i := range 100 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				out, err := e.eng.SignIn(context.Background(), signin.Attempt{Username: "owner@example.org", Password: goodPassword, Source: source, Device: device})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					out.Code = -1
				}
				owners[out.Code]++
			}()
			go func() {
				defer wg.Done()
				name := "owner@example.org"
				if i%2 == 1 {
					name = fmt.Sprintf("nobody%d@example.org", i)
				}
				src := netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i%250 + 1)})
				out, err := e.eng.SignIn(context.Background(), signin.Attempt{Username: name, Password: wrong(i), Source: src})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					out.Code = -1
				}
				spray[out.Code]++
			}()
		}
		wg.Wait()
		if shed := testutil.ToFloat64(e.m.HashShedTotal.WithLabelValues("owner", "full")) + testutil.ToFloat64(e.m.HashShedTotal.WithLabelValues("owner", "deadline")); shed != 0 {
			t.Fatalf("the owner's class was shed %v times", shed)
		}
		if owners[portier.CodeSuccess] != 100 {
			flushAll(t, e.rec, 1)
			details := map[string]int{}
			for _, l := range testenv.Must(store.ListSignIns(context.Background(), portier.SignInFilter{UserID: u.ID, Limit: 500}))(t) {
				if l.Code == portier.CodeBusy {
					details[fmt.Sprintf("%v %s", l.FamiliarDevice, l.Detail)]++
				}
			}
			t.Fatalf("owner's browser: %v, want 100 successes; busy answers: %v", owners, details)
		}
		for code := range spray {
			if code != portier.CodeInvalidCredentials && code != portier.CodeLocked && code != portier.CodeBusy {
				t.Fatalf("spray answers %v: only 50126, 50053 and 99503 may be given", spray)
			}
		}
		if st := testenv.Must(store.Lockout(context.Background(), u.ID, ""))(t); st.Failures > 10 {
			t.Fatalf("account-wide counter %+v: more than the threshold counted", st)
		}
	})
}

// Issue 12 item 1: a signed-in user's password change whose owner's queue is full is answered
// busy, and changes and counts nothing: the password stays, no failure is counted.
func TestPasswordChangeTurnedAwayChangesNothing(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		cfg := saturatedConfig
		cfg.Admission.Owner.Queue = 1
		e := newEnvWithConfig(t, store, testenv.NewClock(), cfg)
		u := e.createUser(t, "me@example.org")
		adm := e.eng.Admission()
		running := testenv.Must(adm.Acquire(ctx, signin.ClassOwner))(t)
		queued := make(chan error, 1)
		go func() {
			slot, err := adm.Acquire(ctx, signin.ClassOwner)
			if err == nil {
				slot.Done()
			}
			queued <- err
		}()
		testserver.WaitFor(t, "an owner's check queued", func() bool { return adm.Waiting(signin.ClassOwner) == 1 })
		out, err := e.eng.ChangePassword(ctx, signin.Attempt{Username: "me@example.org", Password: goodPassword, Source: source, SignedIn: true}, "a brand new passphrase here")
		if err != nil || out.Code != portier.CodeBusy || out.RetryAfter < time.Second {
			t.Fatalf("change with the owner's queue full: %+v %v, want 99503 with a Retry-After", out, err)
		}
		running.Done()
		if err := <-queued; err != nil {
			t.Fatal(err)
		}
		after := testenv.Must(store.UserByID(ctx, u.ID))(t)
		if after.PasswordHash != u.PasswordHash || after.LockoutState.Failures != 0 {
			t.Fatalf("a busy change changed the password or counted a failure: %+v", after.LockoutState)
		}
		if got := testutil.ToFloat64(e.m.HashShedTotal.WithLabelValues("owner", "full")); got != 1 {
			t.Fatalf("owner sheds %v, want 1: a signed-in change is the owner's class", got)
		}
	})
}

// readCounter counts the reads of an attempt's account, counters and sessions.
type readCounter struct {
	portier.Store
	reads atomic.Int64
}

func (s *readCounter) ReadAttempt(ctx context.Context, q portier.AttemptQuery) (portier.AttemptRead, error) {
	s.reads.Add(1)
	return s.Store.ReadAttempt(ctx, q)
}

func (s *readCounter) Lockout(ctx context.Context, key, bucket string) (lockout.State, error) {
	s.reads.Add(1)
	return s.Store.Lockout(ctx, key, bucket)
}

func (s *readCounter) ListSessions(ctx context.Context, userID string) ([]*portier.Session, error) {
	s.reads.Add(1)
	return s.Store.ListSessions(ctx, userID)
}

// Issue 12: while the strangers' class is turned away, an attempt without a device cookie from
// a source no session came from is turned away at the edge, known and unknown names alike,
// before its account, counters or sessions are read, and its log entries are bounded: the
// first sampledLogBurst one by one, the rest in one summary entry. A source the owner signed in
// from, and the owner's browser, still go through to their classes.
func TestSprayTurnedAwayBeforeAnyRead(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		counted := &readCounter{Store: store}
		e := newEnvWithConfig(t, counted, testenv.NewClock(), saturatedConfig)
		u := e.createUser(t, "owner@example.org")
		device := e.eng.ParseDevice(e.eng.DeviceToken(e.eng.RenewDevice(signin.Device{}, u)))
		home := netip.MustParseAddr("198.51.100.7")
		testenv.Must(e.eng.StartSession(ctx, u, home.String(), "browser"))(t)
		flushAll(t, e.rec, 1)
		s := e.saturate(t)

		const spray = 150 // more than the log takes one by one (100 at once)
		before := counted.reads.Load()
		for i := range spray {
			name := "owner@example.org"
			if i%2 == 1 {
				name = fmt.Sprintf("nobody%d@example.org", i)
			}
			src := netip.AddrFrom4([4]byte{10, 2, byte(i / 250), byte(i%250 + 1)})
			if out := e.tryFrom(t, name, "a guess", src, signin.Device{}); out.Code != portier.CodeBusy || out.RetryAfter < time.Second {
				t.Fatalf("spray attempt %d at %s: %+v, want 99503 with a Retry-After", i, name, out)
			}
		}
		if n := counted.reads.Load() - before; n != 0 {
			t.Fatalf("%d reads of accounts, counters or sessions for %d attempts turned away at the edge, want 0", n, spray)
		}
		if got := testutil.ToFloat64(e.m.BusyAnswers); got != spray {
			t.Fatalf("portier_signin_busy_total = %v, want %d: every attempt is counted", got, spray)
		}

		// The owner's home address and the owner's browser are not turned away at the edge:
		// they wait in their classes and get in when the running hash ends.
		fromHome := e.background(signin.Attempt{Username: "owner@example.org", Password: goodPassword, Source: home})
		testserver.WaitFor(t, "the owner's home address queued", func() bool { return s.adm.Waiting(signin.ClassFamiliarSource) == 1 })
		fromBrowser := e.background(signin.Attempt{Username: "owner@example.org", Password: goodPassword, Source: netip.MustParseAddr("203.0.113.5"), Device: device})
		testserver.WaitFor(t, "the owner's browser queued", func() bool { return s.adm.Waiting(signin.ClassOwner) == 1 })
		s.running.Done()
		for what, ch := range map[string]chan signin.Outcome{"owner's home address": fromHome, "owner's browser": fromBrowser} {
			if out := <-ch; out.Code != portier.CodeSuccess {
				t.Fatalf("%s during the spray: code %d, want success", what, out.Code)
			}
		}
		<-s.stranger

		// The log: 100 entries one by one, alike for known and unknown names (no user, the
		// same detail), then, within a second or so, one entry for the other 50.
		var busy []*portier.SignIn
		testserver.WaitFor(t, "the summary of the unlogged busy answers", func() bool {
			flushAll(t, e.rec, 1)
			busy = busy[:0]
			for _, l := range testenv.Must(store.ListSignIns(ctx, portier.SignInFilter{Limit: 1000}))(t) {
				if l.Code == portier.CodeBusy {
					busy = append(busy, l)
				}
			}
			return len(busy) == 101
		})
		var summaries int
		for _, l := range busy {
			switch {
			case l.Username == "" && strings.HasPrefix(l.Detail, "busy: 50 more attempts"):
				summaries++
			case l.UserID != "" || l.HashComputed || !strings.HasSuffix(l.Detail, "turned away before the account was read"):
				t.Fatalf("busy entry %+v: want no user, no hash, turned away before the account was read", l)
			}
		}
		if summaries != 1 {
			t.Fatalf("summary entries: %d, want one for the 50 not logged one by one", summaries)
		}
	})
}

// Issue 12 items 3 and 5: a flood at a locked account is answered from memory, every attempt
// counted in the metrics, but its sign-in log entries are bounded: the first sampledLogBurst
// one by one, the rest in one summary entry in the account's log that says how many, from how
// many addresses, and which sent the most. Another locked account's flood is summed up apart.
func TestLockedFloodLogIsBounded(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		e := newEnv(t, store)
		u := e.createUser(t, "flooded@example.org")
		other := e.createUser(t, "other@example.org")
		for _, name := range []string{"flooded@example.org", "other@example.org"} {
			for i := range 10 {
				e.try(t, name, wrong(i))
			}
		}
		flushAll(t, e.rec, 1)
		before := testutil.ToFloat64(e.m.LockedRejections)
		main, loud := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
		const flood = 150 // more than the log takes one by one (100 at once)
		for i := range flood {
			src := main
			if i >= 100 && i%5 != 0 { // of the 50 not logged one by one, 40 come from loud
				src = loud
			}
			if out := e.tryFrom(t, "flooded@example.org", "still guessing", src, signin.Device{}); out.Code != portier.CodeLocked {
				t.Fatalf("flood attempt %d: code %d, want 50053", i, out.Code)
			}
		}
		for range 3 {
			if out := e.try(t, "other@example.org", "a guess"); out.Code != portier.CodeLocked {
				t.Fatalf("other account: code %d, want 50053", out.Code)
			}
		}
		if got := testutil.ToFloat64(e.m.LockedRejections) - before; got != flood+3 {
			t.Fatalf("locked rejections = %v, want %d: every attempt is counted", got, flood+3)
		}

		var locked []*portier.SignIn
		testserver.WaitFor(t, "the summaries of the unlogged locked answers", func() bool {
			flushAll(t, e.rec, 1)
			locked = locked[:0]
			for _, l := range testenv.Must(store.ListSignIns(ctx, portier.SignInFilter{Limit: 1000}))(t) {
				if l.Code == portier.CodeLocked && !strings.Contains(l.Detail, "now locked") {
					locked = append(locked, l)
				}
			}
			// The flood's first 100 one by one, and two summaries: the flood's other 50, and
			// the other account's 3.
			return len(locked) == 102
		})
		summaries := map[string]*portier.SignIn{}
		for _, l := range locked {
			if strings.Contains(l.Detail, "more attempts answered locked") {
				summaries[l.UserID] = l
			}
		}
		s := summaries[u.ID]
		if len(summaries) != 2 || s == nil || summaries[other.ID] == nil || !strings.HasPrefix(summaries[other.ID].Detail, "account locked: 3 more") {
			details := map[string]int{}
			for _, l := range locked {
				details[l.Detail]++
			}
			t.Fatalf("summaries %v, want one for each account; %v", summaries, details)
		}
		if s.Username != "flooded@example.org" || s.Source != loud.String() || s.HashComputed ||
			!strings.HasPrefix(s.Detail, "account locked: 50 more attempts") || !strings.Contains(s.Detail, "from 2 addresses") {
			t.Fatalf("summary %+v: want the account's, 50 more attempts from 2 addresses, %s the loudest", s, loud)
		}
	})
}

// Issue 12 item 2: a stranger's check, at a known user or at an unknown name alike, pauses its
// hash between segments while a likely owner's check holds the other core, from its hash to
// its answer (Slot.Yield through password.Hasher.Yield, Slot.Answered), and still gets its
// answer. The engine counts an owner's check until its answer and no longer, whatever the
// answer: a stranger's hash after the owner's sign-ins runs without a pause.
func TestStrangersHashPausesBesideAnOwners(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		e := newEnvWithConfig(t, store, testenv.NewClock(), app.Config{SaturatedWait: time.Minute,
			Admission: signin.AdmissionConfig{Slots: 2, Other: signin.ClassLimit{Deadline: time.Minute}}})
		u := e.createUser(t, "known@example.org")
		adm := e.eng.Admission()
		for i, name := range []string{"known@example.org", "nobody@example.org"} {
			owner := testenv.Must(adm.Acquire(context.Background(), signin.ClassOwner))(t)
			src := netip.AddrFrom4([4]byte{10, 2, 0, byte(i + 1)})
			answer := e.background(signin.Attempt{Username: name, Password: wrong(i), Source: src})
			testserver.WaitFor(t, name+": the stranger's hash paused", func() bool { return adm.Paused() == 1 })
			owner.Answered()
			if out := <-answer; out.Code != portier.CodeInvalidCredentials {
				t.Fatalf("%s: code %d, want %d", name, out.Code, portier.CodeInvalidCredentials)
			}
		}
		if testutil.ToFloat64(e.m.HashPausedSeconds) == 0 {
			t.Fatal("portier_hash_paused_seconds_total did not count the pauses")
		}

		device := e.eng.ParseDevice(e.eng.DeviceToken(e.eng.RenewDevice(signin.Device{}, u)))
		home := netip.MustParseAddr("10.2.1.1")
		if out := e.tryFrom(t, "known@example.org", goodPassword, home, device); out.Code != portier.CodeSuccess {
			t.Fatalf("the owner's sign-in: code %d", out.Code)
		}
		if out := e.tryFrom(t, "known@example.org", wrong(7), home, device); out.Code != portier.CodeInvalidCredentials {
			t.Fatalf("the owner's typo: code %d", out.Code)
		}
		paused := testutil.ToFloat64(e.m.HashPausedSeconds)
		if out := e.tryFrom(t, "nobody@example.org", wrong(8), netip.MustParseAddr("10.2.1.2"), signin.Device{}); out.Code != portier.CodeInvalidCredentials {
			t.Fatalf("a stranger alone: code %d", out.Code)
		}
		if got := testutil.ToFloat64(e.m.HashPausedSeconds); got != paused {
			t.Fatalf("a stranger's hash alone paused %vs: the owner's answered checks still count", got-paused)
		}
	})
}
