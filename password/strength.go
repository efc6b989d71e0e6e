package password

import (
	"strings"
	"unicode"

	"github.com/trustelem/zxcvbn"
)

// MinGuesses is the fewest guesses a password may take by zxcvbn's estimate: the bottom of its
// score 3, "safely unguessable: moderate protection from an offline attack on a slow hash".
// The exact bound, rather than zxcvbn's score, lets 8 random characters (10^8 + 1 estimated)
// through when an administrator sets the minimum length to 8, while "password123456789"
// (about 10^4) and "iloveyouiloveyou" (about 10^2) are refused.
const MinGuesses = 1e8

// strengthRunes caps what zxcvbn is given: its matching grows much faster than the length.
// Measured on this project's 2-core machine: all 1,024 bytes of a passphrase took 11 s, the
// first 100 characters 12 to 35 ms, the first 64 characters 4 to 13 ms (13 for random digits,
// the worst input found). A password whose first 64 characters are easy to guess is easy to
// guess, and one whose first 64 are not is strong whatever follows.
const strengthRunes = 64

// guessable reports whether the normalised password n takes fewer than MinGuesses guesses by
// the estimate of zxcvbn (github.com/trustelem/zxcvbn, MIT; a Go port of Dropbox's
// estimator), which sees through what the blocklist cannot: a listed word with digits or a
// year added, a word repeated, keyboard walks, dates, l33t spellings. The context words and
// their parts count as the most likely words of all.
func guessable(n string, context []string) bool {
	if rs := []rune(n); len(rs) > strengthRunes {
		n = string(rs[:strengthRunes])
	}
	var inputs []string
	for _, c := range context {
		f := fold(c)
		inputs = append(inputs, f)
		inputs = append(inputs, strings.FieldsFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })...)
	}
	return zxcvbn.PasswordStrength(n, inputs).Guesses < MinGuesses
}
