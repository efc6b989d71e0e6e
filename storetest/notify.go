package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portier-id/portier"
)

// testPublishSubscribe: a message reaches a subscriber once its transaction commits, never
// when it rolls back, and only on its own channel.
func testPublishSubscribe(t *testing.T, s portier.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan string, 10)
	other := make(chan string, 10)
	if err := s.Subscribe(ctx, "test-a", func(p string) { got <- p }); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := s.Subscribe(ctx, "test-b", func(p string) { other <- p }); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	rollback := errors.New("roll back")
	if err := s.Tx(ctx, func(tx portier.Tx) error {
		if err := tx.Publish(ctx, "test-a", "never"); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatalf("Tx: %v", err)
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.Publish(ctx, "test-a", "user-1") })
	select {
	case p := <-got:
		if p != "user-1" {
			t.Fatalf("received %q, want user-1 (a rolled-back message arrived?)", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a committed message did not arrive")
	}
	// The rolled-back message never comes, and the other channel heard nothing.
	select {
	case p := <-got:
		t.Fatalf("received %q after the committed one", p)
	case p := <-other:
		t.Fatalf("channel test-b received %q", p)
	case <-time.After(200 * time.Millisecond):
	}
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error {
		if err := tx.Publish(ctx, "test-a", string(make([]byte, 1001))); portier.ErrorCode(err) != portier.EInvalid {
			t.Errorf("a 1,001-byte payload: %v, want EInvalid", err)
		}
		return nil
	})
}
