package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeTLSAndJSONLogs runs a real `portier serve --tls-cert --tls-key --log-format json`
// with a certificate made for the test: a client that trusts it gets HTTP/2, every cookie is
// Secure (the session's after a sign-in too), and every line on stderr is one JSON object.
func TestServeTLSAndJSONLogs(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := testCertificate(t, dir)
	db := "sqlite:" + filepath.Join(dir, "portier.db")
	must(t, db, "a password of some length\n", "users", "create", "tls@example.org", "--display-name", "TLS", "--password-stdin", "--no-force-change")
	p := startServe(t, db, "--tls-cert", certFile, "--tls-key", keyFile, "--log-format", "json")
	base := strings.Replace(p.url, "http://", "https://", 1)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("GET /login: %d over %s, want 200 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	checkSecure(t, resp)
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on /login")
	}
	form := url.Values{"username": {"tls@example.org"}, "password": {"a password of some length"}, "csrf_token": {string(m[1])}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Over HTTPS the CSRF check wants the origin a browser sends.
	req.Header.Set("Origin", base)
	req.Header.Set("Referer", base+"/login")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.ProtoMajor != 2 {
		t.Fatalf("POST /login: %d over %s, want 303 over HTTP/2", resp.StatusCode, resp.Proto)
	}
	if len(resp.Cookies()) == 0 {
		t.Fatal("a sign-in set no cookie")
	}
	checkSecure(t, resp)

	// Plain HTTP on the TLS port gets no page.
	if resp, err := http.Get(p.url + "/login"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP on the TLS port answered 200")
		}
	}

	lines := 0
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %q: %v", line, err)
		}
		if rec["msg"] == "portier listening" && (rec["level"] != "INFO" || rec["tls"] != true) {
			t.Errorf("listening line: %v", rec)
		}
		lines++
	}
	if lines == 0 {
		t.Fatal("no log lines")
	}

	// Bad flags are refused before anything starts.
	refused(t, db, "", "--tls-cert and --tls-key go together", "serve", "--tls-cert", certFile)
	refused(t, db, "", "must be an https:// URL", "serve", "--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--base-url", "http://example.org")
	refused(t, db, "", "--log-format must be text or json", "users", "list", "--log-format", "xml")
}

func checkSecure(t *testing.T, resp *http.Response) {
	t.Helper()
	for _, ck := range resp.Cookies() {
		if !ck.Secure {
			t.Errorf("cookie %s is not Secure: %v", ck.Name, resp.Header.Values("Set-Cookie"))
		}
	}
}

// testCertificate writes a self-signed certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool that trusts it.
func testCertificate(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "portier test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
