package web

import (
	"errors"
	"fmt"
	"net/http"
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
