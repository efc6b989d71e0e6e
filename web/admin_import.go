package web

import (
	"crypto/rand"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
)

// Add multiple users: a CSV file in, a result per row and the generated passwords out, once.

// importPage is what the Add multiple users page shows: the form, and after an import its results.
type importPage struct {
	ForceChange bool
	// Done reports that an import ran and Results are its rows.
	Done            bool
	Results         []directory.ImportResult
	Created, Failed int
	// Stopped reports that the store failed midway: the rows marked created exist.
	Stopped bool
	// DownloadURL is where the passwords are fetched, once; empty when no user was created.
	DownloadURL string
	// Minutes is how long the download waits.
	Minutes int
}

func (s *server) handleAdminImportPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !portier.Can(sessionUser(r).Roles, portier.ActionCreate, nil) {
			s.fail(w, r, errNotAllowed)
			return
		}
		p := s.adminPage(r, "admin.import.title", "import")
		p.Data = &importPage{ForceChange: true}
		s.render(w, http.StatusOK, "admin_import", p)
	})
}

func (s *server) handleAdminImport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := s.adminActor(r)
		d := &importPage{ForceChange: r.PostFormValue("force_change") == "on", Minutes: int(passwordsTTL / time.Minute)}
		if r.MultipartForm != nil {
			defer r.MultipartForm.RemoveAll()
		}
		var src io.Reader = http.NoBody
		file, _, err := r.FormFile("file")
		switch {
		case err == nil:
			defer file.Close()
			src = file
		case portier.Can(actor.Roles, portier.ActionCreate, nil):
			s.importFormError(w, r, d, nil)
			return
		}
		// Without a file too: the directory refuses an admin who may not create users and
		// audits the refusal.
		results, err := s.Directory.ImportUsers(r.Context(), actor, src, d.ForceChange)
		if results == nil {
			s.importFormError(w, r, d, err)
			return
		}
		// The store failed midway: the rows created so far are shown, passwords and all,
		// because nobody could learn them otherwise.
		if d.Stopped = err != nil; d.Stopped {
			s.Log.Error("CSV import stopped", "path", r.URL.Path, "err", err)
		}
		var created []passwordRow
		for i := range results {
			res := &results[i]
			if res.OK {
				created = append(created, passwordRow{UPN: res.UPN, DisplayName: res.DisplayName, Password: res.Password})
				d.Created++
			} else {
				d.Failed++
			}
			// The page never holds a password: only the download does.
			res.Password = ""
		}
		d.Done, d.Results = true, results
		if len(created) > 0 {
			id := s.imports.put(actor.ID, created, s.Now())
			d.DownloadURL = "/admin/users/import/passwords/" + id
		}
		p := s.adminPage(r, "admin.import.title", "import")
		p.Data = d
		if d.Stopped {
			// 200 all the same: a proxy may swap a 5xx page for its own, download link and all.
			p.Error = &pageError{Text: p.T.T("admin.import.stopped")}
		}
		s.render(w, http.StatusOK, "admin_import", p)
	})
}

// importFormError answers an import the directory refused as a whole: bad input (a file it
// cannot read; err nil: no file) shows the form again with the reason, anything else goes to
// fail.
func (s *server) importFormError(w http.ResponseWriter, r *http.Request, d *importPage, err error) {
	if err != nil && !inputError(err) {
		s.fail(w, r, err)
		return
	}
	p := s.adminPage(r, "admin.import.title", "import")
	if err == nil {
		err = portier.Errorf(portier.EInvalid, "%s", p.T.T("admin.import.nofile"))
	}
	p.Data = d
	s.formError(w, "admin_import", p, err)
}

// handleAdminImportPasswords answers the one download of an import's generated passwords, to
// the admin who imported, as CSV (User name, Display name, Password); afterwards, or after
// passwordsTTL, or for anyone else, it answers 410 Gone. It is a POST, not a link: a GET
// could be spent by a link scanner or a prefetch before the admin gets the file.
func (s *server) handleAdminImportPasswords() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rows, ok := s.imports.take(r.PathValue("id"), sessionUser(r).ID, s.Now())
		if !ok {
			p := s.adminPage(r, "admin.import.gone.title", "import")
			p.Error = &pageError{Text: p.T.T("admin.import.gone.text")}
			s.render(w, http.StatusGone, "admin_forbidden", p)
			return
		}
		cw := startCSV(w, "portier-passwords-"+s.Now().UTC().Format("20060102-1504")+".csv")
		cw.Row("User name", "Display name", "Password")
		for _, row := range rows {
			// A valid UPN may start with = + - @ |, and a display name from the file with
			// anything: Row escapes both. A generated password never starts with a formula
			// character, so its escaping never changes what the admin hands out.
			cw.Row(row.UPN, row.DisplayName, row.Password)
		}
		if err := cw.Flush(); err != nil {
			s.Log.Error("passwords download cut short", "err", err)
		}
	})
}

// passwordRow is one line of the passwords download.
type passwordRow struct {
	UPN, DisplayName, Password string
}

// passwordsTTL is how long an import's passwords wait for their download.
const passwordsTTL = 10 * time.Minute

// maxPendingImports bounds the downloads waiting at once: each holds up to
// directory.MaxImportRows passwords.
const maxPendingImports = 64

// importDownloads keeps the generated passwords of recent imports in memory until their one
// download, bound to the admin who imported, for passwordsTTL at most. They are never written
// to the store, a log or the audit log. With several Portier processes the download must come
// back to the process that ran the import (sticky sessions); elsewhere it answers 410 and the
// admin resets the passwords they need.
type importDownloads struct {
	mu sync.Mutex
	m  map[string]*pendingPasswords
}

type pendingPasswords struct {
	owner   string
	expires time.Time
	rows    []passwordRow
}

// put keeps rows for owner and returns the random id of their download.
func (d *importDownloads) put(owner string, rows []passwordRow, now time.Time) string {
	id := rand.Text()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]*pendingPasswords{}
	}
	var soonest string
	for k, p := range d.m {
		if !now.Before(p.expires) {
			delete(d.m, k)
		} else if soonest == "" || p.expires.Before(d.m[soonest].expires) {
			soonest = k
		}
	}
	if len(d.m) >= maxPendingImports {
		delete(d.m, soonest)
	}
	d.m[id] = &pendingPasswords{owner: owner, expires: now.Add(passwordsTTL), rows: rows}
	return id
}

// take returns and forgets the rows of id when owner put them and they have not expired.
// Another admin's request leaves them in place: it learns nothing and spends nothing.
func (d *importDownloads) take(id, owner string, now time.Time) ([]passwordRow, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.m[id]
	if !ok || p.owner != owner {
		return nil, false
	}
	delete(d.m, id)
	if !now.Before(p.expires) {
		return nil, false
	}
	return p.rows, true
}
