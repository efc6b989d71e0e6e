package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portier-id/portier/internal/testenv"
	portiermail "github.com/portier-id/portier/mail"
	"github.com/portier-id/portier/mail/smtptest"
)

func message() portiermail.Message {
	return portiermail.Message{To: "ada@example.org", Subject: "Your code", Text: "Your code is 12345678.", HTML: "<p>Your code is <b>12345678</b>.</p>"}
}

func TestSMTPWithSTARTTLSAndAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{User: "portier", Password: "s3cret"})
	s, err := portiermail.New(portiermail.Config{URL: "smtp://portier:s3cret@" + srv.Addr, From: "noreply@example.org", TLS: srv.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Wait(t, 1)[0]
	if got.Authenticated != "portier" || got.From != "noreply@example.org" || got.To[0] != "ada@example.org" {
		t.Fatalf("received %+v", got)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(got.Data)))
	if err != nil || m.Header.Get("Subject") != "Your code" {
		t.Fatalf("parsed: %v %q", err, m.Header.Get("Subject"))
	}
	if !strings.Contains(string(got.Data), "12345678") {
		t.Fatal("the body did not arrive")
	}
}

func TestSMTPRefusesWrongPasswordAndPlaintext(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{User: "portier", Password: "s3cret"})
	s := testenv.Must(portiermail.New(portiermail.Config{URL: "smtp://portier:wrong@" + srv.Addr, From: "noreply@example.org", TLS: srv.ClientTLS}))(t)
	if err := s.Send(context.Background(), message()); err == nil || strings.Contains(err.Error(), "12345678") {
		t.Fatalf("wrong password: %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("a message arrived without authentication")
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{ImplicitTLS: true})
	s, err := portiermail.New(portiermail.Config{URL: "smtps://" + srv.Addr, From: "noreply@example.org", TLS: srv.ClientTLS})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	srv.Wait(t, 1)
}

func TestSMTPURLErrors(t *testing.T) {
	for _, u := range []string{"http://x", "smtp://", "smtp://h:port", "smtp://h?tls=maybe"} {
		if _, err := portiermail.New(portiermail.Config{URL: u, From: "a@example.org"}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

func TestOutboxWritesEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logged bytes.Buffer
	s, err := portiermail.New(portiermail.Config{From: "noreply@example.org", Outbox: dir, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), message()); err != nil {
		t.Fatal(err)
	}
	files := testenv.Must(filepath.Glob(filepath.Join(dir, "*.eml")))(t)
	if len(files) != 1 {
		t.Fatalf("%d files in the outbox", len(files))
	}
	raw := testenv.Must(os.ReadFile(files[0]))(t)
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil || !strings.Contains(m.Header.Get("To"), "ada@example.org") {
		t.Fatalf("eml: %v", err)
	}
	// The log says where the mail went, never what it holds.
	if !strings.Contains(logged.String(), files[0]) || strings.Contains(logged.String(), "12345678") {
		t.Fatalf("outbox log line: %q", logged.String())
	}
}
