package web

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

// Busy answers are written in turn: while every turn is taken the next waits, a request whose
// client left while waiting gets none, and a turn that ends is the next one's.
func TestBusyAnswersAreWrittenInTurn(t *testing.T) {
	s := &server{busyWriters: make(chan struct{}, 1)}
	r := httptest.NewRequest("POST", "/login", nil)
	release, ok := s.writeBusy(r)
	if !ok {
		t.Fatal("the first busy answer got no turn")
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan bool, 1)
	go func() {
		_, ok := s.writeBusy(r.WithContext(ctx))
		got <- ok
	}()
	cancel()
	if <-got {
		t.Fatal("a request that ended while every turn was taken got one")
	}
	release()
	next, ok := s.writeBusy(r)
	if !ok {
		t.Fatal("no turn after the first ended")
	}
	next()
	if len(s.busyWriters) != 0 {
		t.Fatalf("%d turns held after every answer ended", len(s.busyWriters))
	}
}

// A busy answer is held until the hold has passed since its attempt began, and no longer: the
// part its attempt waited already counts. Past the bound of held answers, the next is written
// at once; a client that leaves while its answer is held gets nothing.
func TestBusyAnswersAreHeldWithinABound(t *testing.T) {
	type timer struct {
		d    time.Duration
		fire chan time.Time
	}
	timers := make(chan timer, 4)
	s := &server{busyHeld: make(chan struct{}, 1), Deps: Deps{BusyHold: time.Second},
		after: func(d time.Duration) (<-chan time.Time, func()) {
			tm := timer{d, make(chan time.Time, 1)}
			timers <- tm
			return tm.fire, func() {}
		}}
	r := httptest.NewRequest("POST", "/login", nil)

	held := make(chan bool, 1)
	go func() { held <- s.holdBusy(r, 300*time.Millisecond) }()
	first := <-timers
	if first.d != 700*time.Millisecond {
		t.Fatalf("held for %s after 300ms of waiting, want the 700ms left of the hold", first.d)
	}
	// The bound (one) is taken: the next answer is not held.
	if !s.holdBusy(r, 0) || len(timers) != 0 {
		t.Fatal("an answer past the bound of held answers was held")
	}
	select {
	case <-held:
		t.Fatal("the held answer was let go before its hold passed")
	default:
	}
	first.fire <- time.Now()
	if !<-held {
		t.Fatal("a held answer whose hold passed is not to be written")
	}
	if !s.holdBusy(r, time.Second) || len(timers) != 0 {
		t.Fatal("an attempt that waited the whole hold already was held again")
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { held <- s.holdBusy(r.WithContext(ctx), 0) }()
	<-timers
	cancel()
	if <-held {
		t.Fatal("a client that left while held is to get an answer")
	}
	if len(s.busyHeld) != 0 {
		t.Fatalf("%d answers still counted as held after every hold ended", len(s.busyHeld))
	}
}
