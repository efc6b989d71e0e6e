package password

import (
	"testing"

	"github.com/trustelem/zxcvbn"
)

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

// BenchmarkCheckLengths is the whole policy on a typical passphrase, and on the longest password
// accepted (1,024 bytes), whose strength estimate sees only its first strengthRunes characters.
// Run with -benchtime 2s: the first iterations also load the blocklist and zxcvbn's lists.
func BenchmarkCheckLengths(b *testing.B) {
	long := ""
	for i := 0; len(long) < MaxBytes; i++ {
		long += "correct horse battery staple " + string(rune('a'+i%26))
	}
	digits := make([]byte, MaxBytes) // the slowest input found for zxcvbn: many date and sequence matches
	for i := range digits {
		digits[i] = "31415926535897932384626433832795"[i%32]
	}
	for _, pw := range []struct{ name, pw string }{{"passphrase", "correct horse battery staple"}, {"1024 bytes", long[:MaxBytes]}, {"1024 digits", string(digits)}} {
		b.Run(pw.name, func(b *testing.B) {
			for b.Loop() {
				DefaultPolicy().Check(pw.pw, ctx)
			}
		})
	}
}

// BenchmarkGuessableUncapped is what the cap saves: zxcvbn on all 1,024 bytes.
// It takes seconds an iteration: run it with -benchtime 1x.
func BenchmarkGuessableUncapped(b *testing.B) {
	long := ""
	for i := 0; len(long) < MaxBytes; i++ {
		long += "correct horse battery staple " + string(rune('a'+i%26))
	}
	long = long[:MaxBytes]
	for b.Loop() {
		zxcvbn.PasswordStrength(long, nil)
	}
}

// BenchmarkGenerate is one generated password, checked against the whole policy: an import of
// directory.MaxImportRows users generates that many.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		Generate()
	}
}
