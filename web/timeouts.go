package web

import (
	"context"
	"net/http"
	"time"
)

// Timeouts bound how long a connection may hold the server, so that clients that stall (a
// body that never ends, an answer never read, a keep-alive connection left open) cannot pile
// up until the process runs out of connections or memory.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included: a form is at most 64 KiB.
	Read time.Duration
	// Write bounds a request from the end of its headers to the last byte of its answer.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next request.
	Idle time.Duration
	// Request is the deadline of a request's context: the store work, the password check and
	// the waits for them give up then and the answer is 503.
	Request time.Duration
	// Upload replaces Read, Write and Request for the routes that move a lot of data: the CSV
	// import (up to 16 MiB) and the log exports (up to 100,000 rows).
	Upload time.Duration
	// Ready bounds /readyz's write to the store: past it the process is not ready.
	Ready time.Duration
}

// DefaultTimeouts returns the defaults the README documents. Upload lets a 16 MiB import
// through at about 30 KB/s.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		ReadHeader: 10 * time.Second,
		Read:       30 * time.Second,
		Write:      60 * time.Second,
		Idle:       120 * time.Second,
		Request:    30 * time.Second,
		Upload:     10 * time.Minute,
		Ready:      2 * time.Second,
	}
}

// orDefaults fills each unset (zero or negative) timeout with its default.
func (t Timeouts) orDefaults() Timeouts {
	d := DefaultTimeouts()
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.ReadHeader, &d.ReadHeader}, {&t.Read, &d.Read}, {&t.Write, &d.Write},
		{&t.Idle, &d.Idle}, {&t.Request, &d.Request}, {&t.Upload, &d.Upload}, {&t.Ready, &d.Ready},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// HTTPServer returns an http.Server for h with the connection timeouts of t (unset ones at
// their defaults). h should come from NewServer with the same Timeouts, which extends them
// for the upload routes.
func HTTPServer(h http.Handler, t Timeouts) *http.Server {
	t = t.orDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
	}
}

// isUpload reports whether r is one of the requests that move a lot of data: a POST with a
// large body bound (routes.go's largeBodies) or a CSV export of a log.
func isUpload(r *http.Request) bool {
	if _, ok := largeBodies[r.URL.Path]; ok && r.Method == http.MethodPost {
		return true
	}
	return r.Method == http.MethodGet && (r.URL.Path == "/admin/signins" || r.URL.Path == "/admin/audit") && r.URL.Query().Get("format") == "csv"
}

// deadlines gives every request a context deadline, Timeouts.Request; an upload gets
// Timeouts.Upload instead, for its context and its connection's read and write deadlines.
// It runs before anything reads the body, so that the longer read deadline is in place
// before the CSRF check parses the form.
func (s *server) deadlines(next http.Handler) http.Handler {
	t := s.Timeouts.orDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		budget := t.Request
		if isUpload(r) {
			budget = t.Upload
			end := time.Now().Add(budget)
			rc := http.NewResponseController(w)
			// Only a connection that cannot move its deadlines (a test recorder, HTTP/2
			// without support) refuses; it keeps the server's, which is safe, only shorter.
			if err := rc.SetReadDeadline(end); err != nil {
				s.Log.Debug("cannot extend the read deadline of an upload", "err", err)
			}
			if err := rc.SetWriteDeadline(end); err != nil {
				s.Log.Debug("cannot extend the write deadline of an upload", "err", err)
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), budget)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
