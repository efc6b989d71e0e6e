package signin

import (
	"sync"
	"time"
)

// lockCacheTTL is how long a process answers "locked" from memory before it asks the store
// again. An unlock or reset is forgotten at once on this process (Forget) and, through the
// store's portier.ChannelLockoutCleared, on every other (Listen); the TTL bounds what a lost
// message can cost.
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
}

func newLockCache(ttl time.Duration) *lockCache {
	return &lockCache{m: map[string]lockEntry{}, ttl: ttl}
}

// lookup returns the entry of name (at the browser device, "" for none) if a fresh one says
// it is locked at now.
func (c *lockCache) lookup(name, device string, now time.Time) (lockEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name+"\x00"+device]
	if !ok || !now.Before(e.until) || time.Since(e.seen) >= c.ttl {
		return lockEntry{}, false
	}
	return e, true
}

// remember records that the counter of name at device is locked until until.
func (c *lockCache) remember(name, device, userID string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= lockCacheMax {
		c.m = map[string]lockEntry{}
	}
	c.m[name+"\x00"+device] = lockEntry{userID: userID, until: until, seen: time.Now()}
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
