package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/problem"
	"github.com/parleyhq/parley/internal/store"
)

// caller is a widget session whose requests come from addr.
type caller struct{ token, addr string }

func (tn *tenant) visitorFrom(addr string) *caller {
	tn.e.t.Helper()
	token, _, err := tn.e.svc.CreateSession(context.Background(), tn.ws.ID)
	if err != nil {
		tn.e.t.Fatal(err)
	}
	return &caller{token: token, addr: addr}
}

// request is the caller as its next request finds it (the session and its workspace read anew).
func (tn *tenant) request(c *caller) *chat.Visitor {
	tn.e.t.Helper()
	v, err := tn.e.svc.Authenticate(context.Background(), c.token)
	if err != nil {
		tn.e.t.Fatal(err)
	}
	v.ClientAddr = c.addr
	return v
}

// sendBlocked reports whether the caller's next message is refused as blocked (and fails on any other
// error).
func (tn *tenant) sendBlocked(c *caller, body string) bool {
	tn.e.t.Helper()
	_, _, err := tn.e.svc.PostMessage(context.Background(), tn.request(c), body, "")
	if err == nil {
		return false
	}
	if !problem.HasCode(err, "blocked") {
		tn.e.t.Fatalf("PostMessage: %v; want success or blocked", err)
	}
	return true
}

func (e *env) blocks(wsID string) []store.Block {
	e.t.Helper()
	list, err := e.st.Blocks(context.Background(), wsID, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

var blockIDAttr = regexp.MustCompile(`data-block="(bl_[a-z0-9]+)"`)

// An agent (not only an administrator) blocks a visitor from the conversation page; the page and the
// blocks list say so, with the reason shown as text; lifting from the list lets the visitor send again.
func TestBlockVisitorFromConversationPage(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	agent := e.agent(tn.ws.ID, "agent@acme.example", "Grace Agent", store.RoleAgent)
	v := tn.visitorFrom("203.0.113.20")
	conv := tn.say(tn.request(v), "I will find where you live").ConversationID
	b := e.signedIn(agent)

	p := b.mustGet("/console/conversations/" + conv)
	for _, want := range []string{`action="/console/conversations/` + conv + `/block"`, `<summary>Block visitor…</summary>`,
		`<option value="1d" selected>1 day</option>`, `<option value="never">Until lifted</option>`, `name="reason"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the conversation page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "data-blocked") {
		t.Error("the conversation page says the visitor is blocked before anyone blocked them")
	}

	p = b.mustPost("/console/conversations/"+conv+"/block", url.Values{"for": {"7d"}, "reason": {"<script>alert(1)</script> threats"}})
	if !strings.Contains(p.body, "Visitor blocked until ") || !strings.Contains(p.body, `role="status"`) {
		t.Errorf("no result message after blocking:\n%s", p.body)
	}
	for _, want := range []string{"data-blocked", "data-block-status", "This visitor is blocked", "203.0.113.20", "&lt;script&gt;alert(1)&lt;/script&gt; threats", "Lift block"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the conversation page of a blocked visitor lacks %q", want)
		}
	}
	if strings.Contains(p.body, "<script>alert(1)") {
		t.Error("the block's reason is rendered as HTML")
	}
	if !tn.sendBlocked(v, "still here") {
		t.Error("the visitor can still send after the block")
	}
	if !tn.sendBlocked(tn.visitorFrom("203.0.113.20"), "a new session") {
		t.Error("a new session from the blocked address can send")
	}

	list := b.mustGet("/console/blocks")
	for _, want := range []string{"Blocked visitors", "Visitor from 203.0.113.20", "Grace Agent", "&lt;script&gt;alert(1)&lt;/script&gt; threats", `aria-label="Lift the block of Visitor from 203.0.113.20"`, `href="/console/conversations/` + conv + `"`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("the blocks list lacks %q", want)
		}
	}
	m := blockIDAttr.FindStringSubmatch(list.body)
	if m == nil {
		t.Fatalf("no block on the blocks list:\n%s", list.body)
	}
	p = b.mustPost("/console/blocks/"+m[1]+"/lift", nil)
	if !strings.Contains(p.body, "Block lifted: the visitor from 203.0.113.20 can send messages again.") || !strings.Contains(p.body, "Nobody is blocked.") {
		t.Errorf("after lifting, the blocks list:\n%s", p.body)
	}
	if !strings.Contains(p.body, `data-blocks="ended"`) || !strings.Contains(p.body, "Lifted by Grace Agent") {
		t.Error("the lifted block is not listed as ended")
	}
	if tn.sendBlocked(v, "sorry") {
		t.Error("the visitor cannot send after the lift")
	}

	// The audit trail records both, as the agent.
	events, err := e.svc.AuditEvents(context.Background(), tn.ws.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		if strings.HasPrefix(ev.Action, "block.") {
			got = append(got, ev.Action+" by "+ev.Actor)
		}
	}
	if want := []string{"block.lifted by " + chat.AgentActor(agent), "block.created by " + chat.AgentActor(agent)}; strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("audit trail %v; want %v", got, want)
	}
	audit := e.signedIn(tn.admin).mustGet("/console/settings/audit")
	if !strings.Contains(audit.body, "Visitor blocked") || !strings.Contains(audit.body, "Block lifted") {
		t.Error("the audit trail page does not name block.created and block.lifted")
	}
}

// A verified customer's conversation blocks the customer; lifting from the conversation page returns
// there. Mistakes come back as messages on the page.
func TestBlockCustomerFromConversationPage(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	v := tn.verified(jwt.MapClaims{"sub": "ada", "email": "ada@bank.example", "name": "Ada Lovelace"})
	conv := tn.say(v, "hello").ConversationID
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/conversations/" + conv)
	if !strings.Contains(p.body, "Stops this verified customer from sending messages, on every device") {
		t.Error("the block panel does not say a verified customer is blocked as the customer")
	}

	p = b.mustPost("/console/conversations/"+conv+"/block", url.Values{"for": {"forever"}})
	if !strings.Contains(p.body, "choose how long the block lasts") || len(e.blocks(tn.ws.ID)) != 0 {
		t.Errorf("an unknown duration was not refused on the page:\n%s", p.body)
	}
	p = b.mustPost("/console/conversations/"+conv+"/block", url.Values{"for": {"never"}})
	if !strings.Contains(p.body, "Customer blocked until lifted, on every device") || !strings.Contains(p.body, "This customer is blocked") {
		t.Errorf("blocking the customer:\n%s", p.body)
	}
	p = b.mustPost("/console/conversations/"+conv+"/block", url.Values{"for": {"1h"}})
	if !strings.Contains(p.body, "already blocked") || len(e.blocks(tn.ws.ID)) != 1 {
		t.Errorf("blocking twice was not refused on the page:\n%s", p.body)
	}
	list := b.mustGet("/console/blocks")
	if !strings.Contains(list.body, "Ada Lovelace (ada@bank.example)") || !strings.Contains(list.body, "Verified customer, on every device") {
		t.Errorf("the blocks list does not name the customer:\n%s", list.body)
	}

	id := e.blocks(tn.ws.ID)[0].ID
	p = b.mustPost("/console/blocks/"+id+"/lift", url.Values{"back": {"/console/conversations/" + conv}})
	if !strings.Contains(p.body, "Block lifted: customer Ada Lovelace can send messages again.") || !strings.Contains(p.body, "<summary>Block visitor…</summary>") {
		t.Errorf("lifting from the conversation page:\n%s", p.body)
	}
	p = b.mustPost("/console/blocks/"+id+"/lift", url.Values{"back": {"https://evil.example/"}})
	if !strings.Contains(p.body, "This block has already ended.") {
		t.Errorf("lifting twice:\n%s", p.body)
	}
}

// The block and lift forms need the session's CSRF token and the console's own origin, and a signed-in
// agent; nothing changes otherwise.
func TestBlockFormsCSRF(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	v := tn.visitorFrom("203.0.113.30")
	conv := tn.say(tn.request(v), "hi").ConversationID
	b := e.signedIn(tn.admin)
	b.mustGet("/console/conversations/" + conv)

	path := "/console/conversations/" + conv + "/block"
	for _, c := range []struct {
		name    string
		form    url.Values
		headers []string
		status  int
	}{
		{"no token", url.Values{"for": {"1h"}, "csrf": {""}}, nil, http.StatusForbidden},
		{"a wrong token", url.Values{"for": {"1h"}, "csrf": {"forged"}}, nil, http.StatusForbidden},
		{"another site", url.Values{"for": {"1h"}}, []string{"Origin", "https://evil.example"}, http.StatusForbidden},
	} {
		if p := b.post(path, c.form, c.headers...); p.status != c.status {
			t.Errorf("block with %s: %d; want %d", c.name, p.status, c.status)
		}
	}
	if p := e.browser().post(path, url.Values{"for": {"1h"}, "csrf": {""}}); p.status != http.StatusUnauthorized {
		t.Errorf("block signed out: %d; want 401", p.status)
	}
	if p := e.browser().get("/console/blocks"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/console/login") {
		t.Errorf("blocks list signed out: %d %q; want the sign-in page", p.status, p.location())
	}
	if n := len(e.blocks(tn.ws.ID)); n != 0 {
		t.Fatalf("%d blocks stored by refused forms", n)
	}
	if tn.sendBlocked(v, "still fine") {
		t.Fatal("the visitor is blocked after refused forms")
	}

	b.mustPost(path, url.Values{"for": {"1h"}})
	id := e.blocks(tn.ws.ID)[0].ID
	lift := "/console/blocks/" + id + "/lift"
	if p := b.post(lift, url.Values{"csrf": {""}}); p.status != http.StatusForbidden {
		t.Errorf("lift without a token: %d; want 403", p.status)
	}
	if p := b.post(lift, nil, "Origin", "https://evil.example"); p.status != http.StatusForbidden {
		t.Errorf("lift from another site: %d; want 403", p.status)
	}
	if !tn.sendBlocked(v, "blocked") {
		t.Error("a refused lift lifted the block")
	}
}

// An agent of another workspace can neither block nor lift, nor see the blocks: every id of another
// workspace is "not found".
func TestBlockTenantIsolationInConsole(t *testing.T) {
	e := newEnv(t)
	a := e.tenant("Alpha", "admin@alpha.example")
	bt := e.tenant("Beta", "admin@beta.example")
	v := a.visitorFrom("203.0.113.40")
	conv := a.say(a.request(v), "hi").ConversationID

	intruder := e.signedIn(bt.admin)
	if p := intruder.post("/console/conversations/"+conv+"/block", url.Values{"for": {"1h"}}); p.status != http.StatusNotFound {
		t.Errorf("another workspace's block of A's conversation: %d; want 404", p.status)
	}
	if n := len(e.blocks(a.ws.ID)); n != 0 {
		t.Fatalf("another workspace's agent stored %d blocks in A", n)
	}

	e.signedIn(a.admin).mustPost("/console/conversations/"+conv+"/block", url.Values{"for": {"never"}, "reason": {"alpha's secret reason"}})
	id := e.blocks(a.ws.ID)[0].ID
	if p := intruder.post("/console/blocks/"+id+"/lift", nil); p.status != http.StatusNotFound {
		t.Errorf("another workspace's lift of A's block: %d; want 404", p.status)
	}
	if !a.sendBlocked(v, "still blocked") {
		t.Error("another workspace's agent lifted A's block")
	}
	list := intruder.mustGet("/console/blocks")
	if strings.Contains(list.body, id) || strings.Contains(list.body, "alpha's secret reason") || !strings.Contains(list.body, "Nobody is blocked.") {
		t.Errorf("another workspace's blocks list shows A's block:\n%s", list.body)
	}
	// A's address is blocked in A only.
	if bt.sendBlocked(bt.visitorFrom("203.0.113.40"), "hello Beta") {
		t.Error("A's block stops a visitor of B")
	}
}
