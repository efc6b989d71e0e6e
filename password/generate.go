package password

import "crypto/rand"

// alphabet leaves out characters that look alike in common fonts (0 O o, 1 l I i), so a
// generated password can be read aloud or copied from paper without doubt.
const alphabet = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// GeneratedLength is the length of a generated password: 20 characters of a 55-character
// alphabet are about 115 bits, beyond any guessing.
const GeneratedLength = 20

// Generate returns a random password of GeneratedLength characters from crypto/rand, over an
// alphabet without look-alikes, that passes DefaultPolicy's Check.
func Generate() string {
	for {
		pw := randomString(GeneratedLength)
		// A random draw is repetitive or sequential or on the blocklist about never; checking
		// keeps the promise anyway.
		if DefaultPolicy().Check(pw, nil) == nil {
			return pw
		}
	}
}

// randomString returns n characters of alphabet drawn uniformly from crypto/rand.
func randomString(n int) string {
	// Bytes at or above the largest multiple of len(alphabet) are dropped, so that every
	// character is equally likely.
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf) // never fails since Go 1.24: it crashes the program instead
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
