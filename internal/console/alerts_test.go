package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// framesUntil reads a console socket's frames up to the first that stop accepts, and returns them all.
func framesUntil(t *testing.T, ctx context.Context, c *websocket.Conn, stop func(map[string]string) bool) []map[string]string {
	t.Helper()
	var got []map[string]string
	for {
		f := readFrame(t, ctx, c)
		got = append(got, f)
		if stop(f) {
			return got
		}
	}
}

func getJSON(t *testing.T, b *browser, path string, v any) int {
	t.Helper()
	p := b.get(path, "Accept", "application/json")
	if p.status == http.StatusOK {
		if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if err := json.Unmarshal([]byte(p.body), v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, p.body)
		}
	}
	return p.status
}

type alertJSON struct {
	ConversationID string `json:"conversation_id"`
	Name, Level    string
	Text           string
	Truncated      bool
	MessageNumber  int64 `json:"message_number"`
	ForMe          bool  `json:"for_me"`
	Assigned       bool
	Unread         bool
	URL            string
}

type stateJSON struct {
	Available, Sound, Notifications bool
	Attention                       []string
}

func TestTransferFromTheConsole(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tn := e.tenant("Acme", "ann@acme.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	carol := e.agent(tn.ws.ID, "carol@acme.example", "Carol", store.RoleAgent)
	conv := tn.say(tn.visitor(), "My parcel never arrived").ConversationID
	path := "/console/conversations/" + conv

	ann := e.signedIn(tn.admin)
	bobB, carolB := e.signedIn(bob), e.signedIn(carol)
	sockets := map[string]*websocket.Conn{}
	for name, b := range map[string]*browser{"bob": bobB, "carol": carolB, "ann": ann} {
		c, _, err := b.dial(ctx, e.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if f := readFrame(t, ctx, c); f["type"] != "ready" {
			t.Fatalf("%s: first frame %v", name, f)
		}
		sockets[name] = c
	}

	// The page offers Transfer, to agents and inboxes, with a note.
	p := ann.mustGet(path)
	for _, want := range []string{`action="` + path + `/transfer"`, `<label for="transfer-to">Transfer to</label>`, `value="agent:` + bob.ID + `"`, `name="note"`, `maxlength="500"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("conversation page lacks %q", want)
		}
	}

	const note = `<img src=x onerror=alert(1)> wants a call back "today"`
	p = ann.mustPost(path+"/transfer", url.Values{"to": {"agent:" + bob.ID}, "note": {note}})
	if !strings.Contains(p.body, "Conversation transferred.") || e.conversation(conv).AssigneeID != bob.ID {
		t.Fatalf("transfer to bob: assignee %q\n%s", e.conversation(conv).AssigneeID, p.body)
	}
	// The timeline says so, the note as text.
	if want := "Admin of Acme transferred to Bob: " + html.EscapeString(note); !strings.Contains(p.body, want) {
		t.Errorf("timeline lacks %q", want)
	}
	if strings.Contains(p.body, "<img src=x") {
		t.Error("the note's markup is live")
	}

	// Bob's console hears of it, naming who; carol's and ann's do not (carol's preferences are saved
	// afterwards: the frame that says so comes after anything published before it).
	fs := framesUntil(t, ctx, sockets["bob"], func(f map[string]string) bool { return f["type"] == "transfer" })
	if f := fs[len(fs)-1]; f["conversation_id"] != conv || f["by"] != "Admin of Acme" || len(f) != 3 {
		t.Errorf("bob's transfer frame %v", f)
	}
	for name, b := range map[string]*browser{"carol": carolB, "ann": ann} {
		me := carol.ID
		if name == "ann" {
			me = tn.admin.ID
		}
		b.mustGet("/console/preferences")
		b.mustPost("/console/preferences", url.Values{"sound": {"on"}, "notifications": {"on"}})
		for _, f := range framesUntil(t, ctx, sockets[name], func(f map[string]string) bool { return f["type"] == "agent" && f["agent_id"] == me }) {
			if f["type"] == "transfer" {
				t.Errorf("%s got a transfer frame %v", name, f)
			}
		}
	}

	// An inbox: unassigned, waiting there.
	sales, err := e.svc.SaveInbox(ctx, tn.admin, "", "Sales", []string{carol.ID})
	if err != nil {
		t.Fatal(err)
	}
	p = bobB.mustPost(path+"/transfer", url.Values{"to": {"inbox:" + sales.ID}})
	if c := e.conversation(conv); c.InboxID != sales.ID || c.AssigneeID != "" || !strings.Contains(p.body, "Bob transferred to the Sales inbox") {
		t.Errorf("transfer to Sales: %+v", c)
	}
	fs = framesUntil(t, ctx, sockets["carol"], func(f map[string]string) bool { return f["type"] == "transfer" })
	if f := fs[len(fs)-1]; f["conversation_id"] != conv || f["by"] != "Bob" {
		t.Errorf("carol's transfer frame %v", f)
	}

	// Refusals come back as a message on the page; nothing changes.
	for _, form := range []url.Values{
		{"to": {"agent:" + bob.ID}, "note": {strings.Repeat("x", 501)}},
		{"to": {"agent:nobody"}},
		{"to": {"bob"}},
		{"to": {"agent:"}},
	} {
		r := ann.post(path+"/transfer", form)
		if r.status != http.StatusSeeOther || r.location() != path {
			t.Errorf("refused transfer %v: %d %q", form, r.status, r.location())
		}
	}
	if c := e.conversation(conv); c.InboxID != sales.ID || c.AssigneeID != "" {
		t.Errorf("a refused transfer changed the conversation: %+v", c)
	}
	// No CSRF token, no transfer.
	if r := ann.post(path+"/transfer", url.Values{"to": {"agent:" + bob.ID}, "csrf": {""}}); r.status != http.StatusForbidden {
		t.Errorf("transfer without a CSRF token: %d", r.status)
	}
	// Another workspace's conversation is not found.
	other := e.tenant("Other", "eve@other.example")
	if r := e.signedIn(other.admin).post(path+"/transfer", url.Values{"to": {""}}); r.status != http.StatusNotFound {
		t.Errorf("another workspace's transfer: %d", r.status)
	}
}

func TestAlertEndpoints(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ann@acme.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	if _, err := e.svc.SetAvailability(context.Background(), tn.admin, false); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("a", 79) + "€ and the rest, never shown"
	conv := tn.say(tn.identified(chat.Claims{Name: "Grace Hopper"}), body).ConversationID // routed to bob, the one available
	if got := e.conversation(conv).AssigneeID; got != bob.ID {
		t.Fatalf("assignee %q; want bob", got)
	}
	bobB := e.signedIn(bob)

	var st stateJSON
	if s := getJSON(t, bobB, "/console/alerts/state", &st); s != http.StatusOK || !st.Available || !st.Sound || !st.Notifications || len(st.Attention) != 1 || st.Attention[0] != conv {
		t.Errorf("bob's state: %d %+v", s, st)
	}
	var a alertJSON
	path := "/console/conversations/" + conv
	if s := getJSON(t, bobB, path+"/alert", &a); s != http.StatusOK {
		t.Fatalf("alert: %d", s)
	}
	want := alertJSON{ConversationID: conv, Name: "Grace Hopper", Level: "claimed", Text: strings.Repeat("a", 79) + "€", Truncated: true,
		MessageNumber: 1, ForMe: true, Assigned: true, Unread: true, URL: path}
	if a != want {
		t.Errorf("alert %+v\nwant  %+v", a, want)
	}

	// Opening the conversation reads it: the count drops.
	bobB.mustGet(path)
	if getJSON(t, bobB, "/console/alerts/state", &st); len(st.Attention) != 0 {
		t.Errorf("after reading: %+v", st)
	}
	if getJSON(t, bobB, path+"/alert", &a); a.Unread {
		t.Errorf("alert after reading: %+v", a)
	}

	// Preferences: a page with a form, and what it saves is the state's.
	p := bobB.mustGet("/console/preferences")
	for _, want := range []string{`action="/console/preferences"`, `name="sound"`, `name="notifications"`, "checked"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("preferences page lacks %q", want)
		}
	}
	p = bobB.mustPost("/console/preferences", url.Values{"notifications": {"on"}})
	if !strings.Contains(p.body, "Preferences saved.") {
		t.Errorf("no confirmation:\n%s", p.body)
	}
	if getJSON(t, bobB, "/console/alerts/state", &st); st.Sound || !st.Notifications {
		t.Errorf("after saving sound off: %+v", st)
	}
	if r := bobB.post("/console/preferences", url.Values{"sound": {"loud"}}); r.status != http.StatusSeeOther {
		t.Errorf("a bad checkbox: %d", r.status)
	}
	if getJSON(t, bobB, "/console/alerts/state", &st); st.Sound || !st.Notifications {
		t.Errorf("a refused save changed them: %+v", st)
	}
	if r := bobB.post("/console/preferences", url.Values{"sound": {"on"}, "csrf": {""}}); r.status != http.StatusForbidden {
		t.Errorf("preferences without a CSRF token: %d", r.status)
	}

	// Another workspace's agent: not found, as for every console read; signed out: 401, no redirect.
	other := e.tenant("Other", "eve@other.example")
	if s := getJSON(t, e.signedIn(other.admin), path+"/alert", &a); s != http.StatusNotFound {
		t.Errorf("another workspace's alert: %d", s)
	}
	anon := e.browser()
	for _, p := range []string{path + "/alert", "/console/alerts/state"} {
		if r := anon.get(p); r.status != http.StatusUnauthorized {
			t.Errorf("GET %s signed out: %d", p, r.status)
		}
	}
}
