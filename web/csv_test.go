package web

import "testing"

func TestCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"ada@example.org", "ada@example.org"},
		{"Ada Lovelace", "Ada Lovelace"},
		{"50126", "50126"},
		{"2026-12-04T13:00:00Z", "2026-12-04T13:00:00Z"},
		{"::1", "::1"},
		{"a=b", "a=b"},
		{"'already quoted", "'already quoted"},
		// OWASP's formula starts.
		{"=1+2@example.org", "'=1+2@example.org"},
		{"+x@example.org", "'+x@example.org"},
		{"-x@example.org", "'-x@example.org"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"|x@example.org", "'|x@example.org"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		// White space before a formula start: spreadsheets skip it.
		{" =1+2", "' =1+2"},
		{"  \t-3", "'  \t-3"},
		{"\n=1", "'\n=1"},
		{"\u00a0=1", "'\u00a0=1"},
		{"\u3000=1", "'\u3000=1"},
		{"\u200b=1", "'\u200b=1"}, // zero-width space
		{"\ufeff=1", "'\ufeff=1"}, // byte-order mark
		{" plain", " plain"},
		// Full-width, small and other forms that fold onto a formula start.
		{"＝1+2", "'＝1+2"},
		{"＋1", "'＋1"},
		{"－1", "'－1"},
		{"＠SUM(A1)", "'＠SUM(A1)"},
		{"｜x", "'｜x"},
		{"﹦1", "'﹦1"},
		{"﹢1", "'﹢1"},
		{"﹣1", "'﹣1"},
		{"﹫x", "'﹫x"},
		{"⁼1", "'⁼1"},
		{"⁺1", "'⁺1"},
		{"\u22121", "'\u22121"}, // MINUS SIGN
		{" ＝1", "' ＝1"},
	}
	for _, tc := range tests {
		if got := csvCell(tc.in); got != tc.want {
			t.Errorf("csvCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
