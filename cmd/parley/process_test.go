package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/httpapi/openapitest"
)

// These tests run the real parley binary as a separate process, the way an operator does.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// parleyBinary builds the command once per test run.
func parleyBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "parley-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "parley")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cli runs a parley command with --json and decodes its one JSON object.
func cli(t *testing.T, data string, args ...string) map[string]any {
	t.Helper()
	return cliEnv(t, nil, data, args...)
}

// cliEnv is cli with extra environment variables (NAME=value).
func cliEnv(t *testing.T, env []string, data string, args ...string) map[string]any {
	t.Helper()
	args = append(args, "--json", "--data", data)
	cmd := exec.Command(parleyBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("parley %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr.String())
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("parley %s printed %q, not one JSON object", strings.Join(args, " "), out)
	}
	return v
}

// server is a running `parley serve`.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	mu   sync.Mutex
	logs bytes.Buffer
	err  error // exit status once done
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer starts parley serve on addr ("127.0.0.1:0" for any port) and waits until it listens.
func startServer(t *testing.T, data, addr string, extra ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, data, addr, extra...)
}

// startServerEnv is startServer with extra environment variables (NAME=value).
func startServerEnv(t *testing.T, env []string, data, addr string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--data", data, "--addr", addr}, extra...)
	cmd := exec.Command(parleyBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
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
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		s.err = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill() })
	select {
	case s.addr = <-found:
	case <-s.done:
		t.Fatalf("parley serve exited before listening: %v\n%s", s.err, s.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("parley serve did not start listening\n%s", s.log())
	}
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

func (s *server) url() string { return "http://" + s.addr }

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// stop sends SIGTERM and waits for a graceful exit.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.err
	case <-time.After(30 * time.Second):
		s.kill()
		return fmt.Errorf("parley serve did not exit within 30s of SIGTERM")
	}
}

// freeAddr returns a loopback address with a port nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// call makes one JSON request to a server and returns status and decoded body. A transport error is
// returned as such (the server may be down on purpose).
func call(client *http.Client, method, url, token string, body any) (int, map[string]any, error) {
	x, err := exchange(client, method, url, token, body)
	if err != nil {
		return 0, nil, err
	}
	return x.res.StatusCode, x.body, x.err
}

// exchanged is one request to the server and its answer, kept for checking against the OpenAPI document.
type exchanged struct {
	req  *http.Request
	sent []byte
	res  *http.Response
	raw  []byte
	body map[string]any // the JSON body, if any
	err  error          // the body is not JSON
}

func exchange(client *http.Client, method, url, token string, body any) (*exchanged, error) {
	var sent []byte
	var rd io.Reader
	if body != nil {
		sent, _ = json.Marshal(body)
		rd = bytes.NewReader(sent)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	x := &exchanged{req: req, sent: sent, res: res, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &x.body); err != nil {
			x.err = fmt.Errorf("body %q is not JSON", raw)
		}
	}
	return x, nil
}

// openAPIChecker loads the OpenAPI document the binary serves, once per test run.
var openAPIChecker = sync.OnceValues(func() (*openapitest.Checker, error) {
	data, err := os.ReadFile("../../internal/httpapi/openapi.json")
	if err != nil {
		return nil, err
	}
	return openapitest.Load(data)
})

// mustCall is call for requests that must succeed with the given status.
func mustCall(t *testing.T, method, url, token string, body any, want int) map[string]any {
	t.Helper()
	x, err := exchange(http.DefaultClient, method, url, token, body)
	if err == nil {
		err = x.err
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if x.res.StatusCode != want {
		t.Fatalf("%s %s: %d %v, want %d", method, url, x.res.StatusCode, x.body, want)
	}
	// What the real binary answers is what its OpenAPI document describes.
	checker, err := openAPIChecker()
	if err != nil {
		t.Fatal(err)
	}
	if err := checker.Check(x.req, x.sent, x.res, x.raw); err != nil {
		t.Error(err)
	}
	return x.body
}
