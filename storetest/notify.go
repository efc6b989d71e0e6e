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
	publishRolledBack(t, s, "test-a")
	inTx(t, s, func(ctx context.Context, tx portier.Tx) error { return tx.Publish(ctx, "test-a", "user-1") })
	wantMessage(t, got, "user-1")
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

// publishRolledBack publishes "never" on channel in a transaction that rolls back.
func publishRolledBack(t *testing.T, s portier.Store, channel string) {
	t.Helper()
	rollback := errors.New("roll back")
	if err := s.Tx(t.Context(), func(tx portier.Tx) error {
		if err := tx.Publish(t.Context(), channel, "never"); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatalf("Tx: %v", err)
	}
}

// wantMessage fails the test unless want is the next payload on got, within 10 seconds.
func wantMessage(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case p := <-got:
		if p != want {
			t.Fatalf("received %q, want %s (a rolled-back message arrived?)", p, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a committed message did not arrive")
	}
}
