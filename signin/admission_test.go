package signin

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// fakeClock is a SchedClock moved by hand: its timers fire when Advance passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	ch      chan time.Time
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t.ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		t.stopped = true
	}
}

// Advance moves the clock by d and fires the timers it passes.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.ch <- c.now
		default:
			kept = append(kept, t)
		}
	}
	c.timers = kept
}

// countMetrics records what the scheduler reports.
type countMetrics struct {
	mu     sync.Mutex
	shed   map[string]int // class/reason
	waited map[string][]time.Duration
	depth  map[string]int
	paused time.Duration
}

func newCountMetrics() *countMetrics {
	return &countMetrics{shed: map[string]int{}, waited: map[string][]time.Duration{}, depth: map[string]int{}}
}

func (m *countMetrics) HashQueue(class string, depth int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.depth[class] = depth
}

func (m *countMetrics) HashWaited(class string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.waited[class] = append(m.waited[class], d)
}

func (m *countMetrics) HashShed(class, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.shed[class+"/"+reason]++
}

func (m *countMetrics) HashPaused(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused += d
}

func (m *countMetrics) sheds(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.shed[key]
}

// hashes is a controllable hasher: each check it starts acquires a slot of the scheduler
// in its own goroutine and holds it, as a running argon2id would, until the test ends it.
type hashes struct {
	t     *testing.T
	s     *Scheduler
	clock *fakeClock
}

// check is one password check on its way through the scheduler.
type check struct {
	name   string
	done   chan struct{}
	slot   *Slot
	err    error
	cancel context.CancelFunc
}

// start sends a check of class c to the scheduler; it waits (in its goroutine) like a request.
func (h *hashes) start(name string, c Class) *check {
	ctx, cancel := context.WithCancel(context.Background())
	k := &check{name: name, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(k.done)
		k.slot, k.err = h.s.Acquire(ctx, c)
	}()
	return k
}

// startQueued starts a check of class c and waits until it is in c's queue.
func (h *hashes) startQueued(name string, c Class) *check {
	h.t.Helper()
	before := h.s.Waiting(c)
	k := h.start(name, c)
	h.waitFor(fmt.Sprintf("%s queued as %s", name, c), func() bool { return h.s.Waiting(c) == before+1 })
	return k
}

// admitted starts a check of class c that must get a slot at once, and returns it holding it.
func (h *hashes) admitted(name string, c Class) *check {
	h.t.Helper()
	k := h.start(name, c)
	<-k.done
	if k.err != nil {
		h.t.Fatalf("%s: %v, want a slot at once", name, k.err)
	}
	return k
}

// finish ends k's hash after it held its slot for took.
func (h *hashes) finish(k *check, took time.Duration) {
	h.t.Helper()
	h.clock.Advance(took)
	k.slot.Answered()
}

// waitFor waits for cond, which another goroutine makes true; no timed assertion.
func (h *hashes) waitFor(what string, cond func() bool) {
	h.t.Helper()
	for range 1_000_000 {
		if cond() {
			return
		}
		runtime.Gosched()
	}
	h.t.Fatalf("never: %s", what)
}

func (k *check) busy(t *testing.T) *Busy {
	t.Helper()
	<-k.done
	var b *Busy
	if !errors.As(k.err, &b) {
		t.Fatalf("%s: slot %v err %v, want busy", k.name, k.slot != nil, k.err)
	}
	return b
}

// isDone reports whether k has its answer (a slot, busy, or an error).
func (k *check) isDone() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

func newHashes(t *testing.T, c AdmissionConfig) (*hashes, *countMetrics) {
	m := newCountMetrics()
	clock := newFakeClock()
	return &hashes{t: t, s: NewScheduler(c, 5*time.Second, clock, m), clock: clock}, m
}

// The owner's checks go first, then a familiar source's, then the rest, each class first come
// first served, whatever order they came in.
func TestSchedulerServesLikelyOwnersFirst(t *testing.T) {
	h, m := newHashes(t, AdmissionConfig{Slots: 1, Reserved: -1})
	running := h.admitted("running", ClassOther)
	queued := []*check{
		h.startQueued("other 1", ClassOther),
		h.startQueued("source 1", ClassFamiliarSource),
		h.startQueued("owner 1", ClassOwner),
		h.startQueued("other 2", ClassOther),
		h.startQueued("owner 2", ClassOwner),
		h.startQueued("source 2", ClassFamiliarSource),
	}
	want := []string{"owner 1", "owner 2", "source 1", "source 2", "other 1", "other 2"}
	holder := running
	for i, name := range want {
		h.finish(holder, 10*time.Millisecond)
		var next *check
		h.waitFor(name+" admitted", func() bool {
			for _, k := range queued {
				if k.isDone() && k.slot != nil && k.name != "" {
					next = k
					return true
				}
			}
			return false
		})
		if next.name != name || next.err != nil {
			t.Fatalf("admission %d: %s (err %v), want %s", i+1, next.name, next.err, name)
		}
		next.name = "" // served
		holder = next
	}
	h.finish(holder, 10*time.Millisecond)
	if h.s.InUse() != 0 {
		t.Fatalf("%d slots held after every check finished", h.s.InUse())
	}
	if n := len(m.waited["owner"]); n != 2 {
		t.Fatalf("owner waits observed: %d, want 2", n)
	}
	if got := m.waited["other"]; len(got) != 3 || got[2] != 60*time.Millisecond {
		// running got its slot at once; other 2 waited for the six checks before it to finish.
		t.Fatalf("other waits observed: %v, want [0 … 60ms]", got)
	}
}

// A class's queue holds at most its bound: the next check is turned away at once, as "full",
// with a Retry-After, while a higher class still queues.
func TestSchedulerShedsWhenTheQueueIsFull(t *testing.T) {
	h, m := newHashes(t, AdmissionConfig{Slots: 1, Reserved: -1, Other: ClassLimit{Queue: 2}})
	running := h.admitted("running", ClassOwner)
	o1, o2 := h.startQueued("other 1", ClassOther), h.startQueued("other 2", ClassOther)
	if b := h.s.Check(ClassOther); b == nil || b.Reason != "full" {
		t.Fatalf("Check with the queue full: %v, want busy (full)", b)
	}
	third := h.start("other 3", ClassOther)
	if b := third.busy(t); b.Reason != "full" || b.RetryAfter < time.Second || b.RetrySeconds() < 1 {
		t.Fatalf("third other: %+v, want full with a Retry-After of at least 1 s", b)
	}
	if n := m.sheds("other/full"); n != 2 {
		t.Fatalf("shed other/full = %d, want 2 (the Check and the third)", n)
	}
	owner := h.startQueued("owner", ClassOwner)
	h.finish(running, time.Millisecond)
	<-owner.done
	if owner.err != nil {
		t.Fatalf("owner behind a full other queue: %v", owner.err)
	}
	h.finish(owner, time.Millisecond)
	for _, k := range []*check{o1, o2} {
		<-k.done
		if k.err != nil {
			t.Fatalf("%s: %v", k.name, k.err)
		}
		h.finish(k, time.Millisecond)
	}
	if d := m.depth["other"]; d != 0 {
		t.Fatalf("other queue depth reported %d at the end, want 0", d)
	}
}

// A check whose expected wait (the checks ahead of it at the measured hash time) passes its
// class's deadline is turned away at once; a class with a longer deadline still queues.
func TestSchedulerShedsWhenTheExpectedWaitPassesTheDeadline(t *testing.T) {
	h, m := newHashes(t, AdmissionConfig{Slots: 1, Reserved: -1, Other: ClassLimit{Queue: 100, Deadline: time.Second}})
	// One measured hash of 300 ms.
	h.finish(h.admitted("first", ClassOther), 300*time.Millisecond)
	running := h.admitted("running", ClassOther)
	var queued []*check
	// Expected waits 300, 600 and 900 ms are within the second; the fourth's 1.2 s is not.
	for i := range 3 {
		queued = append(queued, h.startQueued(fmt.Sprintf("other %d", i), ClassOther))
	}
	late := h.start("other 4", ClassOther)
	b := late.busy(t)
	if b.Reason != "deadline" || b.RetryAfter != 1200*time.Millisecond || b.RetrySeconds() != 2 {
		t.Fatalf("fourth other: %+v, want deadline, retry after the 1.2 s the queue needs (2 s)", b)
	}
	// The owner's deadline (the saturated wait, 5 s) takes more.
	owner := h.startQueued("owner", ClassOwner)
	if m.sheds("other/deadline") != 1 || m.sheds("owner/deadline") != 0 {
		t.Fatalf("sheds %v, want one other/deadline", m.shed)
	}
	h.finish(running, 300*time.Millisecond)
	<-owner.done
	h.finish(owner, 300*time.Millisecond)
	for _, k := range queued {
		<-k.done
		if k.err != nil {
			// 600 ms passed before the first other was served: within its second.
			t.Fatalf("%s: %v", k.name, k.err)
		}
		h.finish(k, 100*time.Millisecond)
	}
}

// A check still waiting when its deadline passes is turned away then, and so is one whose
// deadline passed before a slot came free: it never gets a hash late.
func TestSchedulerShedsAtTheDeadline(t *testing.T) {
	h, m := newHashes(t, AdmissionConfig{Slots: 1, Reserved: -1, Other: ClassLimit{Deadline: time.Second}})
	running := h.admitted("running", ClassOwner)
	first := h.startQueued("other 1", ClassOther)
	h.clock.Advance(999 * time.Millisecond)
	if first.isDone() {
		t.Fatal("turned away before its deadline")
	}
	second := h.startQueued("other 2", ClassOther) // deadline 1.999 s from the start
	h.clock.Advance(time.Millisecond)
	if b := first.busy(t); b.Reason != "deadline" {
		t.Fatalf("first other at its deadline: %+v", b)
	}
	h.waitFor("the first other leaves the queue", func() bool { return h.s.Waiting(ClassOther) == 1 })
	// The running hash ends after the second's deadline too: the slot goes to nobody late.
	h.finish(running, 2*time.Second)
	if b := second.busy(t); b.Reason != "deadline" {
		t.Fatalf("second other past its deadline: %+v", b)
	}
	if h.s.InUse() != 0 || h.s.Waiting(ClassOther) != 0 {
		t.Fatalf("in use %d waiting %d, want nothing", h.s.InUse(), h.s.Waiting(ClassOther))
	}
	if m.sheds("other/deadline") != 2 {
		t.Fatalf("sheds %v, want two other/deadline", m.shed)
	}
}

// With a slot reserved, the last class never holds every slot: a likely owner finds one free
// at once while strangers queue.
func TestSchedulerKeepsAReservedSlotForLikelyOwners(t *testing.T) {
	h, _ := newHashes(t, AdmissionConfig{Slots: 2})
	stranger := h.admitted("stranger", ClassOther)
	if h.s.Idle(ClassOther) {
		t.Fatal("the last class may take the reserved slot")
	}
	waiting := h.startQueued("stranger 2", ClassOther)
	if !h.s.Idle(ClassFamiliarSource) || !h.s.Idle(ClassOwner) {
		t.Fatal("no slot free at once for a likely owner")
	}
	source := h.admitted("familiar source", ClassFamiliarSource)
	if waiting.isDone() {
		t.Fatal("a stranger took the reserved slot")
	}
	h.finish(source, time.Millisecond)
	if waiting.isDone() {
		t.Fatal("the reserved slot went to a stranger when a likely owner gave it back")
	}
	h.finish(stranger, time.Millisecond)
	<-waiting.done
	if waiting.err != nil {
		t.Fatalf("second stranger: %v", waiting.err)
	}
	h.finish(waiting, time.Millisecond)
	// One slot: nothing to reserve.
	one := NewScheduler(AdmissionConfig{Slots: 1}, 5*time.Second, newFakeClock(), nil)
	if !one.Idle(ClassOther) {
		t.Fatal("a single slot is reserved from the last class")
	}
}

// A request that ends while its check waits leaves the queue and gets its context's error.
func TestSchedulerWaiterWhoseRequestEnds(t *testing.T) {
	h, m := newHashes(t, AdmissionConfig{Slots: 1, Reserved: -1})
	running := h.admitted("running", ClassOwner)
	k := h.startQueued("gone", ClassOther)
	k.cancel()
	<-k.done
	if !errors.Is(k.err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", k.err)
	}
	if h.s.Waiting(ClassOther) != 0 || len(m.shed) != 0 {
		t.Fatalf("waiting %d sheds %v: a request that ended is neither queued nor shed", h.s.Waiting(ClassOther), m.shed)
	}
	h.finish(running, time.Millisecond)
	if h.s.InUse() != 0 {
		t.Fatal("slot given to a check that left")
	}
}

// A busy check is an EBusy domain error (503 at the edge), never EInvalid or a failure.
func TestBusyIsADomainError(t *testing.T) {
	var err error = &Busy{RetryAfter: 1500 * time.Millisecond, Reason: "full"}
	if !errors.Is(err, errBusy) || err.(*Busy).RetrySeconds() != 2 {
		t.Fatalf("busy: %v", err)
	}
	if (&Busy{}).RetrySeconds() != 1 {
		t.Fatal("a busy answer asks for at least a second")
	}
}

// A place taken before the charge (Reserve) counts as a waiting check until it waits: while
// no slot is free, the attempts being charged are bounded by the queue, and the ones beyond
// are turned away before they charge anything; a cancelled place makes room again.
func TestSchedulerReservedPlacesCountAsWaiting(t *testing.T) {
	h, m := newHashes(t, AdmissionConfig{Slots: 1, Reserved: -1, Other: ClassLimit{Queue: 2}})
	// With the slot free, one place fits at once; the next would wait behind it.
	first, b := h.s.Reserve(ClassOther)
	if b != nil {
		t.Fatalf("first place: %v", b)
	}
	if h.s.Idle(ClassOther) {
		t.Fatal("Idle with the only slot promised to a reserved place")
	}
	second, b := h.s.Reserve(ClassOther)
	if b != nil {
		t.Fatalf("second place: %v", b)
	}
	// first and second fill the queue's bound of two, although neither waits yet.
	if _, b := h.s.Reserve(ClassOther); b == nil || b.Reason != "full" {
		t.Fatalf("third place with two reserved: %v, want busy (full)", b)
	}
	if n := m.sheds("other/full"); n != 1 {
		t.Fatalf("shed other/full = %d, want 1", n)
	}
	// A likely owner is not held back by the reserved places of a lower class.
	if _, b := h.s.Reserve(ClassOwner); b != nil {
		t.Fatalf("owner's place: %v", b)
	}
	second.Cancel()
	second.Cancel() // twice is once
	third, b := h.s.Reserve(ClassOther)
	if b != nil {
		t.Fatalf("place after a cancel: %v", b)
	}
	slot, err := first.Wait(context.Background())
	if err != nil {
		t.Fatalf("first waits with the slot free: %v", err)
	}
	first.Cancel() // after Wait: nothing
	if h.s.InUse() != 1 {
		t.Fatalf("in use %d, want 1", h.s.InUse())
	}
	k := &check{name: "third", done: make(chan struct{})}
	go func() {
		defer close(k.done)
		k.slot, k.err = third.Wait(context.Background())
	}()
	h.waitFor("third queued", func() bool { return h.s.Waiting(ClassOther) == 1 })
	h.finish(&check{slot: slot}, 10*time.Millisecond)
	<-k.done
	if k.err != nil {
		t.Fatalf("third after the first's hash: %v", k.err)
	}
	k.slot.Done()
	if h.s.InUse() != 0 || h.s.Waiting(ClassOther) != 0 {
		t.Fatalf("in use %d, waiting %d at the end", h.s.InUse(), h.s.Waiting(ClassOther))
	}
}

// yield runs k's Slot.Yield, as its hash does between two segments, in a goroutine; the
// channel is closed when the hash may go on.
func (k *check) yield() chan struct{} {
	goOn := make(chan struct{})
	go func() {
		defer close(goOn)
		k.slot.Yield()
	}()
	return goOn
}

// A stranger's hash pauses between its segments while a likely owner's check runs beside it
// on two cores, from its hash to its answer, so the owner does not share a core with
// everything else a spray costs. It goes on when the owner is answered, or after maxPause
// under a steady stream of owners; its pauses are left out of the measured hash time. The
// owner's hash never pauses.
func TestSchedulerPausesAStrangersHashBesideAnOwners(t *testing.T) {
	h, m := newHashes(t, AdmissionConfig{Slots: 2})
	stranger := h.admitted("stranger", ClassOther)
	<-stranger.yield() // alone: no pause

	owner := h.admitted("owner", ClassOwner)
	goOn := stranger.yield()
	h.waitFor("the stranger's hash paused", func() bool { return h.s.Paused() == 1 })
	<-owner.yield() // the owner's hash goes on
	h.clock.Advance(5 * time.Millisecond)
	if isClosed(goOn) {
		t.Fatal("the stranger's hash went on while the owner's ran")
	}
	// Less than maxPause in all: at maxPause the stranger's pause ends by itself.
	h.clock.Advance(10 * time.Millisecond)
	owner.slot.Done() // the owner's hash ends; its settlement goes on
	if h.s.InUse() != 1 {
		t.Fatalf("%d slots held after the owner's hash, want the stranger's", h.s.InUse())
	}
	if isClosed(goOn) {
		t.Fatal("the stranger's hash went on before the owner was answered")
	}
	owner.slot.Answered()
	<-goOn

	// A familiar source is a likely owner too; a pause lasts maxPause at most.
	source := h.admitted("familiar source", ClassFamiliarSource)
	goOn = stranger.yield()
	h.waitFor("the stranger's hash paused again", func() bool { return h.s.Paused() == 1 })
	h.clock.Advance(maxPause - time.Millisecond)
	if isClosed(goOn) {
		t.Fatal("the stranger's pause ended early")
	}
	h.clock.Advance(time.Millisecond)
	<-goOn
	if h.s.Paused() != 0 {
		t.Fatalf("%d hashes paused after the pause ended", h.s.Paused())
	}
	h.finish(source, time.Millisecond)

	h.clock.Advance(3 * time.Millisecond)
	stranger.slot.Done()
	// Held 15ms+maxPause+1ms+3ms, paused 15ms+maxPause: its hash took 4ms. The average was the
	// owners' 15ms and 21ms.
	h.s.mu.Lock()
	avg := h.s.hash
	h.s.mu.Unlock()
	if want := 15*time.Millisecond + (21*time.Millisecond-15*time.Millisecond)/8; avg != want+(4*time.Millisecond-want)/8 {
		t.Fatalf("measured hash time %v: the pauses were counted", avg)
	}
	if m.paused != 15*time.Millisecond+maxPause {
		t.Fatalf("pauses reported: %v, want %v", m.paused, 15*time.Millisecond+maxPause)
	}
}

// With more cores, strangers' hashes make room for one core, not more: beside an owner's hash
// on four slots, one of three strangers' hashes pauses and two go on.
func TestSchedulerPausesOnlyWhatLeavesACoreFree(t *testing.T) {
	h, _ := newHashes(t, AdmissionConfig{Slots: 4})
	strangers := []*check{h.admitted("s1", ClassOther), h.admitted("s2", ClassOther), h.admitted("s3", ClassOther)}
	owner := h.admitted("owner", ClassOwner)
	paused := strangers[0].yield()
	h.waitFor("one stranger paused", func() bool { return h.s.Paused() == 1 })
	<-strangers[1].yield()
	<-strangers[2].yield()
	if isClosed(paused) {
		t.Fatal("the first stranger's hash went on beside three others")
	}
	h.finish(owner, time.Millisecond)
	<-paused
	for _, k := range strangers {
		h.finish(k, time.Millisecond)
	}
	if h.s.InUse() != 0 || h.s.Paused() != 0 {
		t.Fatalf("after every hash: %d slots held, %d paused", h.s.InUse(), h.s.Paused())
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
