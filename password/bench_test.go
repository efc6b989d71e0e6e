package password

import "testing"

// The benchmarks run at DefaultParams: their figures are the ceiling on sign-ins a second.

func BenchmarkHash(b *testing.B) {
	h := Hasher{Params: DefaultParams()}
	for b.Loop() {
		if _, err := h.Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := Hasher{Params: DefaultParams()}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if r, err := h.Verify(enc, "correct horse battery staple"); err != nil || !r.OK {
			b.Fatal(r, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

// BenchmarkVerifyParallel verifies on every core at once (GOMAXPROCS goroutines), the
// throughput of a busy server.
func BenchmarkVerifyParallel(b *testing.B) {
	h := Hasher{Params: DefaultParams()}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, err := h.Verify(enc, "correct horse battery staple"); err != nil || !r.OK {
				b.Error(r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}

func BenchmarkVerifyDummy(b *testing.B) {
	h := Hasher{Params: DefaultParams()}
	secret := []byte("server secret")
	for b.Loop() {
		h.VerifyDummy(secret, "nobody@example.com", "correct horse battery staple")
	}
}
