package web

import (
	"context"
	"net/http/httptest"
	"testing"
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
