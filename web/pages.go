package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/csrf"

	"github.com/portier-id/portier"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed page templates, each with the layout.
type pages struct {
	byName map[string]*template.Template
}

func loadPages() *pages {
	layout := template.Must(template.ParseFS(templateFS, "templates/layout.html"))
	p := &pages{byName: map[string]*template.Template{}}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		p.byName[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, name))
	}
	return p
}

func handleStatic() http.Handler {
	return http.StripPrefix("/", http.FileServerFS(staticFS))
}

// pageError is the error box of a page: the code goes into data-error-code.
type pageError struct {
	Code int
	Text string
}

// page is what every template gets; each page fills what it shows.
type page struct {
	T        *translator
	Title    string
	OrgName  string
	Here     string
	CSRF     template.HTML
	User     *portier.User
	IsAdmin  bool
	Error    *pageError
	Notice   string
	Username string
	ReturnTo string
	// MinLength is the password policy's minimum, for the hint.
	MinLength int
	Sessions  []sessionRow
}

// newPage starts the data of a page for r.
func (s *server) newPage(r *http.Request, titleID string) *page {
	st, err := s.Directory.Settings(r.Context())
	if err != nil {
		st = portier.DefaultSettings()
	}
	t := newTranslator(s.bundle, pickLanguage(r, st.DefaultLanguage))
	return &page{
		T: t, Title: t.T(titleID), OrgName: st.OrgName, Here: r.URL.RequestURI(),
		CSRF: csrf.TemplateField(r), MinLength: st.PasswordMinLength,
	}
}

// render writes a page; it renders into a buffer first so that a template error becomes a 500, not half a page.
func (s *server) render(w http.ResponseWriter, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := s.pages.byName[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.Log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// safeReturnTo keeps a return_to value only when it is a local path.
func safeReturnTo(v string) string {
	if v == "" || len(v) > 1024 || !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return v
}
