package postgres_test

import (
	"testing"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/postgres"
	"github.com/portier-id/portier/storetest"
)

func BenchmarkKeep(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) portier.Store {
		return open(b, postgres.DefaultTestURL+"&search_path=bench1m")
	})
}
