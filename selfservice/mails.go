package selfservice

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/portier-id/portier/mail"
)

//go:embed mails/*.txt
var mailFS embed.FS

// mailTemplates are the mails, one file per mail and language: mails/NAME.LANG.txt, whose
// first line is "Subject: …" and the rest the plain-text body. "when" writes a time in the
// recipient's time zone, with the zone named; render binds it for each mail.
var mailTemplates = template.Must(template.New("").Funcs(whenIn(time.UTC)).ParseFS(mailFS, "mails/*.txt"))

func whenIn(loc *time.Location) template.FuncMap {
	return template.FuncMap{"when": func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") }}
}

// render fills the mail name in lang for to, with its times in loc.
func render(name, lang string, loc *time.Location, to string, data any) (mail.Message, error) {
	tmpl, err := mailTemplates.Clone()
	if err != nil {
		return mail.Message{}, err
	}
	var buf bytes.Buffer
	if err := tmpl.Funcs(whenIn(loc)).ExecuteTemplate(&buf, name+"."+lang+".txt", data); err != nil {
		return mail.Message{}, fmt.Errorf("mail %s.%s: %w", name, lang, err)
	}
	subject, body, _ := strings.Cut(buf.String(), "\n")
	return mail.Message{To: to, Subject: strings.TrimSpace(strings.TrimPrefix(subject, "Subject:")), Text: strings.TrimLeft(body, "\n")}, nil
}
