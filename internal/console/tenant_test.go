package console_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// bSnapshot is everything of workspace B that A's requests could try to change.
type bSnapshot struct {
	Conv     store.Conversation
	Messages int
	Events   int
	Keys     []store.SigningKey
	Agents   []store.Agent
	Inboxes  []store.Inbox
	Rules    []store.RoutingRule
	Settings store.Workspace
	APIKeys  []store.APIKey
	Audit    []store.AuditEvent
}

func snapshot(t *testing.T, e *env, tn *tenant, conv string) bSnapshot {
	t.Helper()
	ctx := context.Background()
	var s bSnapshot
	var err error
	s.Conv = e.conversation(conv)
	msgs, _ := e.st.Messages(ctx, conv, 0, 1000)
	evs, _ := e.st.Events(ctx, conv)
	s.Messages, s.Events = len(msgs), len(evs)
	if s.Keys, err = e.svc.Keys(ctx, tn.ws.ID); err != nil {
		t.Fatal(err)
	}
	if s.Agents, err = e.svc.Agents(ctx, tn.ws.ID); err != nil {
		t.Fatal(err)
	}
	if s.Inboxes, err = e.svc.Inboxes(ctx, tn.ws.ID); err != nil {
		t.Fatal(err)
	}
	if s.Rules, err = e.svc.RoutingRules(ctx, tn.ws.ID); err != nil {
		t.Fatal(err)
	}
	if s.Settings, err = e.svc.Workspace(ctx, tn.ws.ID); err != nil {
		t.Fatal(err)
	}
	if s.APIKeys, err = e.svc.APIKeys(ctx, tn.ws.ID); err != nil {
		t.Fatal(err)
	}
	audit, err := e.svc.AuditEvents(ctx, tn.ws.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range audit {
		if !strings.HasPrefix(ev.Action, "signin.") { // signing in to try is no change to the workspace
			s.Audit = append(s.Audit, ev)
		}
	}
	return s
}

// An administrator of workspace A finds nothing of workspace B: every id of B is "not found" to A, on
// every page and every action, and B is unchanged afterwards.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.tenant("Alpha", "admin@alpha.example")
	bt := e.tenant("Beta", "admin@beta.example")
	bAgent := e.agent(bt.ws.ID, "agent@beta.example", "Beta Agent", store.RoleAgent)
	bInbox, err := e.svc.SaveInbox(ctx, bt.admin, "", "Beta VIP", []string{bAgent.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetRoutingRules(ctx, bt.admin, []chat.RuleInput{{Level: store.LevelVerified, InboxID: bInbox.ID}}); err != nil {
		t.Fatal(err)
	}
	bAPIKey, err := e.svc.CreateAPIKey(ctx, bt.ws.ID, "Beta back end", nil)
	if err != nil {
		t.Fatal(err)
	}
	bPublic := newECKey(t)
	bKid := "beta-signing-key"
	if _, err := e.svc.RegisterPublicKey(ctx, bt.ws.ID, "ES256", bKid, []byte(publicPEM(t, &bPublic.PublicKey))); err != nil {
		t.Fatal(err)
	}
	bMsg := bt.say(bt.verified(jwt.MapClaims{"sub": "b-1", "email": "vip@beta.example", "name": "Beta VIP"}), "Beta's secret question")
	bConv := bMsg.ConversationID
	bCustomer := e.conversation(bConv).CustomerID
	aConv := a.say(a.visitor(), "Alpha's question").ConversationID
	before := snapshot(t, e, bt, bConv)

	ab := e.signedIn(a.admin)
	notFound := func(method, path string, form url.Values) {
		t.Helper()
		var p page
		if method == "GET" {
			p = ab.get(path)
		} else {
			p = ab.post(path, form)
		}
		if p.status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", method, path, p.status)
		}
		for _, secret := range []string{"Beta&#39;s secret question", "Beta's secret question", "vip@beta.example", "Beta VIP", bt.key.Secret} {
			if strings.Contains(p.body, secret) {
				t.Errorf("%s %s shows B's %q", method, path, secret)
			}
		}
	}
	cv := "/console/conversations/" + bConv
	notFound("GET", cv, nil)
	notFound("GET", cv+"/live", nil)
	notFound("POST", cv+"/reply", url.Values{"body": {"hello from A"}, "client_id": {"x1"}})
	notFound("POST", cv+"/close", nil)
	notFound("POST", cv+"/reopen", nil)
	notFound("POST", cv+"/assign", url.Values{"assignee": {a.admin.ID}})
	notFound("POST", cv+"/assign", url.Values{"assignee": {""}})
	notFound("POST", cv+"/request-login", nil)
	notFound("POST", cv+"/read", url.Values{"seq": {"1"}})
	notFound("GET", "/console/customers/"+bCustomer, nil)
	notFound("GET", "/console/?inbox="+bInbox.ID, nil)
	notFound("GET", "/console/inbox/list?inbox="+bInbox.ID, nil)
	notFound("POST", "/console/settings/inboxes/"+bInbox.ID, url.Values{"name": {"Taken"}, "member": {a.admin.ID}})
	notFound("POST", "/console/settings/inboxes/"+bInbox.ID+"/delete", nil)
	notFound("POST", "/console/settings/keys/"+bt.key.ID+"/rotate", nil)
	notFound("POST", "/console/settings/keys/"+bt.key.ID+"/revoke", nil)
	notFound("POST", "/console/settings/keys/"+bKid+"/rotate", nil)
	notFound("POST", "/console/settings/keys/"+bKid+"/revoke", nil)
	notFound("POST", "/console/settings/api-keys/"+bAPIKey.ID+"/revoke", nil)
	notFound("POST", "/console/settings/agents/"+bAgent.ID+"/role", url.Values{"role": {"admin"}})
	notFound("POST", "/console/settings/agents/"+bAgent.ID+"/disable", nil)
	notFound("POST", "/console/settings/agents/"+bAgent.ID+"/enable", nil)
	notFound("POST", "/console/settings/agents/"+bt.admin.ID+"/disable", nil)
	bRule := before.Rules[0].ID
	for _, path := range []string{"/console/settings/routing/rules/" + bRule + "/move", "/console/settings/routing/rules/" + bRule + "/remove"} {
		// A's rule list has no such rule: the routing page says the rules changed, about A's rules only.
		if p := ab.post(path, url.Values{"direction": {"down"}}); p.status != http.StatusSeeOther {
			t.Errorf("POST %s: %d", path, p.status)
		}
	}

	// Kids are per workspace: A may register a key with the kid B uses, which leaves B's key alone.
	aPublic := newECKey(t)
	ab.mustPost("/console/settings/keys/public", url.Values{"alg": {"ES256"}, "kid": {bKid}, "public_key": {publicPEM(t, &aPublic.PublicKey)}})
	if keys, _ := e.svc.Keys(ctx, a.ws.ID); len(keys) != 2 || keys[1].ID != bKid {
		t.Errorf("A's keys %+v", keys)
	}

	// A's own objects cannot point at B's: an assignee, an inbox member, a rule's inbox.
	if p := ab.post("/console/conversations/"+aConv+"/assign", url.Values{"assignee": {bAgent.ID}}); p.status != http.StatusSeeOther {
		t.Errorf("assign to B's agent: %d", p.status)
	}
	if got := e.conversation(aConv).AssigneeID; got == bAgent.ID {
		t.Error("A's conversation was assigned to B's agent")
	}
	ab.mustPost("/console/settings/inboxes", url.Values{"name": {"Alpha inbox"}, "member": {bAgent.ID}})
	ab.mustPost("/console/settings/routing/rules", url.Values{"inbox": {bInbox.ID}})
	if in, _ := e.svc.Inboxes(ctx, a.ws.ID); len(in) != 0 {
		t.Errorf("A made an inbox with B's agent: %+v", in)
	}
	if rules, _ := e.svc.RoutingRules(ctx, a.ws.ID); len(rules) != 0 {
		t.Errorf("A made a rule to B's inbox: %+v", rules)
	}

	// A's pages list nothing of B.
	for _, path := range []string{"/console/?view=open", "/console/?view=closed", "/console/settings/keys", "/console/settings/agents",
		"/console/settings/routing", "/console/identity", "/console/report", "/console/settings", "/console/settings/api-keys",
		"/console/settings/audit"} {
		p := ab.mustGet(path)
		for _, secret := range []string{bConv, bt.key.ID, bAgent.ID, bAgent.Email, bInbox.ID, "Beta", bAPIKey.ID, bt.admin.Email} {
			if strings.Contains(p.body, secret) {
				t.Errorf("%s shows B's %q", path, secret)
			}
		}
	}

	// The live socket carries A's workspace only.
	// (see TestConsoleSocket for the frames themselves)

	after := snapshot(t, e, bt, bConv)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("B changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// An agent who is not an administrator gets 403 on every administration page and action, and nothing
// changes.
func TestAgentIsNotAdmin(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "ada@acme.example")
	bob := e.agent(tn.ws.ID, "bob@acme.example", "Bob", store.RoleAgent)
	inbox, err := e.svc.SaveInbox(context.Background(), tn.admin, "", "Support", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetRoutingRules(context.Background(), tn.admin, []chat.RuleInput{{InboxID: inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	apiKey, err := e.svc.CreateAPIKey(context.Background(), tn.ws.ID, "Shop", nil)
	if err != nil {
		t.Fatal(err)
	}
	jwksURL, _ := jwksServer(t, "idp-1")
	ec := newECKey(t)
	conv := tn.say(tn.visitor(), "hi").ConversationID
	before := snapshot(t, e, tn, conv)
	b := e.signedIn(bob)

	// The nav shows no administration links.
	if p := b.mustGet("/console/"); strings.Contains(p.body, "/console/settings") || strings.Contains(p.body, "/console/identity") {
		t.Error("an agent sees administration links")
	}
	for _, path := range []string{"/console/settings", "/console/settings/keys", "/console/settings/agents", "/console/settings/routing", "/console/identity",
		"/console/settings/api-keys", "/console/settings/audit"} {
		if p := b.get(path); p.status != http.StatusForbidden || !strings.Contains(p.body, "administrator") {
			t.Errorf("GET %s: %d", path, p.status)
		}
	}
	rule := before.Rules[0].ID
	for path, form := range map[string]url.Values{
		"/console/settings":                                    {"name": {"Bob's now"}},
		"/console/settings/keys":                               {"alg": {"HS256"}},
		"/console/settings/keys/" + tn.key.ID + "/rotate":      nil,
		"/console/settings/keys/" + tn.key.ID + "/revoke":      nil,
		"/console/settings/agents":                             {"name": {"Eve"}, "email": {"eve@acme.example"}, "role": {"admin"}, "password": {agentPassword}},
		"/console/settings/agents/" + bob.ID + "/role":         {"role": {"admin"}},
		"/console/settings/agents/" + tn.admin.ID + "/disable": nil,
		"/console/settings/agents/" + bob.ID + "/enable":       nil,
		"/console/settings/inboxes":                            {"name": {"Mine"}},
		"/console/settings/inboxes/" + inbox.ID:                {"name": {"Renamed"}},
		"/console/settings/inboxes/" + inbox.ID + "/delete":    nil,
		"/console/settings/routing/rules":                      {"inbox": {inbox.ID}},
		"/console/settings/routing/rules/" + rule + "/move":    {"direction": {"down"}},
		"/console/settings/routing/rules/" + rule + "/remove":  nil,
		"/console/identity/check":                              {"token": {"a.b.c"}},
		"/console/settings/keys/public":                        {"alg": {"ES256"}, "public_key": {publicPEM(t, &ec.PublicKey)}},
		"/console/settings/keys/jwks":                          {"url": {jwksURL}, "allow_private": {"on"}},
		"/console/settings/api-keys":                           {"name": {"Bob's"}, "scope": chat.AllScopes()},
		"/console/settings/api-keys/" + apiKey.ID + "/revoke":  nil,
	} {
		if p := b.post(path, form); p.status != http.StatusForbidden {
			t.Errorf("POST %s: %d", path, p.status)
		}
	}
	if after := snapshot(t, e, tn, conv); !reflect.DeepEqual(before, after) {
		t.Errorf("changed:\nbefore %+v\nafter  %+v", before, after)
	}
	// What every agent may do still works.
	b.mustGet("/console/report")
	b.mustGet("/console/conversations/" + conv)
}
