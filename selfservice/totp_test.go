package selfservice

import (
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func TestTOTPMatch(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	base := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC) // a step boundary
	code := func(at time.Time) string {
		c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	step := base.Unix() / 30
	tests := []struct {
		name     string
		code     string
		now      time.Time
		lastStep int64
		ok       bool
	}{
		{"current step", code(base), base, 0, true},
		{"typed with a space", code(base)[:3] + " " + code(base)[3:], base, 0, true},
		{"one step late (clock skew)", code(base), base.Add(30 * time.Second), 0, true},
		{"one step early (clock skew)", code(base.Add(30 * time.Second)), base, 0, true},
		{"two steps late", code(base), base.Add(60 * time.Second), 0, false},
		{"replayed in its window", code(base), base.Add(10 * time.Second), step, false},
		{"the next step's code after the last accepted", code(base.Add(30 * time.Second)), base.Add(30 * time.Second), step, true},
		{"wrong code", "000000", base, 0, code(base) == "000000"},
		{"too short", "12345", base, 0, false},
		{"pasted with tabs and a no-break space", "\t" + code(base) + "\u00a0\n", base, 0, true},
		{"a leading zero added", "0" + code(base), base, 0, false},
		{"replayed with white space added", " " + code(base) + " ", base.Add(10 * time.Second), step, false},
		{"replayed with a leading zero added", "0" + code(base), base.Add(10 * time.Second), step, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := totpMatch(secret, tc.code, tc.now, tc.lastStep)
			if ok != tc.ok {
				t.Fatalf("totpMatch = %v, want %v", ok, tc.ok)
			}
		})
	}
}

func TestCodes(t *testing.T) {
	s := &Service{secret: []byte("0123456789abcdef0123456789abcdef")}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c := newCode()
		if len(c) != CodeDigits {
			t.Fatalf("code %q is not %d digits", c, CodeDigits)
		}
		seen[c] = true
	}
	if len(seen) < 195 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	mac := s.codeMAC("recover", "flow", "12345678")
	if !s.codeMatches(mac, "recover", "flow", "1234 5678") || s.codeMatches(mac, "recover", "other-flow", "12345678") ||
		s.codeMatches(mac, "register", "flow", "12345678") || s.codeMatches(mac, "recover", "flow", "12345679") {
		t.Fatal("a code matched where it should not, or not where it should")
	}
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{"jane.doe@example.org": "ja******@example.org", "a@b.nl": "a***@b.nl", "bad": "***"} {
		if got := MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
