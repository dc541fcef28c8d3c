package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// watcher records, in arrival order, the message frames one widget socket receives.
type watcher struct {
	mu   sync.Mutex
	ids  []string
	done chan struct{}
}

func watch(t *testing.T, srv *server, token string) *watcher {
	t.Helper()
	w := dialWidget(t, srv, token)
	r := &watcher{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			_, data, err := w.conn.Read(ctx)
			cancel()
			if err != nil {
				return
			}
			var f struct {
				Type    string `json:"type"`
				Message struct {
					ID string `json:"id"`
				} `json:"message"`
			}
			if json.Unmarshal(data, &f) == nil && f.Type == "message" {
				r.mu.Lock()
				r.ids = append(r.ids, f.Message.ID)
				r.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { w.conn.CloseNow(); <-r.done })
	return r
}

func (r *watcher) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// TestRelayCrashBetweenCommitAndAnnouncement: instances announce committed messages after the commit,
// so an instance can die between the two. Two instances append to one conversation at once; then A
// writes alone and is SIGKILLed while its announcements are still held back (PARLEY_TEST_ANNOUNCE_DELAY
// widens that window to two seconds); then B writes once more. The widget sockets on B (which writes
// too) and on C (which only listens) receive every stored message exactly once, in order — A's last
// messages, committed but never announced, included.
func TestRelayCrashBetweenCommitAndAnnouncement(t *testing.T) {
	c := newCluster(t)
	ws := c.cli(t, "workspace", "create", "--name", "Relay")["id"].(string)
	a := startServerEnv(t, append(slices.Clone(c.env), announceDelayEnv+"=2s"), t.TempDir(), "127.0.0.1:0", "--no-rate-limits")
	b, cc := c.start(t), c.start(t)
	token := mustCall(t, "POST", b.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	onB, onC := watch(t, b, token), watch(t, cc, token)
	first := mustCall(t, "POST", b.url()+"/v1/widget/messages", token, map[string]string{"body": "b-0", "client_id": "b-0"}, 201)["message"].(map[string]any)
	conv := first["conversation_id"].(string)

	httpc := &http.Client{Timeout: 5 * time.Second}
	post := func(srv *server, clientID string) string {
		status, body, err := call(httpc, "POST", srv.url()+"/v1/widget/messages", token, map[string]string{"body": clientID, "client_id": clientID})
		if err != nil || status != 201 {
			t.Errorf("POST %s on %s: %d %v %v", clientID, srv.addr, status, body, err)
			return ""
		}
		return body["message"].(map[string]any)["id"].(string)
	}

	// Both instances append to the conversation at once.
	var wg sync.WaitGroup
	for _, w := range []struct {
		srv    *server
		prefix string
	}{{a, "a"}, {b, "b"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 40; i++ {
				post(w.srv, fmt.Sprintf("%s-%d", w.prefix, i))
			}
		}()
	}
	wg.Wait()
	// A writes alone, and dies before announcing its last messages.
	var lastOfA string
	for i := 41; i <= 45; i++ {
		lastOfA = post(a, fmt.Sprintf("a-%d", i))
	}
	a.kill()
	if t.Failed() {
		t.FailNow()
	}
	time.Sleep(500 * time.Millisecond)
	if slices.Contains(onB.seen(), lastOfA) || slices.Contains(onC.seen(), lastOfA) {
		t.Fatalf("A's last message %s was announced before A was killed: the test did not exercise the crash window", lastOfA)
	}
	// The conversation goes on, on B.
	post(b, "b-final")

	res := mustCall(t, "GET", b.url()+"/v1/widget/conversations/"+conv+"/messages", token, nil, 200)
	var stored []string
	for _, m := range res["messages"].([]any) {
		stored = append(stored, m.(map[string]any)["id"].(string))
	}
	if len(stored) != 1+40+40+5+1 {
		t.Fatalf("%d messages stored, want 87", len(stored))
	}
	want := stored
	for name, w := range map[string]*watcher{"B (writes and listens)": onB, "C (listens)": onC} {
		deadline := time.Now().Add(15 * time.Second)
		for len(w.seen()) < len(want) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // room for a duplicate to show
		if got := w.seen(); !slices.Equal(got, want) {
			t.Errorf("socket on %s received %d messages, want the %d stored, once each and in order:\n got %v\nwant %v", name, len(got), len(want), got, want)
		}
	}
}
