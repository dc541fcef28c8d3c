package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookReceiver is a webhook receiver on loopback: it fails (500), holds requests until the sender
// gives up or dies ("hang"), or accepts them (200), and records everything.
type hookReceiver struct {
	srv       *httptest.Server
	mu        sync.Mutex
	mode      string
	requests  []hookSeen
	hanging   int
	delivered map[string]int // webhook-id → 2xx answers
	types     map[string]string
	ids       map[string]string // body → webhook-id: the same event keeps its id
	badSig    int
}

type hookSeen struct{ id, status string }

func newHookReceiver(t *testing.T, secret func() string) *hookReceiver {
	r := &hookReceiver{mode: "fail", delivered: map[string]int{}, types: map[string]string{}, ids: map[string]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret(), "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "." + string(body)))
		var env struct{ Type string }
		_ = json.Unmarshal(body, &env)
		r.mu.Lock()
		if !slices.Contains(strings.Fields(sig), "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil))) {
			r.badSig++
		}
		if prev, ok := r.ids[string(body)]; ok && prev != id {
			r.badSig++ // a retry under another id would defeat the receiver's dedupe
		}
		r.ids[string(body)] = id
		r.types[id] = env.Type
		mode := r.mode
		if mode == "hang" {
			r.hanging++
		}
		r.mu.Unlock()
		switch mode {
		case "hang":
			<-req.Context().Done()
			r.record(id, "gone")
			return
		case "ok":
			r.mu.Lock()
			r.delivered[id]++
			r.mu.Unlock()
			r.record(id, "200")
			w.WriteHeader(http.StatusOK)
			return
		}
		r.record(id, "500")
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) record(id, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, hookSeen{id, status})
}

func (r *hookReceiver) set(mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode = mode
}

func (r *hookReceiver) wait(t *testing.T, what string, cond func(r *hookReceiver) bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		ok := cond(r)
		r.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("waited in vain for %s: %d requests, %d delivered, %d hanging", what, len(r.requests), len(r.delivered), r.hanging)
}

// TestWebhooksAcrossInstancesAndAKill: two instances on PostgreSQL enqueue events; the receiver fails,
// then holds requests while the instance delivering them is SIGKILLed; another instance takes the
// jobs over once their lease ends (the test clock moves on), and every event arrives exactly once with
// a 2xx, under one webhook-id whatever the attempt, correctly signed.
func TestWebhooksAcrossInstancesAndAKill(t *testing.T) {
	c := newCluster(t)
	offset := filepath.Join(t.TempDir(), "offset")
	setOffset := func(d time.Duration) {
		if err := os.WriteFile(offset, []byte(d.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setOffset(0)
	env := append(slices.Clone(c.env), clockOffsetEnv+"="+offset)
	start := func() *server {
		return startServerEnv(t, env, t.TempDir(), "127.0.0.1:0", "--no-rate-limits", "--webhook-allow-networks", "127.0.0.0/8")
	}
	ws := c.cli(t, "workspace", "create", "--name", "Hooks")["id"].(string)
	var secret string
	var smu sync.Mutex
	recv := newHookReceiver(t, func() string { smu.Lock(); defer smu.Unlock(); return secret })
	created := c.cli(t, "webhook", "create", "--workspace", ws, "--url", recv.srv.URL+"/hook")
	smu.Lock()
	secret = created["secret"].(string)
	smu.Unlock()

	a, b := start(), start()
	const messages = 6
	token := mustCall(t, "POST", a.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	for i := range messages {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		mustCall(t, "POST", srv.url()+"/v1/widget/messages", token, map[string]any{"body": "m" + string(rune('0'+i))}, 201)
	}
	events := messages + 1 // conversation.created and each message.created
	recv.wait(t, "a failed attempt of every event", func(r *hookReceiver) bool { return len(r.types) == events })

	// Only a delivers now: b stops gracefully, and a's requests hang until a is killed.
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
	recv.set("hang")
	setOffset(10 * time.Minute) // the first retries are due
	recv.wait(t, "a request held by the receiver", func(r *hookReceiver) bool { return r.hanging > 0 })
	a.kill()
	recv.wait(t, "the killed instance's requests to end", func(r *hookReceiver) bool {
		gone := 0
		for _, q := range r.requests {
			if q.status == "gone" {
				gone++
			}
		}
		return gone == r.hanging
	})

	recv.set("ok")
	setOffset(3 * time.Hour) // past the killed instance's leases and every backoff
	d := start()
	recv.wait(t, "every event delivered", func(r *hookReceiver) bool { return len(r.delivered) == events })
	// Later still, nothing is delivered again.
	setOffset(6 * time.Hour)
	mustCall(t, "POST", d.url()+"/v1/widget/messages", token, map[string]any{"body": "last"}, 201)
	recv.wait(t, "the last message", func(r *hookReceiver) bool { return len(r.delivered) == events+1 })

	recv.mu.Lock()
	defer recv.mu.Unlock()
	for id, n := range recv.delivered {
		if n != 1 {
			t.Errorf("%s (%s) delivered %d times", id, recv.types[id], n)
		}
	}
	if recv.badSig != 0 {
		t.Errorf("%d requests with a bad signature or a changed webhook-id", recv.badSig)
	}
	if recv.hanging == 0 {
		t.Error("no request was in flight when the instance was killed")
	}
}
