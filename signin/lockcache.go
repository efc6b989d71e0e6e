package signin

import (
	"sync"
	"time"
)

// lockCacheTTL is how long a process answers "locked" from memory before it asks the store
// again. An unlock made on another process sharing the store is thus seen within it; one made
// through this process's directory service is seen at once (Forget).
const lockCacheTTL = time.Second

// lockCacheMax bounds the cache; past it the cache starts afresh.
const lockCacheMax = 10000

// lockCache remembers counters known to be locked, so that a flood of attempts at a locked
// account is answered without touching the store.
type lockCache struct {
	mu sync.Mutex
	m  map[string]lockEntry
}

type lockEntry struct {
	userID string    // the account's user id; empty for an unknown name
	until  time.Time // the lock's end, on the engine's clock
	seen   time.Time // when the store said so, in real time
}

func newLockCache() *lockCache { return &lockCache{m: map[string]lockEntry{}} }

// lookup returns the entry of name (at the browser device, "" for none) if a fresh one says
// it is locked at now.
func (c *lockCache) lookup(name, device string, now time.Time) (lockEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[name+"\x00"+device]
	if !ok || !now.Before(e.until) || time.Since(e.seen) >= lockCacheTTL {
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
