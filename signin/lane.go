package signin

import (
	"context"
	"sync"

	"github.com/portier-id/portier/lockout"
)

// lanes let this process write a browser's own counter one write at a time (the charges,
// the wrong passwords' settlements and the refunds of the attempts from that browser), and
// remember what the last write left in the counter. With that, an attempt charges the counter
// in the round trip that reads it (ChargeAttempt), swapping from the state its lane remembers.
// That state is right unless another process wrote the counter meanwhile (a browser that signs
// in through two processes at once), and a swap that finds it wrong costs one swap more, never
// a wrong count. Without lanes, parallel sign-ins from one browser each read the counter and
// then lose their swaps to each other's charges and settlements.
//
// A right password's settlement only tells the lane that the counter starts afresh, and is
// written after, outside the turn: held through the settlement's durable commit, the turn kept
// the browser's next attempts from their charge, and so from the hashing, long enough to
// leave the cores idle (measured: 6-7 % idle against 3-4 %, and 7 % fewer sign-ins; see
// BENCHMARKS.md). A charge that overtakes the settlement swaps again.
//
// A lane lives while attempts that joined it are running, so lanes are bounded by the attempts
// in flight. A new lane starts from the zero State: a browser's counter between its sign-ins is
// gone, removed by the last one's settlement.
type lanes struct {
	mu sync.Mutex
	m  map[lockout.Counter]*lane
}

// lane is one counter's: the turn to write it, and its state as the last write left it.
type lane struct {
	counter lockout.Counter
	turn    chan struct{} // holds a token while a write is under way
	joined  int           // attempts that joined and have not left; guarded by lanes.mu
	state   lockout.State // guarded by turn
}

// join returns counter c's lane, made if need be, for an attempt that will write c; the
// attempt leaves it when it is done.
func (l *lanes) join(c lockout.Counter) *lane {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[lockout.Counter]*lane)
	}
	ln := l.m[c]
	if ln == nil {
		ln = &lane{counter: c, turn: make(chan struct{}, 1)}
		l.m[c] = ln
	}
	ln.joined++
	return ln
}

// leave ends an attempt's use of ln (nil for none); the last to leave removes it.
func (l *lanes) leave(ln *lane) {
	if ln == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if ln.joined--; ln.joined == 0 {
		delete(l.m, ln.counter)
	}
}

// write waits for the lane's turn (until ctx ends), then runs fn, one write to the counter,
// with the counter's state as the lane knows it; fn leaves in it what it wrote, or found.
func (ln *lane) write(ctx context.Context, fn func(state *lockout.State) error) error {
	select {
	case ln.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-ln.turn }()
	return fn(&ln.state)
}
