package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/httpapi"
)

// wsTryDial dials without failing the test and returns the HTTP status of a refused upgrade.
func wsTryDial(t *testing.T, e *env) (*websocket.Conn, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wsWait)
	defer cancel()
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/v1/widget/ws", &websocket.DialOptions{HTTPClient: e.client})
	if err != nil {
		if res == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, res.StatusCode
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, http.StatusSwitchingProtocols
}

func TestSocketsPerSessionEndTheOldest(t *testing.T) {
	e := newEnv(t, withLimits(httpapi.Limits{Sockets: httpapi.SocketLimits{PerSession: 2}}))
	s := e.session()
	first, second := wsConnect(t, e, s), wsConnect(t, e, s)
	third := wsConnect(t, e, s)
	wsExpectClose(t, first, 4409, 5*time.Second)
	// The two newest live on; another session is not affected.
	other := wsConnect(t, e, e.session())
	sent := apiMessage(t, e.send(s, "hello", "c1"))
	wsNextMessage(t, second, sent["id"].(string))
	wsNextMessage(t, third, sent["id"].(string))
	_ = other
}

func TestPendingSocketsPerAddress(t *testing.T) {
	e := newEnv(t, withLimits(httpapi.Limits{Sockets: httpapi.SocketLimits{PendingPerIP: 2, PerIP: 3}}))
	a, _ := wsTryDial(t, e)
	wsTryDial(t, e)
	if _, status := wsTryDial(t, e); status != http.StatusTooManyRequests {
		t.Fatalf("third unauthenticated socket: status %d; want 429", status)
	}
	wsAuth(t, a, e.session()) // authenticating frees a pending place
	if c, status := wsTryDial(t, e); c == nil {
		t.Fatalf("after one authenticated: status %d; want an upgrade", status)
	}
	// Three sockets from the address in all: the fourth is refused whatever its state.
	if _, status := wsTryDial(t, e); status != http.StatusTooManyRequests {
		t.Fatalf("fourth socket from one address: status %d; want 429", status)
	}
}

func TestSocketsTotalCapClosesWithTryAgainLater(t *testing.T) {
	e := newEnv(t, withLimits(httpapi.Limits{Sockets: httpapi.SocketLimits{Total: 1}}))
	first := wsConnect(t, e, e.session())
	c, status := wsTryDial(t, e)
	if c == nil {
		t.Fatalf("status %d; want an upgrade then 1013", status)
	}
	wsExpectClose(t, c, websocket.StatusTryAgainLater, 5*time.Second)
	first.CloseNow()
}

func TestSocketUpgradesAreRateLimited(t *testing.T) {
	e := newEnv(t, withLimits(httpapi.Limits{SocketUpgradesPerIP: httpapi.Rate{Every: time.Hour, Burst: 2}}))
	wsTryDial(t, e)
	wsTryDial(t, e)
	if _, status := wsTryDial(t, e); status != http.StatusTooManyRequests {
		t.Fatalf("third upgrade: status %d; want 429", status)
	}
}

func TestMessageLimitsPerAddressAndCustomer(t *testing.T) {
	e := newEnv(t, withLimits(httpapi.Limits{MessagesPerIP: httpapi.Rate{Every: time.Hour, Burst: 3}}))
	for i := range 3 {
		expect(t, e.send(e.session(), "hello", "c"+string(rune('a'+i))), 201, "")
	}
	// A fresh session does not get a fresh allowance.
	expect(t, e.send(e.session(), "hello", "cz"), 429, "rate_limited")

	e = newEnv(t, withLimits(httpapi.Limits{MessagesPerCustomer: httpapi.Rate{Every: time.Hour, Burst: 2}}))
	device1, device2, device3 := e.verified(claims(nil)), e.verified(claims(nil)), e.verified(claims(nil))
	expect(t, e.send(device1, "one", "c1"), 201, "")
	expect(t, e.send(device2, "two", "c2"), 201, "")
	expect(t, e.send(device3, "three", "c3"), 429, "rate_limited")
	// Another customer is not affected.
	expect(t, e.send(e.verified(claims(map[string]any{"sub": "other", "email": "o@example.com"})), "hi", "c4"), 201, "")
}

func TestConversationStartsAreLimited(t *testing.T) {
	e := newEnv(t, withLimits(httpapi.Limits{ConversationsPerIP: httpapi.Rate{Every: time.Hour, Burst: 2}}))
	first := e.session()
	expect(t, e.send(first, "one", "c1"), 201, "")
	expect(t, e.send(e.session(), "two", "c2"), 201, "")
	expect(t, e.send(e.session(), "three", "c3"), 429, "rate_limited")
	// Messages in a conversation already open are not starts.
	expect(t, e.send(first, "more", "c4"), 201, "")

	e = newEnv(t, withLimits(httpapi.Limits{ConversationsPerCustomer: httpapi.Rate{Every: time.Hour, Burst: 1}}))
	ada := e.verified(claims(nil))
	conv := apiMessage(t, e.send(ada, "first", "c1"))["conversation_id"].(string)
	if _, err := e.svc.SetStatus(context.Background(), e.ws.ID, "agent-1", conv, "closed"); err != nil {
		t.Fatal(err)
	}
	expect(t, e.send(e.verified(claims(nil)), "again, from another device", "c2"), 429, "rate_limited")
	expect(t, e.send(e.verified(claims(map[string]any{"sub": "grace", "email": "g@example.com"})), "hi", "c3"), 201, "")
}
