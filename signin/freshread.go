package signin

import (
	"context"
	"sync"
	"time"
)

// freshRead reads one value from the store for many callers at once. A caller gets the
// result of a read that started after it asked, or at most maxAge before, so it sees
// everything committed before that moment; callers that ask while a read is under way share
// the next one. A flood at a locked account thus costs one store read per maxAge (or per
// round trip) instead of one per attempt.
type freshRead struct {
	read func(ctx context.Context) (int64, error)
	// timeout bounds one read, which runs on behalf of every caller waiting for it.
	timeout time.Duration
	// maxAge is how long before a caller asked its read may have started; zero: after.
	maxAge time.Duration

	mu      sync.Mutex
	next    *readResult // the read that starts next; callers join it until it starts
	running bool        // a goroutine is running reads
	last    *readResult // the last read that succeeded, and when it started
	lastAt  time.Time
}

type readResult struct {
	done chan struct{}
	v    int64
	err  error
}

// get returns a value read after the call began, or ctx's error.
func (f *freshRead) get(ctx context.Context) (int64, error) {
	f.mu.Lock()
	if f.last != nil && time.Since(f.lastAt) < f.maxAge {
		v := f.last.v
		f.mu.Unlock()
		return v, nil
	}
	if f.next == nil {
		f.next = &readResult{done: make(chan struct{})}
	}
	r := f.next
	if !f.running {
		f.running = true
		go f.loop()
	}
	f.mu.Unlock()
	select {
	case <-r.done:
		return r.v, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// loop runs reads while callers wait for one, then ends.
func (f *freshRead) loop() {
	for {
		f.mu.Lock()
		r := f.next
		f.next = nil
		if r == nil {
			f.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
		r.v, r.err = f.read(ctx)
		cancel()
		if r.err == nil {
			f.mu.Lock()
			f.last, f.lastAt = r, start
			f.mu.Unlock()
		}
		close(r.done)
	}
}
