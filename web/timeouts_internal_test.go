package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestEveryRequestHasADeadline: a handler's context ends at Timeouts.Request, an upload's
// (the CSV import, a log export) at the longer Timeouts.Upload.
func TestEveryRequestHasADeadline(t *testing.T) {
	s := &server{Deps: Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Timeouts: Timeouts{Request: time.Minute, Upload: time.Hour}}}
	tests := []struct {
		method, target string
		upload         bool
	}{
		{"POST", "/login", false},
		{"GET", "/admin/signins", false},
		{"POST", "/admin/users/import", true},
		{"GET", "/admin/users/import", false},
		{"GET", "/admin/signins?format=csv", true},
		{"GET", "/admin/audit?format=csv&action=user.unlock", true},
	}
	for _, tc := range tests {
		var deadline time.Time
		var ok bool
		h := s.deadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { deadline, ok = r.Context().Deadline() }))
		start := time.Now()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.target, nil))
		if !ok {
			t.Fatalf("%s %s: no deadline", tc.method, tc.target)
		}
		// Upload's hour against Request's minute: far apart, so no clock jitter matters.
		if long := deadline.Sub(start) > 30*time.Minute; long != tc.upload {
			t.Errorf("%s %s: deadline in %v, want the upload's: %v", tc.method, tc.target, deadline.Sub(start).Round(time.Second), tc.upload)
		}
	}
}
