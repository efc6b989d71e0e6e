package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portier-id/portier/internal/testenv"
)

// process is a real `portier serve` process: the test binary started again as main.
type process struct {
	url    string
	cmd    *exec.Cmd
	stderr *syncWriter
	stdout *syncWriter
}

// startServe starts `portier serve` on db with the extra flags, on a port the kernel picks,
// and returns once the process has said where it listens.
func startServe(t *testing.T, db string, flags ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, flags...)...)
	cmd.Env = append(os.Environ(), "PORTIER_RUN_AS_MAIN=1", "PORTIER_ARGON2_MEMORY=64", "PORTIER_ARGON2_TIME=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncWriter{w: &bytes.Buffer{}}
	p := &process{cmd: cmd, stderr: out, stdout: &syncWriter{w: &bytes.Buffer{}}}
	cmd.Stdout = p.stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(out, line)
			if m := listenLine.FindStringSubmatch(line); m != nil {
				listening <- m[1] + m[2]
			}
		}
		close(listening)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	select {
	case addr, ok := <-listening:
		if !ok {
			t.Fatalf("portier serve ended before listening:\n%s", out.String())
		}
		p.url = "http://" + addr
	case <-time.After(60 * time.Second):
		t.Fatalf("portier serve did not start listening:\n%s", out.String())
	}
	return p
}

// listenLine finds the address in the "portier listening" line, in the text or the JSON log format.
var listenLine = regexp.MustCompile(`msg="portier listening" addr=(\S+)|"msg":"portier listening","addr":"([^"]+)"`)

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
	// wrote is signalled after each write, for waitFor.
	wrote chan struct{}
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote == nil {
		s.wrote = make(chan struct{}, 1)
	}
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.w.Write(b)
}

// waitFor returns the first match of re in what was written, waiting for more writes until
// it appears or 30 seconds pass.
func (s *syncWriter) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	s.mu.Lock()
	if s.wrote == nil {
		s.wrote = make(chan struct{}, 1)
	}
	wrote := s.wrote
	s.mu.Unlock()
	deadline := time.After(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(s.String()); m != nil {
			return m
		}
		select {
		case <-wrote:
		case <-deadline:
			t.Fatalf("no %s in the output:\n%s", re, s.String())
		}
	}
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}

// metric reads one counter from a process's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name+" ") {
			return testenv.Must(strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(sc.Text(), name)), 64))(t)
		}
	}
	return 0
}

var tokenField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func TestServeAnswersHealthAndPrintsSetup(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "fresh.db")
	p := startServe(t, db)
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/login"} {
		resp, err := http.Get(p.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	if !strings.Contains(p.stderr.String(), "users create admin@example.org") {
		t.Fatalf("no setup hint on an empty directory:\n%s", p.stderr.String())
	}
}

// TestThreeProcessesHoldTheLockout sends 200 parallel wrong passwords at one account through
// three portier processes sharing one PostgreSQL database: together they may hash at most
// the threshold's 10 passwords.
func TestThreeProcessesHoldTheLockout(t *testing.T) {
	db := testenv.PostgresURL(t)
	must(t, db, "correct horse battery staple\n", "users", "create", "shared@example.org", "--display-name", "Shared", "--password-stdin")
	procs := []*process{startServe(t, db), startServe(t, db), startServe(t, db)}

	// One browser: its CSRF cookie and token are valid on every process, which share the secret.
	jar := testenv.Must(cookiejar.New(nil))(t)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	resp, err := client.Get(procs[0].url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page := testenv.Must(io.ReadAll(resp.Body))(t)
	resp.Body.Close()
	token := tokenField.FindStringSubmatch(string(page))[1]

	var wg sync.WaitGroup
	codes := make(chan string, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			form := url.Values{"username": {"shared@example.org"}, "password": {fmt.Sprintf("wrong guess %d", i)}, "csrf_token": {token}}
			code, err := postLogin(procs[i%3].url, jar, form)
			if err != nil { // off the test's goroutine: report, do not stop
				t.Errorf("POST /login: %v", err)
				return
			}
			codes <- code
		}(i)
	}
	wg.Wait()
	close(codes)
	count := map[string]int{}
	for c := range codes {
		count[c]++
	}
	total := 0.0
	for _, p := range procs {
		total += metric(t, p.url, "portier_password_verifications_total")
	}
	t.Logf("codes %v, password verifications across 3 processes: %v", count, total)
	if total > 10 {
		t.Fatalf("%v password verifications across three processes, want at most 10", total)
	}
	if count["90100"] > 0 {
		t.Fatalf("%d attempts refused as bad requests: the CSRF cookie did not work across processes", count["90100"])
	}
	var shown struct {
		Lockout struct {
			Locked bool `json:"locked"`
		} `json:"lockout"`
	}
	if err := jsonUnmarshal(must(t, db, "", "users", "show", "shared@example.org", "--json"), &shown); err != nil || !shown.Lockout.Locked {
		t.Fatalf("account not locked after the flood: %v", err)
	}
}

// postLogin posts a sign-in form with the jar's cookies and returns the error code on the
// answer. It fails no test itself, for use off the test's goroutine.
func postLogin(base string, jar http.CookieJar, form url.Values) (string, error) {
	req, err := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	for _, c := range jar.Cookies(u) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	m := errorCode.FindStringSubmatch(string(body))
	if m == nil {
		return "", fmt.Errorf("no error code in the answer (status %d)", resp.StatusCode)
	}
	return m[1], nil
}

var errorCode = regexp.MustCompile(`data-error-code="(\d+)"`)
