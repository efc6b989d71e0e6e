package signin

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/portier-id/portier"
)

// Recorder writes the sign-in log in batches, so that a flood of attempts costs one write
// transaction per batch rather than one per attempt.
type Recorder struct {
	store portier.Store
	log   *slog.Logger

	flushMu sync.Mutex // one Flush at a time, so no entry is written twice
	mu      sync.Mutex
	pending []*portier.SignIn
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
func NewRecorder(store portier.Store, log *slog.Logger) *Recorder {
	r := &Recorder{store: store, log: log, wake: make(chan struct{}, 1), done: make(chan struct{}), closed: make(chan struct{})}
	go r.loop()
	return r
}

// Add queues an entry.
func (r *Recorder) Add(e *portier.SignIn) {
	r.mu.Lock()
	if len(r.pending) >= recorderMaxPending {
		r.pending = r.pending[1:]
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

// Flush writes every queued entry now.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	for {
		r.mu.Lock()
		n := min(len(r.pending), recorderBatch)
		batch := append([]*portier.SignIn(nil), r.pending[:n]...)
		r.mu.Unlock()
		if n == 0 {
			return nil
		}
		if err := r.store.Tx(ctx, func(tx portier.Tx) error { return tx.AppendSignIns(ctx, batch) }); err != nil {
			return err
		}
		r.mu.Lock()
		r.pending = r.pending[n:]
		r.mu.Unlock()
	}
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
			r.log.Error("cannot write the sign-in log; will retry", "err", err)
		}
	}
}

// Close stops the recorder after writing what is queued.
func (r *Recorder) Close(ctx context.Context) error {
	close(r.done)
	<-r.closed
	return r.Flush(ctx)
}
