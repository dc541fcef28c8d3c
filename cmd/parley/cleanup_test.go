package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The server cleans up on its own: with the test clock moved past the visitor idle timeout, the next pass
// ends the idle sessions, and a pass after their grace hour deletes those that never started a
// conversation. The one that did stays (its conversation keeps it), and the log says what each pass did.
func TestServeCleansUp(t *testing.T) {
	data := t.TempDir()
	offset := filepath.Join(t.TempDir(), "offset")
	if err := os.WriteFile(offset, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ws := cli(t, data, "workspace", "create", "--name", "Acme", "--json")["id"].(string)
	s := startServerEnv(t, []string{clockOffsetEnv + "=" + offset}, data, "127.0.0.1:0", "--cleanup-interval", "100ms")

	var chatter string
	for i := range 3 {
		tok := mustCall(t, "POST", s.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
		if i == 0 {
			chatter = tok
			mustCall(t, "POST", s.url()+"/v1/widget/messages", tok, map[string]string{"body": "hello", "client_id": "c1"}, 201)
		}
	}

	// sum adds up a count over every cleanup line logged so far.
	sum := func(key string) int {
		re := regexp.MustCompile(`msg=cleanup .*\b` + key + `=(\d+)`)
		n := 0
		for _, m := range re.FindAllStringSubmatch(s.log(), -1) {
			v, _ := strconv.Atoi(m[1])
			n += v
		}
		return n
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen\n%s", what, s.log())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Nothing has expired yet: passes run and change nothing.
	time.Sleep(300 * time.Millisecond)
	if n := sum("expired_sessions"); n != 0 {
		t.Fatalf("%d sessions ended before any expired\n%s", n, s.log())
	}
	mustCall(t, "GET", s.url()+"/v1/widget/session", chatter, nil, 200)

	// 31 days later (the visitor idle timeout is 30 days) every session has expired.
	if err := os.WriteFile(offset, []byte("744h"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("ending the three idle sessions", func() bool { return sum("expired_sessions") == 3 })
	if n := sum("deleted_sessions"); n != 0 {
		t.Errorf("%d sessions deleted within their grace hour", n)
	}
	status, body, err := call(http.DefaultClient, "GET", s.url()+"/v1/widget/session", chatter, nil)
	if err != nil || status != 401 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "expired") {
		t.Errorf("an expired session: %d %v %v; want 401 saying it expired", status, body, err)
	}

	// Two hours later still, the two that never chatted are deleted; the one with a conversation stays.
	if err := os.WriteFile(offset, []byte("746h"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("deleting the two sessions without a conversation", func() bool { return sum("deleted_sessions") == 2 })
	time.Sleep(300 * time.Millisecond)
	if n := sum("deleted_sessions"); n != 2 {
		t.Errorf("%d sessions deleted; want 2 (the third started a conversation)", n)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, s.log())
	}
}

// The cleanup interval is checked before the server starts.
func TestServeCleanupIntervalFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
	}{
		{args: []string{"--cleanup-interval", "-1s"}},
		{args: []string{"--cleanup-interval", "soon"}},
		{env: map[string]string{"PARLEY_CLEANUP_INTERVAL": "often"}},
	} {
		env := map[string]string{"PARLEY_DATA": t.TempDir(), "PARLEY_ADDR": "127.0.0.1:0"}
		for k, v := range tc.env {
			env[k] = v
		}
		_, stderr, err := runCLI(t, env, append([]string{"serve"}, tc.args...)...)
		if exitCode(err) != 2 {
			t.Errorf("serve %v %v: %v (%s); want a usage error", tc.args, tc.env, err, stderr)
		}
	}
}
