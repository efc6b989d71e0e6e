package argon2

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	upstream "golang.org/x/crypto/argon2"
)

// TestSameAsUpstream derives keys with one Memory reused across growing and shrinking sizes,
// thread counts, passes and key lengths, and compares each with x/crypto's argon2.IDKey: a
// block left over from an earlier call, or random bytes, must never change a key.
func TestSameAsUpstream(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var m Memory
	for i := range 60 {
		pw := make([]byte, r.IntN(40))
		salt := make([]byte, 8+r.IntN(24))
		for _, b := range [][]byte{pw, salt} {
			for j := range b {
				b[j] = byte(r.Uint32())
			}
		}
		memory := uint32(8 + r.IntN(600))
		time := uint32(1 + r.IntN(3))
		threads := uint8(1 + r.IntN(4))
		keyLen := uint32(4 + r.IntN(80))
		if i%3 == 0 {
			// Every third call finds random bytes, not just an earlier call's blocks.
			for b := range m.blocks[:cap(m.blocks)] {
				for w := range m.blocks[b] {
					m.blocks[b][w] = r.Uint64()
				}
			}
		}
		got := m.IDKey(pw, salt, time, memory, threads, keyLen)
		want := upstream.IDKey(pw, salt, time, memory, threads, keyLen)
		if !bytes.Equal(got, want) {
			t.Fatalf("call %d (m=%d t=%d p=%d len=%d): key %x, x/crypto %x", i, memory, time, threads, keyLen, got, want)
		}
	}
}

// TestDefaultParamsSameAsUpstream runs OWASP's parameters (19 MiB, 2 passes, 1 lane) twice in
// the same Memory, as a server's hash slot does.
func TestDefaultParamsSameAsUpstream(t *testing.T) {
	var m Memory
	for _, pw := range []string{"correct horse battery staple", "Tr0ub4dor&3"} {
		salt := []byte("sixteen byte salt")
		got := m.IDKey([]byte(pw), salt, 2, 19456, 1, 32)
		if want := upstream.IDKey([]byte(pw), salt, 2, 19456, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("%q: key %x, x/crypto %x", pw, got, want)
		}
	}
	if m.Size() != 19456 {
		t.Fatalf("Size = %d KiB, want 19456", m.Size())
	}
}

// TestReferenceVectors are x/crypto's argon2id known answers, made with the reference
// implementation's command line (password "password", salt "somesalt"), in one Memory.
func TestReferenceVectors(t *testing.T) {
	vectors := []struct {
		time, memory uint32
		threads      uint8
		hash         string
	}{
		{1, 64, 1, "655ad15eac652dc59f7170a7332bf49b8469be1fdb9c28bb"},
		{2, 64, 1, "068d62b26455936aa6ebe60060b0a65870dbfa3ddf8d41f7"},
		{2, 64, 2, "350ac37222f436ccb5c0972f1ebd3bf6b958bf2071841362"},
		{3, 256, 2, "4668d30ac4187e6878eedeacf0fd83c5a0a30db2cc16ef0b"},
		{4, 4096, 4, "145db9733a9f4ee43edf33c509be96b934d505a4efb33c5a"},
		{4, 1024, 8, "8dafa8e004f8ea96bf7c0f93eecf67a6047476143d15577f"},
		{2, 64, 3, "4a15b31aec7c2590b87d1f520be7d96f56658172deaa3079"},
	}
	var m Memory
	for _, v := range vectors {
		want, _ := hex.DecodeString(v.hash)
		got := m.IDKey([]byte("password"), []byte("somesalt"), v.time, v.memory, v.threads, uint32(len(want)))
		if !bytes.Equal(got, want) {
			t.Errorf("t=%d m=%d p=%d: key %x, want %s", v.time, v.memory, v.threads, got, v.hash)
		}
	}
}

// TestIDKeyYield calls yield once before each segment (syncPoints a pass) and derives the
// same key as IDKey.
func TestIDKeyYield(t *testing.T) {
	var m Memory
	for _, passes := range []uint32{1, 2, 3} {
		calls := 0
		got := m.IDKeyYield([]byte("password"), []byte("somesalt"), passes, 64, 1, 32, func() { calls++ })
		if want := m.IDKey([]byte("password"), []byte("somesalt"), passes, 64, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("t=%d: key %x, IDKey %x", passes, got, want)
		}
		if calls != int(passes)*syncPoints {
			t.Fatalf("t=%d: yield called %d times, want %d", passes, calls, passes*syncPoints)
		}
	}
}
