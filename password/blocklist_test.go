package password

import (
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portier-id/portier"
)

func TestBlocklistContents(t *testing.T) {
	t.Parallel()
	l := blocklist()
	if n := BlocklistSize(); n < 100_000 || n != l.len() {
		t.Fatalf("BlocklistSize() = %d (list %d), want at least 100,000", n, l.len())
	}
	// Every entry is in the form lookups compare, sorted and distinct (binary search needs it),
	// and long enough that some policy could otherwise accept it.
	for i := range l.len() {
		e := l.at(i)
		if fold(e) != e {
			t.Fatalf("entry %d %q is not folded", i, e)
		}
		if n := utf8.RuneCountInString(e); n < portier.LowestPasswordMinLength || len(e) > MaxBytes || strings.ContainsRune(e, '\r') {
			t.Fatalf("entry %d %q has %d characters", i, e, n)
		}
		if i > 0 && l.at(i-1) >= e {
			t.Fatalf("entries %d %q and %d %q are out of order", i-1, l.at(i-1), i, e)
		}
	}
	for _, pw := range []string{"password1234567abc", "123456789987654321", "qazwsxedcrfvtgb", "iloveyou", "PASSWORD1", "Qwertyuiop"} {
		if !blocklisted(fold(pw)) {
			t.Errorf("%q is not blocklisted", pw)
		}
	}
	for _, pw := range []string{"", "password1234567abd", "correct horse battery staple", "passwor", "password1234567abc "} {
		if blocklisted(fold(pw)) {
			t.Errorf("%q is blocklisted", pw)
		}
	}
	// Both ends of the sorted list are found.
	if !l.contains(l.at(0)) || !l.contains(l.at(l.len()-1)) {
		t.Error("the first or last entry is not found")
	}
}

// TestBlocklistHeap measures what the loaded list keeps on the heap. It is not parallel, so
// that nothing else allocates meanwhile.
func TestBlocklistHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := loadWordList(blocklistGz)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(l)
	t.Logf("blocklist: %d entries, %d bytes of text, %d bytes on the heap (%.1f bytes an entry)",
		l.len(), len(l.text), heap, float64(heap)/float64(l.len()))
	// The text plus 4 bytes an entry, with room for noise: a []string or a map would be
	// twice as much or more.
	if limit := int64(len(l.text) + 4*l.len() + 1<<20); heap > limit {
		t.Fatalf("the blocklist keeps %d bytes on the heap, more than %d", heap, limit)
	}
}

func TestLoadWordListCorrupt(t *testing.T) {
	t.Parallel()
	if _, err := loadWordList([]byte("not gzip")); err == nil {
		t.Fatal("loadWordList accepted data that is not gzip")
	}
	if _, err := loadWordList(blocklistGz[:len(blocklistGz)/2]); err == nil {
		t.Fatal("loadWordList accepted a truncated file")
	}
}

func BenchmarkBlocklistLookup(b *testing.B) {
	l := blocklist()
	for b.Loop() {
		l.contains("correct horse battery staple")
	}
}

func BenchmarkCheck(b *testing.B) {
	p := DefaultPolicy()
	for b.Loop() {
		if err := p.Check("correct horse battery staple", ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadBlocklist is the one-time cost of the first Check in a process.
func BenchmarkLoadBlocklist(b *testing.B) {
	for b.Loop() {
		if _, err := loadWordList(blocklistGz); err != nil {
			b.Fatal(err)
		}
	}
}
