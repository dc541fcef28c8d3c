package console_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/store"
)

func (b *browser) dial(ctx context.Context, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if ck := b.cookie("parley_console"); ck != nil {
		h.Set("Cookie", "parley_console="+ck.Value)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.e.srv.URL, "http")+"/console/ws", &websocket.DialOptions{HTTPHeader: h})
}

func readFrame(t *testing.T, ctx context.Context, c *websocket.Conn) map[string]string {
	t.Helper()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	// Values are strings, but for the message frame's "internal" (a boolean, here "true" or "false").
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("frame %s: %v", data, err)
	}
	f := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			f[k] = v
		case bool:
			f[k] = strconv.FormatBool(v)
		default:
			t.Fatalf("frame %s: %q is neither a string nor a boolean", data, k)
		}
	}
	return f
}

func TestConsoleSocket(t *testing.T) {
	e := newEnv(t)
	a := e.tenant("Alpha", "admin@alpha.example")
	other := e.tenant("Beta", "admin@beta.example")
	bob := e.agent(a.ws.ID, "bob@alpha.example", "Bob", store.RoleAgent)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Refused: no sign-in, another site's origin, no origin at all.
	if _, res, err := e.browser().dial(ctx, e.srv.URL); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("signed out: %v %v", err, res)
	}
	b := e.signedIn(a.admin)
	for _, origin := range []string{"https://evil.example", ""} {
		if _, res, err := b.dial(ctx, origin); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %q: %v %v", origin, err, res)
		}
	}

	c, _, err := b.dial(ctx, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if f := readFrame(t, ctx, c); f["type"] != "ready" {
		t.Fatalf("first frame %v", f)
	}
	// Another workspace's activity is not sent; ours is, without any text.
	other.say(other.visitor(), "Beta says hi")
	m := a.say(a.visitor(), "Alpha says <b>hi</b>")
	seen := map[string]bool{}
	for len(seen) < 3 {
		f := readFrame(t, ctx, c)
		if f["conversation_id"] != m.ConversationID {
			t.Fatalf("a frame about another conversation: %v", f)
		}
		for k := range f {
			// A message frame also says who sent it and whether it is an internal note (never the text).
			if k != "type" && k != "conversation_id" && !(f["type"] == "message" && (k == "sender" || k == "internal")) {
				t.Fatalf("frame carries %q: %v", k, f)
			}
		}
		if f["type"] == "message" && (f["sender"] != "customer" || f["internal"] != "false") {
			t.Fatalf("the customer's message frame: %v", f)
		}
		seen[f["type"]] = true
		if seen["message"] && seen["timeline"] && seen["conversation"] {
			break
		}
	}

	// Disabling the agent closes their socket with 4401.
	bs := e.signedIn(bob)
	bc, _, err := bs.dial(ctx, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.CloseNow()
	readFrame(t, ctx, bc)
	if _, err := e.svc.SetAgentDisabled(ctx, a.admin, bob.ID, true); err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err := bc.Read(ctx)
		if err == nil {
			continue
		}
		if websocket.CloseStatus(err) != 4401 {
			t.Fatalf("disabled agent's socket: %v", err)
		}
		break
	}

	// Shutting the API down closes the console's sockets with "going away".
	done := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				done <- err
				return
			}
		}
	}()
	if err := e.api.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	select {
	case err := <-done:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("close on shutdown: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the console socket stayed open after Shutdown")
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}

func TestStaticFiles(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	login := b.mustGet("/console/login")
	for _, ext := range []string{"css", "js"} {
		var path string
		for _, part := range strings.Split(login.body, `"`) {
			if strings.HasPrefix(part, "/console/static/console.") && strings.HasSuffix(part, "."+ext) {
				path = part
			}
		}
		if path == "" {
			t.Fatalf("no hashed .%s", ext)
		}
		p := b.mustGet(path)
		if cc := p.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
		if ct := p.header.Get("Content-Type"); !strings.Contains(ct, map[string]string{"css": "text/css", "js": "javascript"}[ext]) {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
	}
	for _, path := range []string{"/console/static/console.js", "/console/static/console.0000000000.js"} {
		if p := b.get(path); p.status != http.StatusNotFound {
			t.Errorf("%s: %d", path, p.status)
		}
	}
	// The mux cleans a path with dot segments (a redirect); what it leads to is not a file either.
	if p := b.get("/console/static/../templates/layout.html"); p.status == http.StatusOK || strings.Contains(p.body, "{{define") {
		t.Errorf("a template file is served: %d", p.status)
	}
	if p := b.get("/console/nope"); p.status != http.StatusNotFound || !strings.Contains(p.body, "Not found") {
		t.Errorf("unknown console page: %d", p.status)
	} else {
		checkHeaders(t, p)
	}
	if p := b.get("/console"); p.status/100 != 3 || !strings.HasSuffix(p.location(), "/console/") {
		t.Errorf("/console: %d %q", p.status, p.location())
	}
}
