package httpapi_test

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// socketGoroutines counts the goroutines running code of this package (the server's side of the
// sockets; the test's clients run none of it).
func socketGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("parley/internal/httpapi.")) {
			count++
		}
	}
	return count
}

// An idle widget socket — nearly every open widget's — holds one goroutine on the server, reading.
// Events, pings and closes run on goroutines that exist only while they work (memory per socket is
// issue 17's target 2, and a goroutine's stack is its largest part after net/http's buffers).
func TestWSIdleSocketHoldsOneGoroutine(t *testing.T) {
	e := newEnv(t)
	const n = 20
	before := socketGoroutines()
	total := runtime.NumGoroutine()
	var conns []*websocket.Conn
	var tokens []string
	for range n {
		tokens = append(tokens, e.session())
		conns = append(conns, wsConnect(t, e, tokens[len(tokens)-1]))
	}
	settled(t, before, n, "idle sockets")
	t.Logf("the process has %d goroutines more with %d idle sockets (client side included)", runtime.NumGoroutine()-total, n)

	// Events still reach the sockets, and the goroutine that delivered them goes once they are written.
	r := e.send(tokens[0], "hello", "c-1")
	expect(t, r, 201, "")
	wsNextMessage(t, conns[0], apiMessage(t, r)["id"].(string))
	settled(t, before, n, "sockets after delivering an event")
	wsSend(t, conns[1], `{"type":"ping"}`)
	if f, err := wsRead(conns[1], wsWait); err != nil || f["type"] != "pong" {
		t.Fatalf("ping: %v %v", f, err)
	}
}

// settled waits for the goroutines of the server's socket code to be want more than before, and fails
// if they stay more.
func settled(t *testing.T, before, want int, what string) {
	t.Helper()
	var got int
	// Goroutines of requests just answered, or of a delivery just done, may take a moment to go.
	for deadline := time.Now().Add(2 * time.Second); ; {
		got = socketGoroutines() - before
		if got <= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != want {
		t.Fatalf("%d %s hold %d goroutines of the server's socket code, want %d (one each)", want, what, got, want)
	}
}

// When events may have been lost upstream the hub ends every subscription as if it had fallen behind:
// the socket is told to reconnect and resume (1013), with no goroutine of its own waiting for that.
func TestWSResyncClosesWithTryAgainLater(t *testing.T) {
	e := newEnv(t)
	c := wsConnect(t, e, e.session())
	e.hub.Resync()
	wsExpectClose(t, c, websocket.StatusTryAgainLater, wsWait)
}

// The socket no longer keeps the visitor it authenticated: its first typing or seen frame looks the
// session up, and a session that ended without an event reaching the socket ends it there, as the
// ping-time check would.
func TestWSFirstClientFrameChecksTheSession(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	expect(t, e.send(token, "hello", ""), 201, "")
	conv := e.conversations(token)[0]["id"].(string)
	c := wsConnect(t, e, token)
	// Ended in the store only: no event is published.
	ctx := context.Background()
	if err := e.st.Update(ctx, func(tx store.Tx) error {
		_, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: e.ws.ID}, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	wsSend(t, c, `{"type":"typing","conversation_id":"`+conv+`","state":"start"}`)
	wsSessionEnded(t, wsExpectClose(t, c, 4401, wsWait), "revoked")
}

// A socket's connection has buffers smaller than net/http's (1 KiB to read, 2 KiB to write): frames
// longer than them pass whole both ways.
func TestWSFramesLongerThanTheBuffers(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	c := wsConnect(t, e, token)
	body := strings.Repeat("long message ", 400)[:chat.MaxMessageLength] // 4,000 characters
	r := e.send(token, body, "")
	expect(t, r, 201, "")
	if m := wsNextMessage(t, c, apiMessage(t, r)["id"].(string)); m["body"] != body {
		t.Fatalf("a long message arrived as %d characters, want %d", len(m["body"].(string)), len(body))
	}
	wsSend(t, c, `{"type":"ping"`+strings.Repeat(" ", 3<<10)+`}`) // 3 KiB, under the 4 KiB frame limit
	if f, err := wsRead(c, wsWait); err != nil || f["type"] != "pong" {
		t.Fatalf("a 3 KiB ping: %v %v", f, err)
	}
}
