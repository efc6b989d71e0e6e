package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/selfservice"
)

// TestFailuresTable: every domain error code has its one status, wrapped or not; a
// self-service refusal is bad input; any other error is answered as an unavailable store.
func TestFailuresTable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{portier.Errorf(portier.EInvalid, "bad"), http.StatusBadRequest},
		{portier.Errorf(portier.EConflict, "taken"), http.StatusConflict},
		{portier.Errorf(portier.EForbidden, "no"), http.StatusForbidden},
		{portier.Errorf(portier.ENotFound, "gone"), http.StatusNotFound},
		{portier.Errorf(portier.EUnavailable, "down"), http.StatusServiceUnavailable},
		{portier.Errorf(portier.EInternal, "bug"), http.StatusServiceUnavailable},
		{fmt.Errorf("reading: %w", portier.Errorf(portier.ENotFound, "gone")), http.StatusNotFound},
		{&selfservice.Refusal{Reason: selfservice.ReasonWrongCode}, http.StatusBadRequest},
		{errors.New("driver: bad connection"), http.StatusServiceUnavailable},
	} {
		if got := failureOf(tc.err).status; got != tc.want {
			t.Errorf("%v: status %d, want %d", tc.err, got, tc.want)
		}
	}
	for _, code := range []string{portier.EInvalid, portier.EConflict, portier.EForbidden, portier.ENotFound, portier.EUnavailable, portier.EInternal} {
		if _, ok := failures[code]; !ok {
			t.Errorf("code %s has no row in failures", code)
		}
	}
}

// TestFailureOfAClientThatHungUpIsNoError: a store call cancelled with its request (the client
// closed the connection) is logged at debug level, not as an error; a store that fails, or a
// request past its own deadline, is an error.
func TestFailureOfAClientThatHungUpIsNoError(t *testing.T) {
	var buf bytes.Buffer
	s := &server{Deps: Deps{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}}
	hungUp, hangUp := context.WithCancel(context.Background())
	hangUp()
	late, stop := context.WithTimeout(context.Background(), 0)
	defer stop()
	tests := []struct {
		name  string
		ctx   context.Context
		err   error
		level string
	}{
		{"client hung up", hungUp, fmt.Errorf("postgres: charge a sign-in attempt: %w", hungUp.Err()), "level=DEBUG"},
		{"request deadline", late, fmt.Errorf("postgres: charge a sign-in attempt: %w", late.Err()), "level=ERROR"},
		{"store failed", context.Background(), errors.New("postgres: disk full"), "level=ERROR"},
	}
	for _, tc := range tests {
		buf.Reset()
		s.logFailure(httptest.NewRequestWithContext(tc.ctx, "POST", "/login", nil), tc.err)
		if got := buf.String(); !strings.Contains(got, tc.level) || strings.Count(got, "\n") != 1 {
			t.Errorf("%s: logged %q, want one line at %s", tc.name, got, tc.level)
		}
	}
}
