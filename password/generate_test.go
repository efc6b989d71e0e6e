package password

import (
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		pw := Generate()
		if len(pw) != GeneratedLength || GeneratedLength < 16 {
			t.Fatalf("Generate() = %q, %d characters, want %d (at least 16)", pw, len(pw), GeneratedLength)
		}
		if i := strings.IndexFunc(pw, func(r rune) bool { return !strings.ContainsRune(alphabet, r) }); i >= 0 {
			t.Fatalf("Generate() = %q has %q, outside the alphabet", pw, pw[i])
		}
		// Without context words: a random draw may hold a fragment of someone's name ("berg"),
		// which makes it no easier to guess, so Generate promises the rules, not the context.
		if err := DefaultPolicy().Check(pw, nil); err != nil {
			t.Fatalf("Generate() = %q fails the default policy: %v", pw, err)
		}
		if seen[pw] {
			t.Fatalf("Generate() returned %q twice", pw)
		}
		seen[pw] = true
	}
}

func TestAlphabetHasNoLookAlikes(t *testing.T) {
	t.Parallel()
	if strings.ContainsAny(alphabet, "0Oo1lIi") {
		t.Fatalf("alphabet %q has a look-alike", alphabet)
	}
	for i := range len(alphabet) {
		if strings.Count(alphabet, alphabet[i:i+1]) != 1 {
			t.Fatalf("alphabet has %q twice: the draw would not be uniform", alphabet[i])
		}
	}
}

// TestRandomStringUniform draws many characters and checks each turns up: a biased or
// truncated draw would starve the last characters of the alphabet.
func TestRandomStringUniform(t *testing.T) {
	t.Parallel()
	counts := map[rune]int{}
	for _, r := range randomString(55 * 400) {
		counts[r]++
	}
	for _, r := range alphabet {
		// Expected 400 each; below 250 is about 8 standard deviations off.
		if counts[r] < 250 {
			t.Errorf("%q drawn %d times of an expected 400", r, counts[r])
		}
	}
}
