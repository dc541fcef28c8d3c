package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// cannedID finds the id of the response with that shortcut in a page (the management page's items, or
// the reply box's options).
func cannedID(t *testing.T, body, shortcut string) string {
	t.Helper()
	m := regexp.MustCompile(`data-canned="([^"]+)" data-shortcut="` + regexp.QuoteMeta(shortcut) + `"`).FindStringSubmatch(body)
	if m == nil {
		m = regexp.MustCompile(`<option value="([^"]+)" data-shortcut="` + regexp.QuoteMeta(shortcut) + `"`).FindStringSubmatch(body)
	}
	if m == nil {
		t.Fatalf("no response /%s on the page:\n%s", shortcut, body)
	}
	return m[1]
}

// replyBox returns the reply box's text on a conversation page.
func replyBox(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<textarea id="reply-body"[^>]*>(.*?)</textarea>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no reply box on the page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

// TestCannedPages: the management page through forms, as agents and administrators use it: scopes,
// who may change what, refusals shown with the form again, CSRF, and other agents' and workspaces'
// responses as "not found".
func TestCannedPages(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("Acme", "admin@acme.example")
	ada := e.agent(acme.ws.ID, "ada@acme.example", "Ada Agent", store.RoleAgent)
	bob := e.agent(acme.ws.ID, "bob@acme.example", "Bob Agent", store.RoleAgent)
	admin := e.signedIn(acme.admin)
	agent := e.signedIn(ada)
	other := e.signedIn(bob)

	// The admin adds a shared response; the agent a personal one with the same shortcut.
	p := admin.mustPost("/console/canned", url.Values{"scope": {"shared"}, "title": {"Greeting"}, "shortcut": {"hello"}, "body": {"Hello {{customer.first_name}}"}})
	if !strings.Contains(p.body, "Saved /hello (shared).") {
		t.Errorf("admin's page after saving lacks the flash:\n%s", p.body)
	}
	sharedID := cannedID(t, p.body, "hello")
	p = agent.mustPost("/console/canned", url.Values{"scope": {"personal"}, "title": {"My greeting"}, "shortcut": {"hello"}, "body": {"Hey <b>there</b>"}})
	personalID := cannedID(t, regexp.MustCompile(`(?s)data-canned-list="personal".*?</ul>`).FindString(p.body), "hello")
	if !strings.Contains(p.body, "Hey &lt;b&gt;there&lt;/b&gt;") || strings.Contains(p.body, "<b>there</b>") {
		t.Error("a response's body is not shown as text")
	}
	if !strings.Contains(p.body, "(your own /hello is offered instead)") || !strings.Contains(p.body, "(shared, read-only)") {
		t.Errorf("the agent's page does not say the shared /hello is read-only and shadowed:\n%s", p.body)
	}
	if strings.Contains(p.body, `action="/console/canned/`+sharedID+`"`) {
		t.Error("an agent is offered the shared response's edit form")
	}

	// An agent cannot create, edit or delete a shared response (403), even by posting the form.
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/console/canned", url.Values{"scope": {"shared"}, "title": {"X"}, "shortcut": {"x"}, "body": {"x"}}},
		{"/console/canned/" + sharedID, url.Values{"title": {"X"}, "shortcut": {"x"}, "body": {"x"}}},
		{"/console/canned/" + sharedID + "/delete", nil},
	} {
		if got := agent.post(tc.path, tc.form); got.status != http.StatusForbidden {
			t.Errorf("agent POST %s: %d; want 403", tc.path, got.status)
		}
	}
	// Another agent, and the administrator, do not see the agent's personal response: 404.
	for name, b := range map[string]*browser{"another agent": other, "the admin": admin} {
		if strings.Contains(b.mustGet("/console/canned").body, personalID) {
			t.Errorf("%s sees the agent's personal response", name)
		}
		for _, path := range []string{"/console/canned/" + personalID, "/console/canned/" + personalID + "/delete"} {
			if got := b.post(path, url.Values{"title": {"X"}, "shortcut": {"x"}, "body": {"x"}}); got.status != http.StatusNotFound {
				t.Errorf("%s POST %s: %d; want 404", name, path, got.status)
			}
		}
	}
	// Another workspace's administrator: both are 404.
	globex := e.tenant("Globex", "admin@globex.example")
	stranger := e.signedIn(globex.admin)
	for _, id := range []string{sharedID, personalID} {
		if got := stranger.post("/console/canned/"+id+"/delete", nil); got.status != http.StatusNotFound {
			t.Errorf("another workspace deletes %s: %d; want 404", id, got.status)
		}
	}

	// Without the CSRF token nothing changes.
	if got := agent.post("/console/canned/"+personalID+"/delete", url.Values{"csrf": {""}}); got.status != http.StatusForbidden {
		t.Errorf("delete without CSRF: %d; want 403", got.status)
	}
	if got := agent.post("/console/canned", url.Values{"csrf": {"forged"}, "scope": {"personal"}, "title": {"T"}, "shortcut": {"t"}, "body": {"b"}}); got.status != http.StatusForbidden {
		t.Errorf("create with a wrong CSRF token: %d; want 403", got.status)
	}
	if list, _ := e.svc.CannedResponses(context.Background(), ada); len(list) != 2 {
		t.Errorf("after refused posts the agent sees %d responses; want 2", len(list))
	}

	// A refused form comes back with what was sent and says what to fix.
	got := agent.post("/console/canned", url.Values{"scope": {"personal"}, "title": {"Bad"}, "shortcut": {"Bad Shortcut"}, "body": {"kept text"}})
	if got.status != http.StatusUnprocessableEntity || !strings.Contains(got.body, "The shortcut must be 1 to 32 characters") ||
		!strings.Contains(got.body, `value="Bad Shortcut"`) || !strings.Contains(got.body, "kept text</textarea>") {
		t.Errorf("refused create: %d\n%s", got.status, got.body)
	}
	got = agent.post("/console/canned", url.Values{"scope": {"personal"}, "title": {"Again"}, "shortcut": {"hello"}, "body": {"x"}})
	if got.status != http.StatusConflict || !strings.Contains(got.body, "You already have a personal response with the shortcut /hello") {
		t.Errorf("duplicate shortcut: %d\n%s", got.status, got.body)
	}
	got = agent.post("/console/canned/"+personalID, url.Values{"title": {""}, "shortcut": {"hello"}, "body": {"edited"}})
	if got.status != http.StatusUnprocessableEntity || !strings.Contains(got.body, "<details class=\"canned-edit\" open>") || !strings.Contains(got.body, "edited</textarea>") {
		t.Errorf("refused edit: %d\n%s", got.status, got.body)
	}

	// Edits and deletes by whoever may.
	p = agent.mustPost("/console/canned/"+personalID, url.Values{"title": {"Mine"}, "shortcut": {"hi"}, "body": {"Hi!"}})
	if !strings.Contains(p.body, "Saved /hi.") || !strings.Contains(p.body, ">Mine</strong>") {
		t.Errorf("after edit:\n%s", p.body)
	}
	p = admin.mustPost("/console/canned/"+sharedID+"/delete", nil)
	if !strings.Contains(p.body, "Deleted /hello.") || strings.Contains(p.body, sharedID) {
		t.Errorf("after delete:\n%s", p.body)
	}
	if !strings.Contains(agent.mustGet("/console/").body, `href="/console/canned"`) {
		t.Error("the console's navigation has no link to canned responses")
	}
}

// TestCannedInsertWithoutScript: the reply box's select and Insert button put a response, filled for
// the conversation, in the reply box — sending nothing; a claimed name is said to be claimed; a reply
// that still holds a variable with no value is refused and comes back in the box.
func TestCannedInsertWithoutScript(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("Acme", "admin@acme.example")
	ada := e.agent(acme.ws.ID, "ada@acme.example", "Ada Agent", store.RoleAgent)
	bob := e.agent(acme.ws.ID, "bob@acme.example", "Bob Agent", store.RoleAgent)
	agent := e.signedIn(ada)
	ctx := context.Background()
	if _, err := e.svc.CreateCannedResponse(ctx, acme.admin, chat.CannedInput{Scope: chat.CannedShared, Title: "Greeting", Shortcut: "hello",
		Body: "Hello {{customer.name}}, {{agent.first_name}} here."}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateCannedResponse(ctx, ada, chat.CannedInput{Scope: chat.CannedPersonal, Title: "Email check", Shortcut: "email",
		Body: "Is {{customer.email}} right?"}); err != nil {
		t.Fatal(err)
	}
	bobs, err := e.svc.CreateCannedResponse(ctx, bob, chat.CannedInput{Scope: chat.CannedPersonal, Title: "Bob's", Shortcut: "bob", Body: "Bob"})
	if err != nil {
		t.Fatal(err)
	}

	claimed := acme.identified(chat.Claims{Name: "Ada <i>Lovelace</i>"})
	conv := acme.say(claimed, "hi").ConversationID
	path := "/console/conversations/" + conv
	convPage := agent.mustGet(path)
	if strings.Contains(convPage.body, bobs.ID) {
		t.Error("the reply box offers another agent's personal response")
	}
	if !strings.Contains(convPage.body, `data-body="Hello Ada &lt;i&gt;Lovelace&lt;/i&gt;, Ada here."`) {
		t.Errorf("the option is not filled for the conversation (as text):\n%s", convPage.body)
	}
	insert := func(id, typed string) page {
		t.Helper()
		got := agent.post(path+"/canned", url.Values{"canned": {id}, "body": {typed}, "client_id": {"console-insert-test"}})
		if got.status != http.StatusOK {
			t.Fatalf("insert: %d\n%s", got.status, got.body)
		}
		return got
	}
	got := insert(cannedID(t, convPage.body, "hello"), "")
	if box := replyBox(t, got.body); box != "Hello Ada <i>Lovelace</i>, Ada here." {
		t.Errorf("reply box after insert = %q", box)
	}
	if !strings.Contains(got.body, "<li>Ada &lt;i&gt;Lovelace&lt;/i&gt; is claimed, not verified.</li>") {
		t.Errorf("no claimed warning after insert:\n%s", got.body)
	}
	if msgs, _ := e.st.Messages(ctx, conv, 0, 100); len(msgs) != 1 {
		t.Errorf("insert sent a message: %d messages", len(msgs))
	}
	// What the agent had typed stays, the response goes after it.
	got = insert(cannedID(t, convPage.body, "email"), "Thanks.")
	if box := replyBox(t, got.body); box != "Thanks.\nIs {{customer.email}} right?" {
		t.Errorf("reply box after insert after text = %q", box)
	}
	if !strings.Contains(got.body, "{{customer.email}} has no value in this conversation") {
		t.Errorf("no unfilled note:\n%s", got.body)
	}
	// Sending it as is: refused, and the page comes back with the reply in the box.
	refused := agent.post(path+"/reply", url.Values{"body": {"Thanks.\nIs {{customer.email}} right?"}, "client_id": {"console-unfilled"}})
	if refused.status != http.StatusUnprocessableEntity || replyBox(t, refused.body) != "Thanks.\nIs {{customer.email}} right?" ||
		!strings.Contains(refused.body, "which has no value here") {
		t.Errorf("reply with an unfilled variable: %d\n%s", refused.status, refused.body)
	}
	if msgs, _ := e.st.Messages(ctx, conv, 0, 100); len(msgs) != 1 {
		t.Errorf("the refused reply was sent: %d messages", len(msgs))
	}
	// Edited, it goes.
	if got := agent.post(path+"/reply", url.Values{"body": {"Thanks. Is ada@example.com right?"}, "client_id": {"console-filled"}}); got.status != http.StatusSeeOther {
		t.Errorf("edited reply: %d\n%s", got.status, got.body)
	}
	// Another agent's personal response, and another workspace's conversation: 404.
	if got := agent.post(path+"/canned", url.Values{"canned": {bobs.ID}}); got.status != http.StatusNotFound {
		t.Errorf("insert another agent's personal response: %d; want 404", got.status)
	}
	globex := e.tenant("Globex", "admin@globex.example")
	stranger := e.signedIn(globex.admin)
	if got := stranger.post(path+"/canned", url.Values{"canned": {cannedID(t, convPage.body, "hello")}}); got.status != http.StatusNotFound {
		t.Errorf("insert into another workspace's conversation: %d; want 404", got.status)
	}
	if got := agent.post(path+"/canned", url.Values{"canned": {"cr_missing"}, "csrf": {""}}); got.status != http.StatusForbidden {
		t.Errorf("insert without CSRF: %d; want 403", got.status)
	}
}
