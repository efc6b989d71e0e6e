package web

import "testing"

// TestBrowserNames: /myaccount names a browser the way people do, from its User-Agent.
func TestBrowserNames(t *testing.T) {
	cat := newCatalogue()
	en, nl := newTranslator(cat, "en"), newTranslator(cat, "nl")
	const chromeWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	const safariIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	for _, tc := range []struct {
		tr       *translator
		ua, want string
	}{
		{en, chromeWindows, "Chrome on Windows"},
		{nl, chromeWindows, "Chrome op Windows"},
		{en, safariIPhone, "Safari on iOS"},
		{en, "", "Unknown browser"},
		{nl, "", "Onbekende browser"},
	} {
		if got := tc.tr.Browser(tc.ua); got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.tr.lang, tc.ua, got, tc.want)
		}
	}
}
