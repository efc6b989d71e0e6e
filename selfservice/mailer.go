package selfservice

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/mail"
)

// MailLifetime is how long a mail that cannot be delivered is retried before it is dropped
// (with an error in the log).
const MailLifetime = 3 * 24 * time.Hour

// Mailer is the outbox: mails are queued in the store in the transaction of what caused them,
// so none is lost when a process stops, and sent by whichever process claims them first.
// A queued mail is sealed (AES-GCM under a key from the server secret), since it may hold a
// code until it is sent, seconds later; then its record is deleted.
type Mailer struct {
	store  OutboxStore
	sender mail.Sender
	aead   cipher.AEAD
	now    portier.Clock
	log    *slog.Logger
	wake   chan struct{}
}

// OutboxStore is what the outbox uses of the store; a portier.Store is one.
type OutboxStore interface {
	ListTokens(ctx context.Context, f portier.TokenFilter) ([]*portier.Token, error)
	Tx(ctx context.Context, fn func(tx portier.Tx) error) error
	Subscribe(ctx context.Context, channel string, fn func(payload string)) error
}

// NewMailer returns the outbox sending through sender.
func NewMailer(store OutboxStore, sender mail.Sender, secret []byte, now portier.Clock, log *slog.Logger) *Mailer {
	k := hmac.New(sha256.New, secret)
	k.Write([]byte("portier mail queue"))
	block, err := aes.NewCipher(k.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Mailer{store: store, sender: sender, aead: aead, now: now, log: log, wake: make(chan struct{}, 1)}
}

// queued is a mail in the outbox, kept by Mailer.mails as a token of kind TokenMail; it is
// dropped once it is over.
type queued struct {
	flowMeta
	Sealed   []byte    `json:"sealed"`
	Attempts int       `json:"attempts"`
	NextTry  time.Time `json:"nextTry"`
}

// letter is what is sealed: the message and the audit entry its delivery writes, if any.
type letter struct {
	Message mail.Message        `json:"message"`
	Audit   *portier.AuditEvent `json:"audit,omitempty"`
}

// Enqueue adds a mail to the outbox within tx; audit, when set, is written to the audit log
// once the mail is delivered. The mail goes out after tx commits.
func (m *Mailer) Enqueue(ctx context.Context, tx portier.Tx, msg mail.Message, audit *portier.AuditEvent) error {
	plain, err := json.Marshal(letter{Message: msg, Audit: audit})
	if err != nil {
		return err
	}
	nonce := make([]byte, m.aead.NonceSize())
	rand.Read(nonce)
	q := &queued{flowMeta: flowMeta{ID: portier.NewID()}, Sealed: m.aead.Seal(nonce, nonce, plain, nil)}
	if err := m.mails().save(ctx, tx, q); err != nil {
		return err
	}
	// Every process's mailer hears of it once tx commits, and the first to claim it sends it.
	return tx.Publish(ctx, channelMailQueued, "")
}

// channelMailQueued is the store channel on which a committed transaction says it queued mail.
const channelMailQueued = "mail-queued"

// Run sends queued mail until ctx ends: at once when a transaction on any process sharing the
// store queued some, and every few seconds for mail that waits for a retry.
func (m *Mailer) Run(ctx context.Context) {
	err := m.store.Subscribe(ctx, channelMailQueued, func(string) {
		select {
		case m.wake <- struct{}{}:
		default: // a flush is due already
		}
	})
	if err != nil {
		m.log.Error("mail outbox: not told of new mail; sending every 5 s instead", "err", err)
	}
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-tick.C:
		}
		if _, err := m.Flush(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("mail outbox", "err", err)
		}
	}
}

// Flush sends every queued mail that is due and returns how many it delivered.
func (m *Mailer) Flush(ctx context.Context) (int, error) {
	sent := 0
	for {
		due, err := m.store.ListTokens(ctx, portier.TokenFilter{Kinds: []string{portier.TokenMail}, Limit: 50})
		if err != nil {
			return sent, err
		}
		progress := false
		for _, t := range due {
			ok, err := m.deliver(ctx, t.ID)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
				progress = true
			}
		}
		if len(due) < 50 || !progress {
			return sent, nil
		}
	}
}

// mails keeps the outbox.
func (m *Mailer) mails() flowStore[queued, *queued] {
	return flowStore[queued, *queued]{kind: portier.TokenMail, life: MailLifetime, now: m.now}
}

// deliver claims one queued mail (so no other process sends it meanwhile), sends it, and
// deletes it; a failed send is retried later with a growing pause.
func (m *Mailer) deliver(ctx context.Context, id string) (bool, error) {
	var q *queued
	var l letter
	now := m.now()
	claimed := false
	err := m.store.Tx(ctx, func(tx portier.Tx) error {
		var err error
		q, err = m.mails().load(ctx, tx, id)
		over := isOver(err)
		if err != nil && !over {
			if errors.As(err, new(*goneError)) {
				return nil // sent by another process meanwhile
			}
			return err
		}
		if now.Before(q.NextTry) {
			return nil // claimed by another process, or waiting for its retry
		}
		if over {
			m.log.Error("mail dropped: not delivered in time", "mail_id", id, "attempts", q.Attempts)
			return m.mails().end(ctx, tx, q)
		}
		ns := m.aead.NonceSize()
		if len(q.Sealed) < ns {
			return m.mails().end(ctx, tx, q)
		}
		plain, err := m.aead.Open(nil, q.Sealed[:ns], q.Sealed[ns:], nil)
		if err != nil {
			m.log.Error("mail dropped: sealed under another secret", "mail_id", id)
			return m.mails().end(ctx, tx, q)
		}
		if err := json.Unmarshal(plain, &l); err != nil {
			return err
		}
		q.NextTry = now.Add(2 * time.Minute) // the claim
		claimed = true
		return m.mails().save(ctx, tx, q)
	})
	if err != nil || !claimed {
		return false, err
	}
	sendErr := m.sender.Send(ctx, l.Message)
	err = m.store.Tx(ctx, func(tx portier.Tx) error {
		// Locked, so that the outcome is written once; over or not, it was claimed in time.
		if _, err := m.mails().load(ctx, tx, id); err != nil && !isOver(err) {
			return err
		}
		if sendErr == nil {
			if l.Audit != nil {
				l.Audit.Time = m.now()
				if err := tx.AppendAudit(ctx, l.Audit); err != nil {
					return err
				}
			}
			return m.mails().end(ctx, tx, q)
		}
		q.Attempts++
		q.NextTry = m.now().Add(min(time.Duration(1<<min(q.Attempts, 10))*15*time.Second, 30*time.Minute))
		return m.mails().save(ctx, tx, q)
	})
	if sendErr != nil {
		m.log.Warn("mail not delivered; will retry", "mail_id", id, "attempts", q.Attempts, "err", sendErr)
		return false, errors.Join(err)
	}
	return true, err
}
