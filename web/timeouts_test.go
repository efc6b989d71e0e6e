package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/web"
)

// TestUploadOutlastsTheReadTimeout: on a server whose read timeout is short, a CSV import
// whose body pauses past it still goes through (the import route has its own, longer one),
// while an ordinary form that pauses as long is cut off.
func TestUploadOutlastsTheReadTimeout(t *testing.T) {
	store := testenv.Backends()[0].Open(t) // the store does not matter here
	in := newInstance(t, store, testenv.NewClock())
	addUser(t, in.dir, "admin@example.org", "User Admin", portier.RoleUserAdmin)
	admin := signedIn(t, in, "admin@example.org")
	token := admin.token("/admin/users/import")
	base := testenv.Must(url.Parse(in.srv.URL))(t)
	var cookies []string
	for _, c := range admin.Client.Jar.Cookies(base) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}

	const readTimeout = 300 * time.Millisecond
	srv := web.HTTPServer(in.srv.Config.Handler, web.Timeouts{Read: readTimeout})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// send writes head and the first half of body, pauses past the read timeout, writes the
	// rest, and returns the answer (nil if the server cut the connection).
	send := func(head string, body []byte) *http.Response {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		testenv.Must(io.WriteString(c, head+fmt.Sprintf("Content-Length: %d\r\nCookie: %s\r\n\r\n", len(body), strings.Join(cookies, "; "))))(t)
		testenv.Must(c.Write(body[:len(body)/2]))(t)
		// A real stall in real time: the server's read deadline is the kernel's clock, which no
		// injected clock moves.
		time.Sleep(3 * readTimeout)
		c.Write(body[len(body)/2:]) // may fail: the server is allowed to have cut the connection by now
		testenv.NoErr(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return nil
		}
		return resp
	}

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", token)
	fw := testenv.Must(mw.CreateFormFile("file", "users.csv"))(t)
	io.WriteString(fw, "User name\nslow.upload@example.org\n")
	mw.Close()
	resp := send("POST /admin/users/import HTTP/1.1\r\nHost: "+ln.Addr().String()+"\r\nContent-Type: "+mw.FormDataContentType()+"\r\n", buf.Bytes())
	if resp == nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("an import that paused past the read timeout: %v", resp)
	}
	if _, err := in.dir.User(t.Context(), "slow.upload@example.org"); err != nil {
		t.Fatalf("the slow import created nobody: %v", err)
	}

	form := url.Values{"username": {"admin@example.org"}, "password": {"a wrong password here"}, "csrf_token": {token}}.Encode()
	resp = send("POST /login HTTP/1.1\r\nHost: "+ln.Addr().String()+"\r\nContent-Type: application/x-www-form-urlencoded\r\n", []byte(form))
	if resp != nil && resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a sign-in form that paused past the read timeout was read: status %d", resp.StatusCode)
	}
}
