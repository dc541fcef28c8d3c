package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// Typing, seen and read over the widget's HTTP API and socket, as docs/api.md describes them.

// wsFrameOf reads frames until one of the given type arrives.
func wsFrameOf(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(wsWait)
	for time.Now().Before(deadline) {
		f, err := wsRead(c, time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for a %s frame: %v", typ, err)
		}
		if f["type"] == typ {
			return f
		}
	}
	t.Fatalf("no %s frame within %v", typ, wsWait)
	return nil
}

func hubEvent(t *testing.T, sub *realtime.Subscription, typ string) realtime.Event {
	t.Helper()
	timeout := time.After(wsWait)
	for {
		select {
		case ev := <-sub.Events():
			if ev.Type == typ {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within %v", typ, wsWait)
		}
	}
}

func TestWidgetTypingSeenAndRead(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	agent, err := e.svc.CreateAgent(ctx, e.ws.ID, "sam@acme.example", "Sam", store.RoleAgent, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	tok := e.session()
	sent := e.send(tok, "Hello", "c1")
	expect(t, sent, 201, "")
	convID, custMsgID := sent.str("message", "conversation_id"), sent.str("message", "id")
	agents := e.hub.Subscribe(64, chat.WorkspaceTopic(e.ws.ID))
	defer agents.Close()
	c := wsDial(t, e, "")
	wsAuth(t, c, tok)

	// The customer types: agents hear it; nothing comes back on success.
	wsSend(t, c, `{"type":"typing","conversation_id":"`+convID+`","state":"start"}`)
	ev := hubEvent(t, agents, chat.EventTyping)
	if got := ev.Data.(chat.Typing); got.From != store.SenderCustomer || got.ConversationID != convID || got.State != chat.TypingStart {
		t.Fatalf("agents got %+v", got)
	}
	// Refusals answer with the HTTP error body.
	for _, tc := range []struct{ frame, code string }{
		{`{"type":"typing","conversation_id":"cv_someoneelses","state":"start"}`, "conversation_not_found"},
		{`{"type":"typing","conversation_id":"` + convID + `","state":"typing hello"}`, "invalid_field"},
		{`{"type":"typing","conversation_id":"` + convID + `","state":"start","text":"hello"}`, "invalid_json"},
		{`{"type":"seen","conversation_id":"` + convID + `","message_id":"` + custMsgID + `"}`, "invalid_field"},
	} {
		wsSend(t, c, tc.frame)
		f := wsFrameOf(t, c, "error")
		if f["error"].(map[string]any)["code"] != tc.code {
			t.Errorf("%s: answered %v; want %s", tc.frame, f, tc.code)
		}
	}

	// An agent types: the customer's socket says so, without who or what.
	if _, err := e.svc.AgentTyping(agent).Typing(ctx, convID, chat.TypingStart); err != nil {
		t.Fatal(err)
	}
	f := wsFrameOf(t, c, "typing")
	if len(f) != 3 || f["conversation_id"] != convID || f["state"] != "start" {
		t.Fatalf("typing frame %v; want exactly type, conversation_id and state", f)
	}

	// Seen, by the socket and by HTTP.
	reply, _, err := e.svc.PostAgentMessage(ctx, e.ws.ID, agent.ID, convID, "Hi!", "")
	if err != nil {
		t.Fatal(err)
	}
	wsSend(t, c, `{"type":"seen","conversation_id":"`+convID+`","message_id":"`+chat.MessageID(reply)+`"}`)
	ev = hubEvent(t, agents, chat.EventSeen)
	if got := ev.Data.(chat.SeenMark); got.N != reply.N {
		t.Fatalf("seen %+v; want %d", got, reply.N)
	}
	second, _, err := e.svc.PostAgentMessage(ctx, e.ws.ID, agent.ID, convID, "Anything else?", "")
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/widget/conversations/" + convID + "/seen"
	r := e.request("POST", path, tok, map[string]string{"message_id": chat.MessageID(second)})
	if r.status != 204 {
		t.Fatalf("POST seen: %d %s", r.status, r.raw)
	}
	if got := hubEvent(t, agents, chat.EventSeen).Data.(chat.SeenMark); got.N != second.N {
		t.Fatalf("seen %+v; want %d", got, second.N)
	}
	expect(t, e.request("POST", path, tok, map[string]string{"message_id": custMsgID}), 422, "invalid_field")
	expect(t, e.request("POST", path, tok, map[string]any{"message_id": 7}), 422, "invalid_field")
	expect(t, e.request("POST", path, e.session(), map[string]string{"message_id": chat.MessageID(second)}), 404, "conversation_not_found")
	expect(t, e.request("POST", path, "", map[string]string{"message_id": chat.MessageID(second)}), 401, "session_invalid")

	// Read: an agent's read mark reaches the socket and the message list.
	if r := e.request("GET", "/v1/widget/conversations/"+convID+"/messages", tok, nil); r.body["read"] != nil {
		t.Fatalf("read before any agent read: %v", r.body["read"])
	}
	if err := e.svc.MarkRead(ctx, agent, convID, second.Seq); err != nil {
		t.Fatal(err)
	}
	if f := wsFrameOf(t, c, "read"); f["message_id"] != custMsgID || f["conversation_id"] != convID {
		t.Fatalf("read frame %v; want %s", f, custMsgID)
	}
	if r := e.request("GET", "/v1/widget/conversations/"+convID+"/messages", tok, nil); r.str("read") != custMsgID {
		t.Fatalf("message list read = %v; want %s", r.body["read"], custMsgID)
	}
}
