package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// Internal notes never reach the customer: one test per customer-facing path (the widget's message list
// and conversations list, the widget's WebSocket, the customers API's conversation listing). The chat
// page is the widget served by Parley itself and reads the same endpoints.

const noteSecret = "NOTE: customer is a known fraudster"

func (e *env) noteAgent() store.Agent {
	e.t.Helper()
	a, err := e.svc.CreateAgent(context.Background(), e.ws.ID, "ada@acme.example", "Ada Lovelace", store.RoleAgent, "correct horse battery staple")
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// note posts an internal note, then more while its time, as the API writes times (milliseconds), equals
// notAt's, so that a note showing through a derived time could not hide behind an equal one.
func (e *env) note(a store.Agent, conv string, notAt time.Time) store.Message {
	e.t.Helper()
	for range 10000 {
		n, _, err := e.svc.PostNote(context.Background(), a, conv, noteSecret, "")
		if err != nil {
			e.t.Fatal(err)
		}
		if !n.Internal || n.N >= 0 {
			e.t.Fatalf("note %+v: not internal, or numbered among the customer's messages", n)
		}
		if n.CreatedAt.UnixMilli() != notAt.UnixMilli() {
			return n
		}
	}
	e.t.Fatal("the clock did not move")
	return store.Message{}
}

func ids(msgs []map[string]any) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m["id"].(string))
	}
	return out
}

func TestNotesAbsentFromWidgetMessageList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ada := e.noteAgent()
	token := e.session()
	first := apiMessage(t, e.send(token, "hello", "c-1"))
	conv := first["conversation_id"].(string)
	e.note(ada, conv, time.Time{})
	r1, _, err := e.svc.PostAgentMessage(ctx, e.ws.ID, ada.ID, conv, "how can I help?", "")
	if err != nil {
		t.Fatal(err)
	}
	e.note(ada, conv, r1.CreatedAt)
	e.note(ada, conv, r1.CreatedAt)
	second := apiMessage(t, e.send(token, "my card is blocked", "c-2"))
	e.note(ada, conv, time.Time{})

	all := e.messages(token, conv, "")
	want := []string{first["id"].(string), chat.MessageID(r1), second["id"].(string)}
	if got := ids(all); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("messages %v, want %v", got, want)
	}
	// The customer's numbers are dense: 1, 2, 3, whatever notes came between.
	for i, id := range want {
		if n, err := chat.ParseMessageID(conv, id); err != nil || n != int64(i+1) {
			t.Fatalf("message %d has id %s (number %d, %v): notes left a gap", i+1, id, n, err)
		}
	}
	// Paging with ?after= around the notes, and with a limit that a note would use up if it counted.
	for _, c := range []struct {
		after string
		limit string
		want  []string
	}{
		{"", "1", want[:1]},
		{want[0], "1", want[1:2]},
		{want[0], "2", want[1:3]},
		{want[1], "1", want[2:3]},
		{want[2], "", nil},
	} {
		path := "/v1/widget/conversations/" + conv + "/messages?after=" + c.after
		if c.limit != "" {
			path += "&limit=" + c.limit
		}
		r := e.request("GET", path, token, nil)
		expect(t, r, 200, "")
		var got []string
		for _, m := range r.body["messages"].([]any) {
			got = append(got, m.(map[string]any)["id"].(string))
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("after %q limit %q: %v, want %v", c.after, c.limit, got, c.want)
		}
		if strings.Contains(string(r.raw), noteSecret) {
			t.Errorf("after %q: the note's text is in the answer", c.after)
		}
	}
	// A note's id is no message id of the conversation: asking from it is refused like any other junk.
	noteID := chat.MessageID(store.Message{ConversationID: conv, N: -1, Internal: true})
	expect(t, e.request("GET", "/v1/widget/conversations/"+conv+"/messages?after="+noteID, token, nil), 422, "invalid_field")

	// The conversations list: the newest message time is the customer's message, not the note after it.
	r := e.request("GET", "/v1/widget/conversations", token, nil)
	expect(t, r, 200, "")
	convs := r.body["conversations"].([]any)
	if len(convs) != 1 || convs[0].(map[string]any)["last_message_at"] != second["created_at"] {
		t.Fatalf("conversations %s: want last_message_at %v (the customer's message, not the note)", r.raw, second["created_at"])
	}
}

func TestNotesNeverOnWidgetSocket(t *testing.T) {
	e := newEnv(t)
	ada := e.noteAgent()
	token := e.session()
	sent := apiMessage(t, e.send(token, "hello", "c-1"))
	conv := sent["conversation_id"].(string)
	c := wsConnect(t, e, token)
	// A note, then a reply: the socket gets the reply and never the note (nor anything else before it).
	e.note(ada, conv, time.Time{})
	reply, _, err := e.svc.PostAgentMessage(context.Background(), e.ws.ID, ada.ID, conv, "here to help", "")
	if err != nil {
		t.Fatal(err)
	}
	f, skipped := wsNextAfter(t, c, sent["id"].(string))
	if m := f["message"].(map[string]any); m["id"] != chat.MessageID(reply) || m["body"] != "here to help" {
		t.Fatalf("first message frame %v, want the reply", f)
	}
	for _, s := range skipped {
		// Nothing but, possibly, a typing frame, or the conversation frame of the customer's own first
		// message (its conversation started then): relayed through PostgreSQL after the commit, it may
		// reach a socket opened after it.
		if s["type"] != "typing" && s["type"] != "conversation" {
			t.Fatalf("frames before the reply: %v", skipped)
		}
	}
	// A note in the conversation of a verified customer with two devices: neither hears of it.
	v := e.verified(claims(nil))
	w := e.verified(claims(nil))
	vs := apiMessage(t, e.send(v, "hi from device 1", "v-1"))
	c1, c2 := wsConnect(t, e, v), wsConnect(t, e, w)
	e.note(ada, vs["conversation_id"].(string), time.Time{})
	r2, _, err := e.svc.PostAgentMessage(context.Background(), e.ws.ID, ada.ID, vs["conversation_id"].(string), "hello Grace", "")
	if err != nil {
		t.Fatal(err)
	}
	for i, sock := range []*websocket.Conn{c1, c2} {
		f, _ := wsNextAfter(t, sock, vs["id"].(string))
		if m := f["message"].(map[string]any); m["id"] != chat.MessageID(r2) {
			t.Fatalf("device %d: first message frame %v, want the reply", i+1, f)
		}
	}
}

// wsNextAfter is wsNext for message frames, passing over the customer's own message own: with several
// instances (events relayed through PostgreSQL) its event may reach a socket opened after it was sent.
func wsNextAfter(t *testing.T, c *websocket.Conn, own string) (map[string]any, []map[string]any) {
	t.Helper()
	var all []map[string]any
	for {
		f, skipped := wsNext(t, c, "message")
		all = append(all, skipped...)
		if m, _ := f["message"].(map[string]any); m["id"] != own {
			return f, all
		}
	}
}

func TestNotesAbsentFromCustomersAPI(t *testing.T) {
	e := newEnv(t)
	ada := e.noteAgent()
	key := e.apiKey()
	expect(t, e.customers("PUT", "user-9", "", key, map[string]string{"email": "ada@example.com"}), 201, "")
	tok := e.customers("POST", "user-9", "/login-tokens", key, nil)
	expect(t, tok, 201, "")
	lr := e.login(e.session(), tok.str("token"))
	expect(t, lr, 200, "")
	device := lr.str("session_token")
	sent := apiMessage(t, e.send(device, "hello", "c1"))
	conv := sent["conversation_id"].(string)
	reply, _, err := e.svc.PostAgentMessage(context.Background(), e.ws.ID, ada.ID, conv, "hi", "")
	if err != nil {
		t.Fatal(err)
	}
	e.note(ada, conv, reply.CreatedAt)

	r := e.customers("GET", "user-9", "/conversations", key, nil)
	expect(t, r, 200, "")
	convs, _ := r.body["conversations"].([]any)
	if len(convs) != 1 {
		t.Fatalf("conversations: %s", r.raw)
	}
	if got := convs[0].(map[string]any)["last_message_at"]; got != reply.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("last_message_at %v: want the reply's time %v, not the note's", got, reply.CreatedAt)
	}
	if strings.Contains(string(r.raw), noteSecret) {
		t.Fatal("the note's text is in the listing")
	}
}
