package signin

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/portier-id/portier"
)

// recentSources knows, per account, the source addresses it signed in from recently: the
// sources of its sessions that have not expired and were seen within recentWithin. The store's
// sessions are the record, so every process sharing the store knows the same sources; one
// read per account serves the attempts of recentTTL. It is asked only when the hashing is
// contended (Engine.admissionClass), and asked the same way for an unknown name, with the
// name's counter key, which no session has: the same read, the same answer as a user without
// sessions.
type recentSources struct {
	mu   sync.Mutex
	m    map[string]recentEntry
	read func(ctx context.Context, key string) ([]*portier.Session, error)
}

type recentEntry struct {
	sources []netip.Prefix
	read    time.Time
}

const (
	// recentWithin is how long ago a session must have been seen for its source to be familiar.
	recentWithin = 30 * 24 * time.Hour
	// recentTTL is how long one read of an account's sessions serves.
	recentTTL = time.Minute
	// recentMax bounds the accounts remembered (a few hundred KB at most); at the bound one
	// entry is dropped for each new one.
	recentMax = 4096
)

func newRecentSources(read func(ctx context.Context, key string) ([]*portier.Session, error)) *recentSources {
	return &recentSources{m: make(map[string]recentEntry), read: read}
}

// sourcePrefix is what makes two addresses one source: the IPv4 address, or the IPv6 /64
// (privacy addresses change within it).
func sourcePrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// has reports whether the account whose counter key is key signed in from src recently.
func (r *recentSources) has(ctx context.Context, key string, src netip.Addr, now time.Time) (bool, error) {
	if !src.IsValid() {
		return false, nil
	}
	r.mu.Lock()
	e, ok := r.m[key]
	r.mu.Unlock()
	if !ok || now.Sub(e.read) >= recentTTL || now.Before(e.read) {
		sessions, err := r.read(ctx, key)
		if err != nil {
			return false, err
		}
		e = recentEntry{read: now}
		for _, s := range sessions {
			if !s.Expires.After(now) || now.Sub(s.LastSeen) > recentWithin {
				continue
			}
			if a, err := netip.ParseAddr(s.Source); err == nil {
				e.sources = append(e.sources, sourcePrefix(a))
			}
		}
		r.mu.Lock()
		if _, present := r.m[key]; !present && len(r.m) >= recentMax {
			for k := range r.m {
				delete(r.m, k)
				break
			}
		}
		r.m[key] = e
		r.mu.Unlock()
	}
	p := sourcePrefix(src)
	for _, s := range e.sources {
		if s == p {
			return true, nil
		}
	}
	return false, nil
}

// sessionSources is the set of sources (sourcePrefix) that any session was opened from and
// was seen within recentWithin, across every process sharing the store: one read of the
// sessions' distinct sources serves recentTTL, and the sessions this process opens are added
// at once. It tells, before anything of an attempt is read, that the attempt cannot come from
// a familiar source of its account (ClassFamiliarSource), whatever account it names
// (Engine.shedAtEdge).
type sessionSources struct {
	read func(ctx context.Context, now, seenSince time.Time, limit int) ([]string, error)

	loading sync.Mutex // held by the one read in progress
	mu      sync.Mutex
	set     map[netip.Prefix]struct{}
	loaded  time.Time // when the set was read; zero until the first read succeeds
	whole   bool      // the last read had fewer sources than sessionSourcesMax
	stale   bool      // a read is due or in progress
}

// sessionSourcesMax bounds the sources kept (about 15 MB at the bound): an organisation whose
// sessions come from more sources gets no edge shedding, only the scheduler's.
const sessionSourcesMax = 1 << 18

// sessionReadTimeout bounds one read of the sessions' sources.
const sessionReadTimeout = 10 * time.Second

func newSessionSources(read func(ctx context.Context, now, seenSince time.Time, limit int) ([]string, error)) *sessionSources {
	return &sessionSources{read: read}
}

// known reports whether a session was opened recently from src's source (familiar), and
// whether that answer can be trusted (sure): false until the sources were read once and when
// there are too many. The first call reads the sources and waits for them; a call that finds
// them older than recentTTL reads them again in the background and answers from the old set.
func (s *sessionSources) known(ctx context.Context, src netip.Addr, now time.Time) (familiar, sure bool) {
	if !src.IsValid() {
		return false, false
	}
	s.mu.Lock()
	loaded := !s.loaded.IsZero()
	if loaded && !s.stale && (now.Sub(s.loaded) >= recentTTL || now.Before(s.loaded)) {
		s.stale = true
		go s.load(context.WithoutCancel(ctx), now)
	}
	s.mu.Unlock()
	if !loaded {
		s.load(ctx, now)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded.IsZero() || !s.whole {
		return false, false
	}
	_, familiar = s.set[sourcePrefix(src)]
	return familiar, true
}

// load reads the sources of the sessions seen within recentWithin that have not expired;
// a read that fails leaves the set as it was, to be read again at the next call.
func (s *sessionSources) load(ctx context.Context, now time.Time) {
	s.loading.Lock()
	defer s.loading.Unlock()
	s.mu.Lock()
	done := !s.loaded.IsZero() && !s.stale
	s.mu.Unlock()
	if done { // another call read them while this one waited
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sessionReadTimeout)
	defer cancel()
	sources, err := s.read(ctx, now, now.Add(-recentWithin), sessionSourcesMax)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stale = false
	if err != nil {
		return
	}
	set := make(map[netip.Prefix]struct{}, len(sources))
	for _, src := range sources {
		if a, err := netip.ParseAddr(src); err == nil {
			set[sourcePrefix(a)] = struct{}{}
		}
	}
	s.set, s.loaded, s.whole = set, now, len(sources) < sessionSourcesMax
}

// add puts the source of a session this process opens in the set at once.
func (s *sessionSources) add(source string) {
	a, err := netip.ParseAddr(source)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set != nil && len(s.set) < sessionSourcesMax {
		s.set[sourcePrefix(a)] = struct{}{}
	}
}
