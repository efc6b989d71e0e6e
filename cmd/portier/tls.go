package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certificate is serve's TLS certificate, read again from its files when they change (a
// renewal by certbot or an ACME client), so that a renewal needs no restart. A pair that fails
// to load keeps the one in use, with an error in the log of the handshake that noticed.
type certificate struct {
	certFile, keyFile string

	mu        sync.Mutex
	cert      *tls.Certificate
	modified  time.Time // the later modification time of the two files when cert was read
	checkedAt time.Time
}

// certCheckEvery is how often a handshake looks at the files' modification times.
const certCheckEvery = 10 * time.Second

// loadCertificate reads the pair, or says plainly why it cannot.
func loadCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	if err := c.load(); err != nil {
		return nil, usageError("%v", err)
	}
	return c, nil
}

func (c *certificate) load() error {
	mod, err := c.modTime()
	if err != nil {
		return err
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("--tls-cert %s and --tls-key %s: %v", c.certFile, c.keyFile, err)
	}
	c.cert, c.modified = &pair, mod
	return nil
}

func (c *certificate) modTime() (time.Time, error) {
	var latest time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		info, err := os.Stat(f)
		if err != nil {
			return time.Time{}, fmt.Errorf("cannot read %s: %v", f, err)
		}
		if info.ModTime().After(latest) {
			latest = info.ModTime()
		}
	}
	return latest, nil
}

// get is tls.Config.GetCertificate.
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checkedAt) >= certCheckEvery {
		c.checkedAt = now
		if mod, err := c.modTime(); err == nil && !mod.Equal(c.modified) {
			// Keep the old pair if the new one is half written or wrong; try again later.
			old, oldMod := c.cert, c.modified
			if err := c.load(); err != nil {
				c.cert, c.modified = old, oldMod
			}
		}
	}
	return c.cert, nil
}
