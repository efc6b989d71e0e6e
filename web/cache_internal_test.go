package web

// Tests of the caches behind the locked-account answer: filled-in messages and cut pages.

import (
	"strings"
	"testing"
)

// TestFilledMessagesCached: a message filled in is kept per language and arguments, so a flood
// asking for the same text gets it without the template, and other arguments or another
// language get their own; the cache starts afresh when full.
func TestFilledMessagesCached(t *testing.T) {
	cat := newCatalogue()
	en, nl := newTranslator(cat, "en"), newTranslator(cat, "nl")
	five, seven := en.T("error.busy", "Seconds", 5), en.T("error.busy", "Seconds", 7)
	if !strings.Contains(five, "try again in 5 seconds") || !strings.Contains(seven, "try again in 7 seconds") {
		t.Fatalf("filled in: %q and %q", five, seven)
	}
	if again := en.T("error.busy", "Seconds", 5); again != five {
		t.Errorf("again: %q, want %q", again, five)
	}
	if got := nl.T("error.busy", "Seconds", 5); !strings.Contains(got, "probeer het over 5 seconden") {
		t.Errorf("Dutch: %q", got)
	}
	if got := en.T("error.busy", "Seconds", "5"); got != five {
		t.Errorf("the string 5: %q, want %q", got, five)
	}
	for i := range filledMax + 10 {
		en.T("error.busy", "Seconds", i)
	}
	if n := cat.filled.len(); n > filledMax {
		t.Errorf("%d filled messages kept, want at most %d", n, filledMax)
	}
	if got := en.T("error.busy", "Seconds", 5); got != five {
		t.Errorf("after a reset: %q, want %q", got, five)
	}
}

// TestCutPage: a cached page is cut at every mark, in order, and put together again with what
// each mark stands for.
func TestCutPage(t *testing.T) {
	body := "<p>" + usernameMark + "</p><form>" + csrfMark + "</form>" + csrfMark + "<i>" + usernameMark
	c := cutPage([]byte(body))
	var got strings.Builder
	for i, text := range c.text {
		got.Write(text)
		if i < len(c.marks) {
			got.WriteString(map[string]string{csrfMark: "[token]", usernameMark: "[name]"}[c.marks[i]])
		}
	}
	if want := "<p>[name]</p><form>[token]</form>[token]<i>[name]"; got.String() != want || len(c.text) != len(c.marks)+1 {
		t.Errorf("put together: %q (%d pieces, %d marks), want %q", got.String(), len(c.text), len(c.marks), want)
	}
	if c := cutPage([]byte("plain")); len(c.text) != 1 || len(c.marks) != 0 || string(c.text[0]) != "plain" {
		t.Errorf("a page without marks: %q, %q", c.text, c.marks)
	}
}
