package portier

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// IsPlainText reports whether s is valid UTF-8 without control characters (C0, DEL, C1);
// multiline lets tab, CR and LF through, for a textarea's lines. No field a person types
// needs any other control character, and PostgreSQL refuses NUL and invalid UTF-8 in text,
// so such text is bad input at the edge rather than a store error deep inside.
func IsPlainText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\t' || r == '\r' || r == '\n')) {
			return false
		}
	}
	return true
}

// SafeText returns s when it is plain single-line text, else s quoted with Go escapes
// (strconv.Quote): what a log or the sign-in log keeps of text that came from outside, so
// that neither a terminal nor a database ever receives its control bytes.
func SafeText(s string) string {
	if IsPlainText(s, false) {
		return s
	}
	return strconv.Quote(s)
}
