package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"

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

// A template file named *_parts.html holds pieces that several pages share; it is parsed
// with the layout into every page rather than being a page itself.
func loadPages() *pages {
	layout := template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(templateFS, "templates/layout.html"))
	if parts, _ := fs.Glob(templateFS, "templates/*_parts.html"); len(parts) > 0 {
		layout = template.Must(layout.ParseFS(templateFS, parts...))
	}
	p := &pages{byName: map[string]*template.Template{}}
	names, _ := fs.Glob(templateFS, "templates/*.html")
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" || strings.HasSuffix(base, "_parts") {
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
	// Admin is set on admin center pages: the navigation's state.
	Admin *adminNav
	// Data is what a page shows beyond the fields above (the admin center's tables and forms).
	Data any
	// Passkeys says that passkeys work here: the sign-in page offers them.
	Passkeys bool
}

// newPage starts the data of a page for r.
func (s *server) newPage(r *http.Request, titleID string) *page {
	st, err := s.Directory.Settings(r.Context())
	if err != nil {
		st = portier.DefaultSettings()
	}
	t := newTranslator(s.cat, pickLanguage(r, st.DefaultLanguage))
	t.tz = st.Location()
	return &page{
		T: t, Title: t.T(titleID), OrgName: st.OrgName, Here: r.URL.RequestURI(),
		CSRF: csrf.TemplateField(r), MinLength: st.PasswordMinLength, Passkeys: s.Passkeys.Enabled() && st.MFA.Allows(portier.MethodPasskey),
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
	writePage(w, status, buf.Bytes())
}

func writePage(w http.ResponseWriter, status int, body []byte) {
	writeHead(w, status)
	w.Write(body)
}

// writeHead writes the status and the headers of a page.
func writeHead(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// csrfMark stands in for the CSRF field in a cached page; each answer puts its own token there.
const csrfMark = "<!--portier:csrf-->"

// usernameMark stands in for the typed user name in a cached page; each answer puts its own
// there, escaped. It is plain letters, which the templates' escaping leaves as they are.
const usernameMark = "portierusernamemark"

// renderCached is render for a page without a signed-in user (the sign-in form with an
// error above all): the page is rendered once per distinct content and kept, cut at its marks,
// and each answer only writes its own CSRF token and user name between the pieces. A flood of
// attempts at a locked account, and a spray at random names turned away busy, are answered
// this way.
func (s *server) renderCached(w http.ResponseWriter, status int, name string, p *page) {
	key := fmt.Sprint(name, "\x00", p.T.Lang(), "\x00", p.Title, "\x00", p.OrgName, "\x00", p.Here, "\x00",
		p.Notice, "\x00", p.Username != "", "\x00", p.ReturnTo, "\x00", p.MinLength, "\x00", p.Error)
	cut, ok := s.cache.get(key)
	if !ok {
		field, username := p.CSRF, p.Username
		p.CSRF = csrfMark
		if username != "" {
			p.Username = usernameMark
		}
		var buf bytes.Buffer
		err := s.pages.byName[name].ExecuteTemplate(&buf, "layout", p)
		p.CSRF, p.Username = field, username
		if err != nil {
			s.Log.Error("rendering a page", "page", name, "err", err)
			http.Error(w, "Internal error", http.StatusInternalServerError)
			return
		}
		cut = cutPage(buf.Bytes())
		s.cache.put(key, cut, pageCacheMax)
	}
	writeHead(w, status)
	for i, text := range cut.text {
		w.Write(text)
		if i < len(cut.marks) {
			if cut.marks[i] == csrfMark {
				io.WriteString(w, string(p.CSRF))
			} else {
				io.WriteString(w, template.HTMLEscapeString(p.Username))
			}
		}
	}
}

// cachedPage is a rendered page cut at its marks (csrfMark, usernameMark): text[i], then what
// marks[i] stands for, and so on, text having one piece more than marks.
type cachedPage struct {
	text  [][]byte
	marks []string
}

// cutPage cuts body at every mark.
func cutPage(body []byte) cachedPage {
	var c cachedPage
	for {
		at, mark := -1, ""
		for _, m := range []string{csrfMark, usernameMark} {
			if i := bytes.Index(body, []byte(m)); i >= 0 && (at < 0 || i < at) {
				at, mark = i, m
			}
		}
		if at < 0 {
			c.text = append(c.text, body)
			return c
		}
		c.text, c.marks = append(c.text, body[:at]), append(c.marks, mark)
		body = body[at+len(mark):]
	}
}

// boundedCache is a map that starts afresh when it holds max entries, which bounds it against
// attackers choosing the keys (the user name typed, a message's arguments). Its zero value is
// empty and ready.
type boundedCache[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

func (c *boundedCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *boundedCache[V]) put(key string, v V, max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= max {
		c.m = map[string]V{}
	}
	c.m[key] = v
}

// len is how many entries the cache holds.
func (c *boundedCache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// pageCacheMax bounds the rendered pages kept.
const pageCacheMax = 512

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
