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
// first line is "Subject: …" and the rest the plain-text body.
var mailTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}).ParseFS(mailFS, "mails/*.txt"))

// render fills the mail name in lang for to.
func render(name, lang, to string, data any) (mail.Message, error) {
	var buf bytes.Buffer
	if err := mailTemplates.ExecuteTemplate(&buf, name+"."+lang+".txt", data); err != nil {
		return mail.Message{}, fmt.Errorf("mail %s.%s: %w", name, lang, err)
	}
	subject, body, _ := strings.Cut(buf.String(), "\n")
	return mail.Message{To: to, Subject: strings.TrimSpace(strings.TrimPrefix(subject, "Subject:")), Text: strings.TrimLeft(body, "\n")}, nil
}
