package password

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/portier-id/portier"
)

// ctx is the context of a typical account: display name, UPN local part and domain, organisation.
var ctx = []string{"Marieke van der Berg-Janssen", "m.vanderberg", "rijkswaterstaat.example.nl", "Rijkswaterstaat B.V."}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		min   int
		pw    string
		rule  Rule   // "" for accepted
		limit int    // for the length rules
		word  string // for context-word
	}{
		{name: "passphrase", pw: "correct horse battery staple"},
		{name: "exactly 15", pw: "tulpen-in-maart"},
		{name: "any characters", pw: "ñandú 🦤 über straße"},
		{name: "short context parts are fine", pw: "van der beek? nee, de ree"}, // van, der, de, nee are under 4
		// Not trivial by the rules of runs and short periods, yet easy to guess all the same.
		{name: "three runs are guessable", pw: "abcdefgh1234567q", rule: RuleGuessable},
		{name: "period 5 is guessable", pw: "abcdeabcdeabcde", rule: RuleGuessable},
		// Issue 10: a listed word with digits, a repeated word, years, keyboard walks.
		{name: "listed word and digits", pw: "password123456789", rule: RuleGuessable},
		{name: "listed word repeated", pw: "iloveyouiloveyou", rule: RuleGuessable},
		{name: "word and years", pw: "sunshine19871987", rule: RuleGuessable},
		{name: "word repeated with a sign", pw: "Dragon!Dragon!Dragon!", rule: RuleGuessable},
		{name: "walk and digits", pw: "qwerty123456789!", rule: RuleGuessable},
		{name: "walk repeated", pw: "asdfghjkl;asdfgh", rule: RuleGuessable},
		{name: "keyboard walk", pw: "zaq12wsxcde34rfv", rule: RuleGuessable},
		{name: "l33t and years", pw: "P@ssw0rd20242024", rule: RuleGuessable},
		{name: "l33t repeated", pw: "p@ssw0rdp@ssw0rd", rule: RuleGuessable},
		{name: "season and year repeated", pw: "Summer2026!Summer2026!", rule: RuleGuessable},
		{name: "dutch word repeated with digits", pw: "welkom01welkom01", rule: RuleGuessable},
		{name: "full-width listed word and digits", pw: "ｐａｓｓｗｏｒｄ１２３４５６７８９", rule: RuleGuessable},
		{name: "context words are likely words", pw: "Rijkswaterstaat2026!", rule: RuleContextWord, word: "rijkswaterstaat"},
		{name: "passphrase of four common words", pw: "het regent in maart"},
		{name: "random, 16 characters", pw: "h7Kd9xQ2mPz4Rt8W"},
		{name: "long: the estimate sees the first 64 characters", pw: strings.Repeat("correct horse battery staple ", 8)[:200]},
		{name: "weak in the first 64 characters", pw: strings.Repeat("x", 60) + "qz" + strings.Repeat("correct horse battery staple ", 4), rule: RuleGuessable},
		{name: "empty", pw: "", rule: RuleEmpty},
		{name: "invalid utf8", pw: "correct horse \xff battery", rule: RuleInvalidUTF8},
		{name: "too short", pw: "fourteen chars", rule: RuleTooShort, limit: 15},
		{name: "short in code points", pw: "ñandú-ñandú-ñu", rule: RuleTooShort, limit: 15}, // 14 runes, 18 bytes
		{name: "combining marks compose", pw: "n\u0303andu\u0301 n\u0303andu\u0301 n\u0303", rule: RuleTooShort, limit: 15},
		{name: "min 8 accepts 8", min: 8, pw: "vlk9#tqz"},
		{name: "min 8 refuses 7", min: 8, pw: "vlk9#tq", rule: RuleTooShort, limit: 8},
		{name: "min 20", min: 20, pw: "correct horse batt", rule: RuleTooShort, limit: 20},
		{name: "too long", pw: strings.Repeat("correct horse ", 74), rule: RuleTooLong, limit: MaxBytes}, // 1036 bytes
		{name: "far too long", pw: strings.Repeat("x", 1<<20), rule: RuleTooLong, limit: MaxBytes},
		{name: "one character", pw: "aaaaaaaaaaaaaaaa", rule: RuleRepeated},
		{name: "one character any case", pw: "AaAaAaAaAaAaAaAa", rule: RuleRepeated},
		{name: "pair", pw: "abababababababab", rule: RuleRepeated},
		{name: "unit of 3", pw: "xyzxyzxyzxyzxyzx", rule: RuleRepeated},
		{name: "unit of 4", pw: "1q2w1q2w1q2w1q2w", rule: RuleRepeated},
		{name: "two characters", pw: "!!!!!!!!!!!!!!!?", rule: RuleRepeated},
		{name: "two characters mixed", pw: "zzyzyyzyzzzyzyzy", rule: RuleRepeated},
		{name: "full-width repeated", pw: "ｚｚｚｚｚｚｚｚｚｚｚｚｚｚｚ", rule: RuleRepeated},
		{name: "digits wrapping", pw: "1234567890123456", rule: RuleSequential},
		{name: "digits down", pw: "9876543210987654", rule: RuleSequential},
		{name: "alphabet", pw: "abcdefghijklmnopq", rule: RuleSequential},
		{name: "alphabet down wrapping", pw: "edcbazyxwvutsrqp", rule: RuleSequential},
		{name: "keyboard", pw: "qwertyuiopasdfghjkl", rule: RuleSequential},
		{name: "other script", pw: "αβγδεζηθικλμνξο", rule: RuleSequential},
		{name: "two runs", pw: "aaaaaaaa12345678", rule: RuleSequential},
		{name: "one odd then a run", pw: "!123456789012345", rule: RuleSequential},
		{name: "full-width digits", pw: "１２３４５６７８９０１２３４５", rule: RuleSequential},
		{name: "display name part", pw: "janssen-is-my-password", rule: RuleContextWord, word: "janssen"},
		{name: "any case", pw: "I am MARIEKE of the dunes", rule: RuleContextWord, word: "marieke"},
		{name: "full-width name", pw: "ｍａｒｉｅｋｅ of the dunes", rule: RuleContextWord, word: "marieke"},
		{name: "upn local part", pw: "my name is vanderberg ok", rule: RuleContextWord, word: "vanderberg"},
		{name: "upn domain label", pw: "rijkswaterstaat rules!!", rule: RuleContextWord, word: "rijkswaterstaat"},
		{name: "domain label example", pw: "for example, a password", rule: RuleContextWord, word: "example"},
		{name: "blocklisted", pw: "password1234567abc", rule: RuleBlocklisted},
		{name: "blocklisted any case", pw: "PassWord1234567ABC", rule: RuleBlocklisted},
		{name: "blocklisted full-width", pw: "ｐａｓｓｗｏｒｄ１２３４５６７ａｂｃ", rule: RuleBlocklisted},
		{name: "blocklisted keyboard walk", pw: "1qaz2wsx3edc4rfv", rule: RuleBlocklisted},
		{name: "blocklisted at min 8", min: 8, pw: "iloveyou", rule: RuleBlocklisted},
	} {
		p := DefaultPolicy()
		if tc.min != 0 {
			p.MinLength = tc.min
		}
		err := p.Check(tc.pw, ctx)
		if tc.rule == "" {
			if err != nil {
				t.Errorf("%s: Check(%q) = %v, want accepted", tc.name, tc.pw, err)
			}
			continue
		}
		var re *RuleError
		if !errors.As(err, &re) {
			t.Errorf("%s: Check(%q) = %v, want a *RuleError %s", tc.name, shorten(tc.pw), err, tc.rule)
			continue
		}
		if re.Rule != tc.rule || re.Limit != tc.limit || re.Word != tc.word {
			t.Errorf("%s: Check(%q) = %+v, want rule %s limit %d word %q", tc.name, shorten(tc.pw), *re, tc.rule, tc.limit, tc.word)
		}
	}
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func TestCheckAccepts256Characters(t *testing.T) {
	t.Parallel()
	// 256 four-byte characters, none repeated in a pattern: the longest script still fits.
	var cjk strings.Builder
	for i := range 256 {
		cjk.WriteRune(rune(0x20000 + (i*7919)%40000)) // CJK Extension B: 4 bytes each, NFKC-stable
	}
	pw := cjk.String()
	if n := utf8.RuneCountInString(Normalize(pw)); n != 256 || len(Normalize(pw)) != 1024 {
		t.Fatalf("test password has %d characters and %d bytes, want 256 and 1024", n, len(Normalize(pw)))
	}
	p, err := NewPolicy(portier.HighestPasswordMinLength)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(pw, ctx); err != nil {
		t.Fatalf("a 256-character password of 1,024 bytes is refused at MinLength 256: %v", err)
	}
	if err := p.Check(pw+"x", ctx); err == nil || err.(*RuleError).Rule != RuleTooLong {
		t.Fatalf("1,025 bytes: %v, want too-long", err)
	}
}

func TestPolicyBounds(t *testing.T) {
	t.Parallel()
	if DefaultPolicy().MinLength != 15 {
		t.Fatalf("DefaultPolicy().MinLength = %d, want 15", DefaultPolicy().MinLength)
	}
	for _, tc := range []struct {
		min int
		ok  bool
	}{{-1, false}, {0, false}, {7, false}, {8, true}, {15, true}, {256, true}, {257, false}} {
		_, err := NewPolicy(tc.min)
		if (err == nil) != tc.ok {
			t.Errorf("NewPolicy(%d) error = %v, want ok %v", tc.min, err, tc.ok)
		}
		if err := (Policy{MinLength: tc.min}).Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%d) = %v, want ok %v", tc.min, err, tc.ok)
		}
	}
	// Check holds the floor even when Validate was skipped, and zero means the default.
	for _, tc := range []struct{ min, want int }{{3, 8}, {-5, 8}, {0, 15}, {1000, 256}} {
		err := Policy{MinLength: tc.min}.Check("a", nil)
		var re *RuleError
		if !errors.As(err, &re) || re.Rule != RuleTooShort || re.Limit != tc.want {
			t.Errorf("MinLength %d: Check = %v, want too-short at %d", tc.min, err, tc.want)
		}
	}
}

// TestPolicyBoundsAreTheSettings: a minimum length the organisation settings accept is one a
// Policy accepts, and the other way round, with the settings' messages as they were; a
// settings default is the policy's default.
func TestPolicyBoundsAreTheSettings(t *testing.T) {
	t.Parallel()
	if d := portier.DefaultSettings().PasswordMinLength; d != DefaultPolicy().MinLength {
		t.Fatalf("the default settings ask for %d characters, the default policy for %d", d, DefaultPolicy().MinLength)
	}
	for n := -1; n <= 300; n++ {
		st := portier.DefaultSettings()
		st.PasswordMinLength = n
		settingsErr, policyErr := st.Validate(), (Policy{MinLength: n}).Validate()
		if (settingsErr == nil) != (policyErr == nil) {
			t.Fatalf("minimum length %d: settings say %v, the policy %v", n, settingsErr, policyErr)
		}
		want := ""
		switch {
		case n < 8:
			want = "The minimum password length may not be below 8 characters."
		case n > 256:
			want = "The minimum password length may not be above 256 characters."
		}
		if got := fmt.Sprint(settingsErr); want != "" && !strings.Contains(got, want) {
			t.Fatalf("minimum length %d: settings say %q, want %q", n, got, want)
		}
	}
}

func TestRuleErrorMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  RuleError
		want string
	}{
		{RuleError{Rule: RuleEmpty}, "Enter a password."},
		{RuleError{Rule: RuleInvalidUTF8}, "not valid text"},
		{RuleError{Rule: RuleTooLong, Limit: 1024}, "at most 1024 bytes"},
		{RuleError{Rule: RuleTooShort, Limit: 15}, "at least 15 characters"},
		{RuleError{Rule: RuleRepeated}, "repeated"},
		{RuleError{Rule: RuleSequential}, "sequence"},
		{RuleError{Rule: RuleContextWord, Word: "marieke"}, `contains "marieke", which is part of your name`},
		{RuleError{Rule: RuleBlocklisted}, "common or breached passwords"},
		{RuleError{Rule: "new-rule"}, `"new-rule"`},
	} {
		if got := tc.err.Error(); !strings.Contains(got, tc.want) || !strings.HasSuffix(got, ".") {
			t.Errorf("%s: Error() = %q, want a sentence containing %q", tc.err.Rule, got, tc.want)
		}
	}
	// The values are stable: the web translates them.
	for r, s := range map[Rule]string{
		RuleEmpty: "empty", RuleInvalidUTF8: "invalid-utf8", RuleTooLong: "too-long", RuleTooShort: "too-short",
		RuleRepeated: "repeated", RuleSequential: "sequential", RuleContextWord: "context-word", RuleBlocklisted: "blocklisted",
	} {
		if string(r) != s {
			t.Errorf("rule %q changed to %q", s, r)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"ｐａｓｓ":          "pass",
		"cafe\u0301":    "café",
		"\ufb01ne":      "fine",
		"Ångström":      "Ångström",
		"\u212bngstrom": "Ångstrom", // the Ångström sign is the letter Å
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTrivialRuns(t *testing.T) {
	t.Parallel()
	if run(nil) != 0 || run([]rune("a")) != 1 || run([]rune("ab")) != 2 || run([]rune("aq")) != 1 || run([]rune("09")) != 2 {
		t.Fatal("run miscounts short inputs")
	}
	if got := run([]rune("7890123x")); got != 7 {
		t.Fatalf(`run("7890123x") = %d, want 7 (digits wrap)`, got)
	}
}

// FuzzCheck checks that any input gets nil or a *RuleError, and that an accepted password
// is within the length limits.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"correct horse battery staple", "aaaaaaaa12345678", "\xff", "ｐａｓｓｗｏｒｄ１２３４５６７ａｂｃ", "ﷺﷺﷺ"} {
		f.Add(s, "Marieke Janssen")
	}
	f.Fuzz(func(t *testing.T, pw, name string) {
		err := DefaultPolicy().Check(pw, []string{name})
		if err == nil {
			n := Normalize(pw)
			if utf8.RuneCountInString(n) < portier.DefaultPasswordMinLength || len(n) > MaxBytes {
				t.Fatalf("Check accepted %q", pw)
			}
			return
		}
		if _, ok := err.(*RuleError); !ok {
			t.Fatalf("Check(%q) = %T %v, want a *RuleError", pw, err, err)
		}
	})
}

func TestTooLongBeforeNormalising(t *testing.T) {
	t.Parallel()
	// 1,024 mathematical bold letters are 4,096 bytes that normalise to 1,024 ASCII bytes:
	// the early refusal must not catch them.
	var b strings.Builder
	for i := range 1024 {
		b.WriteRune(rune(0x1D41A + (i*7)%26)) // 𝐚..𝐳
	}
	pw := b.String()
	if len(pw) != 4*MaxBytes || len(Normalize(pw)) != MaxBytes {
		t.Fatalf("test password: %d bytes, %d normalised", len(pw), len(Normalize(pw)))
	}
	if err := DefaultPolicy().Check(pw, nil); err != nil {
		t.Fatalf("Check refused %d bytes that normalise to %d: %v", len(pw), MaxBytes, err)
	}
}

// TestGuessableUsesContext: zxcvbn is told the context words, so a name spelled backwards
// (which the context-word rule does not look for) is as guessable as a common word.
func TestGuessableUsesContext(t *testing.T) {
	t.Parallel()
	const pw = "grebrednavekeiram" // vanderberg marieke, backwards
	if err := DefaultPolicy().Check(pw, nil); err != nil {
		t.Fatalf("without context: %v, want accepted", err)
	}
	var re *RuleError
	if err := DefaultPolicy().Check(pw, ctx); !errors.As(err, &re) || re.Rule != RuleGuessable {
		t.Fatalf("with the user's name as context: %v, want %s", err, RuleGuessable)
	}
}

// TestGeneratedPasswordsAreNotGuessable: what Generate hands out always passes the estimate.
func TestGeneratedPasswordsAreNotGuessable(t *testing.T) {
	t.Parallel()
	for range 200 {
		if pw := Generate(); guessable(pw, ctx) {
			t.Fatalf("generated %q is guessable", pw)
		}
	}
}
