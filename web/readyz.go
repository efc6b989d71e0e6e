package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/portier-id/portier"
)

// readyFor is how long one probe's answer serves every other: a flood of probes costs one
// write a second. It is real time: it rations work, it is no policy duration.
const readyFor = time.Second

// readiness remembers the last probe of the store.
type readiness struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// handleReadyz answers 200 when the directory's store commits a write within Timeouts.Ready
// (directory.Service.Ready), 503 otherwise: a reachable store that cannot write (a full disk,
// another process holding SQLite's write lock, a PostgreSQL lock or read-only standby) takes
// the process out of rotation, since sign-ins write. The JSON answer is for load balancers and
// orchestrators; its status is the table's (fail.go) for an unavailable store.
func (s *server) handleReadyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.probe(r.Context()); err != nil {
			writeJSON(w, failures[portier.EUnavailable].status, map[string]string{"status": "unavailable", "error": portier.ErrorMessage(err)})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

// probe writes the heartbeat, or returns the answer of a probe less than readyFor old. Probes
// that arrive during one wait for it and share its answer.
func (s *server) probe(ctx context.Context) error {
	s.ready.mu.Lock()
	defer s.ready.mu.Unlock()
	if !s.ready.at.IsZero() && time.Since(s.ready.at) < readyFor {
		return s.ready.err
	}
	// The answer serves other probes too: a client that hangs up must not cut it short.
	limit := s.Timeouts.orDefaults().Ready
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()
	err := s.Directory.Ready(ctx)
	if err != nil && ctx.Err() != nil {
		err = portier.Errorf(portier.EUnavailable, "The store did not commit a write within %v.", limit)
	}
	s.ready.at, s.ready.err = time.Now(), err
	return err
}
