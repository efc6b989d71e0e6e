package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

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
