// Package mail sends Portier's mails (verification codes, lockout and reset notices) over SMTP
// with github.com/wneessen/go-mail, or, when no SMTP server is configured, writes them as .eml
// files to an outbox folder so that nothing is lost and an operator can read them.
package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail to one recipient, with a plain-text body and an optional HTML one.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender sends mail. Errors say what failed without the message's content.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Config is what New needs.
type Config struct {
	// URL is PORTIER_SMTP_URL: smtp://[user:password@]host[:587][?tls=required|opportunistic|none]
	// (STARTTLS, required by default) or smtps://[user:password@]host[:465] (implicit TLS).
	// Empty selects the outbox.
	URL string
	// From is the sender address.
	From string
	// Outbox is the folder for .eml files when URL is empty.
	Outbox string
	// TLS, when set, replaces the default TLS configuration (tests trust their own CA with it).
	TLS *tls.Config
	Log *slog.Logger
}

// New returns the sender Config names.
func New(c Config) (Sender, error) {
	if c.URL == "" {
		return &Outbox{Dir: c.Outbox, From: c.From, Log: c.Log}, nil
	}
	return newSMTP(c)
}

// SMTP sends through an SMTP server, one connection per message.
type SMTP struct {
	host string
	from string
	opts []gomail.Option
}

func newSMTP(c Config) (*SMTP, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("PORTIER_SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
	}
	host := u.Hostname()
	opts := []gomail.Option{gomail.WithTimeout(15 * time.Second)}
	tlsConfig := c.TLS
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tlsConfig))
	port := 587
	switch u.Scheme {
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	case "smtp":
		switch u.Query().Get("tls") {
		case "", "required":
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		case "opportunistic":
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
		case "none":
			opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		default:
			return nil, fmt.Errorf("PORTIER_SMTP_URL: tls must be required, opportunistic or none")
		}
	default:
		return nil, fmt.Errorf("PORTIER_SMTP_URL must start with smtp:// or smtps://")
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("PORTIER_SMTP_URL: bad port %q", p)
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil {
		pw, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pw))
	}
	return &SMTP{host: host, from: c.From, opts: opts}, nil
}

// Send delivers m; the error names the server, never the message.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(s.from, m)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: sending through %s: %w", s.host, err)
	}
	return nil
}

// Outbox writes each message as an .eml file; the log line names the file, never the content,
// since a message may hold a code.
type Outbox struct {
	Dir  string
	From string
	Log  *slog.Logger
}

// Send writes m to a new file in the outbox, which it creates when it is missing.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	msg, err := build(o.From, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("mail outbox %s: %w", o.Dir, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := filepath.Join(o.Dir, time.Now().UTC().Format("20060102T150405Z")+"-"+hex.EncodeToString(b[:])+".eml")
	if err := msg.WriteToFile(name); err != nil {
		return fmt.Errorf("mail: writing to the outbox: %w", err)
	}
	if o.Log != nil {
		o.Log.Info("no SMTP server configured (PORTIER_SMTP_URL); mail written to the outbox", "file", name, "to", m.To)
	}
	return nil
}

func build(from string, m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: recipient %q: %w", m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
