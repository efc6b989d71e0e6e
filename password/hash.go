// Package password holds everything Portier knows about passwords, and nothing of SQL or HTTP:
// argon2id hashing and verification (hash.go), the NIST SP 800-63B-4 policy with its context
// words and the shipped blocklist of common and breached passwords (policy.go, blocklist.go),
// and generated passwords (generate.go).
//
// Every function normalises a password to Unicode NFKC itself, so a password typed in a
// full-width or otherwise compatible form is the same password, and no caller can forget.
package password

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/portier-id/portier/internal/argon2"
	"github.com/portier-id/portier/lockout"
)

// Params are argon2id's cost parameters and output sizes.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism; it is part of the hash, not only a speed-up.
	Threads uint8
	// SaltLen is the length of a new hash's random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived key in bytes.
	KeyLen uint32
}

// Bounds on parameters, outside which a hash is malformed rather than merely unusual: they keep
// a corrupt stored hash from making Verify panic in argon2 or allocate without limit.
const (
	minSaltLen = 8       // the argon2 specification's minimum
	maxSaltLen = 64      // more adds nothing
	minKeyLen  = 16      // less is too weak to tell passwords apart
	maxKeyLen  = 128     // more adds nothing
	maxMemory  = 4 << 20 // 4 GiB in KiB
	maxTime    = 1 << 10
)

// DefaultParams returns OWASP's recommendation for argon2id: 19 MiB, 2 passes, 1 thread,
// a 16-byte salt and a 32-byte key. Tests lower the cost on their own copy, never here.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate returns an error when argon2id cannot use p, or when p is beyond the bounds that
// tell a sane hash from a corrupt one.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("password: argon2id needs at least 1 thread")
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: argon2id time %d is outside 1..%d", p.Time, maxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("password: argon2id memory %d KiB is outside %d..%d", p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: salt length %d is outside %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: key length %d is outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// weakerThan reports whether a hash made with p should be redone with q. Threads is left out:
// more or fewer lanes over the same memory and passes cost an attacker the same.
func (p Params) weakerThan(q Params) bool {
	return p.Memory < q.Memory || p.Time < q.Time || p.SaltLen < q.SaltLen || p.KeyLen < q.KeyLen
}

// memories keeps argon2id's working memory (19 MiB a hash at the default parameters) from one
// hash to the next, instead of leaving 19 MiB of garbage per hash to the collector: a server
// verifying 60 passwords a second would otherwise collect every third hash and mark its whole
// heap each time (BENCHMARKS.md, "argon2id's memory reused"). A Memory unused for two
// collections is freed with the pool's other entries, so an idle server gives it back.
var memories sync.Pool

// keptMemory is the largest working memory, in KiB, put back for reuse: a stored hash with
// unusual parameters (up to maxMemory) gets its memory once and lets it go.
const keptMemory = 64 << 10

// idKey derives argon2id's key of pw's NFKC form in a reused working memory.
func idKey(pw string, salt []byte, p Params, yield func()) []byte {
	m, _ := memories.Get().(*argon2.Memory)
	if m == nil {
		m = new(argon2.Memory)
	}
	key := m.IDKeyYield([]byte(Normalize(pw)), salt, p.Time, p.Memory, p.Threads, p.KeyLen, yield)
	if m.Size() <= keptMemory {
		memories.Put(m)
	}
	return key
}

// Hasher hashes and verifies passwords with argon2id.
// The zero Hasher uses DefaultParams.
type Hasher struct {
	// Params are the parameters of new hashes and of VerifyDummy; stored hashes are verified
	// with their own.
	Params Params
	// Yield, when set, is called between a hash's segments (8 of them at the default
	// parameters, about 2 ms apart), where the hash may make way for other work; nil lets
	// what is ready run first (runtime.Gosched).
	Yield func()
}

// Result is the outcome of a verification.
type Result struct {
	// OK is true when the password is right.
	OK bool
	// Fingerprint identifies the password tried under the hash's salt, for the lockout to
	// recognise a wrong password tried again; it costs nothing beyond the verification.
	Fingerprint lockout.Fingerprint
	// NeedsRehash is true when OK and the hash's parameters are weaker than the Hasher's:
	// the caller stores a new Hash while it has the password.
	NeedsRehash bool
}

// params returns the parameters in force.
func (h Hasher) params() Params {
	if h.Params == (Params{}) {
		return DefaultParams()
	}
	return h.Params
}

// b64 is the PHC string format's encoding, as in the argon2 reference implementation:
// standard alphabet, no padding. Strict refuses stray bits, so one hash has one spelling.
var b64 = base64.RawStdEncoding.Strict()

// Hash returns the PHC string of pw's NFKC form with a fresh random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>. It refuses invalid UTF-8 and invalid Params.
func (h Hasher) Hash(pw string) (string, error) {
	p := h.params()
	if err := p.Validate(); err != nil {
		return "", err
	}
	if !utf8.ValidString(pw) {
		return "", errors.New("password: refusing to hash invalid UTF-8")
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt) // never fails since Go 1.24: it crashes the program instead
	key := idKey(pw, salt, p, h.Yield)
	return encode(p, salt, key), nil
}

// encode returns the PHC string of a key.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify checks pw against an encoded hash made by Hash, recomputing with the hash's own
// parameters and salt and comparing in constant time. A malformed hash is an error; a wrong
// password is not an error but a Result with OK false.
func (h Hasher) Verify(encoded, pw string) (Result, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return Result{}, err
	}
	// Invalid UTF-8 is hashed as it comes: it cannot match, and refusing it early would be
	// faster than a real check, which an observer could time.
	got := idKey(pw, salt, p, h.Yield)
	r := Result{Fingerprint: fingerprint(got)}
	r.OK = subtle.ConstantTimeCompare(got, want) == 1
	r.NeedsRehash = r.OK && p.weakerThan(h.params())
	return r, nil
}

// VerifyDummy does the work of a Verify at the Hasher's parameters for a user name that has no
// account, so an unknown name costs the same as a known one. Its salt is derived from the
// server's secret and the name, so the same wrong password for the same name gives the same
// fingerprint (the lockout counts it once), while the fingerprints say nothing to anyone
// without the secret. Pass name as the lockout keys it (for a UPN, its canonical lower case).
func (h Hasher) VerifyDummy(secret []byte, name, pw string) lockout.Fingerprint {
	p := h.params()
	if p.Validate() != nil {
		// Hash refuses such parameters, so no account could have them; an unknown name still
		// costs the default work rather than a panic.
		p = DefaultParams()
	}
	salt := dummySalt(secret, name, int(p.SaltLen))
	got := idKey(pw, salt, p, h.Yield)
	// Compare against a key of the right length, as Verify does, to spend the same.
	want := make([]byte, len(got))
	_ = subtle.ConstantTimeCompare(got, want)
	return fingerprint(got)
}

// dummySalt returns n bytes of HMAC-SHA256(secret, counter || name) blocks.
func dummySalt(secret []byte, name string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for i := uint32(0); len(out) < n; i++ {
		m := hmac.New(sha256.New, secret)
		var ctr [4]byte
		binary.BigEndian.PutUint32(ctr[:], i)
		m.Write(ctr[:])
		m.Write([]byte(name))
		out = m.Sum(out)
	}
	return out[:n]
}

// fingerprint returns the key itself when it has the fingerprint's size, else its SHA-256.
func fingerprint(key []byte) lockout.Fingerprint {
	var fp lockout.Fingerprint
	if len(key) == len(fp) {
		copy(fp[:], key)
		return fp
	}
	return sha256.Sum256(key)
}

// decode parses a PHC argon2id string: $argon2id$v=19$m=M,t=T,p=P$salt$key.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	malformed := func(why string) error {
		return fmt.Errorf("password: malformed argon2id hash: %s", why)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, malformed("want 5 fields after a leading $")
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, malformed(fmt.Sprintf("algorithm %q is not argon2id", parts[1]))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, malformed(fmt.Sprintf("version %q is not v=%d", parts[2], argon2.Version))
	}
	var m, t, th uint64
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return p, nil, nil, malformed("want parameters m=,t=,p=")
	}
	for i, f := range []struct {
		name string
		dst  *uint64
		bits int
	}{{"m=", &m, 32}, {"t=", &t, 32}, {"p=", &th, 8}} {
		v, ok := strings.CutPrefix(fields[i], f.name)
		// Leading zeros are refused so that one hash has one spelling.
		if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
			return p, nil, nil, malformed(fmt.Sprintf("parameter %q", fields[i]))
		}
		if *f.dst, err = strconv.ParseUint(v, 10, f.bits); err != nil {
			return p, nil, nil, malformed(fmt.Sprintf("parameter %q", fields[i]))
		}
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, malformed("salt is not unpadded base64")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return p, nil, nil, malformed("key is not unpadded base64")
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.Validate(); err != nil {
		return p, nil, nil, malformed(err.Error())
	}
	return p, salt, key, nil
}
