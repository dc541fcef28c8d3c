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

var whsecPattern = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]{44}`)

func TestWebhooksPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "ada@acme.example")
	b := e.signedIn(tn.admin)

	p := b.mustGet("/console/settings/webhooks")
	if !strings.Contains(p.body, "<h1>Webhooks</h1>") || !strings.Contains(p.body, "No webhook endpoints yet.") ||
		!strings.Contains(p.body, `href="/console/settings/webhooks" aria-current="page"`) {
		t.Fatalf("webhooks page:\n%s", p.body)
	}
	for _, ev := range chat.WebhookEventTypes() {
		if !strings.Contains(p.body, `name="event" value="`+ev+`">`) {
			t.Errorf("event %s is not offered", ev)
		}
	}

	// A refused URL keeps the form as typed.
	p = b.post("/console/settings/webhooks", url.Values{"url": {"ftp://crm.example/"}, "event": {chat.WebhookMessageCreated}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `role="alert" id="webhook-error"`) ||
		!strings.Contains(p.body, `name="event" value="message.created" checked>`) {
		t.Fatalf("bad URL: %d\n%s", p.status, p.body)
	}

	// Created: the secret shown once.
	p = b.post("/console/settings/webhooks", url.Values{"url": {"https://crm.example/hook"}, "event": {chat.WebhookMessageCreated, chat.WebhookConversationClosed},
		"include_notes": {"on"}})
	secrets := whsecPattern.FindAllString(html.UnescapeString(p.body), -1)
	if p.status != http.StatusOK || len(secrets) != 1 || !strings.Contains(p.body, "shown this once") {
		t.Fatalf("create: %d, secrets %v\n%s", p.status, secrets, p.body)
	}
	list, _ := e.svc.Webhooks(ctx, tn.ws.ID)
	if len(list) != 1 || list[0].URL != "https://crm.example/hook" || !list[0].IncludeNotes || len(list[0].Events) != 2 {
		t.Fatalf("stored %+v", list)
	}
	id := list[0].ID
	p = b.mustGet("/console/settings/webhooks")
	if whsecPattern.MatchString(html.UnescapeString(p.body)) || !strings.Contains(p.body, `data-webhook="`+id+`"`) || !strings.Contains(p.body, "Active") {
		t.Fatalf("the list afterwards (secret shown again, or endpoint missing):\n%s", p.body)
	}

	// Send test event: queued, the log page says so; the job exists.
	p = b.mustPost("/console/settings/webhooks/"+id+"/test", nil)
	if !strings.Contains(p.body, "Deliveries to "+id) || !strings.Contains(p.body, "webhook.test") {
		t.Fatalf("after a test event:\n%s", p.body)
	}

	// Rotate: a new secret, once.
	p = b.post("/console/settings/webhooks/"+id+"/rotate", nil)
	if rotated := whsecPattern.FindAllString(html.UnescapeString(p.body), -1); p.status != http.StatusOK || len(rotated) != 1 || rotated[0] == secrets[0] {
		t.Fatalf("rotate: %d, %v", p.status, rotated)
	}

	// Disabled: the warning; enabled again; deleted.
	p = b.mustPost("/console/settings/webhooks/"+id+"/disable", nil)
	if !strings.Contains(p.body, `data-webhook-warning="`+id+`"`) || !strings.Contains(p.body, "Disabled") {
		t.Fatalf("disabled:\n%s", p.body)
	}
	p = b.mustPost("/console/settings/webhooks/"+id+"/enable", nil)
	if strings.Contains(p.body, `data-webhook-warning="`+id+`"`) {
		t.Fatalf("enabled still warns:\n%s", p.body)
	}
	e.wantAuditAction(tn.ws.ID, chat.AuditWebhookCreated, id)
	e.wantAuditAction(tn.ws.ID, chat.AuditWebhookRotated, id)
	e.wantAuditAction(tn.ws.ID, chat.AuditWebhookDisabled, id)
	b.mustPost("/console/settings/webhooks/"+id+"/delete", nil)
	if list, _ := e.svc.Webhooks(ctx, tn.ws.ID); len(list) != 0 {
		t.Fatalf("after delete: %+v", list)
	}

	// Plain agents and other workspaces' admins: refused.
	agent := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	if p := e.signedIn(agent).get("/console/settings/webhooks"); p.status != http.StatusForbidden {
		t.Errorf("a plain agent: %d", p.status)
	}
	nw, err := e.svc.CreateWebhook(ctx, tn.ws.ID, chat.WebhookInput{URL: ptr("https://crm.example/2")})
	if err != nil {
		t.Fatal(err)
	}
	other := e.tenant("Globex", "hank@globex.example")
	ob := e.signedIn(other.admin)
	if p := ob.get("/console/settings/webhooks/" + nw.Endpoint.ID); p.status != http.StatusNotFound {
		t.Errorf("another workspace's log: %d", p.status)
	}
	if p := ob.post("/console/settings/webhooks/"+nw.Endpoint.ID+"/delete", nil); p.status == http.StatusSeeOther && !strings.Contains(p.location(), "webhooks") {
		t.Errorf("another workspace's delete: %d", p.status)
	}
	if list, _ := e.svc.Webhooks(ctx, tn.ws.ID); len(list) != 1 {
		t.Errorf("another workspace's admin deleted an endpoint")
	}
}
