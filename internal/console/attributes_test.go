package console_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	attrs "github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/chat"
)

// attributeList reads the key/value pairs of the customer panel's attribute list of one kind
// ("verified" or "claimed"), as the page shows them (escaped text); nil when there is no such list.
func attributeList(body, kind string) map[string]string {
	m := regexp.MustCompile(`(?s)<dl data-attributes="` + kind + `"[^>]*>(.*?)</dl>`).FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for _, p := range regexp.MustCompile(`(?s)<dt class="mono">(.*?)</dt><dd>(.*?)</dd>`).FindAllStringSubmatch(m[1], -1) {
		out[p[1]] = p[2]
	}
	return out
}

func mustSet(t *testing.T, text string) *attrs.Set {
	t.Helper()
	s, err := attrs.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return &s
}

// The customer panel shows verified attributes and, apart and labelled, claimed ones — as text.
func TestCustomerPanelAttributes(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Acme", "admin@acme.example")
	evil := `<img src=x onerror=alert(1)>`

	// The visitor first claims attributes (setUser), then signs in as the same person with a token
	// that carries verified ones.
	v := tn.identified(chat.Claims{Email: "ada@bank.example", Attributes: mustSet(t, `{"plan":"platinum","note":"`+strings.ReplaceAll(evil, `"`, `\"`)+`"}`)})
	_, v, _, err := e.svc.Login(context.Background(), v, tn.token(jwt.MapClaims{
		"sub": "ada-1", "email": "ada@bank.example", "name": "Ada",
		"attributes": json.RawMessage(`{"plan":"gold","seats":10,"vip":true,"label":"` + strings.ReplaceAll(evil, `"`, `\"`) + `"}`),
	}))
	if err != nil {
		t.Fatal(err)
	}
	conv := tn.say(v, "hello").ConversationID
	customerID := e.conversation(conv).CustomerID

	b := e.signedIn(tn.admin)
	escaped := "&lt;img src=x onerror=alert(1)&gt;"
	for _, path := range []string{"/console/conversations/" + conv, "/console/conversations/" + conv + "/live"} {
		p := b.mustGet(path)
		verified, claimed := attributeList(p.body, "verified"), attributeList(p.body, "claimed")
		if verified["plan"] != "gold" || verified["seats"] != "10" || verified["vip"] != "true" || verified["label"] != escaped || len(verified) != 4 {
			t.Errorf("%s: verified attributes %v", path, verified)
		}
		if claimed["plan"] != "platinum" || claimed["note"] != escaped || len(claimed) != 2 {
			t.Errorf("%s: claimed attributes %v", path, claimed)
		}
		if !strings.Contains(p.body, "Verified attributes") || !strings.Contains(p.body, "Claimed attributes (not verified)") {
			t.Errorf("%s: the lists are not labelled", path)
		}
		if strings.Contains(p.body, evil) || unsafeAttribute(p.body) != "" {
			t.Errorf("%s: an attribute value became markup", path)
		}
	}
	// The customer page: the verified attributes only (claims belong to a session, not to the customer).
	p := b.mustGet("/console/customers/" + customerID)
	if got := attributeList(p.body, "verified"); got["plan"] != "gold" || got["label"] != escaped {
		t.Errorf("customer page: verified attributes %v", got)
	}
	if attributeList(p.body, "claimed") != nil || strings.Contains(p.body, "platinum") {
		t.Error("customer page shows claimed attributes")
	}
	if strings.Contains(p.body, evil) || unsafeAttribute(p.body) != "" {
		t.Error("customer page: an attribute value became markup")
	}

	// An identified visitor's conversation: claimed attributes only, no verified list.
	iv := tn.identified(chat.Claims{Name: "Mallory", Attributes: mustSet(t, `{"plan":"gold"}`)})
	iconv := tn.say(iv, "I am gold").ConversationID
	p = b.mustGet("/console/conversations/" + iconv)
	if attributeList(p.body, "verified") != nil || attributeList(p.body, "claimed")["plan"] != "gold" {
		t.Errorf("identified visitor: verified %v, claimed %v", attributeList(p.body, "verified"), attributeList(p.body, "claimed"))
	}
	// Nothing claimed, nothing verified: no lists at all.
	plain := tn.say(tn.visitor(), "hi").ConversationID
	if p = b.mustGet("/console/conversations/" + plain); strings.Contains(p.body, "data-attributes") {
		t.Error("an anonymous visitor's panel shows attribute lists")
	}
}

// The routing page adds a rule on a verified attribute, shows it, keeps it through moves, refuses a bad
// one with a message, and the rule routes a verified customer — not a claim.
func TestRoutingPageAttributeRule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tn := e.tenant("Acme", "admin@acme.example")
	vip, err := e.svc.SaveInbox(ctx, tn.admin, "", "VIP", []string{tn.admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	general, err := e.svc.SaveInbox(ctx, tn.admin, "", "General", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(tn.admin)
	p := b.mustGet("/console/settings/routing")
	for _, want := range []string{`<label for="rule-attribute-key">Verified attribute</label>`, `name="attribute_key"`, `name="attribute_value"`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("the add-rule form lacks %s", want)
		}
	}
	p = b.mustPost("/console/settings/routing/rules", url.Values{"level": {""}, "attribute_key": {"plan"}, "attribute_value": {"gold"}, "inbox": {vip.ID}})
	if !strings.Contains(p.body, `<td data-rule-attribute><code>plan</code> = <code>gold</code></td>`) {
		t.Fatalf("the rule list does not show plan = gold:\n%s", p.body)
	}
	b.mustPost("/console/settings/routing/rules", url.Values{"level": {"verified"}, "inbox": {general.ID}})
	rules, err := e.svc.RoutingRules(ctx, tn.ws.ID)
	if err != nil || len(rules) != 2 {
		t.Fatalf("rules %v, %v", rules, err)
	}
	// Moving rewrites the list: the attribute condition survives.
	b.mustPost("/console/settings/routing/rules/"+rules[0].ID+"/move", url.Values{"direction": {"down"}})
	b.mustPost("/console/settings/routing/rules/"+rules[0].ID+"/move", url.Values{"direction": {"up"}}) // a stale id: refused, nothing changes
	rules, _ = e.svc.RoutingRules(ctx, tn.ws.ID)
	if len(rules) != 2 || rules[1].AttributeKey != "plan" || rules[1].AttributeValue != "gold" || rules[1].InboxID != vip.ID {
		t.Fatalf("after moving: %+v", rules)
	}
	b.mustPost("/console/settings/routing/rules/"+rules[1].ID+"/move", url.Values{"direction": {"up"}})

	// Refused with a message naming the problem; nothing added.
	for _, bad := range []url.Values{
		{"attribute_key": {"Plan"}, "attribute_value": {"gold"}, "inbox": {vip.ID}},
		{"attribute_key": {"plan"}, "attribute_value": {""}, "inbox": {vip.ID}},
		{"attribute_key": {""}, "attribute_value": {"gold"}, "inbox": {vip.ID}},
	} {
		p := b.mustPost("/console/settings/routing/rules", bad)
		if !strings.Contains(p.body, "flash-error") || !strings.Contains(p.body, "attribute") {
			t.Errorf("%v: no error shown", bad)
		}
	}
	if rules, _ = e.svc.RoutingRules(ctx, tn.ws.ID); len(rules) != 2 {
		t.Fatalf("refused rules were added: %d rules", len(rules))
	}

	// Verified plan=gold goes to VIP; a visitor claiming plan=gold matches no rule (the other one wants
	// a verified visitor); verified plan=silver falls through to General.
	gold := tn.verified(jwt.MapClaims{"sub": "g1", "email": "g1@bank.example", "attributes": json.RawMessage(`{"plan":"gold"}`)})
	if c := e.conversation(tn.say(gold, "hi").ConversationID); c.InboxID != vip.ID {
		t.Errorf("verified plan=gold: inbox %q; want VIP", c.InboxID)
	}
	claimer := tn.identified(chat.Claims{Name: "Mallory", Attributes: mustSet(t, `{"plan":"gold"}`)})
	if c := e.conversation(tn.say(claimer, "hi").ConversationID); c.InboxID != "" {
		t.Errorf("claimed plan=gold: inbox %q; want none", c.InboxID)
	}
	silver := tn.verified(jwt.MapClaims{"sub": "s1", "email": "s1@bank.example", "attributes": json.RawMessage(`{"plan":"silver"}`)})
	if c := e.conversation(tn.say(silver, "hi").ConversationID); c.InboxID != general.ID {
		t.Errorf("verified plan=silver: inbox %q; want General", c.InboxID)
	}
}
