package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portier-id/portier"
	"golang.org/x/text/unicode/norm"
)

// Length limits, after NFKC normalisation. A length in characters counts Unicode code points,
// as NIST SP 800-63B-4 asks. The bounds of the minimum length are the organisation settings'
// (portier.LowestPasswordMinLength, portier.HighestPasswordMinLength,
// portier.DefaultPasswordMinLength), so that what an admin may set and what a Policy accepts
// are one rule.
const (
	// MaxBytes is the longest password accepted, in bytes of UTF-8 after normalisation: 1,024
	// bytes hold at least 256 characters in any script (NIST asks for at least 64) while
	// bounding the work a password costs before it is hashed.
	MaxBytes = 1024
)

// Any password of the highest minimum length fits in MaxBytes (a code point takes at most 4
// bytes); this fails to compile if the bounds ever disagree.
const _ = uint(MaxBytes - 4*portier.HighestPasswordMinLength)

// Rule names a policy rule. Its values are stable: the web translates them.
type Rule string

// The rules Check applies, in the order it applies them.
const (
	RuleEmpty       Rule = "empty"        // no password at all
	RuleInvalidUTF8 Rule = "invalid-utf8" // not valid UTF-8 text
	RuleTooLong     Rule = "too-long"     // more than MaxBytes after normalisation; Limit is MaxBytes
	RuleTooShort    Rule = "too-short"    // fewer characters than the minimum; Limit is the minimum
	RuleRepeated    Rule = "repeated"     // one character or a short pattern repeated ("aaaa…", "abcabc…")
	RuleSequential  Rule = "sequential"   // a trivial sequence ("abcd…", "1234567890123456", "qwerty…")
	RuleContextWord Rule = "context-word" // contains part of the user's name or UPN or the organisation's name; Word says which
	RuleBlocklisted Rule = "blocklisted"  // on the shipped list of common and breached passwords
	RuleGuessable   Rule = "guessable"    // too easy to guess by zxcvbn's estimate: common words with digits or years, repeats, walks
)

// RuleError is the error Check returns: which rule the password breaks.
type RuleError struct {
	// Rule is the rule broken.
	Rule Rule
	// Limit is the length limit for RuleTooShort (characters) and RuleTooLong (bytes), else 0.
	Limit int
	// Word is the context word found, for RuleContextWord, in lower case; else "".
	Word string
}

// Error returns an English sentence fit to show the person choosing the password.
func (e *RuleError) Error() string {
	switch e.Rule {
	case RuleEmpty:
		return "Enter a password."
	case RuleInvalidUTF8:
		return "The password is not valid text (it is not UTF-8)."
	case RuleTooLong:
		return fmt.Sprintf("The password is too long: it may be at most %d bytes, which is at least 256 characters.", e.Limit)
	case RuleTooShort:
		return fmt.Sprintf("The password is too short: it must be at least %d characters long.", e.Limit)
	case RuleRepeated:
		return "The password is one character or a short pattern repeated; choose one that is harder to guess."
	case RuleSequential:
		return "The password is a simple sequence of characters, like abcd, 1234 or qwerty; choose one that is harder to guess."
	case RuleContextWord:
		return fmt.Sprintf("The password contains %q, which is part of your name, your user name or the organisation's name.", e.Word)
	case RuleBlocklisted:
		return "The password is on a list of common or breached passwords; choose another."
	case RuleGuessable:
		return "The password is too easy to guess: it is made of common words, names, dates or patterns that guessers try first. Add a few uncommon words, or choose a longer passphrase."
	}
	return fmt.Sprintf("The password breaks the rule %q.", string(e.Rule))
}

// Policy is the password policy of NIST SP 800-63B-4: a minimum length, a blocklist, context
// words, a strength estimate, and no composition rules or expiry.
type Policy struct {
	// MinLength is the minimum length in characters (code points after NFKC), between
	// portier.LowestPasswordMinLength and portier.HighestPasswordMinLength. Zero means
	// portier.DefaultPasswordMinLength; Check applies the bounds even to a Policy that
	// Validate would refuse, so no mistake can weaken it.
	MinLength int
}

// DefaultPolicy returns the contract's policy: at least 15 characters.
func DefaultPolicy() Policy { return Policy{MinLength: portier.DefaultPasswordMinLength} }

// NewPolicy returns a Policy with the given minimum length, or an error when it is out of bounds.
func NewPolicy(minLength int) (Policy, error) {
	p := Policy{MinLength: minLength}
	return p, p.Validate()
}

// Validate returns an error when MinLength is out of the bounds of the settings'
// PasswordMinLength.
func (p Policy) Validate() error {
	if p.MinLength < portier.LowestPasswordMinLength || p.MinLength > portier.HighestPasswordMinLength {
		return fmt.Errorf("password: the minimum length must be between %d and %d characters, not %d",
			portier.LowestPasswordMinLength, portier.HighestPasswordMinLength, p.MinLength)
	}
	return nil
}

// minLength returns the minimum length in force.
func (p Policy) minLength() int {
	if p.MinLength == 0 {
		return portier.DefaultPasswordMinLength
	}
	return min(max(p.MinLength, portier.LowestPasswordMinLength), portier.HighestPasswordMinLength)
}

// Normalize returns pw in Unicode NFKC, the form that is hashed and checked, so that "ｐａｓｓ"
// typed on a full-width keyboard and "pass" are one password.
func Normalize(pw string) string { return norm.NFKC.String(pw) }

// fold returns the form that blocklist entries and context words are compared in:
// NFKC, then lower case. gen_blocklist.go folds the list the same way.
func fold(s string) string { return strings.ToLower(Normalize(s)) }

// Check returns nil when pw may be chosen as a password, else a *RuleError naming the first
// rule it breaks. context holds the words that identify the account: the user's display name,
// the UPN's local part and domain, the organisation's name; each is split into parts at
// anything not a letter or digit, and no part of 4 characters or more may appear in pw, in
// any case. Last, a password that zxcvbn estimates to take fewer than MinGuesses guesses, with
// the context words as likely words, is refused as RuleGuessable.
func (p Policy) Check(pw string, context []string) error {
	if pw == "" {
		return &RuleError{Rule: RuleEmpty}
	}
	if !utf8.ValidString(pw) {
		return &RuleError{Rule: RuleInvalidUTF8}
	}
	// NFKC shrinks text at most fourfold (a 4-byte mathematical letter becomes one ASCII
	// byte), so anything over four times too long is refused before the work of normalising.
	if len(pw) > 4*MaxBytes {
		return &RuleError{Rule: RuleTooLong, Limit: MaxBytes}
	}
	n := Normalize(pw)
	if len(n) > MaxBytes {
		return &RuleError{Rule: RuleTooLong, Limit: MaxBytes}
	}
	if minLen := p.minLength(); utf8.RuneCountInString(n) < minLen {
		return &RuleError{Rule: RuleTooShort, Limit: minLen}
	}
	f := strings.ToLower(n)
	if r := trivial(f); r != "" {
		return &RuleError{Rule: r}
	}
	if w := contextWord(f, context); w != "" {
		return &RuleError{Rule: RuleContextWord, Word: w}
	}
	if blocklisted(f) {
		return &RuleError{Rule: RuleBlocklisted}
	}
	// Last, so that a password the rules above refuse is told the more precise reason.
	if guessable(n, context) {
		return &RuleError{Rule: RuleGuessable}
	}
	return nil
}

// minContextPart is the shortest part of a context word that is refused: shorter ones (de,
// van, ltd, com) are common enough to appear in good passwords by chance.
const minContextPart = 4

// contextWord returns the longest part of a context word found in the folded password f, or
// "": the longest names best what to leave out ("vanderberg" rather than "berg").
func contextWord(f string, context []string) string {
	found := ""
	for _, c := range context {
		parts := strings.FieldsFunc(fold(c), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		for _, part := range parts {
			if utf8.RuneCountInString(part) >= minContextPart && len(part) > len(found) && strings.Contains(f, part) {
				found = part
			}
		}
	}
	return found
}

// orderings are the sequences a "trivial sequence" walks along, either way and wrapping
// around: digits (so 1234567890123456 is one walk), the alphabet and the QWERTY rows read
// as one line. Steps of one code point (abc…, or in any other script) count too.
var orderings = [][]rune{
	[]rune("0123456789"),
	[]rune("abcdefghijklmnopqrstuvwxyz"),
	[]rune("qwertyuiopasdfghjklzxcvbnm"),
}

// step is one kind of move between neighbouring characters: dir is 0 (the same character),
// +1 or -1, along orderings[order], or along code points when order is -1.
type step struct {
	order, dir int
}

// follows reports whether b comes one step s after a.
func (s step) follows(a, b rune) bool {
	if s.dir == 0 {
		return a == b
	}
	if s.order < 0 {
		return b-a == rune(s.dir)
	}
	o := orderings[s.order]
	ia, ib := indexRune(o, a), indexRune(o, b)
	return ia >= 0 && ib >= 0 && (ia+s.dir+len(o))%len(o) == ib
}

// indexRune returns the index of r in o, or -1.
func indexRune(o []rune, r rune) int {
	for i, x := range o {
		if x == r {
			return i
		}
	}
	return -1
}

// steps are every kind of move that trivial tries.
var steps = func() []step {
	s := []step{{-1, 0}, {-1, 1}, {-1, -1}}
	for i := range orderings {
		s = append(s, step{i, 1}, step{i, -1})
	}
	return s
}()

// run returns the length of the longest prefix of rs made by one kind of step.
func run(rs []rune) int {
	if len(rs) == 0 {
		return 0
	}
	best := 1
	for _, s := range steps {
		n := 1
		for n < len(rs) && s.follows(rs[n-1], rs[n]) {
			n++
		}
		best = max(best, n)
	}
	return best
}

// maxPeriod is the longest unit whose repetition is refused: "abcdabcdabcdabcd" is as weak as
// "abcd", while a repeated longer phrase keeps the phrase's own strength.
const maxPeriod = 4

// trivial returns RuleRepeated or RuleSequential when the folded password f is repetitive or
// sequential in NIST's sense, else "". It refuses a password that is a short unit repeated,
// that uses at most two distinct characters, or that is at most two runs each of one character
// or one sequence ("aaaaaaaa12345678", "x123456789012345"): there are only some millions of
// those at any length, and guessers try them first.
func trivial(f string) Rule {
	rs := []rune(f)
	for p := 1; p <= maxPeriod && p < len(rs); p++ {
		periodic := true
		for i := p; i < len(rs) && periodic; i++ {
			periodic = rs[i] == rs[i-p]
		}
		if periodic {
			return RuleRepeated
		}
	}
	distinct := map[rune]bool{}
	for _, r := range rs {
		if distinct[r] = true; len(distinct) > 2 {
			break
		}
	}
	if len(distinct) <= 2 {
		return RuleRepeated
	}
	// The longest first run is as good as any split: what is left of a run is a run.
	first := run(rs)
	if rest := rs[first:]; run(rest) == len(rest) {
		return RuleSequential
	}
	return ""
}
