package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/portier-id/portier"
)

// Recorder writes the sign-in log in batches, so that a flood of attempts costs one write
// transaction per batch rather than one per attempt.
type Recorder struct {
	store LogStore
	log   *slog.Logger

	flushMu sync.Mutex // one Flush at a time, so no entry is written twice
	// tries counts the flushes in which the store refused an entry on its own, for an
	// error that names no cause (guarded by flushMu).
	tries   map[*portier.SignIn]int
	mu      sync.Mutex
	pending []*portier.SignIn
	// head numbers pending's first entry among all Add ever queued: it moves on as entries
	// are written or dropped, so that a Flush removes only what it settled (Add may drop
	// from the front meanwhile) and writes only up to the last entry queued when it began.
	head   int
	wake   chan struct{}
	done   chan struct{}
	closed chan struct{}
}

// recorderBatch is the most entries one write takes; recorderMaxPending bounds memory under a
// flood (beyond it the oldest unwritten entries are dropped, and the drop is logged).
const (
	recorderBatch      = 500
	recorderMaxPending = 50000
	recorderInterval   = 100 * time.Millisecond
)

// LogStore is what the recorder needs of the store: portier.SignInWriter's RecordSignIns.
type LogStore interface {
	RecordSignIns(ctx context.Context, entries []*portier.SignIn) error
}

// NewRecorder starts a recorder; Close flushes and stops it.
func NewRecorder(store LogStore, log *slog.Logger) *Recorder {
	r := &Recorder{store: store, log: log, wake: make(chan struct{}, 1), done: make(chan struct{}), closed: make(chan struct{})}
	go r.loop()
	return r
}

// Add queues an entry.
func (r *Recorder) Add(e *portier.SignIn) {
	r.mu.Lock()
	if len(r.pending) >= recorderMaxPending {
		r.pending = r.pending[1:]
		r.head++
		r.log.Warn("sign-in log is behind; dropped the oldest unwritten entry")
	}
	r.pending = append(r.pending, e)
	full := len(r.pending) >= recorderBatch
	r.mu.Unlock()
	if full {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// Flush writes the entries queued when it is called, in batches of recorderBatch; those
// queued meanwhile wait for the next flush. Writing them too would keep a flush going for as
// long as sign-ins arrive faster than one write takes, in small transactions back to back: at
// 70 right sign-ins a second, PostgreSQL committed 0.35-0.48 transactions of the log per
// sign-in where the recorder's interval means 0.14 (BENCHMARKS.md). An entry the store refuses
// (PostgreSQL takes no NUL in text) is logged, escaped, and dropped, so that one bad entry
// never holds back the others. It returns an error, and keeps the unwritten entries for the
// next try, when the store is down (or ctx ends), or when an entry failed alone for a reason
// the store did not name (dropped once it has so failed recorderMaxTries times).
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	end := r.head + len(r.pending)
	r.mu.Unlock()
	for {
		r.mu.Lock()
		from := r.head
		n := min(len(r.pending), recorderBatch, end-from)
		batch := append([]*portier.SignIn(nil), r.pending[:max(0, n)]...)
		r.mu.Unlock()
		if n <= 0 {
			return nil
		}
		settled, err := r.write(ctx, batch)
		r.mu.Lock()
		if cut := from + settled - r.head; cut > 0 {
			r.pending = r.pending[cut:]
			r.head += cut
		}
		r.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// recorderMaxTries is how many flushes an entry the store refuses on its own, with an error
// that does not say the value is refused (EInvalid) nor that the store is down, is tried in
// before it is dropped: bounded, so that no entry wedges the queue, and more than one, so
// that a passing error of an unforeseen kind costs nothing.
const recorderMaxTries = 3

// write writes batch and returns how many of its first entries are settled: written, or
// dropped because the store refuses them. When the store refuses the batch it is split in
// halves, in order, to find the entries it refuses; an error returns only when the store is
// down (or ctx ends), or a lone entry failed for a reason the store did not name.
func (r *Recorder) write(ctx context.Context, batch []*portier.SignIn) (int, error) {
	err := r.store.RecordSignIns(ctx, batch)
	if err == nil {
		for _, e := range batch {
			delete(r.tries, e)
		}
		return len(batch), nil
	}
	if storeDown(ctx, err) {
		return 0, err
	}
	if len(batch) > 1 {
		half := len(batch) / 2
		n, err := r.write(ctx, batch[:half])
		if err != nil {
			return n, err
		}
		m, err := r.write(ctx, batch[half:])
		return n + m, err
	}
	e := batch[0]
	if portier.ErrorCode(err) != portier.EInvalid {
		if r.tries == nil {
			r.tries = map[*portier.SignIn]int{}
		}
		r.tries[e]++
		if r.tries[e] < recorderMaxTries {
			return 0, err
		}
	}
	delete(r.tries, e)
	r.log.Error("the store refused a sign-in log entry; dropped it",
		"time", e.Time, "user", fmt.Sprintf("%q", e.Username), "source", fmt.Sprintf("%q", e.Source), "code", e.Code,
		"user_agent", fmt.Sprintf("%q", e.UserAgent), "detail", fmt.Sprintf("%q", e.Detail), "err", err)
	return 1, nil
}

// storeDown reports whether err means the store cannot take any write now (it is
// unreachable, or the flush's context ended), rather than that it refuses this one.
func storeDown(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		portier.ErrorCode(err) == portier.EUnavailable
}

func (r *Recorder) loop() {
	defer close(r.closed)
	t := time.NewTicker(recorderInterval)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
		case <-r.wake:
		}
		if err := r.Flush(context.Background()); err != nil {
			r.log.Error("cannot write the sign-in log now; will retry", "err", err)
		}
	}
}

// Close stops the recorder after writing what is queued.
func (r *Recorder) Close(ctx context.Context) error {
	close(r.done)
	<-r.closed
	return r.Flush(ctx)
}

// sampledLog bounds the sign-in log entries of an answer a flood repeats thousands of times a
// second at no cost to the server but its log: an attempt turned away at the edge (a spray,
// Engine.shedAtEdge) and one answered "locked" from memory (a flood at a locked account,
// answerFromMemory). One entry each would make the log the largest cost of the attack, in the
// store's writes, in the cores its writes take from the owners' checks, and on disk. Up to
// sampledLogRate a second (sampledLogBurst at once) are logged one by one; the rest are
// counted by group (key), and a second after the first of them one entry per group says how
// many there were, from how many addresses, and which sent the most. The metrics count them all.
type sampledLog struct {
	record *Recorder
	limit  *rate.Limiter
	// key is the group of an entry not logged one by one; "" is the group of those that find
	// sampledLogGroups groups counted already.
	key func(e *portier.SignIn) string
	// summary is the entry that stands for g's entries, from its first one.
	summary func(key string, g *skippedGroup) *portier.SignIn

	mu      sync.Mutex
	skipped map[string]*skippedGroup // since the last summaries
}

// skippedGroup is what a summary says of the entries of one group not logged one by one.
type skippedGroup struct {
	first   *portier.SignIn
	n       int
	sources map[string]int // entries by source address, at most sampledLogSources addresses
	more    bool           // some addresses were not counted in sources
}

// top is the source address that sent the most of the group's entries.
func (g *skippedGroup) top() string {
	top, most := "", 0
	for src, n := range g.sources {
		if n > most || (n == most && src < top) {
			top, most = src, n
		}
	}
	return top
}

// addresses says how many source addresses sent the group's entries.
func (g *skippedGroup) addresses() string {
	if g.more {
		return fmt.Sprintf("more than %d addresses", sampledLogSources)
	}
	if len(g.sources) == 1 {
		return "1 address"
	}
	return fmt.Sprintf("%d addresses", len(g.sources))
}

const (
	sampledLogRate  = 20
	sampledLogBurst = 100
	// sampledLogSummary is how long after the first skipped entry the summaries are written.
	sampledLogSummary = time.Second
	// sampledLogGroups bounds the groups counted at once, and sampledLogSources the addresses
	// counted per group, so that a flood from everywhere at everything costs bounded memory.
	sampledLogGroups  = 10000
	sampledLogSources = 256
)

func newSampledLog(record *Recorder, key func(*portier.SignIn) string, summary func(string, *skippedGroup) *portier.SignIn) *sampledLog {
	return &sampledLog{record: record, limit: rate.NewLimiter(sampledLogRate, sampledLogBurst), key: key, summary: summary,
		skipped: map[string]*skippedGroup{}}
}

// add logs e, or counts it for its group's summary.
func (l *sampledLog) add(e *portier.SignIn) {
	if l.limit.AllowN(e.Time, 1) {
		l.record.Add(e)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.skipped) == 0 {
		time.AfterFunc(sampledLogSummary, l.summarize)
	}
	k := l.key(e)
	g := l.skipped[k]
	if g == nil && len(l.skipped) >= sampledLogGroups {
		k, g = "", l.skipped[""]
	}
	if g == nil {
		g = &skippedGroup{first: e, sources: map[string]int{}}
		l.skipped[k] = g
	}
	g.n++
	if _, ok := g.sources[e.Source]; ok || len(g.sources) < sampledLogSources {
		g.sources[e.Source]++
	} else {
		g.more = true
	}
}

// summarize writes one entry for each group counted since the last summaries.
func (l *sampledLog) summarize() {
	l.mu.Lock()
	skipped := l.skipped
	l.skipped = map[string]*skippedGroup{}
	l.mu.Unlock()
	for k, g := range skipped {
		l.record.Add(l.summary(k, g))
	}
}

// newBusyLog is the sampled log of the attempts turned away at the edge: one group, whose
// summary names no user, as none of its attempts read one.
func newBusyLog(record *Recorder, process string) *sampledLog {
	return newSampledLog(record, func(*portier.SignIn) string { return "busy" }, func(_ string, g *skippedGroup) *portier.SignIn {
		return &portier.SignIn{Time: g.first.Time, Code: portier.CodeBusy, Process: process, Source: g.top(),
			Detail: fmt.Sprintf("busy: %d more attempts turned away before their accounts were read, in the %s from this time, from %s (this one sent the most); not logged one by one (at most %d a second are)",
				g.n, sampledLogSummary, g.addresses(), sampledLogRate)}
	})
}

// newLockedLog is the sampled log of the attempts answered "locked" from memory: one group per
// account (per name for an unknown one) and kind of browser, whose summary is in that
// account's sign-in log.
func newLockedLog(record *Recorder, process string) *sampledLog {
	return newSampledLog(record, func(e *portier.SignIn) string {
		return fmt.Sprintf("%s\x00%s\x00%t", e.UserID, e.Username, e.FamiliarDevice)
	}, func(k string, g *skippedGroup) *portier.SignIn {
		s := &portier.SignIn{Time: g.first.Time, Code: portier.CodeLocked, Process: process, Source: g.top(),
			UserID: g.first.UserID, Username: g.first.Username, FamiliarDevice: g.first.FamiliarDevice,
			Detail: fmt.Sprintf("account locked: %d more attempts answered locked, in the %s from this time, from %s (this one sent the most); not logged one by one (at most %d a second are)",
				g.n, sampledLogSummary, g.addresses(), sampledLogRate)}
		if k == "" {
			s.UserID, s.Username, s.FamiliarDevice = "", "", false
			s.Detail = fmt.Sprintf("accounts locked: %d more attempts at locked accounts beyond the %d counted one by one, answered locked, in the %s from this time, from %s; not logged one by one",
				g.n, sampledLogGroups, sampledLogSummary, g.addresses())
		}
		return s
	})
}
