package signin

// RemembersLock says whether the engine answers "locked" for userID from its memory; the
// tests outside the package use it to see the memory dropped when an unlock is heard.
func (e *Engine) RemembersLock(userID string) bool {
	e.locks.mu.Lock()
	defer e.locks.mu.Unlock()
	for _, entry := range e.locks.m {
		if entry.userID == userID {
			return true
		}
	}
	return false
}

// Lanes is how many browsers' counters have a lane (lane.go): attempts from them are running.
func (e *Engine) Lanes() int {
	e.lanes.mu.Lock()
	defer e.lanes.mu.Unlock()
	return len(e.lanes.m)
}
