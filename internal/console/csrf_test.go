package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// Every console form post needs the session's CSRF token and, from a browser, the console's own
// origin; a refused post changes nothing.
func TestCSRFRefusal(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	conv := tn.say(tn.visitor(), "hello").ConversationID
	apiKey, err := e.svc.CreateAPIKey(context.Background(), tn.ws.ID, "Shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	jwksURL, _ := jwksServer(t, "idp-1")
	ec := newECKey(t)
	b := e.signedIn(tn.admin)
	refusals := []struct {
		name    string
		csrf    []string // nil: none at all
		headers []string
	}{
		{"missing token", []string{""}, nil},
		{"wrong token", []string{tamper(b.csrf)}, nil},
		{"another session's token", []string{e.signedIn(tn.admin).csrf}, nil},
		{"right token from another site", nil, []string{"Origin", "https://evil.example"}},
		{"right token, opaque origin", nil, []string{"Origin", "null"}},
		{"right token, cross-site fetch", nil, []string{"Origin", "", "Sec-Fetch-Site", "cross-site"}},
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"/console/conversations/" + conv + "/close", nil},
		{"/console/conversations/" + conv + "/reply", url.Values{"body": {"sneaky"}}},
		{"/console/conversations/" + conv + "/assign", url.Values{"assignee": {tn.admin.ID}}},
		{"/console/availability", url.Values{"available": {"0"}}},
		{"/console/settings", url.Values{"name": {"Pwned"}}},
		{"/console/settings/keys", url.Values{"alg": {"HS256"}}},
		{"/console/settings/keys/" + tn.key.ID + "/revoke", nil},
		{"/console/settings/agents", url.Values{"name": {"Mallory"}, "email": {"m@evil.example"}, "role": {"admin"}, "password": {agentPassword}}},
		{"/console/settings/inboxes", url.Values{"name": {"Evil"}}},
		{"/console/settings/keys/public", url.Values{"alg": {"ES256"}, "kid": {"evil"}, "public_key": {publicPEM(t, &ec.PublicKey)}}},
		{"/console/settings/keys/jwks", url.Values{"url": {jwksURL}, "allow_private": {"on"}}},
		{"/console/settings/api-keys", url.Values{"name": {"Evil"}, "scope": chat.AllScopes()}},
		{"/console/settings/api-keys/" + apiKey.ID + "/revoke", nil},
		{"/console/logout", nil},
	}
	for _, r := range refusals {
		for _, p := range posts {
			form := url.Values{}
			for k, v := range p.form {
				form[k] = v
			}
			if r.csrf != nil {
				form.Set("csrf", r.csrf[0])
			}
			if got := b.post(p.path, form, r.headers...); got.status != http.StatusForbidden {
				t.Errorf("%s: POST %s: %d, want 403", r.name, p.path, got.status)
			}
		}
	}

	// Nothing changed, and the session still works.
	ctx := context.Background()
	if c := e.conversation(conv); c.Status != store.StatusOpen || c.AssigneeID != "" && c.AssigneeID != tn.admin.ID {
		t.Errorf("conversation changed: %+v", c)
	}
	if msgs, _ := e.st.Messages(ctx, conv, 0, 100); len(msgs) != 1 {
		t.Errorf("%d messages, want 1", len(msgs))
	}
	ws, _ := e.svc.Workspace(ctx, tn.ws.ID)
	if ws.Name != "Acme" {
		t.Errorf("workspace renamed to %q", ws.Name)
	}
	keys, _ := e.svc.Keys(ctx, tn.ws.ID)
	if len(keys) != 1 || !keys[0].RevokedAt.IsZero() {
		t.Errorf("keys changed: %+v", keys)
	}
	agents, _ := e.svc.Agents(ctx, tn.ws.ID)
	if len(agents) != 1 || !agents[0].Available {
		t.Errorf("agents changed: %+v", agents)
	}
	if inboxes, _ := e.svc.Inboxes(ctx, tn.ws.ID); len(inboxes) != 0 {
		t.Errorf("inboxes created: %+v", inboxes)
	}
	if apiKeys, _ := e.svc.APIKeys(ctx, tn.ws.ID); len(apiKeys) != 1 || !apiKeys[0].RevokedAt.IsZero() {
		t.Errorf("API keys changed: %+v", apiKeys)
	}
	events, _ := e.svc.AuditEvents(ctx, tn.ws.ID, 100)
	var changes []store.AuditEvent
	for _, ev := range events {
		if !strings.HasPrefix(ev.Action, "signin.") && ev.Action != "agent.created" { // the harness's own sign-ins and agents
			changes = append(changes, ev)
		}
	}
	if len(changes) != 2 {
		t.Errorf("audit events: %+v", changes)
	}
	b.mustGet("/console/")
	// With the token and from the console's origin, the same post works.
	if p := b.post("/console/conversations/"+conv+"/close", nil); p.status != http.StatusSeeOther {
		t.Fatalf("a proper post: %d\n%s", p.status, p.body)
	}
}
