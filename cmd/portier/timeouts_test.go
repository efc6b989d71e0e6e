package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier/internal/testenv"
)

// closedByServer reads from c until the server closes it, and fails the test if the read
// ends on the test's own (generous) deadline instead: the server kept the connection.
func closedByServer(t *testing.T, c net.Conn, r io.Reader, what string) {
	t.Helper()
	testenv.NoErr(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server still held the connection after 20 s", what)
	}
}

// TestServeClosesStalledAndIdleConnections runs `portier serve` with short read and idle
// timeouts: a client that sends its headers and then stalls its body is disconnected, and
// idle keep-alive connections are closed.
func TestServeClosesStalledAndIdleConnections(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "timeouts.db")
	p := startServe(t, db, "--read-timeout", "500ms", "--idle-timeout", "500ms")
	addr := strings.TrimPrefix(p.url, "http://")

	t.Run("a stalled body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		testenv.Must(io.WriteString(c, "POST /login HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=stall"))(t)
		closedByServer(t, c, c, "a request whose body stalled")
	})

	t.Run("idle keep-alive connections", func(t *testing.T) {
		conns := make([]net.Conn, 20)
		readers := make([]*bufio.Reader, len(conns))
		for i := range conns {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			testenv.Must(io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n\r\n"))(t)
			r := bufio.NewReader(c)
			resp, err := http.ReadResponse(r, nil)
			if err != nil || resp.StatusCode != 200 || resp.Close {
				t.Fatalf("GET /healthz on connection %d: %v %v", i, err, resp)
			}
			testenv.Must(io.Copy(io.Discard, resp.Body))(t)
			resp.Body.Close()
			conns[i], readers[i] = c, r
		}
		for i, c := range conns {
			closedByServer(t, c, readers[i], "an idle keep-alive connection")
		}
	})
}

func TestServeRefusesBadTimeouts(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "timeouts.db")
	refused(t, db, "", "--read-timeout", "serve", "--read-timeout", "0s")
	refused(t, db, "", "--write-timeout", "serve", "--write-timeout", "10s", "--request-timeout", "20s")
	env := map[string]string{"PORTIER_DB": db, "PORTIER_IDLE_TIMEOUT": "soon"}
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr); err == nil || !strings.Contains(stderr.String(), "--idle-timeout") {
		t.Fatalf("an unreadable PORTIER_IDLE_TIMEOUT: %v %q", err, stderr.String())
	}
}
