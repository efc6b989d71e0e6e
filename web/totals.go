package web

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/portier-id/portier"
)

// Counting a million users reads a whole index: about 40 ms on SQLite and more on
// PostgreSQL, on every view of Active users. A total that large is therefore shown from
// memory, at most totalsFresh old when it was last recounted, and recounted in the
// background once it is older, so that no page view but the first waits on a big count.
// Totals under totalsExactFrom are counted on every view: they are cheap, and they are where
// a difference of one shows (the page of a small directory after adding a user).
const (
	totalsExactFrom = 10000
	totalsFresh     = 30 * time.Second
	// totalsMax bounds the totals kept: searches are the viewer's to choose.
	totalsMax = 256
	// searchCountCap is where the first count of a new search stops: past it the page says
	// "more than 1000" at once, and the exact total is counted in the background and shown
	// from memory on the next view. A search of a million users costs at most this many index
	// entries per half before its page goes out.
	searchCountCap = 1000
	// searchCountsAtOnce bounds the exact counts of searches running in the background: a
	// viewer typing through many large searches must not start a full count for each.
	searchCountsAtOnce = 2
)

// userTotals are the large totals of recent listings, per filter.
type userTotals struct {
	mu sync.Mutex
	m  map[string]*cachedTotal
	// counting are the searches being counted exactly in the background.
	counting map[string]bool
}

type cachedTotal struct {
	n          int
	at         time.Time
	refreshing bool
}

// totalKey names what a count depends on: not the page (After) nor its size.
func totalKey(f portier.UserFilter) string {
	admins := "0"
	if f.AdminsOnly {
		admins = "1"
	}
	return string(f.Status) + "\x00" + admins + "\x00" + strings.ToLower(f.Search)
}

// countUsers is the total of the users f selects, from memory when it is large (see above).
// more says that the total is only known to be over n: the first view of a search with more
// than searchCountCap users, whose exact count runs in the background meanwhile.
func (s *server) countUsers(ctx context.Context, f portier.UserFilter) (n int, more bool, err error) {
	key := totalKey(f)
	s.totals.mu.Lock()
	if c, ok := s.totals.m[key]; ok {
		if s.Now().Sub(c.at) >= totalsFresh && !c.refreshing {
			c.refreshing = true
			go s.recount(key, f)
		}
		n := c.n
		s.totals.mu.Unlock()
		return n, false, nil
	}
	s.totals.mu.Unlock()
	if f.Search != "" {
		capped := f
		capped.CountCap = searchCountCap
		n, err := s.Directory.CountUsers(ctx, capped)
		if err != nil || n <= searchCountCap {
			return n, false, err
		}
		s.totals.mu.Lock()
		if s.totals.counting == nil {
			s.totals.counting = map[string]bool{}
		}
		start := !s.totals.counting[key] && len(s.totals.counting) < searchCountsAtOnce
		if start {
			s.totals.counting[key] = true
		}
		s.totals.mu.Unlock()
		if start {
			go s.recount(key, f)
		}
		return searchCountCap, true, nil
	}
	n, err = s.Directory.CountUsers(ctx, f)
	if err == nil {
		s.totals.put(key, n, s.Now(), false)
	}
	return n, false, err
}

// recount counts again for a total being shown from memory; the viewer who noticed it was
// old has had their page already.
func (s *server) recount(key string, f portier.UserFilter) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f.Now = time.Time{} // the directory's clock at the time of the count
	f.CountCap = 0
	n, err := s.Directory.CountUsers(ctx, f)
	s.totals.mu.Lock()
	delete(s.totals.counting, key)
	s.totals.mu.Unlock()
	if err != nil {
		s.Log.Warn("recounting users", "err", err)
		s.totals.mu.Lock()
		if c, ok := s.totals.m[key]; ok {
			c.refreshing = false
		}
		s.totals.mu.Unlock()
		return
	}
	s.totals.put(key, n, s.Now(), f.Search != "")
}

// put keeps a large total and forgets one that has become small; a search's is large past
// searchCountCap, where its first count stops.
func (t *userTotals) put(key string, n int, now time.Time, search bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < totalsExactFrom && !(search && n > searchCountCap) {
		delete(t.m, key)
		return
	}
	if t.m == nil || len(t.m) >= totalsMax {
		t.m = map[string]*cachedTotal{}
	}
	t.m[key] = &cachedTotal{n: n, at: now}
}
