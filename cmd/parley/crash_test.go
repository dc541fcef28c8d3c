package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestCrashLosesNoAcknowledgedMessage sends messages from several clients while the server is
// SIGKILLed and restarted again and again. Clients retry every unanswered message with the same
// client_id, as the widget does. Afterwards every message that got a 201 or 200 is stored, and no
// client_id appears twice.
func TestCrashLosesNoAcknowledgedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs the server many times")
	}
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Crash Test")["id"].(string)
	addr := freeAddr(t)
	srv := startServer(t, data, addr, "--no-rate-limits")

	const clients = 4
	const wantKills = 6
	tokens := make([]string, clients)
	for i := range tokens {
		tokens[i] = mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	}

	var mu sync.Mutex
	acked := map[string]string{} // client_id → message id
	sent := 0                    // client ids attempted
	retries := 0
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Clients write until the killer is done; each message is retried until acknowledged.
	stopClients := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopClients:
					return
				default:
				}
				clientID := fmt.Sprintf("c%d-m%05d", c, i)
				mu.Lock()
				sent++
				mu.Unlock()
				for ctx.Err() == nil {
					status, body, err := call(httpc, "POST", "http://"+addr+"/v1/widget/messages", tokens[c],
						map[string]string{"body": "message " + clientID, "client_id": clientID})
					if err == nil && (status == 201 || status == 200) {
						mu.Lock()
						acked[clientID] = body["message"].(map[string]any)["id"].(string)
						mu.Unlock()
						break
					}
					if err == nil && status < 500 {
						t.Errorf("%s: unexpected %d %v", clientID, status, body)
						return
					}
					mu.Lock()
					retries++
					mu.Unlock()
					time.Sleep(20 * time.Millisecond) // the server is restarting; try again with the same client_id
				}
			}
		}(c)
	}

	// Kill the server at random moments while the clients write, and bring it back on the same port.
	for kills := 0; kills < wantKills; kills++ {
		time.Sleep(time.Duration(200+rand.IntN(400)) * time.Millisecond)
		srv.kill()
		srv = startServer(t, data, addr, "--no-rate-limits")
	}
	time.Sleep(200 * time.Millisecond)
	close(stopClients)
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("clients did not finish in time")
	}
	if retries == 0 {
		t.Fatal("no request was ever interrupted; the kills proved nothing")
	}
	t.Logf("%d messages acknowledged across %d SIGKILLs (%d retries)", len(acked), wantKills, retries)

	// Restart once more and read everything back.
	srv.kill()
	srv = startServer(t, data, addr, "--no-rate-limits")
	seen := map[string]int{}
	for c := 0; c < clients; c++ {
		convs := mustCall(t, "GET", srv.url()+"/v1/widget/conversations", tokens[c], nil, 200)["conversations"].([]any)
		if len(convs) != 1 {
			t.Fatalf("client %d has %d conversations, want 1", c, len(convs))
		}
		convID := convs[0].(map[string]any)["id"].(string)
		var msgs []any
		for after := ""; ; {
			page := mustCall(t, "GET", srv.url()+"/v1/widget/conversations/"+convID+"/messages?after="+after, tokens[c], nil, 200)["messages"].([]any)
			if len(page) == 0 {
				break
			}
			msgs = append(msgs, page...)
			after = page[len(page)-1].(map[string]any)["id"].(string)
		}
		last := ""
		for _, m := range msgs {
			m := m.(map[string]any)
			seen[m["client_id"].(string)]++
			if id := m["id"].(string); id <= last {
				t.Fatalf("message ids out of order: %s after %s", id, last)
			} else {
				last = id
			}
			if acked[m["client_id"].(string)] != m["id"] {
				t.Errorf("%s stored as %s but acknowledged as %s", m["client_id"], m["id"], acked[m["client_id"].(string)])
			}
		}
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged message %s stored %d times", id, seen[id])
		}
	}
	if len(acked) != sent {
		t.Errorf("%d of %d messages acknowledged", len(acked), sent)
	}
}

// TestGracefulShutdown sends SIGTERM while requests are in flight and a WebSocket is open: every request
// gets its answer, the socket receives a "going away" close, and the process exits cleanly.
func TestGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	ws := cli(t, data, "workspace", "create", "--name", "Drain")["id"].(string)
	srv := startServer(t, data, "127.0.0.1:0", "--no-rate-limits")
	token := mustCall(t, "POST", srv.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+srv.addr+"/v1/widget/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","session_token":"`+token+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, frame, err := conn.Read(ctx); err != nil || !contains(string(frame), `"ready"`) {
		t.Fatalf("ready frame: %s, %v", frame, err)
	}

	// Keep a stream of requests going, then SIGTERM in the middle of it.
	// Results are tallied as they come: a buffered channel would fill up and block the senders.
	var (
		mu        sync.Mutex
		ok        int
		badStatus []int
	)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	httpc := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, _, err := call(httpc, "POST", srv.url()+"/v1/widget/messages", token,
					map[string]string{"body": "drain", "client_id": fmt.Sprintf("w%d-%d", w, i)})
				mu.Lock()
				if err == nil {
					ok++
					if status != 201 {
						badStatus = append(badStatus, status)
					}
				}
				mu.Unlock()
				if err != nil {
					return // the listener is closed: new requests are refused, which is expected
				}
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	stopErr := make(chan error, 1)
	go func() { stopErr <- srv.stop() }()

	// The socket is told to go away (after the message events of the requests above).
	for err == nil {
		_, _, err = conn.Read(ctx)
	}
	if status := websocket.CloseStatus(err); status != websocket.StatusGoingAway {
		t.Fatalf("socket closed with %v (%v), want 1001 going away", status, err)
	}
	if err := <-stopErr; err != nil {
		t.Fatalf("parley serve exited with %v\n%s", err, srv.log())
	}
	close(stop)
	wg.Wait()
	for _, status := range badStatus {
		t.Errorf("a request answered during shutdown got %d", status)
	}
	if ok == 0 {
		t.Fatal("no request completed")
	}
	if !contains(srv.log(), "msg=stopped") {
		t.Fatalf("no clean stop in the log:\n%s", srv.log())
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
