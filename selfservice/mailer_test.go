package selfservice_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/mail"
	"github.com/portier-id/portier/mail/smtptest"
	"github.com/portier-id/portier/selfservice"
)

// TestMailerKeepsWhatItCannotSend: a mail queued while the SMTP server is down stays in the
// store, sealed, and another process delivers it once the server answers, writing the audit
// entry that was waiting for the delivery.
func TestMailerKeepsWhatItCannotSend(t *testing.T) {
	testenv.ForEach(t, func(t *testing.T, store portier.Store) {
		ctx := context.Background()
		clock := testenv.NewClock()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		secret := bytes.Repeat([]byte{7}, 32)

		// A port nothing listens on: the first process cannot deliver.
		ln := testenv.Must(net.Listen("tcp", "127.0.0.1:0"))(t)
		dead := ln.Addr().String()
		testenv.NoErr(t, ln.Close())
		down := testenv.Must(mail.New(mail.Config{URL: "smtp://" + dead + "?tls=none", From: "portier@example.org", Log: log}))(t)
		first := selfservice.NewMailer(store, down, secret, clock.Now, log)
		msg := mail.Message{To: "ann@example.net", Subject: "Your code", Text: "Your code is 31415926."}
		audit := &portier.AuditEvent{Actor: "portier", Action: portier.ActionNotifyUser, Target: "ann@example.org", Outcome: portier.OutcomeSuccess, Detail: "test notice"}
		if err := store.Tx(ctx, func(tx portier.Tx) error { return first.Enqueue(ctx, tx, msg, audit) }); err != nil {
			t.Fatal(err)
		}
		if n, err := first.Flush(ctx); err != nil || n != 0 {
			t.Fatalf("Flush with the server down: %d sent, %v", n, err)
		}
		queued, err := store.ListTokens(ctx, portier.TokenFilter{Kinds: []string{portier.TokenMail}})
		if err != nil || len(queued) != 1 {
			t.Fatalf("%d mails queued after a failed send (%v), want 1", len(queued), err)
		}
		if bytes.Contains(queued[0].Data, []byte("31415926")) || bytes.Contains(queued[0].Data, []byte("ann@example.net")) {
			t.Fatal("the queued mail is readable in the store")
		}
		if evs := testenv.Must(store.ListAudit(ctx, portier.AuditFilter{Action: portier.ActionNotifyUser}))(t); len(evs) != 0 {
			t.Fatal("a notice was audited as sent before it was")
		}

		// Another process, with a working server, takes it over once the retry is due.
		srv := smtptest.Start(t, smtptest.Options{})
		up := testenv.Must(mail.New(mail.Config{URL: "smtp://" + srv.Addr, From: "portier@example.org", TLS: srv.ClientTLS, Log: log}))(t)
		second := selfservice.NewMailer(store, up, secret, clock.Now, log)
		if n := testenv.Must(second.Flush(ctx))(t); n != 0 {
			t.Fatal("a mail was sent again before its retry was due")
		}
		clock.Advance(10 * time.Minute)
		if n, err := second.Flush(ctx); err != nil || n != 1 {
			t.Fatalf("Flush after the retry pause: %d sent, %v", n, err)
		}
		if got := srv.Wait(t, 1); !bytes.Contains(got[0].Data, []byte("31415926")) {
			t.Fatal("the delivered mail lost its content")
		}
		if left := testenv.Must(store.ListTokens(ctx, portier.TokenFilter{Kinds: []string{portier.TokenMail}}))(t); len(left) != 0 {
			t.Fatalf("%d mails still queued after delivery", len(left))
		}
		if evs := testenv.Must(store.ListAudit(ctx, portier.AuditFilter{Action: portier.ActionNotifyUser}))(t); len(evs) != 1 || evs[0].Detail != "test notice" {
			t.Fatalf("audit after delivery: %+v", evs)
		}
		if n := testenv.Must(second.Flush(ctx))(t); n != 0 {
			t.Fatal("a delivered mail was sent twice")
		}
	})
}
