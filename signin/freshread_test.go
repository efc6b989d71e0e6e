package signin

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFreshReadNeverAnswersFromAnOlderRead: every caller gets a value read after it asked
// (here: at least the value the store held when it asked), and callers that ask together
// share reads.
func TestFreshReadNeverAnswersFromAnOlderRead(t *testing.T) {
	var value, reads atomic.Int64
	f := &freshRead{timeout: time.Minute, read: func(context.Context) (int64, error) {
		reads.Add(1)
		return value.Load(), nil
	}}
	var wg sync.WaitGroup
	errs := make(chan error, 2000)
	for range 2000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			before := value.Add(1) // a commit that happened before the caller asked
			got, err := f.get(context.Background())
			if err != nil {
				errs <- err
				return
			}
			if got < before {
				t.Errorf("got %d, read before the caller asked (the store held %d)", got, before)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := reads.Load(); n >= 2000 {
		t.Errorf("%d reads for 2000 callers: none shared", n)
	}
	t.Logf("%d reads for 2000 callers", reads.Load())
}

// TestFreshReadGivesUpWithItsCaller: a caller whose context ends stops waiting.
func TestFreshReadGivesUpWithItsCaller(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	f := &freshRead{timeout: time.Minute, read: func(ctx context.Context) (int64, error) {
		<-block
		return 0, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.get(ctx); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestFreshReadServesWithinMaxAge: a read serves the callers of maxAge after it began, and
// with no maxAge every caller waits for a read of its own.
func TestFreshReadServesWithinMaxAge(t *testing.T) {
	for _, c := range []struct {
		maxAge time.Duration
		reads  int64
	}{{time.Hour, 1}, {0, 3}} {
		var reads atomic.Int64
		f := &freshRead{timeout: time.Minute, maxAge: c.maxAge, read: func(context.Context) (int64, error) {
			return reads.Add(1), nil
		}}
		for range 3 {
			if _, err := f.get(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if n := reads.Load(); n != c.reads {
			t.Errorf("maxAge %v: %d reads for 3 callers in a row, want %d", c.maxAge, n, c.reads)
		}
	}
}
