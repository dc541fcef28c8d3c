package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// A visitor without a session reads the workspace's widget config with GET /v1/widget/config: no
// session is created (no write), the origin rules hold as for POST /v1/widget/sessions, and an
// unchanged config revalidates to a body-less 304.
func TestWidgetConfigWithoutSession(t *testing.T) {
	e := newEnv(t)
	first := "Welcome!"
	e.update(chat.SettingsPatch{FirstMessage: &first})

	r := e.request("GET", "/v1/widget/config?workspace="+e.ws.ID, "", nil)
	expect(t, r, 200, "")
	if r.str("config", "workspace") != e.ws.ID || r.str("config", "first_message") != first || r.body["session_token"] != nil {
		t.Fatalf("config = %s", r.raw)
	}
	etag := r.header.Get("ETag")
	if etag == "" || r.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q: want an ETag and no-cache", etag, r.header.Get("Cache-Control"))
	}
	r = e.request("GET", "/v1/widget/config?workspace="+e.ws.ID, "", nil, "If-None-Match", etag)
	if r.status != 304 || len(r.raw) != 0 {
		t.Fatalf("revalidation: %d %q, want 304 without a body", r.status, r.raw)
	}
	// A changed config is a new answer.
	first = "Hello again"
	e.update(chat.SettingsPatch{FirstMessage: &first})
	r = e.request("GET", "/v1/widget/config?workspace="+e.ws.ID, "", nil, "If-None-Match", etag)
	expect(t, r, 200, "")
	if r.str("config", "first_message") != first || r.header.Get("ETag") == etag {
		t.Fatalf("after a change: %s (ETag %q)", r.raw, r.header.Get("ETag"))
	}

	expect(t, e.request("GET", "/v1/widget/config", "", nil), 422, "invalid_field")
	expect(t, e.request("GET", "/v1/widget/config?workspace="+e.ws.ID+"&x=1", "", nil), 422, "invalid_field")
	expect(t, e.request("GET", "/v1/widget/config?workspace="+e.ws.ID+"&workspace="+e.ws.ID, "", nil), 422, "invalid_field")
	expect(t, e.request("GET", "/v1/widget/config?workspace=ws_nope", "", nil), 404, "workspace_not_found")

	e.update(chat.SettingsPatch{AllowedOrigins: &[]string{"https://shop.example"}})
	expect(t, e.request("GET", "/v1/widget/config?workspace="+e.ws.ID, "", nil, "Origin", "https://evil.example"), 403, "origin_not_allowed")
	r = e.request("GET", "/v1/widget/config?workspace="+e.ws.ID, "", nil, "Origin", "https://shop.example")
	expect(t, r, 200, "")
	if r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("CORS: Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
	}
}

// GET /v1/widget/session and the socket's ready frame tell a returning visitor's launcher which
// conversations are open and which agent messages came after the customer's last one.
func TestWidgetSessionLauncherSummary(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ada := e.noteAgent()
	s := e.session()
	summary := func(raw []byte) []map[string]any {
		t.Helper()
		var body struct {
			Conversations []map[string]any `json:"conversations"`
		}
		if err := json.Unmarshal(raw, &body); err != nil || body.Conversations == nil {
			t.Fatalf("no conversations in %s", raw)
		}
		return body.Conversations
	}
	r := e.request("GET", "/v1/widget/session", s, nil)
	expect(t, r, 200, "")
	if got := summary(r.raw); len(got) != 0 {
		t.Fatalf("a new session's conversations: %v", got)
	}

	sent := e.send(s, "hello", "c1")
	expect(t, sent, 201, "")
	conv := sent.str("message", "conversation_id")
	r = e.request("GET", "/v1/widget/session", s, nil)
	got := summary(r.raw)
	if len(got) != 1 || got[0]["id"] != conv || got[0]["status"] != "open" || len(got[0]["unanswered"].([]any)) != 0 {
		t.Fatalf("after the customer's message: %v", got)
	}

	// Two agent replies (and an internal note, which the customer never learns of) are unanswered.
	var ids []string
	for _, body := range []string{"hi", "how can I help?"} {
		m, _, err := e.svc.PostAgentMessage(ctx, e.ws.ID, ada.ID, conv, body, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, chat.MessageID(m))
	}
	e.note(ada, conv, time.Time{})
	r = e.request("GET", "/v1/widget/session", s, nil)
	got = summary(r.raw)
	un := got[0]["unanswered"].([]any)
	if len(un) != 2 || un[0] != ids[0] || un[1] != ids[1] {
		t.Fatalf("unanswered = %v, want %v", un, ids)
	}

	// The ready frame carries the same summary.
	c := wsDial(t, e, "")
	wsSend(t, c, `{"type":"auth","session_token":"`+s+`"}`)
	f, err := wsRead(c, wsWait)
	if err != nil || f["type"] != "ready" {
		t.Fatalf("ready: %v %v", f, err)
	}
	convs, _ := f["conversations"].([]any)
	if len(convs) != 1 || len(convs[0].(map[string]any)["unanswered"].([]any)) != 2 {
		t.Fatalf("ready conversations = %v", f["conversations"])
	}

	// The customer answers: nothing is unanswered. Closed, the conversation says so.
	expect(t, e.send(s, "thanks", "c2"), 201, "")
	if _, err := e.svc.SetStatus(ctx, e.ws.ID, ada.ID, conv, store.StatusClosed); err != nil {
		t.Fatal(err)
	}
	got = summary(e.request("GET", "/v1/widget/session", s, nil).raw)
	if got[0]["status"] != "closed" || len(got[0]["unanswered"].([]any)) != 0 {
		t.Fatalf("after the answer and closing: %v", got)
	}

	// Another visitor's session sees none of it.
	if got := summary(e.request("GET", "/v1/widget/session", e.session(), nil).raw); len(got) != 0 {
		t.Fatalf("another session sees %v", got)
	}
}
