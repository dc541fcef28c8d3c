package console_test

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/realtime"
)

// frameOf reads console frames until one of the given type arrives.
func frameOf(t *testing.T, ctx context.Context, c *websocket.Conn, typ string) map[string]string {
	t.Helper()
	for {
		if f := readFrame(t, ctx, c); f["type"] == typ {
			return f
		}
	}
}

func TestConsoleTypingAndSeen(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	other := e.tenant("Other", "eve@other.example")
	v := tn.visitor()
	convID := tn.say(v, "Hello").ConversationID
	strangerConv := other.say(other.visitor(), "Hi").ConversationID
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, _, err := e.svc.PostAgentMessage(ctx, tn.ws.ID, tn.admin.ID, convID, "How can I help?", "")
	if err != nil {
		t.Fatal(err)
	}
	customer := e.hub.Subscribe(64, v.Topics()...)
	defer customer.Close()

	b := e.signedIn(tn.admin)
	c, _, err := b.dial(ctx, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	frameOf(t, ctx, c, "ready")

	// The customer types: the console hears start, and nothing else about it.
	if _, err := e.svc.CustomerTyping(v).Typing(ctx, convID, chat.TypingStart); err != nil {
		t.Fatal(err)
	}
	if f := frameOf(t, ctx, c, "typing"); len(f) != 3 || f["conversation_id"] != convID || f["state"] != "start" {
		t.Fatalf("typing frame %v", f)
	}

	// The agent types on the console's socket: the customer's devices hear it; a frame about another
	// workspace's conversation reaches no one.
	for _, frame := range []string{
		`{"type":"typing","conversation_id":"` + strangerConv + `","state":"start"}`,
		`{"type":"typing","conversation_id":"` + convID + `","state":"start"}`,
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	var ev realtime.Event
	for ev.Type != chat.EventTyping {
		select {
		case ev = <-customer.Events():
		case <-ctx.Done():
			t.Fatal("the agent's typing did not reach the customer")
		}
	}
	if got := ev.Data.(chat.Typing); got.ConversationID != convID || got.From != "agent" || got.AgentID != tn.admin.ID {
		t.Fatalf("the customer got %+v", got)
	}

	// Seen: live on the socket, and on the page without script, under the agent's message.
	if err := e.svc.MarkSeen(ctx, v, convID, chat.MessageID(reply)); err != nil {
		t.Fatal(err)
	}
	f := frameOf(t, ctx, c, "seen")
	if f["conversation_id"] != convID || f["n"] != strconv.FormatInt(reply.N, 10) || f["at"] == "" {
		t.Fatalf("seen frame %v", f)
	}
	p := b.mustGet("/console/conversations/" + convID)
	li := regexp.MustCompile(`(?s)<li class="msg[^"]*"[^>]*data-sender="agent"[^>]*data-n="` + strconv.FormatInt(reply.N, 10) + `".*?</li>`).FindString(p.body)
	if !strings.Contains(li, `data-seen>Seen <time datetime=`) {
		t.Fatalf("no Seen under the agent's message:\n%s", li)
	}
	if strings.Count(p.body, "data-seen>") != 1 {
		t.Errorf("Seen appears %d times; want once", strings.Count(p.body, "data-seen>"))
	}
	// The timeline fragment a page fetches when its socket is ready carries the mark too: a mark that
	// landed between the page's render and its subscription still reaches the page.
	frag := b.mustGet("/console/conversations/" + convID + "/timeline?after=0&after_event=0&seen=1")
	if want := `data-seen-n="` + strconv.FormatInt(reply.N, 10) + `" data-seen-at="`; !strings.Contains(frag.body, want) {
		t.Fatalf("the timeline fragment lacks %s:\n%s", want, frag.body)
	}
	if !strings.Contains(p.body, `role="status" aria-live="polite"></p>`) {
		t.Errorf("the page lacks the typing line's live region")
	}
}

func TestReadReceiptsSetting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	if p := b.mustGet("/console/settings"); !regexp.MustCompile(`<input type="checkbox" name="read_receipts"[^>]* checked>`).MatchString(p.body) {
		t.Fatalf("read receipts are not on by default:\n%s", p.body)
	}
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}, "max_token_lifetime": {"10m"}})
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); !w.Settings.HideReadReceipts {
		t.Fatalf("an unchecked box left read receipts on")
	}
	b.mustPost("/console/settings", url.Values{"name": {"Acme"}, "max_token_lifetime": {"10m"}, "read_receipts": {"on"}})
	if w, _ := e.svc.Workspace(ctx, tn.ws.ID); w.Settings.HideReadReceipts {
		t.Fatalf("a checked box left read receipts off")
	}
}
