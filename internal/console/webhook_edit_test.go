package console_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

var webhookErrorPattern = regexp.MustCompile(`id="webhook-error">([^<]*)</div>`)

// webhookError is the refusal a webhooks form shows, or "" when it shows none.
func webhookError(body string) string {
	if m := webhookErrorPattern.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// enqueued reports whether message m was queued as message.created for endpoint id.
func (e *env) enqueued(m store.Message, id string) bool {
	e.t.Helper()
	_, err := e.st.JobByKey(context.Background(), chat.JobWebhook, fmt.Sprintf("%s:%s:%d:%s", chat.WebhookMessageCreated, m.ConversationID, m.N, id))
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return true
}

// TestWebhookEdit: the edit form comes prefilled; it is for administrators of the endpoint's workspace
// with the session's CSRF token; a refused URL or event shows create's own message with the form as
// sent; a saved edit changes what is queued for delivery (message.created dropped from the filter,
// internal notes let in) and is audited; a disabled endpoint offers "Enable again".
func TestWebhookEdit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)
	nw, err := e.svc.CreateWebhook(ctx, tn.ws.ID, chat.WebhookInput{URL: ptr("https://crm.example/hook"),
		Events: []string{chat.WebhookMessageCreated, chat.WebhookConversationClosed}})
	if err != nil {
		t.Fatal(err)
	}
	id := nw.Endpoint.ID
	path := "/console/settings/webhooks/" + id + "/edit"
	stored := func() store.WebhookEndpoint {
		t.Helper()
		w, err := e.svc.Webhook(ctx, tn.ws.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}

	// The list links to the form, which is prefilled.
	if p := b.mustGet("/console/settings/webhooks"); !strings.Contains(p.body, `href="`+path+`" aria-label="Edit `+id+`"`) {
		t.Fatalf("no Edit link on the list:\n%s", p.body)
	}
	p := b.mustGet(path)
	for _, want := range []string{`<h1>Edit webhook endpoint ` + id + `</h1>`, `name="url" value="https://crm.example/hook"`,
		`name="event" value="message.created" checked>`, `name="event" value="conversation.closed" checked>`,
		`name="event" value="conversation.created">`, `name="include_notes"> Include`, `action="` + path + `"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("edit form lacks %s", want)
		}
	}
	if t.Failed() {
		t.Fatalf("edit form:\n%s", p.body)
	}

	// Before any edit: a customer's message is queued, an internal note is not.
	v := tn.visitor()
	m1 := tn.say(v, "hello")
	conv := "/console/conversations/" + m1.ConversationID
	b.mustPost(conv+"/reply", url.Values{"kind": {"note"}, "body": {"VIP, be nice"}, "client_id": {"n1"}})
	note1 := store.Message{ConversationID: m1.ConversationID, N: -1}
	if !e.enqueued(m1, id) || e.enqueued(note1, id) {
		t.Fatalf("before the edit: message queued %v (want true), note queued %v (want false)", e.enqueued(m1, id), e.enqueued(note1, id))
	}

	// Refusals change nothing: a plain agent, another workspace's admin, a post without the token or
	// from another site.
	// (A fresh form each time: post fills in the poster's own token.)
	change := func() url.Values { return url.Values{"url": {"https://evil.example/"}, "include_notes": {"on"}} }
	agent := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	ab := e.signedIn(agent)
	if p := ab.get(path); p.status != http.StatusForbidden {
		t.Errorf("a plain agent's GET: %d", p.status)
	}
	if p := ab.post(path, change()); p.status != http.StatusForbidden {
		t.Errorf("a plain agent's POST: %d", p.status)
	}
	ob := e.signedIn(e.tenant("Globex", "hank@globex.example").admin)
	if p := ob.post(path, change()); p.status != http.StatusNotFound {
		t.Errorf("another workspace's admin's POST: %d", p.status)
	}
	if p := ob.get(path); p.status != http.StatusNotFound {
		t.Errorf("another workspace's admin's GET: %d", p.status)
	}
	for _, c := range []struct {
		name    string
		csrf    string
		headers []string
	}{
		{"no token", "", nil},
		{"wrong token", tamper(b.csrf), nil},
		{"right token from another site", b.csrf, []string{"Origin", "https://evil.example"}},
	} {
		form := url.Values{"csrf": {c.csrf}}
		for k, v := range change() {
			form[k] = v
		}
		if p := b.post(path, form, c.headers...); p.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", c.name, p.status)
		}
	}
	if w := stored(); w.URL != "https://crm.example/hook" || w.IncludeNotes || len(w.Events) != 2 {
		t.Fatalf("a refused edit changed the endpoint: %+v", w)
	}

	// A bad URL or event: create's message, the form as sent, nothing stored.
	for _, c := range []struct {
		name string
		form url.Values
	}{
		{"ftp URL", url.Values{"url": {"ftp://crm.example/"}, "event": {chat.WebhookConversationCreated}}},
		{"URL with credentials", url.Values{"url": {"https://user:pw@crm.example/"}, "event": {chat.WebhookConversationCreated}}},
		{"unknown event", url.Values{"url": {"https://crm.example/new"}, "event": {chat.WebhookConversationCreated, "message.deleted"}}},
	} {
		want := webhookError(b.post("/console/settings/webhooks", c.form).body)
		p := b.post(path, c.form)
		if want == "" || p.status != http.StatusUnprocessableEntity || webhookError(p.body) != want {
			t.Errorf("%s: %d, message %q, want create's %q", c.name, p.status, webhookError(p.body), want)
			continue
		}
		if !strings.Contains(p.body, `name="url" value="`+html.EscapeString(c.form.Get("url"))+`"`) ||
			!strings.Contains(p.body, `name="event" value="conversation.created" checked>`) ||
			strings.Contains(p.body, `name="event" value="message.created" checked>`) {
			t.Errorf("%s: the form is not as sent:\n%s", c.name, p.body)
		}
	}
	if w := stored(); w.URL != "https://crm.example/hook" || len(w.Events) != 2 {
		t.Fatalf("a refused edit changed the endpoint: %+v", w)
	}
	if list, _ := e.svc.Webhooks(ctx, tn.ws.ID); len(list) != 1 {
		t.Fatalf("the create refusals created endpoints: %+v", list)
	}

	// Saved: message.created no longer in the filter; a new message is not queued for the endpoint.
	p = b.mustPost(path, url.Values{"url": {"https://crm.example/v2"}, "event": {chat.WebhookConversationClosed}})
	if !strings.Contains(p.body, "Webhook endpoint "+id+" is saved.") || !strings.Contains(p.body, "<code>https://crm.example/v2</code>") {
		t.Fatalf("after saving:\n%s", p.body)
	}
	if w := stored(); w.URL != "https://crm.example/v2" || len(w.Events) != 1 || w.Events[0] != chat.WebhookConversationClosed || w.IncludeNotes {
		t.Fatalf("stored %+v", w)
	}
	if m2 := tn.say(v, "still there?"); e.enqueued(m2, id) {
		t.Errorf("message.created was queued for an endpoint whose filter no longer has it")
	}
	e.wantAuditAction(tn.ws.ID, chat.AuditWebhookUpdated, id)

	// Notes let in (and message.created back): an internal note is queued.
	b.mustPost(path, url.Values{"url": {"https://crm.example/v2"}, "event": {chat.WebhookMessageCreated}, "include_notes": {"on"}})
	b.mustPost(conv+"/reply", url.Values{"kind": {"note"}, "body": {"second note"}, "client_id": {"n2"}})
	if note2 := (store.Message{ConversationID: m1.ConversationID, N: -2}); !e.enqueued(note2, id) {
		t.Errorf("an internal note was not queued for an endpoint that includes notes")
	}

	// No box ticked: every event, as on create.
	b.mustPost(path, url.Values{"url": {"https://crm.example/v2"}})
	if w := stored(); len(w.Events) != 0 || w.IncludeNotes {
		t.Fatalf("with no box ticked: %+v", w)
	}

	// Disabled after a day of failures (as the delivery job leaves it): the list and the form warn and
	// offer "Enable again", which clears the failures and is audited.
	since := time.Now().Add(-25 * time.Hour).UTC().Truncate(time.Second)
	if err := e.st.Update(ctx, func(tx store.Tx) error {
		w, err := tx.WebhookEndpoint(ctx, tn.ws.ID, id)
		if err != nil {
			return err
		}
		w.FailingSince, w.DisabledAt = since, time.Now()
		return tx.UpdateWebhookEndpoint(ctx, &w)
	}); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"/console/settings/webhooks", path} {
		p := b.mustGet(page)
		if !strings.Contains(p.body, `data-webhook-warning="`+id+`"`) || !strings.Contains(p.body, "after failing since") ||
			!strings.Contains(p.body, `action="/console/settings/webhooks/`+id+`/enable"`) || !strings.Contains(p.body, ">Enable again</button>") {
			t.Fatalf("%s of a disabled endpoint:\n%s", page, p.body)
		}
	}
	p = b.mustPost("/console/settings/webhooks/"+id+"/enable", nil)
	if strings.Contains(p.body, `data-webhook-warning="`+id+`"`) {
		t.Fatalf("enabled again, still warned:\n%s", p.body)
	}
	if w := stored(); !w.DisabledAt.IsZero() || !w.FailingSince.IsZero() {
		t.Fatalf("enabled again: %+v", w)
	}
	e.wantAuditAction(tn.ws.ID, chat.AuditWebhookEnabled, id)
}
