package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/portier-id/portier"
)

// pollEvery is how often a store that has subscribers reads the messages other processes on
// the same file published. Nothing that must take effect at once waits for it: the lock
// memory checks portier.CounterLockoutCleared instead.
const pollEvery = 50 * time.Millisecond

// keepNotifications is how long a published message stays in the table for other processes to
// read. A process that falls further behind hears "" (messages may have been missed).
const keepNotifications = time.Minute

// notifier reads, for this Store, the messages other processes published on the file.
type notifier struct {
	once sync.Once
	err  error
	// origin names this Store in the rows it publishes; it skips them, having delivered them
	// in process at commit.
	origin string
	last   int64 // the id of the last row read
	stop   context.CancelFunc
	done   chan struct{}
}

func newOrigin() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Publish stores payload in the notifications table, where every other process on the file
// reads it once the transaction commits, and queues it for this process's subscribers,
// delivered at commit. A rollback takes both back. Rows older than keepNotifications go.
func (t *tx) Publish(ctx context.Context, channel, payload string) error {
	if len(payload) > 1000 {
		return portier.Errorf(portier.EInvalid, "A published message may hold at most 1,000 bytes.")
	}
	now := time.Now()
	if _, err := t.db.ExecContext(ctx, `INSERT INTO notifications (channel, payload, origin, created) VALUES (?, ?, ?, ?)`,
		channel, payload, t.store.notify.origin, now.UnixNano()); err != nil {
		return t.store.wrap("publish", err)
	}
	if _, err := t.db.ExecContext(ctx, `DELETE FROM notifications WHERE created < ?`, now.Add(-keepNotifications).UnixNano()); err != nil {
		return t.store.wrap("prune notifications", err)
	}
	t.published = append(t.published, message{channel, payload})
	return nil
}

// Subscribe calls fn with the messages published on channel: this process's at commit, other
// processes' within pollEvery (the first Subscribe starts the poller, which runs until Close).
func (s *Store) Subscribe(ctx context.Context, channel string, fn func(payload string)) error {
	s.notify.once.Do(func() {
		// Start from the newest row: what was published before anyone listened is not news.
		if s.notify.err = s.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM notifications`).Scan(&s.notify.last); s.notify.err != nil {
			s.notify.err = s.wrap("start listening", s.notify.err)
			return
		}
		pollCtx, stop := context.WithCancel(context.Background())
		s.notify.stop, s.notify.done = stop, make(chan struct{})
		go s.poll(pollCtx)
	})
	if s.notify.err != nil {
		return s.notify.err
	}
	s.broker.Subscribe(ctx, channel, fn)
	return nil
}

// poll delivers other processes' messages every pollEvery until ctx ends.
func (s *Store) poll(ctx context.Context) {
	defer close(s.notify.done)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// An error (the file busy or unreadable) is tried again at the next tick: the rows
		// wait in the table, and a gap says if some were pruned meanwhile.
		_ = s.pollOnce(ctx)
	}
}

// pollOnce reads the rows after the last one read and delivers those of other processes.
func (s *Store) pollOnce(ctx context.Context) error {
	rows, err := s.read.QueryContext(ctx, `SELECT id, channel, payload, origin FROM notifications WHERE id > ? ORDER BY id LIMIT 1000`, s.notify.last)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id                       int64
			channel, payload, origin string
		)
		if err := rows.Scan(&id, &channel, &payload, &origin); err != nil {
			return err
		}
		// Committed ids are consecutive (one writer, AUTOINCREMENT, a rollback takes its id
		// back): a jump means rows were pruned before this process read them.
		if id != s.notify.last+1 {
			s.broker.DeliverAll("")
		}
		s.notify.last = id
		if origin != s.notify.origin {
			s.broker.Deliver(channel, payload)
		}
	}
	return rows.Err()
}

// stopPolling ends the poller, if one started, and waits for it.
func (s *Store) stopPolling() {
	s.notify.once.Do(func() {}) // no poller may start after Close
	if s.notify.stop != nil {
		s.notify.stop()
		<-s.notify.done
	}
}

// Counter returns the named counter's committed value; 0 if it was never incremented.
func (q queries) Counter(ctx context.Context, name string) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = ?`, name).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, q.store.wrap("read counter "+name, err)
}

// Increment adds one to the named counter. The IMMEDIATE transaction holds the file's write
// lock, so no other increment, in any process, interleaves.
func (t *tx) Increment(ctx context.Context, name string) (int64, error) {
	var n int64
	err := t.db.QueryRowContext(ctx, `INSERT INTO counters (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`, name).Scan(&n)
	return n, t.store.wrap("increment counter "+name, err)
}

// Lock needs to do nothing: the IMMEDIATE transaction already holds the file's write lock,
// the one lock every writing transaction, in every process, takes first.
func (t *tx) Lock(ctx context.Context, name string) error { return nil }
