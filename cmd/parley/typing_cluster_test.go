package main

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestTypingAndSeenCrossRealInstances: two `parley serve` processes on one PostgreSQL. The customer's
// typing on A reaches the agent's console socket on B through the ephemeral channel; the agent's typing
// on B reaches the widget on A; the customer's seen mark on A reaches B; the agent's read on B tells
// the widget on A "read".
func TestTypingAndSeenCrossRealInstances(t *testing.T) {
	c := newCluster(t)
	ws := c.cli(t, "workspace", "create", "--name", "Typing")["id"].(string)
	email, pw := c.agentCreate(t, ws)
	a, b := c.start(t), c.start(t)

	token := mustCall(t, "POST", a.url()+"/v1/widget/sessions", "", map[string]string{"workspace": ws}, 201)["session_token"].(string)
	msg := mustCall(t, "POST", a.url()+"/v1/widget/messages", token, map[string]string{"body": "hello", "client_id": "m1"}, 201)["message"].(map[string]any)
	conv, first := msg["conversation_id"].(string), msg["id"].(string)
	widget := dialWidget(t, a, token)
	agent := consoleSignIn(t, b, email, pw)
	live := agent.socket()
	frameOf := func(conn *websocket.Conn, typ, where string) map[string]any {
		t.Helper()
		for {
			f := readFrame(t, conn, 10*time.Second)
			if _, closed := f["closed"]; closed {
				t.Fatalf("%s: socket closed waiting for %s: %v", where, typ, f)
			}
			if f["type"] == typ && f["conversation_id"] == conv {
				return f
			}
		}
	}
	send := func(conn *websocket.Conn, frame string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}

	send(widget.conn, `{"type":"typing","conversation_id":"`+conv+`","state":"start"}`)
	if f := frameOf(live, "typing", "the console on B"); f["state"] != "start" {
		t.Fatalf("console on B got %v", f)
	}
	send(live, `{"type":"typing","conversation_id":"`+conv+`","state":"start"}`)
	if f := frameOf(widget.conn, "typing", "the widget on A"); f["state"] != "start" || len(f) != 3 {
		t.Fatalf("widget on A got %v", f)
	}

	agent.reply(conv, "hi there")
	reply := widget.nextMessage("hi there")
	send(widget.conn, `{"type":"seen","conversation_id":"`+conv+`","message_id":"`+reply["id"].(string)+`"}`)
	if f := frameOf(live, "seen", "the console on B"); f["n"] != "2" || f["at"] == "" {
		t.Fatalf("console on B got %v", f)
	}
	// The agent's page on B shows the conversation, which reads it: the widget on A hears "read".
	agent.get("/console/conversations/" + conv)
	if f := frameOf(widget.conn, "read", "the widget on A"); f["message_id"] != first {
		t.Fatalf("widget on A got %v; want read up to %s", f, first)
	}
}
