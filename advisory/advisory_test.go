package advisory

import (
	"testing"

	"github.com/portier-id/portier/internal/testenv"
)

// eachStore runs fn as a parallel subtest on each store kind; fn opens its own store(s)
// from the backend, so tests that need several processes on one database can.
func eachStore(t *testing.T, fn func(t *testing.T, b testenv.Backend)) {
	t.Helper()
	t.Parallel()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}
