package httpapi_test

import (
	"context"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/store"
)

func withTrustedProxies(p ...string) envOption {
	return func(c *httpapi.Config) {
		for _, s := range p {
			c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(s))
		}
	}
}

// A blocked visitor's messages are refused over HTTP with 403 blocked and nothing more; the client
// address chat sees is the one httpapi derives (behind a trusted proxy, the forwarded one), so a fresh
// session from the same address is refused and another address is not.
func TestBlockedVisitorOverHTTP(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, withTrustedProxies("127.0.0.0/8"))
	agent, err := e.svc.CreateAgent(ctx, e.ws.ID, "agent@acme.example", "Agent", store.RoleAgent, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }
	send := func(session, body, addr string) response {
		t.Helper()
		return e.request("POST", "/v1/widget/messages", session, map[string]string{"body": body}, from(addr)...)
	}

	abuser := e.session()
	r := send(abuser, "first", "203.0.113.50")
	expect(t, r, http.StatusCreated, "")
	conv := r.str("message", "conversation_id")
	if _, err := e.svc.BlockVisitor(ctx, agent, conv, chat.BlockInput{For: time.Hour, Reason: "threats"}); err != nil {
		t.Fatal(err)
	}

	r = send(abuser, "again", "203.0.113.50")
	expect(t, r, http.StatusForbidden, "blocked")
	if r.message() != "this chat is unavailable" {
		t.Errorf("the blocked visitor is told %q; want only that the chat is unavailable", r.message())
	}
	// A client-chosen X-Forwarded-For entry does not move the visitor: the proxy appends the real one.
	expect(t, send(e.session(), "spoofed", "198.51.100.1, 203.0.113.50"), http.StatusForbidden, "blocked")
	expect(t, send(e.session(), "a fresh session", "203.0.113.50"), http.StatusForbidden, "blocked")
	expect(t, send(e.session(), "another address", "203.0.113.51"), http.StatusCreated, "")
	expect(t, e.request("POST", "/v1/widget/identify", abuser, map[string]string{"name": "an insult"}, from("203.0.113.50")...), http.StatusForbidden, "blocked")

	// Reading stays possible.
	expect(t, e.request("GET", "/v1/widget/session", abuser, nil, from("203.0.113.50")...), http.StatusOK, "")
	if msgs := e.messages(abuser, conv, ""); len(msgs) != 1 {
		t.Errorf("the blocked visitor reads %d messages; want 1", len(msgs))
	}
}

// Without trusted proxies, X-Forwarded-For is the client's own say and is ignored: the connection's
// loopback address is what chat sees, and that is never blocked.
func TestBlockedVisitorForwardedForIgnoredWithoutTrustedProxies(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	agent, err := e.svc.CreateAgent(ctx, e.ws.ID, "agent@acme.example", "Agent", store.RoleAgent, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	abuser := e.session()
	r := e.request("POST", "/v1/widget/messages", abuser, map[string]string{"body": "hi"}, "X-Forwarded-For", "203.0.113.60")
	expect(t, r, http.StatusCreated, "")
	b, err := e.svc.BlockVisitor(ctx, agent, r.str("message", "conversation_id"), chat.BlockInput{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Addr != "" {
		t.Errorf("block address = %q; want none (the visitor's address is the test's loopback)", b.Addr)
	}
	expect(t, e.send(abuser, "again", ""), http.StatusForbidden, "blocked")
	r = e.request("POST", "/v1/widget/messages", e.session(), map[string]string{"body": "another visitor"}, "X-Forwarded-For", "203.0.113.60")
	expect(t, r, http.StatusCreated, "")
}
