package selfservice

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
)

// testFlow is a flow type of the contract test's own.
type testFlow struct {
	flowMeta
	N    int    `json:"n"`
	Note string `json:"note,omitempty"`
}

// TestFlowStore is flowStore's contract, on both stores: a saved flow loads back typed with
// its token's fields; a missing, other-kind or expired one is ReasonExpired; a loaded one
// saves as an update; end removes it; a load inside a transaction locks the flow.
func TestFlowStore(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		clock := testenv.NewClock()
		fs := flowStore[testFlow, *testFlow]{kind: portier.TokenRecovery, life: time.Hour, now: clock.Now}
		tx := func(fn func(tx portier.Tx) error) {
			t.Helper()
			if err := store.Tx(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		wantGone := func(err error, over bool) {
			t.Helper()
			var ref *Refusal
			if !errors.As(err, &ref) || ref.Reason != ReasonExpired || isOver(err) != over {
				t.Fatalf("load = %v, want the Refusal %q (over %v)", err, ReasonExpired, over)
			}
		}

		created := clock.Now()
		f := &testFlow{flowMeta: flowMeta{ID: "flow-1", UserID: ""}, N: 1, Note: "first"}
		tx(func(tx portier.Tx) error { return fs.save(ctx, tx, f) })
		if !f.stored || !f.Expires.Equal(created.Add(time.Hour)) {
			t.Fatalf("after the first save: stored %v, expires %v; want true, %v", f.stored, f.Expires, created.Add(time.Hour))
		}
		tok, err := store.Token(ctx, portier.TokenRecovery, "flow-1")
		if err != nil || !tok.Created.Equal(created) || !tok.Expires.Equal(created.Add(time.Hour)) {
			t.Fatalf("stored token = %+v, %v; want created %v, expiring an hour later", tok, err, created)
		}

		// Read outside a transaction, the flow comes back typed, with its token's fields.
		got, err := fs.load(ctx, store, "flow-1")
		if err != nil || got.N != 1 || got.Note != "first" || got.ID != "flow-1" || !got.stored || !got.Expires.Equal(f.Expires) {
			t.Fatalf("load = %+v, %v; want the saved flow", got, err)
		}

		// A loaded flow saves as an update: its data changes, its creation and expiry do not.
		clock.Advance(10 * time.Minute)
		tx(func(tx portier.Tx) error {
			g, err := fs.load(ctx, tx, "flow-1")
			if err != nil {
				return err
			}
			g.N, g.Note = 2, ""
			return fs.save(ctx, tx, g)
		})
		if got, err = fs.load(ctx, store, "flow-1"); err != nil || got.N != 2 || got.Note != "" || !got.Expires.Equal(f.Expires) {
			t.Fatalf("after an update: %+v, %v", got, err)
		}
		if tok, err = store.Token(ctx, portier.TokenRecovery, "flow-1"); err != nil || !tok.Created.Equal(created) {
			t.Fatalf("an update moved the creation time: %+v, %v", tok, err)
		}

		// A second insert of the same id is refused, not an overwrite.
		dup := &testFlow{flowMeta: flowMeta{ID: "flow-1"}, N: 99}
		if err := store.Tx(ctx, func(tx portier.Tx) error { return fs.save(ctx, tx, dup) }); portier.ErrorCode(err) != portier.EConflict {
			t.Fatalf("saving a new flow over a stored id: %v, want EConflict", err)
		}

		// Missing, and of another kind: gone, not over.
		_, err = fs.load(ctx, store, "no-such-flow")
		wantGone(err, false)
		other := flowStore[testFlow, *testFlow]{kind: portier.TokenEnroll, life: time.Hour, now: clock.Now}
		_, err = other.load(ctx, store, "flow-1")
		wantGone(err, false)

		// Expiry: usable until the last moment, over from Expires on, and then still returned
		// with the error (the mailer drops and logs it).
		clock.Advance(f.Expires.Sub(clock.Now()) - time.Nanosecond)
		if _, err := fs.load(ctx, store, "flow-1"); err != nil {
			t.Fatalf("load a moment before expiry: %v", err)
		}
		clock.Advance(time.Nanosecond)
		got, err = fs.load(ctx, store, "flow-1")
		wantGone(err, true)
		if got == nil || got.N != 2 {
			t.Fatalf("an expired flow comes back as %+v, want it with the error", got)
		}

		// end removes it; ending it again is no error; saving it then is ENotFound.
		tx(func(tx portier.Tx) error { return fs.end(ctx, tx, got) })
		_, err = fs.load(ctx, store, "flow-1")
		wantGone(err, false)
		tx(func(tx portier.Tx) error { return fs.end(ctx, tx, got) })
		if err := store.Tx(ctx, func(tx portier.Tx) error { return fs.save(ctx, tx, got) }); portier.ErrorCode(err) != portier.ENotFound {
			t.Fatalf("saving an ended flow: %v, want ENotFound", err)
		}

		// Unreadable data is an error of its own, not a gone flow.
		tx(func(tx portier.Tx) error {
			return tx.InsertToken(ctx, &portier.Token{Kind: portier.TokenRecovery, ID: "garbled", Data: []byte("{"), Created: clock.Now(), Expires: clock.Now().Add(time.Hour)})
		})
		if _, err := fs.load(ctx, store, "garbled"); err == nil || errors.As(err, new(*Refusal)) {
			t.Fatalf("load of unreadable data = %v, want an error that is no Refusal", err)
		}

		// A load inside a transaction locks the flow until it ends: concurrent steps that each
		// load, add one and save lose no update.
		counter := &testFlow{flowMeta: flowMeta{ID: "counter"}}
		tx(func(tx portier.Tx) error { return fs.save(ctx, tx, counter) })
		const steps = 8
		var wg sync.WaitGroup
		errs := make(chan error, steps)
		for range steps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- store.Tx(ctx, func(tx portier.Tx) error {
					c, err := fs.load(ctx, tx, "counter")
					if err != nil {
						return err
					}
					c.N++
					return fs.save(ctx, tx, c)
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if c, err := fs.load(ctx, store, "counter"); err != nil || c.N != steps {
			t.Fatalf("after %d concurrent steps the flow counts %+v (%v), want %d", steps, c, err, steps)
		}
	})
}
