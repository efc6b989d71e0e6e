package password

import (
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/portier-id/portier/lockout"
)

// cheap are parameters that keep tests fast; only TestDefaultParams pays the real cost.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestDefaultParams(t *testing.T) {
	t.Parallel()
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v (OWASP)", got, want)
	}
	// The zero Hasher hashes at the defaults.
	var h Hasher
	enc, err := h.Hash("a password at the real cost")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(enc) {
		t.Fatalf("Hash() = %q, not a PHC argon2id string at the defaults", enc)
	}
	r, err := Hasher{Params: DefaultParams()}.Verify(enc, "a password at the real cost")
	if err != nil || !r.OK || r.NeedsRehash {
		t.Fatalf("Verify() = %+v, %v; want OK without rehash", r, err)
	}
}

func TestHashFormat(t *testing.T) {
	t.Parallel()
	h := Hasher{Params: cheap}
	a, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(a) {
		t.Fatalf("Hash() = %q, not a PHC argon2id string", a)
	}
	b, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of one password are equal (%q): the salt is not random", a)
	}
}

// TestReferenceVectors verifies hashes made by the argon2 reference implementation
// (phc-winner-argon2, src/test.c), so stored hashes move between implementations.
func TestReferenceVectors(t *testing.T) {
	t.Parallel()
	for _, enc := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
	} {
		r, err := Hasher{Params: cheap}.Verify(enc, "password")
		if err != nil || !r.OK {
			t.Errorf("Verify(%q, password) = %+v, %v; want OK", enc, r, err)
		}
		if r, err := (Hasher{Params: cheap}).Verify(enc, "Password"); err != nil || r.OK {
			t.Errorf("Verify(%q, Password) = %+v, %v; want not OK", enc, r, err)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	h := Hasher{Params: cheap}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	right, err := h.Verify(enc, "correct horse battery staple")
	if err != nil || !right.OK || right.NeedsRehash {
		t.Fatalf("right password: %+v, %v; want OK, no rehash", right, err)
	}
	wrong, err := h.Verify(enc, "correct horse battery stapler")
	if err != nil || wrong.OK || wrong.NeedsRehash {
		t.Fatalf("wrong password: %+v, %v; want not OK, no rehash", wrong, err)
	}
	if wrong.Fingerprint == (lockout.Fingerprint{}) || wrong.Fingerprint == right.Fingerprint {
		t.Fatalf("wrong password's fingerprint %x is zero or the right one's", wrong.Fingerprint)
	}
	again, err := h.Verify(enc, "correct horse battery stapler")
	if err != nil || again.Fingerprint != wrong.Fingerprint {
		t.Fatalf("one wrong password tried twice gives two fingerprints (%v): the lockout would count it twice", err)
	}
	// The fingerprint is the argon2id key itself: no extra work, no weaker than the hash.
	_, salt, _, err := decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte("correct horse battery stapler"), salt, cheap.Time, cheap.Memory, cheap.Threads, cheap.KeyLen)
	if string(wrong.Fingerprint[:]) != string(key) {
		t.Fatal("fingerprint is not the computed key")
	}
}

func TestFingerprintOtherKeyLength(t *testing.T) {
	t.Parallel()
	p := cheap
	p.KeyLen = 64
	h := Hasher{Params: p}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.Verify(enc, "something else entirely")
	if err != nil || r.OK {
		t.Fatalf("Verify() = %+v, %v", r, err)
	}
	_, salt, _, err := decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte("something else entirely"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if r.Fingerprint != sha256.Sum256(key) {
		t.Fatal("a 64-byte key's fingerprint is not its SHA-256")
	}
}

func TestNFKCEquivalence(t *testing.T) {
	t.Parallel()
	h := Hasher{Params: cheap}
	for _, tc := range []struct{ stored, typed string }{
		{"password correct horse", "ｐａｓｓｗｏｒｄ　ｃｏｒｒｅｃｔ　ｈｏｒｓｅ"}, // full-width letters and space
		{"café au lait!", "cafe\u0301 au lait!"},             // decomposed é
		{"cafe\u0301 au lait!", "café au lait!"},             // and the other way round
		{"office fine", "o\ufb03ce \ufb01ne"},                // ligatures ffi, fi
		{"x2 squared", "x² squared"},                         // superscript two
	} {
		enc, err := h.Hash(tc.stored)
		if err != nil {
			t.Fatal(err)
		}
		r, err := h.Verify(enc, tc.typed)
		if err != nil || !r.OK {
			t.Errorf("hash of %q does not verify %q: %+v, %v", tc.stored, tc.typed, r, err)
		}
	}
	// Case is not folded for hashing: NFKC only.
	enc, err := h.Hash("Password Correct Horse")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := h.Verify(enc, "password correct horse"); err != nil || r.OK {
		t.Errorf("hash verifies a password that differs in case: %+v, %v", r, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	old := Hasher{Params: cheap}
	enc, err := old.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	more := func(f func(*Params)) Params { p := cheap; f(&p); return p }
	for _, tc := range []struct {
		name string
		now  Params
		want bool
	}{
		{"same", cheap, false},
		{"more memory", more(func(p *Params) { p.Memory = 128 }), true},
		{"more time", more(func(p *Params) { p.Time = 2 }), true},
		{"longer salt", more(func(p *Params) { p.SaltLen = 32 }), true},
		{"longer key", more(func(p *Params) { p.KeyLen = 64 }), true},
		{"other threads", more(func(p *Params) { p.Threads = 2 }), false},
		{"less memory", more(func(p *Params) { p.Memory = 32 }), false},
	} {
		r, err := Hasher{Params: tc.now}.Verify(enc, "correct horse battery staple")
		if err != nil || !r.OK || r.NeedsRehash != tc.want {
			t.Errorf("%s: %+v, %v; want OK, NeedsRehash %v", tc.name, r, err, tc.want)
		}
		if r, err := (Hasher{Params: tc.now}).Verify(enc, "not the password at all"); err != nil || r.NeedsRehash {
			t.Errorf("%s: NeedsRehash on a wrong password (%v)", tc.name, err)
		}
	}
	// The zero Hasher compares against the defaults.
	if r, err := (Hasher{}).Verify(enc, "correct horse battery staple"); err != nil || !r.OK || !r.NeedsRehash {
		t.Errorf("zero Hasher: %+v, %v; want OK and NeedsRehash", r, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	const salt, key = "c29tZXNhbHQ", "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	good := "$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key
	if _, err := (Hasher{Params: cheap}).Verify(good, "x"); err != nil {
		t.Fatalf("the well-formed base case fails: %v", err)
	}
	for _, enc := range []string{
		"",
		"password",
		"$",
		"$$$$$",
		"$argon2id",
		"argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key + "$",
		"x$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key + "$",
		"$argon2i$v=19$m=256,t=2,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=256,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=256,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=019$m=256,t=2,p=1$" + salt + "$" + key,
		"$argon2id$m=256,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=256,t=2$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=256,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=256,t=2,p=1,k=1$" + salt + "$" + key,
		"$argon2id$v=19$m=x,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=-256,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+256,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=0256,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=256,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=256,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=256,t=2,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=4,t=2,p=1$" + salt + "$" + key,                    // below 8 KiB a thread
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key,           // 4 TiB: refused, not allocated
		"$argon2id$v=19$m=99999999999999999999,t=2,p=1$" + salt + "$" + key, // overflows uint32
		"$argon2id$v=19$m=256,t=4294967295,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$" + key, // padded
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHR$" + key,  // stray bits
		"$argon2id$v=19$m=256,t=2,p=1$c29t-XNhbHQ$" + key,  // URL alphabet
		"$argon2id$v=19$m=256,t=2,p=1$c29tZQ$" + key,       // 4-byte salt
		"$argon2id$v=19$m=256,t=2,p=1$$" + key,             // no salt
		"$argon2id$v=19$m=256,t=2,p=1$" + salt + "$",       // no key
		"$argon2id$v=19$m=256,t=2,p=1$" + salt + "$c29tZQ", // 4-byte key
		"$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key + "=",
		"$argon2id$v=19$m=256,t=2,p=1$" + salt + "$" + key + " ",
	} {
		r, err := Hasher{Params: cheap}.Verify(enc, "password")
		if err == nil || r.OK {
			t.Errorf("Verify(%q) = %+v, %v; want an error", enc, r, err)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
	bad := func(f func(*Params)) Params { p := cheap; f(&p); return p }
	for _, p := range []Params{
		{},
		bad(func(p *Params) { p.Threads = 0 }),
		bad(func(p *Params) { p.Time = 0 }),
		bad(func(p *Params) { p.Memory = 7 }),
		bad(func(p *Params) { p.Memory = 8; p.Threads = 2 }),
		bad(func(p *Params) { p.SaltLen = 4 }),
		bad(func(p *Params) { p.KeyLen = 8 }),
		bad(func(p *Params) { p.KeyLen = 1 << 20 }),
	} {
		if p.Validate() == nil {
			t.Errorf("%+v.Validate() = nil, want an error", p)
		}
		if p != (Params{}) {
			if _, err := (Hasher{Params: p}).Hash("correct horse battery staple"); err == nil {
				t.Errorf("Hash with %+v succeeded", p)
			}
		}
	}
}

func TestHashRefusesInvalidUTF8(t *testing.T) {
	t.Parallel()
	if _, err := (Hasher{Params: cheap}).Hash("correct horse \xff battery"); err == nil {
		t.Fatal("Hash accepted invalid UTF-8")
	}
}

func TestVerifyDummy(t *testing.T) {
	t.Parallel()
	h := Hasher{Params: cheap}
	secret := []byte("server secret of thirty-two bytes")
	a := h.VerifyDummy(secret, "nobody@example.com", "guess number one!")
	if a == (lockout.Fingerprint{}) {
		t.Fatal("zero fingerprint")
	}
	if b := h.VerifyDummy(secret, "nobody@example.com", "guess number one!"); b != a {
		t.Fatal("same name and password give two fingerprints: the lockout would count a repeat")
	}
	if b := h.VerifyDummy(secret, "nobody@example.com", "ｇｕｅｓｓ ｎｕｍｂｅｒ ｏｎｅ!"); b != a {
		t.Fatal("NFKC-equal passwords give two fingerprints")
	}
	for name, fp := range map[string]lockout.Fingerprint{
		"other password": h.VerifyDummy(secret, "nobody@example.com", "guess number two!"),
		"other name":     h.VerifyDummy(secret, "somebody@example.com", "guess number one!"),
		"other secret":   h.VerifyDummy([]byte("another secret"), "nobody@example.com", "guess number one!"),
	} {
		if fp == a {
			t.Errorf("%s gives the same fingerprint", name)
		}
	}
	// It is Verify's work: a hash with the derived salt gives Verify the same fingerprint.
	salt := dummySalt(secret, "nobody@example.com", int(cheap.SaltLen))
	enc := encode(cheap, salt, make([]byte, cheap.KeyLen))
	r, err := h.Verify(enc, "guess number one!")
	if err != nil || r.Fingerprint != a {
		t.Fatalf("Verify with the dummy salt: %+v, %v; want the dummy's fingerprint", r, err)
	}
	// Invalid parameters cost the default work rather than a panic.
	bad := Hasher{Params: Params{Memory: 1}}
	if bad.VerifyDummy(secret, "x", "y") != (Hasher{}).VerifyDummy(secret, "x", "y") {
		t.Fatal("invalid parameters do not fall back to the defaults")
	}
}

func TestDummySaltLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{8, 16, 32, 33, 64} {
		s := dummySalt([]byte("k"), "name", n)
		if len(s) != n {
			t.Errorf("dummySalt(%d) has %d bytes", n, len(s))
		}
		if n > 32 && strings.Contains(string(s[32:]), string(s[:n-32])) {
			t.Errorf("dummySalt(%d) repeats its first block", n)
		}
	}
}

// FuzzDecode checks that no stored string makes decoding panic, and that whatever decodes
// is within the bounds that keep Verify from panicking or allocating without limit.
func FuzzDecode(f *testing.F) {
	f.Add("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, enc string) {
		p, salt, key, err := decode(enc)
		if err != nil {
			return
		}
		if p.Validate() != nil || len(salt) != int(p.SaltLen) || len(key) != int(p.KeyLen) {
			t.Fatalf("decode(%q) = %+v with %d-byte salt and %d-byte key", enc, p, len(salt), len(key))
		}
		if encode(p, salt, key) != enc {
			t.Fatalf("decode(%q) does not encode back", enc)
		}
	})
}

// TestYield: a Hasher's Yield runs between the segments of every hash it computes (4 a pass),
// and leaves the result alone.
func TestYield(t *testing.T) {
	calls := 0
	h := Hasher{Params: cheap, Yield: func() { calls++ }}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := h.Verify(enc, "correct horse battery staple"); err != nil || !r.OK {
		t.Fatalf("Verify: %+v, %v", r, err)
	}
	plain := Hasher{Params: cheap}
	if h.VerifyDummy([]byte("secret"), "nobody", "guess") != plain.VerifyDummy([]byte("secret"), "nobody", "guess") {
		t.Fatal("a yielding dummy check gave another fingerprint")
	}
	if want := 3 * 4 * int(cheap.Time); calls != want {
		t.Fatalf("yield called %d times in a hash, a verification and a dummy check, want %d", calls, want)
	}
}
