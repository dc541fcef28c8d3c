package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// A note written through the console's form: shown to agents as an "Internal note" with its author,
// its body inert text however it is made, and its @mentions stored for agents of the workspace only.
func TestNotesInConsole(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "admin@acme.example")
	other := e.tenant("Beta", "admin@beta.example")
	ada := e.agent(tn.ws.ID, "ada@acme.example", "Ada Lovelace", store.RoleAgent)
	grace := e.agent(tn.ws.ID, "grace@acme.example", "Grace Hopper", store.RoleAgent)
	outsider := e.agent(other.ws.ID, "grace.h@beta.example", "Grace Beta", store.RoleAgent)
	conv := tn.say(tn.visitor(), "my card was stolen").ConversationID
	path := "/console/conversations/" + conv

	b := e.signedIn(ada)
	page := b.mustGet(path)
	for _, want := range []string{`name="kind" value="reply" checked`, `name="kind" value="note"`, "Internal note"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("the composer lacks %q", want)
		}
	}
	body := xssScript + xssAttr + " @grace @grace.h @ada @nobody " + `<svg onload=alert(1)>`
	r := b.post(path+"/reply", url.Values{"kind": {"note"}, "body": {body}, "client_id": {"note-1"}})
	if r.status != http.StatusSeeOther || r.location() != path+"#reply" {
		t.Fatalf("note: %d %q", r.status, r.location())
	}
	// A resubmitted form adds nothing.
	b.post(path+"/reply", url.Values{"kind": {"note"}, "body": {body}, "client_id": {"note-1"}})
	msgs, err := e.st.Messages(ctx, conv, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !msgs[1].Internal || msgs[1].AgentID != ada.ID || msgs[1].Body != body {
		t.Fatalf("stored messages %+v; want the customer's and one note by Ada", msgs)
	}

	for _, p := range []string{path, path + "/timeline?after=0"} {
		pg := b.mustGet(p)
		for _, raw := range []string{xssScript, xssAttr, "<svg onload"} {
			if strings.Contains(pg.body, raw) {
				t.Errorf("%s: raw payload %q", p, raw)
			}
		}
		if m := unsafeAttribute(pg.body); m != "" {
			t.Errorf("%s: unsafe attribute %s", p, m)
		}
		if strings.Contains(pg.body, "<img") || strings.Count(strings.ToLower(pg.body), "<script") != strings.Count(strings.ToLower(pg.body), `<script src="/console/static/`) {
			t.Errorf("%s: markup from the note", p)
		}
		note := between(pg.body, `data-internal>`, `</li>`)
		for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;svg onload=alert(1)&gt;", `data-note-label>Internal note</span>`, `<span class="msg-from">Ada Lovelace</span>`} {
			if !strings.Contains(note, want) {
				t.Errorf("%s: the note lacks %q:\n%s", p, want, note)
			}
		}
	}

	// Mentions: Grace (by first name) only. Ada wrote it (no self-mention), grace.h is another
	// workspace's agent, nobody is nobody.
	mentioned := func(a store.Agent) []chat.MentionItem {
		t.Helper()
		items, err := e.svc.Mentions(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	if got := mentioned(grace); len(got) != 1 || got[0].Conversation.ID != conv || got[0].By != "Ada Lovelace" {
		t.Fatalf("Grace's mentions %+v; want this conversation, by Ada", got)
	}
	for _, a := range []store.Agent{ada, outsider, tn.admin, other.admin} {
		if got := mentioned(a); len(got) != 0 {
			t.Errorf("%s is mentioned: %+v", a.Email, got)
		}
	}
	gp := e.signedIn(grace).mustGet("/console/mentions")
	if !strings.Contains(gp.body, `data-conversation="`+conv+`"`) || !strings.Contains(gp.body, "Ada Lovelace mentioned you") ||
		strings.Contains(gp.body, xssScript) || !strings.Contains(gp.body, `href="/console/mentions" aria-current="page"`) {
		t.Fatalf("Grace's Mentions page:\n%s", gp.body)
	}
	if op := e.signedIn(outsider).mustGet("/console/mentions"); !strings.Contains(op.body, "data-mentions-empty") {
		t.Fatalf("the other workspace's agent sees mentions:\n%s", op.body)
	}

	// A note changes nothing the customer or the inbox goes by: the conversation still waits for an
	// agent, unread for Grace.
	items, err := e.svc.Inbox(ctx, grace, chat.InboxQuery{View: chat.ViewOpen})
	if err != nil || len(items) != 1 || !items[0].Unread || items[0].LastSender != store.SenderCustomer || items[0].LastBody != "my card was stolen" {
		t.Fatalf("inbox after a note: %+v, %v", items, err)
	}

	// Closed: a note does not reopen it; the note-only composer posts to …/note.
	b.mustPost(path+"/close", nil)
	if p := b.mustGet(path); !strings.Contains(p.body, `action="`+path+`/note"`) {
		t.Fatalf("a closed anonymous conversation offers no note:\n%s", p.body)
	}
	b.mustPost(path+"/note", url.Values{"body": {"closed, but noted"}, "client_id": {"note-2"}})
	if c := e.conversation(conv); c.Status != store.StatusClosed {
		t.Fatalf("a note reopened the conversation: %+v", c)
	}
	// An unknown kind is refused, and nothing is sent.
	r = b.post(path+"/reply", url.Values{"kind": {"shout"}, "body": {"hello"}, "client_id": {"note-3"}})
	if r.status != http.StatusSeeOther || !strings.Contains(b.mustGet(r.location()).body, "kind") {
		t.Fatalf("unknown kind: %d", r.status)
	}
	if msgs, _ := e.st.Messages(ctx, conv, 0, 10); len(msgs) != 3 {
		t.Fatalf("messages after the refused kind: %d, want 3", len(msgs))
	}
}

// A mention alerts the mentioned agent's console sockets alone, with the frame alerts.js reads; every
// agent's console hears of the note as an internal agent message.
func TestMentionFrame(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tn := e.tenant("Acme", "admin@acme.example")
	ada := e.agent(tn.ws.ID, "ada@acme.example", "Ada Lovelace", store.RoleAgent)
	grace := e.agent(tn.ws.ID, "grace@acme.example", "Grace Hopper", store.RoleAgent)
	alan := e.agent(tn.ws.ID, "alan@acme.example", "Alan Turing", store.RoleAgent)
	conv := tn.say(tn.visitor(), "hello").ConversationID

	socket := func(a store.Agent) *websocket.Conn {
		t.Helper()
		c, _, err := e.signedIn(a).dial(ctx, e.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		if f := readFrame(t, ctx, c); f["type"] != "ready" {
			t.Fatalf("first frame %v", f)
		}
		return c
	}
	gs, as := socket(grace), socket(alan)
	note, _, err := e.svc.PostNote(ctx, ada, conv, "@grace can you check this?", "")
	if err != nil {
		t.Fatal(err)
	}
	// Then a reply: each socket's frames up to the reply's message frame are all it hears of the note.
	if _, _, err := e.svc.PostAgentMessage(ctx, tn.ws.ID, ada.ID, conv, "on it", ""); err != nil {
		t.Fatal(err)
	}
	upToReply := func(c *websocket.Conn) []map[string]string {
		t.Helper()
		var frames []map[string]string
		for {
			f := readFrame(t, ctx, c)
			frames = append(frames, f)
			if f["type"] == "message" && f["internal"] == "false" {
				return frames
			}
		}
	}
	want := map[string]string{"type": "mention", "conversation_id": conv, "message_id": chat.MessageID(note), "by": "Ada Lovelace"}
	for _, c := range []struct {
		name    string
		frames  []map[string]string
		mention bool
	}{{"grace", upToReply(gs), true}, {"alan", upToReply(as), false}} {
		var mentions, notes int
		for _, f := range c.frames {
			switch {
			case f["type"] == "mention":
				mentions++
				if len(f) != len(want) || f["type"] != want["type"] || f["conversation_id"] != want["conversation_id"] || f["message_id"] != want["message_id"] || f["by"] != want["by"] {
					t.Errorf("%s: mention frame %v, want %v", c.name, f, want)
				}
			case f["type"] == "message" && f["internal"] == "true":
				notes++
				if f["sender"] != "agent" || f["conversation_id"] != conv {
					t.Errorf("%s: note frame %v", c.name, f)
				}
			}
		}
		if c.mention && mentions != 1 || !c.mention && mentions != 0 {
			t.Errorf("%s got %d mention frames (%v)", c.name, mentions, c.frames)
		}
		if notes != 1 {
			t.Errorf("%s got %d note frames, want 1 (%v)", c.name, notes, c.frames)
		}
	}
	if !strings.Contains(want["message_id"], "_note_") {
		t.Errorf("a note's id %q is not of the note form", want["message_id"])
	}
}
