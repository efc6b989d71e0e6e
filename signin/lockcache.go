package signin

import (
	"sync"
	"time"
)

// lockCacheTTL is how long a process answers "locked" from memory before it asks the store
// again. An entry holds only while portier.CounterLockoutCleared stands where it stood before
// the lock was read, which the engine checks before every answer from memory: an unlock or
// reset committed by any process (the CLI included) is thus seen at once, whether or not its
// message (Listen) has arrived. The TTL bounds the memory of anything else, such as a changed
// lockout policy.
const lockCacheTTL = time.Second

// lockCacheMax bounds the cache; past it the cache starts afresh.
const lockCacheMax = 10000

// lockCache remembers counters known to be locked, so that a flood of attempts at a locked
// account is answered without touching the store.
type lockCache struct {
	mu  sync.Mutex
	m   map[string]lockEntry
	ttl time.Duration
}

type lockEntry struct {
	userID string    // the account's user id; empty for an unknown name
	until  time.Time // the lock's end, on the engine's clock
	seen   time.Time // when the store said so, in real time
	// cleared is portier.CounterLockoutCleared as read before the store said so.
	cleared int64
}

func newLockCache(ttl time.Duration) *lockCache {
	return &lockCache{m: map[string]lockEntry{}, ttl: ttl}
}

// fresh returns the entry of name (at the browser device, "" for none) if a fresh one says it
// is locked at now. It holds only if no lockout was cleared since: its cleared must equal
// portier.CounterLockoutCleared as read now, which the caller reads only when there is an
// entry to check.
func (c *lockCache) fresh(name, device string, now time.Time) (lockEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name+"\x00"+device]
	if !ok || !now.Before(e.until) || time.Since(e.seen) >= c.ttl {
		return lockEntry{}, false
	}
	return e, true
}

// remember records that the counter of name at device is locked until until; cleared is
// portier.CounterLockoutCleared as read before the counter was.
func (c *lockCache) remember(name, device, userID string, until time.Time, cleared int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= lockCacheMax {
		c.m = map[string]lockEntry{}
	}
	c.m[name+"\x00"+device] = lockEntry{userID: userID, until: until, seen: time.Now(), cleared: cleared}
}

// clear drops every entry.
func (c *lockCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = map[string]lockEntry{}
}

// forget drops every entry of a user.
func (c *lockCache) forget(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.userID == userID {
			delete(c.m, k)
		}
	}
}
