// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on a loopback port for
// tests: STARTTLS or implicit TLS with a throwaway certificate, AUTH PLAIN, and the messages
// it received, raw, for the test to parse.
package smtptest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Server is a running test SMTP server.
type Server struct {
	// Addr is host:port.
	Addr string
	// ClientTLS trusts the server's certificate.
	ClientTLS *tls.Config

	mu       sync.Mutex
	messages []Received
	arrived  chan struct{}
}

// Received is one message as the server got it.
type Received struct {
	From string
	To   []string
	Data []byte
	// Authenticated is the user name the client signed in with, if any.
	Authenticated string
}

// Options choose how the server talks.
type Options struct {
	// ImplicitTLS makes the server speak TLS from the first byte (smtps); otherwise it offers STARTTLS.
	ImplicitTLS bool
	// User and Password, when set, are the only credentials AUTH PLAIN accepts, and mail is
	// refused without them.
	User, Password string
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &Server{arrived: make(chan struct{}, 1000), ClientTLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, o: o}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var ln net.Listener
	var err error
	if o.ImplicitTLS {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() {
		// Shutdown closes the listener and waits for the connections in flight to end (each
		// message has its own); Close closes them at once, and closing one while its STARTTLS
		// replaces the connection is a data race inside go-smtp (seen under -race in CI).
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	})
	return s
}

// Messages returns what arrived so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.messages...)
}

// Wait returns once n messages have arrived, or fails the test after 10 seconds.
func (s *Server) Wait(t testing.TB, n int) []Received {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(s.Messages()) < n {
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("%d messages arrived, want %d", len(s.Messages()), n)
		}
	}
	return s.Messages()
}

type session struct {
	s    *Server
	o    Options
	user string
	cur  Received
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.o.User || password != ss.o.Password {
			return errors.New("invalid credentials")
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.o.User != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.cur = Received{From: from, Authenticated: ss.user}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	ss.cur.Data = buf.Bytes()
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, ss.cur)
	ss.s.mu.Unlock()
	ss.s.arrived <- struct{}{}
	return nil
}

func (ss *session) Reset()        { ss.cur = Received{} }
func (ss *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
