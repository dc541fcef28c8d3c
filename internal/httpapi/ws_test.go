package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/realtime"
)

// Tests of the widget WebSocket (GET /v1/widget/ws) as docs/api.md describes it.

// wsWait bounds every read: a broken test fails instead of hanging.
const wsWait = 5 * time.Second

// wsDial opens a socket to the widget endpoint, with an Origin header unless origin is empty.
func wsDial(t *testing.T, e *env, origin string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	opts := &websocket.DialOptions{HTTPClient: e.client}
	if origin != "" {
		opts.HTTPHeader = http.Header{"Origin": {origin}}
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/v1/widget/ws", opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// wsSend writes one text frame.
func wsSend(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// wsRead reads one frame within d.
func wsRead(c *websocket.Conn, d time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageText {
		return nil, fmt.Errorf("binary frame %q", data)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("frame is not JSON: %q", data)
	}
	return f, nil
}

// wsAuth sends the auth frame and returns the ready frame's identity.
func wsAuth(t *testing.T, c *websocket.Conn, token string) map[string]any {
	t.Helper()
	wsSend(t, c, `{"type":"auth","session_token":"`+token+`"}`)
	f, err := wsRead(c, wsWait)
	if err != nil {
		t.Fatalf("waiting for ready: %v", err)
	}
	if f["type"] != "ready" {
		t.Fatalf("first frame %v, want ready", f)
	}
	id, ok := f["identity"].(map[string]any)
	if !ok {
		t.Fatalf("ready without identity: %v", f)
	}
	return id
}

// wsConnect dials and authenticates a socket for a session.
func wsConnect(t *testing.T, e *env, token string) *websocket.Conn {
	t.Helper()
	c := wsDial(t, e, "")
	wsAuth(t, c, token)
	return c
}

// wsNext reads frames until one of type typ arrives and returns it with the frames skipped before it.
func wsNext(t *testing.T, c *websocket.Conn, typ string) (map[string]any, []map[string]any) {
	t.Helper()
	deadline := time.Now().Add(wsWait)
	var skipped []map[string]any
	for {
		f, err := wsRead(c, time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for a %q frame (skipped %v): %v", typ, skipped, err)
		}
		if f["type"] == typ {
			return f, skipped
		}
		skipped = append(skipped, f)
	}
}

// wsNextMessage reads frames until the message frame with id arrives.
func wsNextMessage(t *testing.T, c *websocket.Conn, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(wsWait)
	for {
		f, err := wsRead(c, time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for message %s: %v", id, err)
		}
		if f["type"] != "message" {
			continue
		}
		m, ok := f["message"].(map[string]any)
		if !ok {
			t.Fatalf("message frame without message: %v", f)
		}
		if m["id"] == id {
			return m
		}
	}
}

// wsExpectClose reads until the socket closes and checks the close code; it returns the frames read first.
func wsExpectClose(t *testing.T, c *websocket.Conn, code websocket.StatusCode, within time.Duration) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	var frames []map[string]any
	for {
		f, err := wsRead(c, time.Until(deadline))
		if err == nil {
			frames = append(frames, f)
			continue
		}
		if got := websocket.CloseStatus(err); got != code {
			t.Fatalf("socket ended with status %d (%v) after %v, want %d", got, err, frames, code)
		}
		return frames
	}
}

// wsSessionEnded checks frames end with exactly one session_ended of the reason.
func wsSessionEnded(t *testing.T, frames []map[string]any, reason string) {
	t.Helper()
	if len(frames) == 0 {
		t.Fatal("socket closed without session_ended")
	}
	last := frames[len(frames)-1]
	if last["type"] != "session_ended" || last["reason"] != reason {
		t.Fatalf("last frame %v, want session_ended with reason %q (all: %v)", last, reason, frames)
	}
	for _, f := range frames[:len(frames)-1] {
		if f["type"] == "session_ended" {
			t.Fatalf("more than one session_ended: %v", frames)
		}
	}
}

func TestWSReadyAndLiveMessages(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	c := wsDial(t, e, "")
	id := wsAuth(t, c, token)
	if id["level"] != "anonymous" {
		t.Fatalf("ready identity %v", id)
	}

	// The customer's own message, sent over HTTP, arrives in the same shape as the HTTP reply.
	r := e.send(token, "hello over http", "c-1")
	expect(t, r, 201, "")
	sent := apiMessage(t, r)
	conv := sent["conversation_id"].(string)
	got := wsNextMessage(t, c, sent["id"].(string))
	if fmt.Sprint(got) != fmt.Sprint(sent) {
		t.Fatalf("socket message %v, HTTP reply %v", got, sent)
	}
	// A retry with the same client id is not a new message, so nothing is pushed for it; the next
	// thing on the socket is the agent's reply.
	expect(t, e.send(token, "hello over http", "c-1"), 200, "")
	reply, _, err := e.svc.PostAgentMessage(context.Background(), e.ws.ID, "agent-1", conv, "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	f, skipped := wsNext(t, c, "message")
	if len(skipped) != 0 {
		t.Fatalf("unexpected frames before the reply: %v", skipped)
	}
	m := f["message"].(map[string]any)
	if m["id"] != chat.MessageID(reply) || m["sender"] != "agent" || m["body"] != "hello" || m["conversation_id"] != conv || m["trusted"] != false {
		t.Fatalf("agent reply frame %v", m)
	}
	if m["id"].(string) <= sent["id"].(string) {
		t.Fatalf("reply id %v does not sort after %v", m["id"], sent["id"])
	}

	// A client ping gets a pong.
	wsSend(t, c, `{"type":"ping"}`)
	if _, skipped := wsNext(t, c, "pong"); len(skipped) != 0 {
		t.Fatalf("unexpected frames before pong: %v", skipped)
	}
}

func TestWSFirstMessageAnnouncesConversation(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	c := wsConnect(t, e, token)
	sent := apiMessage(t, e.send(token, "first", ""))
	_, before := wsNext(t, c, "message")
	if len(before) != 1 || before[0]["type"] != "conversation" {
		t.Fatalf("frames before the first message: %v", before)
	}
	conv := before[0]["conversation"].(map[string]any)
	if conv["id"] != sent["conversation_id"] || conv["status"] != "open" {
		t.Fatalf("conversation frame %v", conv)
	}
}

func TestWSVerifiedCustomerDevices(t *testing.T) {
	e := newEnv(t)
	a := e.verified(claims(nil))
	b := e.verified(claims(nil)) // same sub: the same customer on a second device
	ca, cb := wsDial(t, e, ""), wsDial(t, e, "")
	ida, idb := wsAuth(t, ca, a), wsAuth(t, cb, b)
	if ida["level"] != "verified" || ida["email"] != "ada@example.com" || ida["customer_id"] == nil || ida["customer_id"] != idb["customer_id"] {
		t.Fatalf("ready identities %v and %v", ida, idb)
	}
	sent := apiMessage(t, e.send(a, "from device A", ""))
	for name, c := range map[string]*websocket.Conn{"A": ca, "B": cb} {
		m := wsNextMessage(t, c, sent["id"].(string))
		if m["body"] != "from device A" || m["trusted"] != true {
			t.Fatalf("device %s got %v", name, m)
		}
	}
	// An agent reply reaches both devices too.
	reply, _, err := e.svc.PostAgentMessage(context.Background(), e.ws.ID, "agent-1", sent["conversation_id"].(string), "hi Ada", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{ca, cb} {
		wsNextMessage(t, c, chat.MessageID(reply))
	}
}

func TestWSIsolation(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.session(), e.session()
	other, err := e.svc.CreateWorkspace(context.Background(), "Other Shop")
	if err != nil {
		t.Fatal(err)
	}
	r := e.request("POST", "/v1/widget/sessions", "", map[string]string{"workspace": other.ID})
	expect(t, r, 201, "")
	foreign := r.str("session_token")
	// A verified customer is not a witness to anonymous visitors either.
	ver := e.verified(claims(nil))

	watchers := map[string]*websocket.Conn{"bob": wsConnect(t, e, bob), "foreign": wsConnect(t, e, foreign), "verified": wsConnect(t, e, ver)}
	ca := wsConnect(t, e, alice)
	secret := apiMessage(t, e.send(alice, "alice's secret", ""))
	if _, _, err := e.svc.PostAgentMessage(context.Background(), e.ws.ID, "agent-1", secret["conversation_id"].(string), "agent to alice", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetStatus(context.Background(), e.ws.ID, "agent-1", secret["conversation_id"].(string), "closed"); err != nil {
		t.Fatal(err)
	}
	wsNextMessage(t, ca, secret["id"].(string))

	// Deterministic part: events are published in order, so anything of Alice's delivered to a watcher
	// would arrive before the watcher's own message, sent afterwards.
	for name, c := range watchers {
		tok := map[string]string{"bob": bob, "foreign": foreign, "verified": ver}[name]
		own := apiMessage(t, e.send(tok, name+"'s own", ""))
		for {
			f, err := wsRead(c, wsWait)
			if err != nil {
				t.Fatalf("%s: waiting for its own message: %v", name, err)
			}
			if strings.Contains(fmt.Sprint(f), secret["conversation_id"].(string)) {
				t.Fatalf("%s received Alice's event: %v", name, f)
			}
			if m, _ := f["message"].(map[string]any); m != nil && m["id"] == own["id"] && m["conversation_id"] == own["conversation_id"] {
				break
			}
		}
	}
	// And nothing trickles in later.
	for name, c := range watchers {
		if f, err := wsRead(c, 300*time.Millisecond); err == nil {
			t.Fatalf("%s received %v", name, f)
		} else if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestWSBadAuth(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	cases := []struct {
		name  string
		frame string
		code  websocket.StatusCode
	}{
		{"garbage token", `{"type":"auth","session_token":"garbage"}`, 4401},
		{"unknown token", `{"type":"auth","session_token":"` + apiUnknownToken + `"}`, 4401},
		{"empty token", `{"type":"auth","session_token":""}`, 4401},
		{"no token", `{"type":"auth"}`, 4401},
		{"not an auth frame", `{"type":"ping"}`, 4400},
		{"message frame", `{"type":"message","body":"hi"}`, 4400},
		{"not JSON", `hello`, 4400},
		{"array", `[{"type":"auth","session_token":"` + token + `"}]`, 4400},
		{"unknown member", `{"type":"auth","session_token":"` + token + `","admin":true}`, 4400},
		{"duplicate token", `{"type":"auth","session_token":"` + apiUnknownToken + `","session_token":"` + token + `"}`, 4400},
		{"token in another case", `{"type":"auth","SESSION_TOKEN":"` + token + `"}`, 4400},
		{"type in another case", `{"type":"AUTH","session_token":"` + token + `"}`, 4400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := wsDial(t, e, "")
			wsSend(t, conn, c.frame)
			if frames := wsExpectClose(t, conn, c.code, wsWait); len(frames) != 0 {
				t.Fatalf("frames before the close: %v", frames)
			}
		})
	}
	t.Run("binary frame", func(t *testing.T) {
		conn := wsDial(t, e, "")
		ctx, cancel := context.WithTimeout(context.Background(), wsWait)
		defer cancel()
		if err := conn.Write(ctx, websocket.MessageBinary, []byte(`{"type":"auth","session_token":"`+token+`"}`)); err != nil {
			t.Fatal(err)
		}
		wsExpectClose(t, conn, 4400, wsWait)
	})
	t.Run("revoked token", func(t *testing.T) {
		old := e.session()
		expect(t, e.request("POST", "/v1/widget/logout", old, nil), 200, "")
		conn := wsDial(t, e, "")
		wsSend(t, conn, `{"type":"auth","session_token":"`+old+`"}`)
		wsExpectClose(t, conn, 4401, wsWait)
	})
	t.Run("oversized frame", func(t *testing.T) {
		conn := wsDial(t, e, "")
		wsSend(t, conn, `{"type":"auth","session_token":"`+strings.Repeat("a", 64<<10)+`"}`)
		// The read limit refuses the frame with 1009 before anything else looks at it.
		wsExpectClose(t, conn, websocket.StatusMessageTooBig, wsWait)
	})
	// The good token still works after all that.
	wsConnect(t, e, token)
}

func TestWSOrigin(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	e.update(chat.SettingsPatch{AllowedOrigins: &[]string{"https://shop.example"}})
	for _, origin := range []string{"https://evil.example", "http://shop.example", "null"} {
		c := wsDial(t, e, origin)
		wsSend(t, c, `{"type":"auth","session_token":"`+token+`"}`)
		if frames := wsExpectClose(t, c, 4403, wsWait); len(frames) != 0 {
			t.Fatalf("%s: frames before the close: %v", origin, frames)
		}
	}
	for _, origin := range []string{"https://shop.example", "https://SHOP.example:443", ""} {
		c := wsDial(t, e, origin)
		if id := wsAuth(t, c, token); id["level"] != "anonymous" {
			t.Fatalf("%s: identity %v", origin, id)
		}
		sent := apiMessage(t, e.send(token, "via "+origin, ""))
		wsNextMessage(t, c, sent["id"].(string))
	}
}

func TestWSLogoutEndsSocket(t *testing.T) {
	e := newEnv(t)
	token := e.verified(claims(nil))
	c := wsConnect(t, e, token)
	other := wsConnect(t, e, e.verified(claims(nil))) // the same customer elsewhere stays connected
	r := e.request("POST", "/v1/widget/logout", token, nil)
	expect(t, r, 200, "")
	wsSessionEnded(t, wsExpectClose(t, c, 4401, time.Second), "logged_out")

	sent := apiMessage(t, e.send(e.verified(claims(nil)), "still here", ""))
	wsNextMessage(t, other, sent["id"].(string))

	// The fresh anonymous session's socket works and sees nothing of the previous user.
	fresh := r.str("session_token")
	cf := wsDial(t, e, "")
	if id := wsAuth(t, cf, fresh); id["level"] != "anonymous" {
		t.Fatalf("fresh identity %v", id)
	}
	mine := apiMessage(t, e.send(fresh, "new person", ""))
	f, skipped := wsNext(t, cf, "message")
	if f["message"].(map[string]any)["id"] != mine["id"] {
		t.Fatalf("first message frame %v, want %v", f, mine)
	}
	for _, f := range append(skipped, f) {
		if strings.Contains(fmt.Sprint(f), sent["conversation_id"].(string)) {
			t.Fatalf("the next user sees the previous user's conversation: %v", f)
		}
	}
}

func TestWSLogoutCustomerEndsEveryDevice(t *testing.T) {
	e := newEnv(t)
	login := e.login(e.session(), e.sign(claims(nil)))
	expect(t, login, 200, "")
	a := login.str("session_token")
	customerID := login.str("identity", "customer_id")
	b := e.verified(claims(nil))
	ca, cb := wsConnect(t, e, a), wsConnect(t, e, b)
	// Someone else is unaffected.
	bystander := e.verified(claims(map[string]any{"sub": "user-2", "email": "grace@example.com"}))
	cc := wsConnect(t, e, bystander)

	n, err := e.svc.LogoutCustomer(context.Background(), e.ws.ID, customerID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("LogoutCustomer ended %d sessions, want 2", n)
	}
	for _, c := range []*websocket.Conn{ca, cb} {
		wsSessionEnded(t, wsExpectClose(t, c, 4401, time.Second), "revoked")
	}
	for _, tok := range []string{a, b} {
		expect(t, e.request("GET", "/v1/widget/session", tok, nil), 401, "session_invalid")
	}
	sent := apiMessage(t, e.send(bystander, "still here", ""))
	wsNextMessage(t, cc, sent["id"].(string))
	// A second call finds nothing left to end.
	if n, err := e.svc.LogoutCustomer(context.Background(), e.ws.ID, customerID); err != nil || n != 0 {
		t.Fatalf("second LogoutCustomer: %d, %v", n, err)
	}
}

func TestWSLoginRotatesSocket(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	c := wsConnect(t, e, token)
	sent := apiMessage(t, e.send(token, "before login", ""))
	wsNextMessage(t, c, sent["id"].(string))

	r := e.login(token, e.sign(claims(nil)))
	expect(t, r, 200, "")
	wsSessionEnded(t, wsExpectClose(t, c, 4401, time.Second), "rotated")
	expect(t, e.request("GET", "/v1/widget/session", token, nil), 401, "session_invalid")
	old := wsDial(t, e, "")
	wsSend(t, old, `{"type":"auth","session_token":"`+token+`"}`)
	wsExpectClose(t, old, 4401, wsWait)

	fresh := r.str("session_token")
	nc := wsDial(t, e, "")
	if id := wsAuth(t, nc, fresh); id["level"] != "verified" || id["email"] != "ada@example.com" {
		t.Fatalf("identity after login %v", id)
	}
	// The conversation moved to the customer; its messages keep arriving on the new socket.
	after := apiMessage(t, e.send(fresh, "after login", ""))
	if after["conversation_id"] != sent["conversation_id"] || after["trusted"] != true {
		t.Fatalf("message after login %v", after)
	}
	wsNextMessage(t, nc, after["id"].(string))
}

func TestWSIdentifyRotatesSocket(t *testing.T) {
	e := newEnv(t)
	token := e.session()
	c := wsConnect(t, e, token)
	r := e.request("POST", "/v1/widget/identify", token, map[string]string{"name": "Ada", "email": "ada@example.com"})
	expect(t, r, 200, "")
	wsSessionEnded(t, wsExpectClose(t, c, 4401, time.Second), "rotated")
	if id := wsAuth(t, wsDial(t, e, ""), r.str("session_token")); id["level"] != "identified" {
		t.Fatalf("identity %v", id)
	}
}

func TestWSShutdown(t *testing.T) {
	e := newEnv(t)
	var conns []*websocket.Conn
	for range 5 {
		conns = append(conns, wsConnect(t, e, e.session()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.api.Shutdown(ctx) }()
	for i, c := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), wsWait)
		_, _, err := c.Read(ctx)
		cancel()
		if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
			t.Fatalf("socket %d ended with %d (%v), want 1001", i, got, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// After shutdown new sockets are turned away the same way.
	c := wsDial(t, e, "")
	wsSend(t, c, `{"type":"auth","session_token":"`+e.session()+`"}`)
	if _, err := wsRead(c, wsWait); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("a socket opened after shutdown: %v", err)
	}
}

func TestWSConversationStatus(t *testing.T) {
	e := newEnv(t)
	token := e.verified(claims(nil))
	c := wsConnect(t, e, token)
	sent := apiMessage(t, e.send(token, "help", ""))
	conv := sent["conversation_id"].(string)
	wsNextMessage(t, c, sent["id"].(string))

	if _, err := e.svc.SetStatus(context.Background(), e.ws.ID, "agent-1", conv, "closed"); err != nil {
		t.Fatal(err)
	}
	f, skipped := wsNext(t, c, "conversation")
	if len(skipped) != 0 {
		t.Fatalf("unexpected frames: %v", skipped)
	}
	cv := f["conversation"].(map[string]any)
	if cv["id"] != conv || cv["status"] != "closed" {
		t.Fatalf("conversation frame %v", cv)
	}
	if _, err := time.Parse(time.RFC3339, cv["created_at"].(string)); err != nil {
		t.Fatalf("created_at: %v", err)
	}
	// Setting the same status again is not a change and sends nothing; the follow-up reopens.
	if _, err := e.svc.SetStatus(context.Background(), e.ws.ID, "agent-1", conv, "closed"); err != nil {
		t.Fatal(err)
	}
	reply, _, err := e.svc.PostAgentMessage(context.Background(), e.ws.ID, "agent-1", conv, "following up", "")
	if err != nil {
		t.Fatal(err)
	}
	f, skipped = wsNext(t, c, "conversation")
	if len(skipped) != 0 || f["conversation"].(map[string]any)["status"] != "open" {
		t.Fatalf("reopen frame %v after %v", f, skipped)
	}
	wsNextMessage(t, c, chat.MessageID(reply))
	if convs := e.conversations(token); len(convs) != 1 || convs[0]["status"] != "open" {
		t.Fatalf("conversations %v", convs)
	}
}

// A session_ended about an older token of the session — delivered late, as happens when events travel
// between instances after the response that handed out the new token — does not end a socket that
// already uses the new token.
func TestWSLateRotationEventKeepsNewSocket(t *testing.T) {
	e := newEnv(t)
	token := e.verified(claims(nil))
	v, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	c := wsConnect(t, e, token)
	e.hub.Publish(realtime.Event{Type: chat.EventSessionEnded, Data: chat.SessionEnded{SessionID: v.Session.ID, Reason: "rotated"}, Final: true},
		chat.SessionTopic(v.Session.ID))
	sent := apiMessage(t, e.send(token, "still connected", ""))
	wsNextMessage(t, c, sent["id"].(string))

	// The same event for a token that really stopped working still ends its socket.
	r := e.request("POST", "/v1/widget/logout", token, nil)
	expect(t, r, 200, "")
	wsSessionEnded(t, wsExpectClose(t, c, 4401, 5*time.Second), "logged_out")
}

// A rotation ends one token, not the session: its event, arriving late (with several instances it
// travels through the database after the response that handed out the new token), must neither end a
// socket using the new token nor give the wrong reason when the session has since ended otherwise.
func TestWSStaleRotationEvent(t *testing.T) {
	e := newEnv(t)
	token := e.verified(claims(nil))
	v, err := e.svc.Recheck(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	c := wsConnect(t, e, token)
	stale := func(fingerprint string) {
		e.hub.Publish(realtime.Event{Type: chat.EventSessionEnded, Final: true,
			Data: chat.SessionEnded{SessionID: v.Session.ID, Reason: chat.ReasonRotated, Token: fingerprint}},
			chat.SessionTopic(v.Session.ID))
	}
	stale(chat.TokenFingerprint("an older token of this session"))
	sent := apiMessage(t, e.send(token, "still connected", ""))
	wsNextMessage(t, c, sent["id"].(string))

	// The session ends by logout; the stale rotation delivered after it must not speak for it.
	expect(t, e.request("POST", "/v1/widget/logout", token, nil), 200, "")
	stale(chat.TokenFingerprint("an older token of this session"))
	wsSessionEnded(t, wsExpectClose(t, c, 4401, wsWait), chat.ReasonLoggedOut)

	// A rotation of the socket's own token does end it, as rotated.
	token = e.verified(claims(nil))
	c = wsConnect(t, e, token)
	expect(t, e.login(token, e.sign(claims(nil))), 200, "")
	wsSessionEnded(t, wsExpectClose(t, c, 4401, wsWait), chat.ReasonRotated)
}
