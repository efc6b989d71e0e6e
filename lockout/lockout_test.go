package lockout

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

func fp(b byte) Fingerprint { return Fingerprint{b} }

// fail charges and fails one attempt with a distinct fingerprint, reporting whether it was checked.
func fail(p Policy, s *State, now time.Time, b byte) (checked, locked bool) {
	if v, _ := p.Charge(s, now); v != Allowed {
		return false, false
	}
	return true, p.Fail(s, now, fp(b))
}

func TestThresholdLocksForFirstDuration(t *testing.T) {
	p := DefaultPolicy()
	var s State
	for i := 1; i <= 9; i++ {
		if checked, locked := fail(p, &s, t0, byte(i)); !checked || locked {
			t.Fatalf("attempt %d: checked=%v locked=%v, want checked and not locked", i, checked, locked)
		}
	}
	if checked, locked := fail(p, &s, t0, 10); !checked || !locked {
		t.Fatalf("10th attempt: checked=%v locked=%v, want both", checked, locked)
	}
	if !s.Locked(t0.Add(59*time.Second)) || s.Locked(t0.Add(60*time.Second)) {
		t.Fatalf("lock until %v, want %v", s.LockedUntil, t0.Add(time.Minute))
	}
	v, retry := p.Charge(&s, t0.Add(30*time.Second))
	if v != Locked || !retry.Equal(t0.Add(time.Minute)) {
		t.Fatalf("charge while locked: verdict=%v retry=%v", v, retry)
	}
}

func TestLockDurationDoublesToCap(t *testing.T) {
	p := DefaultPolicy()
	tests := []struct {
		lockouts int
		want     time.Duration
	}{
		{0, time.Minute}, {1, 2 * time.Minute}, {2, 4 * time.Minute}, {5, 32 * time.Minute},
		{6, time.Hour}, {7, time.Hour}, {1000, time.Hour},
	}
	for _, tt := range tests {
		if got := p.LockDuration(tt.lockouts); got != tt.want {
			t.Errorf("LockDuration(%d) = %v, want %v", tt.lockouts, got, tt.want)
		}
	}
}

func TestFurtherLockoutsDoubleUntilSuccess(t *testing.T) {
	p := DefaultPolicy()
	var s State
	now := t0
	b := byte(0)
	lockOnce := func() time.Duration {
		t.Helper()
		for i := 0; i < p.Threshold; i++ {
			b++
			if checked, _ := fail(p, &s, now, b); !checked {
				t.Fatalf("attempt %d refused before the threshold", i+1)
			}
		}
		if !s.Locked(now) {
			t.Fatal("not locked after threshold failures")
		}
		d := s.LockedUntil.Sub(now)
		now = s.LockedUntil
		return d
	}
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if got := lockOnce(); got != want {
			t.Fatalf("lockout %d lasted %v, want %v", i+1, got, want)
		}
	}
	if v, _ := p.Charge(&s, now); v != Allowed {
		t.Fatal("charge after the lock ended was refused")
	}
	p.Succeed(&s)
	if got := lockOnce(); got != time.Minute {
		t.Fatalf("lockout after a success lasted %v, want the first duration again", got)
	}
}

func TestDecayClearsCountAfter12Hours(t *testing.T) {
	p := DefaultPolicy()
	var s State
	for i := 0; i < 9; i++ {
		fail(p, &s, t0, byte(i+1))
	}
	// Just under the decay period the count stands: one more failure locks.
	s2 := s
	if _, locked := fail(p, &s2, t0.Add(12*time.Hour-time.Second), 50); !locked {
		t.Fatal("a failure before the decay did not lock at the threshold")
	}
	// After it the count starts afresh.
	if _, locked := fail(p, &s, t0.Add(12*time.Hour), 50); locked {
		t.Fatal("a failure after 12 h without failures locked: the count did not decay")
	}
	if s.Failures != 1 {
		t.Fatalf("failures after decay = %d, want 1", s.Failures)
	}
}

func TestRepeatedWrongPasswordDoesNotCountAgain(t *testing.T) {
	p := DefaultPolicy()
	var s State
	for i := 0; i < 50; i++ {
		fail(p, &s, t0, byte(1+i%3)) // the same three wrong passwords over and over
	}
	if s.Failures != 3 || s.Locked(t0) {
		t.Fatalf("failures = %d locked = %v, want 3 and unlocked", s.Failures, s.Locked(t0))
	}
	// A fourth password pushes the first out of memory; then the first counts again.
	fail(p, &s, t0, 4)
	fail(p, &s, t0, 1)
	if s.Failures != 5 {
		t.Fatalf("failures = %d, want 5", s.Failures)
	}
}

func TestChargesInFlightStopAtThreshold(t *testing.T) {
	p := DefaultPolicy()
	var s State
	verdicts := map[Verdict]int{}
	for i := 0; i < 200; i++ { // 200 attempts charged before any is settled
		v, _ := p.Charge(&s, t0)
		verdicts[v]++
	}
	if verdicts[Allowed] != p.Threshold || verdicts[Saturated] != 190 {
		t.Fatalf("verdicts %v, want %d allowed and the rest saturated", verdicts, p.Threshold)
	}
	allowed := verdicts[Allowed]
	for i := 0; i < allowed; i++ {
		p.Fail(&s, t0, fp(byte(i+1)))
	}
	if !s.Locked(t0) {
		t.Fatal("not locked once the charged attempts failed")
	}
}

func TestChargeKeepsDecayFromWipingInFlightCharges(t *testing.T) {
	p := DefaultPolicy()
	s := State{Failures: 3, LastFailure: t0}
	later := t0.Add(13 * time.Hour)
	allowed := 0
	for i := 0; i < 100; i++ {
		if v, _ := p.Charge(&s, later); v == Allowed {
			allowed++
		}
	}
	if allowed != p.Threshold {
		t.Fatalf("allowed %d after decay, want %d", allowed, p.Threshold)
	}
}

func TestSucceedClearsEverything(t *testing.T) {
	p := DefaultPolicy()
	var s State
	for i := 0; i < 5; i++ {
		fail(p, &s, t0, byte(i+1))
	}
	p.Charge(&s, t0)
	p.Succeed(&s)
	if !s.IsZero() {
		t.Fatalf("state after success = %+v, want zero", s)
	}
}

func TestRefundTakesBackACharge(t *testing.T) {
	p := DefaultPolicy()
	var s State
	p.Charge(&s, t0)
	p.Refund(&s)
	p.Refund(&s)
	if s.Failures != 0 {
		t.Fatalf("failures = %d, want 0", s.Failures)
	}
}

func TestPeekDoesNotChange(t *testing.T) {
	p := DefaultPolicy()
	s := State{LockedUntil: t0.Add(time.Minute), Failures: 0, Lockouts: 1}
	v, retry := p.Peek(s, t0)
	if v != Locked || !retry.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Peek = %v %v", v, retry)
	}
	var open State
	if v, _ := p.Peek(open, t0); v != Allowed || open.Failures != 0 {
		t.Fatal("Peek refused or changed an empty counter")
	}
}

func TestRecentRoundTrip(t *testing.T) {
	in := []Fingerprint{fp(1), fp(2), fp(3)}
	out := UnmarshalRecent(MarshalRecent(in))
	if len(out) != 3 || out[2] != fp(3) {
		t.Fatalf("round trip = %v", out)
	}
	if len(UnmarshalRecent([]byte{1, 2, 3})) != 0 {
		t.Fatal("a partial fingerprint was kept")
	}
}

func TestSaturatedThenRightPasswordsLetTheRestIn(t *testing.T) {
	p := DefaultPolicy()
	var s State
	for i := 0; i < p.Threshold; i++ {
		p.Charge(&s, t0)
	}
	if v, _ := p.Charge(&s, t0); v != Saturated {
		t.Fatalf("verdict %v, want Saturated", v)
	}
	p.Succeed(&s) // one of the checks in flight was right
	if v, _ := p.Charge(&s, t0); v != Allowed {
		t.Fatalf("after a success: verdict %v, want Allowed", v)
	}
}

func TestStaleChargesCountAsFailures(t *testing.T) {
	p := DefaultPolicy()
	var s State
	for i := 0; i < p.Threshold; i++ {
		p.Charge(&s, t0) // a process died while checking these
	}
	if v, _ := p.Charge(&s, t0.Add(StaleCharge-time.Second)); v != Saturated {
		t.Fatalf("verdict %v before the charges went stale, want Saturated", v)
	}
	v, retry := p.Charge(&s, t0.Add(StaleCharge))
	if v != Locked || !retry.Equal(t0.Add(StaleCharge+time.Minute)) {
		t.Fatalf("verdict %v retry %v, want Locked for the first duration", v, retry)
	}
}

func TestCountChargesRepeatsToo(t *testing.T) {
	p := Policy{Threshold: 5, Duration: time.Hour, MaxDuration: time.Hour, Decay: time.Hour}
	var s State
	for i := 1; i <= 5; i++ {
		counted, locked := p.Count(&s, t0)
		if !counted {
			t.Fatalf("attempt %d: not counted, want counted", i)
		}
		if locked != (i == 5) {
			t.Fatalf("attempt %d: locked=%v", i, locked)
		}
	}
	if v, _ := p.Charge(&s, t0); v != Locked {
		t.Fatalf("after 5 counted attempts: verdict %v, want Locked", v)
	}
}

// Issue 11 item 4: Count is one verb for an event with no value to tell a repeat by: it
// counts and settles in one step, a locked counter counts nothing, and the count decays.
func TestCountIsOneStep(t *testing.T) {
	p := Policy{Threshold: 3, Duration: time.Minute, MaxDuration: time.Minute, Decay: time.Hour}
	var s State
	p.Count(&s, t0)
	if s.Failures != 1 || !s.LastFailure.Equal(t0) || len(s.Recent) != 0 {
		t.Fatalf("after one Count: %+v, want one failure at t0 and no fingerprint", s)
	}
	p.Count(&s, t0)
	if _, locked := p.Count(&s, t0); !locked || !s.LockedUntil.Equal(t0.Add(time.Minute)) {
		t.Fatalf("third Count: locked=%v until %v, want locked for a minute", locked, s.LockedUntil)
	}
	before := s
	if counted, locked := p.Count(&s, t0.Add(time.Second)); counted || locked || s.Lockouts != before.Lockouts || !s.LockedUntil.Equal(before.LockedUntil) {
		t.Fatalf("Count while locked: counted=%v locked=%v state %+v, want nothing counted", counted, locked, s)
	}
	after := t0.Add(time.Minute)
	if counted, _ := p.Count(&s, after); !counted || s.Failures != 1 {
		t.Fatalf("Count after the lock: counted=%v failures=%d, want 1", counted, s.Failures)
	}
	if p.Count(&s, after.Add(time.Hour)); s.Failures != 1 || s.Lockouts != 0 {
		t.Fatalf("Count after the decay: %+v, want a fresh count of 1", s)
	}
}

func TestCounterKeys(t *testing.T) {
	tests := []struct {
		name string
		got  Counter
		want Counter
	}{
		{"account", Account("u1"), Counter{Key: "u1"}},
		{"device", Device("u1", "d1"), Counter{Key: "u1", Bucket: "d1"}},
		{"unknown name", UnknownName("ghost@example.org"), Counter{Key: "unknown:ghost@example.org"}},
		{"IPv4", Source(netip.MustParseAddr("192.0.2.7")), Counter{Key: "source:192.0.2.7"}},
		{"IPv4 mapped in IPv6", Source(netip.MustParseAddr("::ffff:192.0.2.7")), Counter{Key: "source:192.0.2.7"}},
		{"IPv6 /64", Source(netip.MustParseAddr("2001:db8:1:2::99")), Counter{Key: "source:2001:db8:1:2::/64"}},
		{"IPv6 same /64", Source(netip.MustParseAddr("2001:db8:1:2:ffff::1")), Counter{Key: "source:2001:db8:1:2::/64"}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}

// FailedAttempts is the one count every view shows: while locked, the wrong passwords that
// locked the counter, not the zero the counter restarted at nor the answers given while
// locked; after the lock, those counted toward the next one.
func TestFailedAttemptsOfALock(t *testing.T) {
	p := DefaultPolicy()
	var s State
	for i := 1; i <= 4; i++ {
		fail(p, &s, t0, byte(i))
	}
	fail(p, &s, t0, 4) // a repeat of a recent wrong password does not count
	if got := s.FailedAttempts(t0); got != 4 {
		t.Fatalf("before the lock: FailedAttempts = %d, want 4", got)
	}
	for i := 5; i <= 10; i++ {
		fail(p, &s, t0, byte(i))
	}
	for range 5 { // answered while locked: no password checked, nothing counted
		if v, _ := p.Charge(&s, t0.Add(time.Second)); v != Locked {
			t.Fatalf("charge while locked: %v", v)
		}
	}
	if got := s.FailedAttempts(t0.Add(time.Second)); got != 10 || s.Failures != 0 {
		t.Fatalf("locked: FailedAttempts = %d (Failures %d), want 10 (0)", got, s.Failures)
	}
	after := t0.Add(time.Minute)
	if got := s.FailedAttempts(after); got != 0 {
		t.Fatalf("after the lock: FailedAttempts = %d, want 0", got)
	}
	fail(p, &s, after, 20)
	fail(p, &s, after, 21)
	if got := s.FailedAttempts(after); got != 2 {
		t.Fatalf("toward the next lock: FailedAttempts = %d, want 2", got)
	}
	for i := 22; i <= 29; i++ {
		fail(p, &s, after, byte(i))
	}
	if got := s.FailedAttempts(after); !s.Locked(after) || got != 10 || s.Lockouts != 2 {
		t.Fatalf("second lock: locked %v, FailedAttempts = %d, lockouts %d; want locked, 10, 2", s.Locked(after), got, s.Lockouts)
	}
	p.Succeed(&s)
	if got := s.FailedAttempts(after); got != 0 || !s.IsZero() {
		t.Fatalf("after a success: FailedAttempts = %d, zero %v", got, s.IsZero())
	}
}
