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
	store Transactor
	log   *slog.Logger

	flushMu sync.Mutex // one Flush at a time, so no entry is written twice
	// tries counts the flushes in which the store refused an entry on its own, for an
	// error that names no cause (guarded by flushMu).
	tries   map[*portier.SignIn]int
	mu      sync.Mutex
	pending []*portier.SignIn
	// dropped counts the entries Add dropped from the front of pending, so that a Flush
	// under way removes only what it settled.
	dropped int
	wake    chan struct{}
	done    chan struct{}
	closed  chan struct{}
}

// recorderBatch is the most entries one write takes; recorderMaxPending bounds memory under a
// flood (beyond it the oldest unwritten entries are dropped, and the drop is logged).
const (
	recorderBatch      = 500
	recorderMaxPending = 50000
	recorderInterval   = 100 * time.Millisecond
)

// NewRecorder starts a recorder; Close flushes and stops it.
func NewRecorder(store Transactor, log *slog.Logger) *Recorder {
	r := &Recorder{store: store, log: log, wake: make(chan struct{}, 1), done: make(chan struct{}), closed: make(chan struct{})}
	go r.loop()
	return r
}

// Add queues an entry.
func (r *Recorder) Add(e *portier.SignIn) {
	r.mu.Lock()
	if len(r.pending) >= recorderMaxPending {
		r.pending = r.pending[1:]
		r.dropped++
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

// Flush writes every queued entry now. An entry the store refuses (PostgreSQL takes no NUL in
// text) is logged, escaped, and dropped, so that one bad entry never holds back the others.
// It returns an error, and keeps the unwritten entries for the next try, when the store is
// down (or ctx ends), or when an entry failed alone for a reason the store did not name
// (dropped once it has so failed recorderMaxTries times).
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	for {
		r.mu.Lock()
		n := min(len(r.pending), recorderBatch)
		batch := append([]*portier.SignIn(nil), r.pending[:n]...)
		dropped := r.dropped
		r.mu.Unlock()
		if n == 0 {
			return nil
		}
		settled, err := r.write(ctx, batch)
		r.mu.Lock()
		r.pending = r.pending[max(0, settled-(r.dropped-dropped)):]
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
	err := r.store.Tx(ctx, func(tx portier.Tx) error { return tx.AppendSignIns(ctx, batch) })
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

// busyLog bounds the sign-in log entries of the attempts turned away at the edge
// (Engine.shedAtEdge): a spray can send thousands a second, each answered without a read, and
// one entry each would make the log the largest cost of the spray, in the store's writes and
// on disk. Up to busyLogRate a second (busyLogBurst at once) are logged one by one; the rest
// are counted, and one entry a second says how many there were. The metrics count them all.
type busyLog struct {
	record  *Recorder
	process string
	limit   *rate.Limiter

	mu      sync.Mutex
	skipped int       // entries not written since first
	first   time.Time // the time of the first of them
}

const (
	busyLogRate  = 20
	busyLogBurst = 100
	// busyLogSummary is how long after the first skipped entry the summary is written.
	busyLogSummary = time.Second
)

func newBusyLog(record *Recorder, process string) *busyLog {
	return &busyLog{record: record, process: process, limit: rate.NewLimiter(busyLogRate, busyLogBurst)}
}

// add logs e, an attempt turned away at the edge, or counts it for the summary.
func (b *busyLog) add(e *portier.SignIn) {
	if b.limit.AllowN(e.Time, 1) {
		b.record.Add(e)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.skipped == 0 {
		b.first = e.Time
		time.AfterFunc(busyLogSummary, b.summarize)
	}
	b.skipped++
}

// summarize writes one entry for the attempts counted since the last summary.
func (b *busyLog) summarize() {
	b.mu.Lock()
	n, first := b.skipped, b.first
	b.skipped = 0
	b.mu.Unlock()
	if n == 0 {
		return
	}
	b.record.Add(&portier.SignIn{Time: first, Code: portier.CodeBusy, Process: b.process,
		Detail: fmt.Sprintf("busy: %d more attempts turned away before their accounts were read, in the %s from this time; not logged one by one (at most %d a second are)",
			n, busyLogSummary, busyLogRate)})
}
