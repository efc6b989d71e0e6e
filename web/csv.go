package web

import (
	"encoding/csv"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// csvFile is a CSV download. Its only way to write a row is Row, which passes every cell
// through csvCell, so no export can forget to escape one: the cells that look safe today
// (a UPN, an ID) are the ones someone finds a way to start with '=' tomorrow.
type csvFile struct {
	w *csv.Writer
}

// startCSV sets the headers of a CSV download named name and returns its writer.
func startCSV(w http.ResponseWriter, name string) *csvFile {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	return &csvFile{w: csv.NewWriter(w)}
}

// Row writes one record, each cell escaped by csvCell.
func (f *csvFile) Row(cells ...string) {
	for i, c := range cells {
		cells[i] = csvCell(c)
	}
	f.w.Write(cells) // an error sticks in the writer and shows at Flush
}

// Flush sends what is buffered and reports the first error of the download.
func (f *csvFile) Flush() error {
	f.w.Flush()
	return f.w.Error()
}

// formulaStarts are the characters with which a spreadsheet (Excel, LibreOffice Calc, Google
// Sheets) reads a cell as a formula or a DDE command (OWASP "CSV injection"), after NFKC,
// which folds the full-width, small and superscript forms (＝ ﹦ ⁼ ＋ ﹢ ⁺ － ﹣ ＠ ﹫ ｜) onto
// these; U+2212 MINUS SIGN has no such fold and is listed itself.
const formulaStarts = "=+-@|\u2212"

// csvCell keeps a spreadsheet from reading a cell as a formula, as OWASP advises: a cell whose
// first character is a formula start, a tab or a carriage return, or whose first character
// after leading white space or invisible format characters (which spreadsheets skip) is a
// formula start in any width, gets a single quote in front. Other cells are left as they are.
func csvCell(v string) string {
	if v == "" {
		return v
	}
	if v[0] == '\t' || v[0] == '\r' {
		return "'" + v
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			continue
		}
		if strings.ContainsAny(norm.NFKC.String(string(r)), formulaStarts) {
			return "'" + v
		}
		break
	}
	return v
}
