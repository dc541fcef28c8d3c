package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a process's standard output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveCapturing starts `parley serve` like startServer, keeping its standard output too.
func serveCapturing(t *testing.T, data string, extra ...string) (*server, *lockedBuffer) {
	t.Helper()
	args := append([]string{"serve", "--data", data, "--addr", "127.0.0.1:0", "--log-level", "debug"}, extra...)
	cmd := exec.Command(parleyBinary(t), args...)
	out := &lockedBuffer{}
	cmd.Stdout = out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.logs.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.kill)
	select {
	case s.addr = <-found:
	case <-s.done:
		t.Fatalf("parley serve exited before listening: %v\n%s", s.err, s.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("parley serve did not start listening\n%s", s.log())
	}
	return s, out
}

var setupLink = regexp.MustCompile(`(http://\S+)/setup#token=([A-Za-z0-9_-]{43})\b`)

// TestServeSetupLink: on an empty data folder, serve prints a setup link on standard output, once; the
// token is in no log line, not even the debug log of the requests that use it; the link sets Parley up,
// and a restart on the set-up folder prints no link and serves no setup page.
func TestServeSetupLink(t *testing.T) {
	data := t.TempDir()
	srv, stdout := serveCapturing(t, data)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m = setupLink.FindStringSubmatch(stdout.String())
	}
	if m == nil {
		t.Fatalf("no setup link on standard output:\n%s\nlog:\n%s", stdout.String(), srv.log())
	}
	if m[1] != srv.url() {
		t.Fatalf("the setup link points to %s; the server listens at %s", m[1], srv.url())
	}
	token := m[2]
	if n := strings.Count(stdout.String(), token); n != 1 {
		t.Fatalf("the token is printed %d times; want once", n)
	}
	if !strings.Contains(srv.log(), "not set up yet") {
		t.Fatalf("the log does not say Parley waits for its setup:\n%s", srv.log())
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	page := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.url()+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", srv.url())
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	status, body := page(http.MethodGet, "/setup", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /setup: %d", status)
	}
	form := url.Values{
		"csrf": {csrf.FindStringSubmatch(body)[1]}, "token": {"not-" + token[4:]},
		"workspace_name": {"Acme"}, "origin": {"https://acme.example"}, "name": {"Ada"}, "email": {"ada@acme.example"},
		"password": {"violet kettle mountain drum"}, "confirm": {"violet kettle mountain drum"},
	}
	if status, body = page(http.MethodPost, "/setup", form); status != http.StatusForbidden {
		t.Fatalf("POST /setup with a wrong token: %d", status)
	}
	form.Set("csrf", csrf.FindStringSubmatch(body)[1])
	form.Set("token", token)
	if status, body = page(http.MethodPost, "/setup", form); status != http.StatusOK || !strings.Contains(body, "psk_") {
		t.Fatalf("POST /setup: %d\n%s", status, body)
	}
	if status, _ = page(http.MethodGet, "/setup", nil); status != http.StatusNotFound {
		t.Fatalf("GET /setup after setup: %d", status)
	}
	if strings.Contains(srv.log(), token) {
		t.Fatalf("the setup token is in the log:\n%s", srv.log())
	}
	if !strings.Contains(srv.log(), "path=/setup") {
		t.Fatalf("the debug log shows no request to /setup, so it proves nothing:\n%s", srv.log())
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	srv, stdout = serveCapturing(t, data)
	res, err := http.Get(srv.url() + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /setup after a restart on a set-up folder: %d", res.StatusCode)
	}
	// The link would be printed before the line about email, which comes after listening.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(srv.log(), "email") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(stdout.String(), "/setup#token=") || strings.Contains(srv.log(), "not set up") {
		t.Fatalf("a set-up Parley printed a setup link:\n%s\n%s", stdout.String(), srv.log())
	}
}
