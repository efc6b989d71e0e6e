package graph_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/portier-id/portier"
	"github.com/portier-id/portier/directory"
	"github.com/portier-id/portier/internal/testenv"
	"github.com/portier-id/portier/internal/testenv/testserver"
)

// graphScope is the scope Microsoft's SDKs ask for.
const graphScope = "https://graph.microsoft.com/.default"

// app is an application registered for client credentials, with its secret.
type app struct {
	ID, Secret, Name string
}

// register registers an application acting on its own behalf with perms, as
// `portier apps create NAME --client-credentials --permission ...` does.
func register(t testing.TB, in *testserver.Instance, name string, perms ...string) app {
	t.Helper()
	a, secret, err := in.Dir.CreateApp(context.Background(), portier.CLIActor("test"),
		directory.AppInput{Name: name, ClientCredentials: true, Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	return app{ID: a.ID, Secret: secret, Name: name}
}

// token gets an access token at Portier's token endpoint through a real OAuth 2.0 client
// library (golang.org/x/oauth2's client credentials), as a script would.
func token(t testing.TB, in *testserver.Instance, a app, scope string) string {
	t.Helper()
	cc := clientcredentials.Config{ClientID: a.ID, ClientSecret: a.Secret, TokenURL: in.URL + "/oauth2/token", Scopes: []string{scope}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("client credentials for %s: %v", a.Name, err)
	}
	if tok.TokenType != "Bearer" || tok.AccessToken == "" {
		t.Fatalf("token: %+v", tok)
	}
	return tok.AccessToken
}

// client sends Graph requests as Microsoft's Go SDK does: bearer token, JSON accepted, a
// client-request-id, bodies gzipped with "@odata.type".
type client struct {
	t     testing.TB
	base  string
	token string
	http  *http.Client
}

func newClient(t testing.TB, in *testserver.Instance, tok string) *client {
	return &client{t: t, base: in.URL, token: tok, http: &http.Client{}}
}

// answer is a response with its body decoded as JSON (nil when empty).
type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// code is the Graph error code of an error answer.
func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (a answer) message() string {
	e, _ := a.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func (a answer) values() []map[string]any {
	vs, _ := a.body["value"].([]any)
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.(map[string]any))
	}
	return out
}

// rawBody is a body sent as it is, never gzipped, whatever its Content-Encoding says.
type rawBody []byte

// gzipped compresses b as the SDK does.
func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	testenv.Must(zw.Write(b))(t)
	testenv.NoErr(t, zw.Close())
	return buf.Bytes()
}

// do sends a request; body is marshalled to JSON (a []byte is sent as it is) and gzipped.
func (c *client) do(method, target string, body any, header ...string) answer {
	c.t.Helper()
	var raw []byte
	plain := false
	switch b := body.(type) {
	case nil:
	case rawBody:
		raw, plain = b, true
	case []byte:
		raw = b
	default:
		raw = testenv.Must(json.Marshal(b))(c.t)
	}
	if !strings.HasPrefix(target, "http") {
		target = c.base + target
	}
	var rd io.Reader
	if raw != nil && !plain {
		rd = bytes.NewReader(gzipped(c.t, raw))
	} else if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req := testenv.Must(http.NewRequest(method, target, rd))(c.t)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("client-request-id", portier.NewID())
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	if req.Header.Get("Content-Encoding") == "" && raw != nil {
		req.Body = io.NopCloser(bytes.NewReader(raw))
		req.ContentLength = int64(len(raw))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b := testenv.Must(io.ReadAll(resp.Body))(c.t)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &a.body); err != nil {
			c.t.Fatalf("%s %s: status %d, body is not JSON: %s", method, target, resp.StatusCode, b)
		}
	}
	if resp.StatusCode >= 400 {
		checkErrorShape(c.t, a, req.Header.Get("client-request-id"))
	}
	return a
}

// checkErrorShape asserts Graph's error shape: code, message, innerError with the request ids.
func checkErrorShape(t testing.TB, a answer, clientID string) {
	t.Helper()
	e, ok := a.body["error"].(map[string]any)
	if !ok || len(a.body) != 1 {
		t.Fatalf("status %d: not Graph's error shape: %s", a.status, a.raw)
	}
	inner, _ := e["innerError"].(map[string]any)
	if e["code"] == "" || e["message"] == "" || inner == nil || inner["request-id"] == "" || inner["date"] == "" {
		t.Fatalf("status %d: error without code, message or innerError: %s", a.status, a.raw)
	}
	if clientID != "" && inner["client-request-id"] != clientID {
		t.Fatalf("innerError.client-request-id = %v, want %s", inner["client-request-id"], clientID)
	}
	if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
		t.Fatalf("error Content-Type %q", a.header.Get("Content-Type"))
	}
}

// want fails unless the answer has the status (and, for errors, the code and a message
// holding fragment).
func (a answer) want(t testing.TB, what string, status int, codeAndFragment ...string) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, a.status, status, a.raw)
	}
	if len(codeAndFragment) > 0 && a.code() != codeAndFragment[0] {
		t.Fatalf("%s: code %q, want %q: %s", what, a.code(), codeAndFragment[0], a.raw)
	}
	if len(codeAndFragment) > 1 && !strings.Contains(a.message(), codeAndFragment[1]) {
		t.Fatalf("%s: message %q does not say %q", what, a.message(), codeAndFragment[1])
	}
	return a
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func filterQuery(f string) string { return "$filter=" + url.QueryEscape(f) }
