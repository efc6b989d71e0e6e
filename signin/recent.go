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
