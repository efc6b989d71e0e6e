package signin

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/portier-id/portier"
)

// Admission control for password hashing. An argon2id check holds a core and 19 MiB for tens
// of milliseconds; more checks at once than cores only share the cores. So checks take one of
// a fixed number of slots (Scheduler), and the ones that find none free wait in a queue of
// their class, each class with its own bound and deadline, the likeliest owners first. A check
// that would wait past its deadline, or find its class's queue full, is turned away at once
// (Busy): unchecked, uncounted, never "wrong password", never a lock.

// Class is how likely a password check is its account owner's; a lower class is served first.
type Class int

// The classes, in the order they are served.
const (
	// ClassOwner is a browser carrying the user's valid device cookie, a signed-in user
	// checking their password again (a change, a removal of a security method), and the new
	// password's hash of a right one.
	ClassOwner Class = iota
	// ClassFamiliarSource is a source address (IPv4, or IPv6 /64) the user signed in from
	// recently: the source of one of their sessions (recentSources).
	ClassFamiliarSource
	// ClassOther is everything else: unknown names always, and known users without a
	// familiar signal, alike.
	ClassOther
	numClasses
)

// String names the class as the metrics label it.
func (c Class) String() string {
	switch c {
	case ClassOwner:
		return "owner"
	case ClassFamiliarSource:
		return "familiar_source"
	default:
		return "other"
	}
}

// ClassLimit bounds one class's queue.
type ClassLimit struct {
	// Queue is how many checks of the class may wait at once; the next one is turned away.
	Queue int
	// Deadline is how long a check of the class may wait for a slot. One whose expected wait
	// passes it is turned away at once; one still waiting at it is turned away then.
	Deadline time.Duration
}

// AdmissionConfig sizes the scheduler; zero fields take their defaults.
type AdmissionConfig struct {
	// Slots is how many hashes run at once (zero: GOMAXPROCS, one per core).
	Slots int
	// Reserved is how many of the slots ClassOther may not take, kept for the likely owners
	// (zero: 1 when there are two slots or more; negative: none). A likely owner then finds a
	// core at once, whatever a spray of strangers does.
	Reserved int
	// Owner, FamiliarSource and Other bound each class (zero: 1,024 waiting within the saturated
	// wait, 256 within 2.5 s, 64 within 1 s; no deadline passes the saturated wait).
	Owner, FamiliarSource, Other ClassLimit
}

// AdmissionMetrics is what the scheduler reports; metrics.Metrics implements it.
type AdmissionMetrics interface {
	// HashQueue reports the number of checks of class waiting for a slot.
	HashQueue(class string, depth int)
	// HashWaited reports how long a check of class waited before it got a slot.
	HashWaited(class string, wait time.Duration)
	// HashShed reports a check of class turned away: "full" (its queue was full) or
	// "deadline" (its wait would pass, or passed, its deadline).
	HashShed(class, reason string)
	// HashPaused reports a pause of d of a stranger's hash for a likely owner's (Slot.Yield).
	HashPaused(d time.Duration)
}

// SchedClock is the scheduler's clock: real time in production, moved by hand in tests.
type SchedClock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed, and a func that stops it.
	After(d time.Duration) (<-chan time.Time, func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// Busy is the error of a check turned away because the hashing is saturated. It unwraps to an
// EBusy domain error, which the edge answers 503 with Retry-After.
type Busy struct {
	// RetryAfter is when trying again is worth it: about when the queue ahead has drained.
	RetryAfter time.Duration
	// Reason is "full", "deadline" or "in flight" (the checks in flight on the counter did not
	// settle in time).
	Reason string
}

var errBusy = portier.Errorf(portier.EBusy, "The server is busy: try again in a few seconds.")

func (b *Busy) Error() string {
	return fmt.Sprintf("busy (%s): try again in %s", b.Reason, b.RetryAfter)
}

// Unwrap makes a Busy an EBusy domain error.
func (b *Busy) Unwrap() error { return errBusy }

// RetrySeconds is RetryAfter in whole seconds, rounded up, at least 1: the Retry-After header's.
func (b *Busy) RetrySeconds() int { return retrySeconds(b.RetryAfter) }

func retrySeconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

// maxRetryAfter bounds what a busy answer asks a browser to wait.
const maxRetryAfter = 30 * time.Second

// Scheduler admits password checks to a fixed number of hash slots: at once while a slot is
// free for the class, otherwise in its class's queue, served in class order and first come
// first served within a class. Create it with NewScheduler.
type Scheduler struct {
	clock   SchedClock
	metrics AdmissionMetrics
	slots   int
	shared  int // slots ClassOther may hold: slots less the reserved ones
	limits  [numClasses]ClassLimit

	mu       sync.Mutex
	inUse    int
	otherUse int
	// paused counts the ClassOther hashes paused between their segments (Slot.Yield); resume
	// is closed, and replaced, when a likelier class's check is answered, to wake them.
	paused int
	resume chan struct{}
	// answering counts the likelier checks whose hash has ended and whose answer is not ready
	// yet (Slot.Answered): their settlement's round trips hold strangers' hashes back too.
	answering int
	queues    [numClasses][]*waiter
	// reserved counts, per class, the places taken (Reserve) whose checks do not wait yet: they
	// count as waiting for the queues' bounds (not for the expected waits).
	reserved [numClasses]int
	// hash is the moving average of how long a slot is held, zero until measured: what the
	// expected waits are made of.
	hash time.Duration
}

type waiter struct {
	class    Class
	since    time.Time
	deadline time.Time
	ready    chan struct{} // closed once granted or shed
	granted  bool
	start    time.Time // when it was granted
	shed     *Busy
}

// NewScheduler returns a scheduler sized by c; saturatedWait caps every class's deadline.
// A nil clock is real time; nil metrics report nothing.
func NewScheduler(c AdmissionConfig, saturatedWait time.Duration, clock SchedClock, m AdmissionMetrics) *Scheduler {
	if clock == nil {
		clock = realClock{}
	}
	if m == nil {
		m = noMetrics{}
	}
	s := &Scheduler{clock: clock, metrics: m, slots: c.Slots, resume: make(chan struct{})}
	if s.slots <= 0 {
		s.slots = runtime.GOMAXPROCS(0)
	}
	reserved := c.Reserved
	if reserved == 0 && s.slots >= 2 {
		reserved = 1
	}
	s.shared = min(s.slots, max(1, s.slots-max(reserved, 0)))
	defaults := [numClasses]ClassLimit{
		{Queue: 1024, Deadline: saturatedWait},
		{Queue: 256, Deadline: 2500 * time.Millisecond},
		{Queue: 64, Deadline: time.Second},
	}
	for i, l := range [numClasses]ClassLimit{c.Owner, c.FamiliarSource, c.Other} {
		if l.Queue <= 0 {
			l.Queue = defaults[i].Queue
		}
		if l.Deadline <= 0 {
			l.Deadline = defaults[i].Deadline
		}
		l.Deadline = min(l.Deadline, saturatedWait)
		s.limits[i] = l
	}
	return s
}

// Slot is one admitted hash; Done gives it back.
type Slot struct {
	s     *Scheduler
	class Class
	start time.Time
	once  sync.Once
	// answered ends, once, the likelier check's time between its hash and its answer.
	answered sync.Once
	// paused is how long Yield held the hash back, left out of the measured hash time.
	paused time.Duration
}

// maxPause bounds one pause of a stranger's hash (Yield): under a steady stream of likely
// owners, a stranger's hash still runs a segment (about 2 ms) in every maxPause or so, so at
// the default parameters (8 segments) it ends at most about 160 ms later than unpaused.
const maxPause = 20 * time.Millisecond

// Yield is called by the slot's hash between its segments (password.Hasher.Yield). A hash of
// ClassOther pauses there while a likelier check runs, from its hash to its answer
// (Slot.Answered), and the hashes running beside it would leave no core free: on a server
// whose hashes fill the cores, the owner otherwise shares a core with everything else a spray
// costs (its requests, its writes, the database), and waits for that, in the hash and in the
// settlement's round trips alike. A pause ends when the likelier checks are answered, or after
// maxPause; the hash then runs its next segment. Every hash then lets what is ready run first
// (runtime.Gosched).
func (sl *Slot) Yield() {
	if sl.class == ClassOther {
		sl.s.pause(sl)
	}
	runtime.Gosched()
}

// pause holds sl, a ClassOther hash between two segments, while the scheduler is crowded, for
// maxPause at most.
func (s *Scheduler) pause(sl *Slot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.crowded() {
		return
	}
	from := s.clock.Now()
	expired, stop := s.clock.After(maxPause)
	defer stop()
	for timedOut := false; !timedOut && s.crowded(); {
		s.paused++
		resume := s.resume
		s.mu.Unlock()
		select {
		case <-resume:
		case <-expired:
			timedOut = true
		}
		s.mu.Lock()
		s.paused--
	}
	d := s.clock.Now().Sub(from)
	sl.paused += d
	s.metrics.HashPaused(d)
}

// crowded reports whether a likelier class's check runs (its hash, or its settlement until
// its answer), and the ClassOther hashes running (not paused) beside it, the one asking
// included, would leave no slot's core to the rest.
func (s *Scheduler) crowded() bool {
	likely := s.inUse - s.otherUse + s.answering
	return likely > 0 && likely+s.otherUse-s.paused >= s.slots
}

// Done gives the slot back, to the first waiter of the highest class that may take it. A
// likelier class's check then goes on holding strangers' hashes back until Answered.
func (sl *Slot) Done() {
	sl.once.Do(func() {
		s := sl.s
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.clock.Now()
		if held := now.Sub(sl.start) - sl.paused; held >= 0 {
			if s.hash == 0 {
				s.hash = held
			} else {
				s.hash += (held - s.hash) / 8
			}
		}
		s.release(sl.class)
		if sl.class != ClassOther {
			s.answering++ // until Answered, which wakes the paused strangers
		}
		s.grant(now)
	})
}

// Answered tells the scheduler that the slot's check has its answer: a likelier class's check
// no longer holds strangers' hashes back. It gives the slot back first if Done has not; it
// does nothing on a nil slot, or again.
func (sl *Slot) Answered() {
	if sl == nil {
		return
	}
	sl.Done()
	sl.answered.Do(func() {
		if sl.class == ClassOther {
			return
		}
		s := sl.s
		s.mu.Lock()
		defer s.mu.Unlock()
		s.answering--
		s.wake()
	})
}

// Acquire waits for a slot for one check of class c. It returns a *Busy when the check is
// turned away (at once, or at its deadline), and ctx's error when ctx ends first.
func (s *Scheduler) Acquire(ctx context.Context, c Class) (*Slot, error) {
	t, b := s.Reserve(c)
	if b != nil {
		return nil, b
	}
	return t.Wait(ctx)
}

// Ticket is a check's place in line for the hashing, taken before its counter is charged
// (Reserve). Wait turns it into a Slot; Cancel gives it back, and does nothing after Wait.
type Ticket struct {
	s     *Scheduler
	class Class
	done  bool // Wait or Cancel ran; guarded by s.mu
}

// Reserve takes a place in line for one check of class c, or returns a *Busy, counted as shed,
// when the check is turned away at once. Until Wait, a place is promised one of the free slots
// and counts toward its class's queue bound, so that the attempts being charged meanwhile are
// bounded by what the queues may hold: the ones beyond are turned away before they write.
func (s *Scheduler) Reserve(c Class) (*Ticket, *Busy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.fits(c) {
		if b := s.refusal(c); b != nil {
			s.metrics.HashShed(c.String(), b.Reason)
			return nil, b
		}
	}
	s.reserved[c]++
	return &Ticket{s: s, class: c}, nil
}

// Wait waits for a slot for the ticket's check: at once when one is free for its class,
// otherwise in its class's queue, until its deadline. It returns a *Busy when the check is
// turned away at its deadline, and ctx's error when ctx ends first.
func (t *Ticket) Wait(ctx context.Context) (*Slot, error) {
	s, c := t.s, t.class
	s.mu.Lock()
	if t.done {
		s.mu.Unlock()
		return nil, errors.New("signin: a hash ticket waited for twice")
	}
	t.done = true
	s.reserved[c]--
	now := s.clock.Now()
	if s.free(c) && s.noneWaiting(c) {
		s.take(c)
		s.mu.Unlock()
		s.metrics.HashWaited(c.String(), 0)
		return &Slot{s: s, class: c, start: now}, nil
	}
	limit := s.limits[c].Deadline
	w := &waiter{class: c, since: now, deadline: now.Add(limit), ready: make(chan struct{})}
	s.queues[c] = append(s.queues[c], w)
	s.metrics.HashQueue(c.String(), len(s.queues[c]))
	s.mu.Unlock()

	expired, stop := s.clock.After(limit)
	defer stop()
	select {
	case <-w.ready:
	case <-expired:
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case w.granted:
		return &Slot{s: s, class: c, start: w.start}, nil
	case w.shed != nil:
		return nil, w.shed
	}
	s.remove(w)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := &Busy{RetryAfter: s.drain(c), Reason: "deadline"}
	s.metrics.HashShed(c.String(), b.Reason)
	return nil, b
}

// Cancel gives the ticket's place back; it does nothing after Wait, or on a nil ticket.
func (t *Ticket) Cancel() {
	if t == nil {
		return
	}
	s := t.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !t.done {
		t.done = true
		s.reserved[t.class]--
	}
}

// Check answers, without taking a place, whether a check of class c would be turned away at
// once now: the *Busy it would get, counted as shed, or nil. The edge asks (shedAtEdge), so
// that an attempt turned away costs no read and no write.
func (s *Scheduler) Check(c Class) *Busy {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fits(c) {
		return nil
	}
	b := s.refusal(c)
	if b != nil {
		s.metrics.HashShed(c.String(), b.Reason)
	}
	return b
}

// Idle reports whether a new check of class c would find a slot free for it, after the checks
// ahead of it in line.
func (s *Scheduler) Idle(c Class) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fits(c)
}

// Waiting is how many checks of class c wait for a slot.
func (s *Scheduler) Waiting(c Class) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queues[c])
}

// Paused is how many hashes are paused between their segments (Slot.Yield).
func (s *Scheduler) Paused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused
}

// InUse is how many slots are held.
func (s *Scheduler) InUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse
}

// free reports whether a slot is free that class c may take.
func (s *Scheduler) free(c Class) bool {
	return s.inUse < s.slots && (c != ClassOther || s.otherUse < s.shared)
}

// noneWaiting reports whether no check that comes before a new one of class c waits.
func (s *Scheduler) noneWaiting(c Class) bool {
	for k := ClassOwner; k <= c; k++ {
		if len(s.queues[k]) > 0 {
			return false
		}
	}
	return true
}

// waiting is how many checks of class c wait or hold a place in line.
func (s *Scheduler) waiting(c Class) int { return len(s.queues[c]) + s.reserved[c] }

// fits reports whether a new check of class c would find a slot free for its class once the
// checks ahead of it in line (the higher classes', and its own class's) have theirs.
func (s *Scheduler) fits(c Class) bool {
	ahead := 0
	for k := ClassOwner; k <= c; k++ {
		ahead += s.waiting(k)
	}
	return s.inUse+ahead < s.slots && (c != ClassOther || s.otherUse+s.waiting(ClassOther) < s.shared)
}

func (s *Scheduler) take(c Class) {
	s.inUse++
	if c == ClassOther {
		s.otherUse++
	}
}

func (s *Scheduler) release(c Class) {
	s.inUse--
	if c == ClassOther {
		s.otherUse--
	}
}

// wake lets the paused strangers' hashes, if any, look again whether they may go on: a
// likelier check was answered.
func (s *Scheduler) wake() {
	if s.paused > 0 {
		close(s.resume)
		s.resume = make(chan struct{})
	}
}

// expected is how long a new check of class c would wait: the checks waiting ahead of it (its
// own class's and the higher ones'), and itself, served by the slots it may take, at the
// measured hash time. Checks of a higher class that arrive later make it longer; its deadline
// covers that. Places taken but not yet waiting count toward the queue's bound only: many of
// them end at their charge, which the lockout refuses without a hash (parallel guesses at one
// account), and counting them here would answer such guesses busy instead of locked.
func (s *Scheduler) expected(c Class) time.Duration {
	ahead := 0
	for k := ClassOwner; k <= c; k++ {
		ahead += len(s.queues[k])
	}
	usable := s.slots
	if c == ClassOther {
		usable = s.shared
	}
	return time.Duration(ahead+1) * s.hash / time.Duration(usable)
}

// refusal is the *Busy a new check of class c that finds no free slot gets at once, or nil
// when it may wait: when its class's queue is full, or its expected wait passes its deadline.
func (s *Scheduler) refusal(c Class) *Busy {
	switch {
	case s.waiting(c) >= s.limits[c].Queue:
		return &Busy{RetryAfter: s.drain(c), Reason: "full"}
	case s.expected(c) >= s.limits[c].Deadline:
		return &Busy{RetryAfter: s.drain(c), Reason: "deadline"}
	}
	return nil
}

// drain is when a check of class c turned away now should try again: about when the queue
// ahead of it has drained, at least a second, at most maxRetryAfter.
func (s *Scheduler) drain(c Class) time.Duration {
	return min(max(s.expected(c), time.Second), maxRetryAfter)
}

// grant hands free slots to the waiters, highest class first, first come first served; a
// waiter whose deadline has passed is turned away instead. A class waits while a higher one
// does.
func (s *Scheduler) grant(now time.Time) {
	for c := ClassOwner; c < numClasses; c++ {
		q := s.queues[c]
		for len(q) > 0 && s.free(c) {
			w := q[0]
			q[0] = nil
			q = q[1:]
			if !now.Before(w.deadline) {
				w.shed = &Busy{RetryAfter: s.drain(c), Reason: "deadline"}
				s.metrics.HashShed(c.String(), w.shed.Reason)
			} else {
				s.take(c)
				w.granted, w.start = true, now
				s.metrics.HashWaited(c.String(), now.Sub(w.since))
			}
			close(w.ready)
		}
		s.queues[c] = q
		s.metrics.HashQueue(c.String(), len(q))
		if len(q) > 0 {
			return
		}
	}
}

// remove takes w, which gave up waiting, out of its queue.
func (s *Scheduler) remove(w *waiter) {
	q := s.queues[w.class]
	for i, x := range q {
		if x == w {
			s.queues[w.class] = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	s.metrics.HashQueue(w.class.String(), len(s.queues[w.class]))
}

type noMetrics struct{}

func (noMetrics) HashQueue(string, int)            {}
func (noMetrics) HashWaited(string, time.Duration) {}
func (noMetrics) HashShed(string, string)          {}
func (noMetrics) HashPaused(time.Duration)         {}

// busyRetryAfter is the Retry-After of an attempt turned away because the checks in flight on
// its counter did not settle in time.
const busyRetryAfter = 5 * time.Second

// admissionClass is the attempt's class: the owner's for a familiar browser or a signed-in
// user, a familiar source's for a source the account signed in from recently, else other.
// The sources are read only when the hashing is contended, and for an unknown name exactly as
// for a known user (recentSources), so the class costs a quiet server nothing and tells no
// name apart.
func (t *attempt) admissionClass(ctx context.Context) (Class, error) {
	if t.classed {
		return t.class, nil
	}
	switch {
	case t.familiar || (t.in.SignedIn && t.user != nil):
		t.class = ClassOwner
	case t.e.admission.Idle(ClassOther):
		// A core is free even for the last class: the class does not matter yet.
		t.class = ClassOther
		return t.class, nil
	default:
		familiar, err := t.e.recent.has(ctx, t.counter.Key, t.in.Source, t.entry.Time)
		if err != nil {
			return 0, err
		}
		t.class = ClassOther
		if familiar {
			t.class = ClassFamiliarSource
		}
	}
	t.classed = true
	return t.class, nil
}

// reserve takes the attempt's place at the hashing (Scheduler.Reserve) after the lockout's
// answer and before the charge, so a locked account is still told it is locked, and an attempt
// the hashing turns away is turned away unchecked and uncounted, before it writes anything.
// The place is given back when the attempt ends without its hash (run).
func (t *attempt) reserve(ctx context.Context) (*answer, error) {
	class, err := t.admissionClass(ctx)
	if err != nil {
		return nil, err
	}
	ticket, b := t.e.admission.Reserve(class)
	if b != nil {
		return t.busy(b), nil
	}
	t.ticket = ticket
	return nil, nil
}

// shedAtEdge turns away, before its account or counters are read, an attempt that can only be
// of the last class while the hashing turns that class away: no device cookie, no signed-in
// user, and a source no session was opened from recently (sessionSources), so it cannot be a
// familiar source of whatever account it names. The name plays no part: known and unknown
// names are turned away alike. Under a spray this keeps the store's connections and the cores
// for the likely owners. Only the lock memory answers first (one shared read of a counter, when
// it holds the name), so a locked account it knows is still told it is locked. Its sign-in
// log entries are bounded (busyLog).
func (t *attempt) shedAtEdge(ctx context.Context) (*answer, error) {
	d := t.in.Device
	if t.in.SignedIn || (d.ID != "" && t.entry.Time.Before(d.Expires)) || t.e.admission.Idle(ClassOther) {
		return nil, nil
	}
	if familiar, sure := t.e.sources.known(ctx, t.in.Source, t.entry.Time); familiar || !sure {
		return nil, nil
	}
	b := t.e.admission.Check(ClassOther)
	if b == nil {
		return nil, nil
	}
	t.class, t.classed, t.edge = ClassOther, true, true
	ans := t.busy(b)
	ans.detail += "; turned away before the account was read"
	return ans, nil
}
