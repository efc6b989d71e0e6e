// Package broker fans messages out to the subscribers of a channel inside one process: the
// stores deliver what a committed transaction published through it (SQLite its own at commit
// and other processes' as it reads them, PostgreSQL what its LISTEN connection hears).
package broker

import (
	"context"
	"sync"
)

// Broker is a set of subscriptions by channel; the zero value is ready to use.
type Broker struct {
	mu   sync.Mutex
	next int
	subs map[string]map[int]func(payload string)
}

// Subscribe calls fn with every payload delivered on channel until ctx ends.
func (b *Broker) Subscribe(ctx context.Context, channel string, fn func(payload string)) {
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[string]map[int]func(string){}
	}
	if b.subs[channel] == nil {
		b.subs[channel] = map[int]func(string){}
	}
	id := b.next
	b.next++
	b.subs[channel][id] = fn
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs[channel], id)
		b.mu.Unlock()
	}()
}

// Deliver hands payload to every subscriber of channel, each in a goroutine of its own, so
// that a slow subscriber holds up neither the publisher nor the others.
func (b *Broker) Deliver(channel, payload string) {
	b.mu.Lock()
	fns := make([]func(string), 0, len(b.subs[channel]))
	for _, fn := range b.subs[channel] {
		fns = append(fns, fn)
	}
	b.mu.Unlock()
	for _, fn := range fns {
		go fn(payload)
	}
}

// DeliverAll hands payload to every subscriber of every channel: "" when messages may have
// been missed.
func (b *Broker) DeliverAll(payload string) {
	b.mu.Lock()
	channels := make([]string, 0, len(b.subs))
	for c := range b.subs {
		channels = append(channels, c)
	}
	b.mu.Unlock()
	for _, c := range channels {
		b.Deliver(c, payload)
	}
}
