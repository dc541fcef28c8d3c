package console_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/console"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
)

// waitClosed reads c until it closes and returns the close status; ctx bounds the wait (the periodic
// sign-in check would close it after a minute, far beyond the test's patience).
func waitClosed(t *testing.T, ctx context.Context, c *websocket.Conn, what string) websocket.StatusCode {
	t.Helper()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("%s: still open: %v", what, err)
			}
			return websocket.CloseStatus(err)
		}
	}
}

// Signing out closes that session's console sockets at once with 4401 session_invalid; the same
// agent's other sessions keep theirs.
func TestSignOutClosesItsSockets(t *testing.T) {
	e := newEnv(t)
	a := e.tenant("Alpha", "admin@alpha.example")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	leaving, staying := e.signedIn(a.admin), e.signedIn(a.admin)
	lc, _, err := leaving.dial(ctx, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.CloseNow()
	sc, _, err := staying.dial(ctx, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.CloseNow()
	readFrame(t, ctx, lc)
	readFrame(t, ctx, sc)

	leaving.mustGet("/console/") // a page, for the CSRF token of the sign-out form
	if p := leaving.post("/console/logout", nil); p.status/100 != 3 {
		t.Fatalf("sign out: %d %s", p.status, p.body)
	}
	if code := waitClosed(t, ctx, lc, "the signed-out session's socket"); code != 4401 {
		t.Fatalf("the signed-out session's socket closed with %d; want 4401", code)
	}
	// The other session's socket is still live.
	m := a.say(a.visitor(), "still there?")
	for {
		if f := readFrame(t, ctx, sc); f["conversation_id"] == m.ConversationID {
			break
		}
	}
}

// With several instances sharing PostgreSQL, signing out on one instance closes the session's sockets on
// every other at once: the end travels through chat's relay.
func TestSignOutClosesSocketsOnOtherInstances(t *testing.T) {
	e := newEnv(t)
	if _, shared := e.st.(chat.Notifier); !shared {
		t.Skip("one instance only: events travel between instances on PostgreSQL (PARLEY_TEST_STORE=postgres)")
	}
	other := e.instance()
	a := e.tenant("Alpha", "admin@alpha.example")
	bob := e.agent(a.ws.ID, "bob@alpha.example", "Bob", store.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	b := e.signedIn(a.admin)
	// The same cookie, on the other instance.
	b2 := *b
	b2.e = other
	c, _, err := b2.dial(ctx, other.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	readFrame(t, ctx, c)
	bobs := e.signedIn(bob)
	bobs2 := *bobs
	bobs2.e = other
	bc, _, err := bobs2.dial(ctx, other.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.CloseNow()
	readFrame(t, ctx, bc)

	b.mustGet("/console/")
	if p := b.post("/console/logout", nil); p.status/100 != 3 {
		t.Fatalf("sign out: %d", p.status)
	}
	if code := waitClosed(t, ctx, c, "the socket on the other instance"); code != 4401 {
		t.Fatalf("closed with %d; want 4401", code)
	}
	// Disabling an agent on one instance ends their sockets on the other too.
	if _, err := e.svc.SetAgentDisabled(ctx, a.admin, bob.ID, true); err != nil {
		t.Fatal(err)
	}
	if code := waitClosed(t, ctx, bc, "the disabled agent's socket on the other instance"); code != 4401 {
		t.Fatalf("closed with %d; want 4401", code)
	}
}

// instance starts another Parley over the same database, as a second server behind a load balancer
// would be: its own service, relay, hub and console.
func (e *env) instance() *env {
	t := e.t
	hub := realtime.NewHub()
	svc := chattest.Start(t, chat.Config{Store: e.st, Events: hub, Passwords: password.NewHasher(2)}, hub)
	con, err := console.New(console.Config{Chat: svc, Events: hub})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.New(httpapi.Config{Chat: svc, Events: hub, Console: con})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		api.Shutdown(context.Background())
		srv.Close()
	})
	if !strings.HasPrefix(srv.URL, "http://") {
		t.Fatal(srv.URL)
	}
	return &env{t: t, srv: srv, svc: svc, hub: hub, api: api, st: e.st}
}
