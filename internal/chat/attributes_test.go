package chat_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

func attrs(t *testing.T, text string) attributes.Set {
	t.Helper()
	a, err := attributes.Parse([]byte(text))
	if err != nil {
		t.Fatalf("attributes %s: %v", text, err)
	}
	return a
}

// loginAs signs v in as the customer with that sub; attrs is the token's attributes claim as JSON, or ""
// for a token without the claim.
func (e *consoleEnv) loginAs(t *testing.T, v *chat.Visitor, sub, attrJSON string) *chat.Visitor {
	t.Helper()
	extra := jwt.MapClaims{"sub": sub}
	if attrJSON != "" {
		extra["attributes"] = json.RawMessage(attrJSON)
	}
	_, next, _, err := e.svc.Login(t.Context(), v, e.token(t, sub+"@bank.example", "Customer "+sub, extra))
	if err != nil {
		t.Fatalf("login %s: %v", sub, err)
	}
	return next
}

func (e *consoleEnv) customerAttributes(t *testing.T, sub string) attributes.Set {
	t.Helper()
	c, err := e.st.CustomerByExternalID(t.Context(), e.ws, sub)
	if err != nil {
		t.Fatalf("customer %s: %v", sub, err)
	}
	return c.Attributes
}

// A login whose token carries attributes replaces the customer's verified set; one without the claim
// leaves it; an empty object clears it. Numbers keep their literal.
func TestVerifiedAttributesFollowLogins(t *testing.T) {
	e := newConsoleEnv(t)
	e.loginAs(t, e.visitor(t, ""), "u1", `{"plan":"gold","seats":10,"ratio":1.50,"vip":true}`)
	if got, want := e.customerAttributes(t, "u1"), attrs(t, `{"plan":"gold","seats":10,"ratio":1.50,"vip":true}`); got != want {
		t.Fatalf("after the first login: %s; want %s", got, want)
	}
	if v, _ := e.customerAttributes(t, "u1").Get("ratio"); v.Kind != attributes.Number || v.Text != "1.50" {
		t.Fatalf("ratio = %#v; want the number 1.50, exactly", v)
	}

	// Another device, a token with other attributes: replaced whole (seats and ratio go).
	e.loginAs(t, e.visitor(t, ""), "u1", `{"plan":"platinum","vip":false}`)
	if got, want := e.customerAttributes(t, "u1"), attrs(t, `{"plan":"platinum","vip":false}`); got != want {
		t.Fatalf("after a login carrying other attributes: %s; want %s", got, want)
	}

	// A token without the claim (as the customers API's login tokens are) keeps them.
	e.loginAs(t, e.visitor(t, ""), "u1", "")
	if got, want := e.customerAttributes(t, "u1"), attrs(t, `{"plan":"platinum","vip":false}`); got != want {
		t.Fatalf("after a login without the claim: %s; want %s", got, want)
	}

	// An empty object clears them.
	e.loginAs(t, e.visitor(t, ""), "u1", `{}`)
	if got := e.customerAttributes(t, "u1"); !got.IsEmpty() {
		t.Fatalf("after a login with attributes {}: %s; want none", got)
	}

	// A refused claim refuses the login and changes nothing.
	e.loginAs(t, e.visitor(t, ""), "u1", `{"plan":"gold"}`)
	_, _, _, err := e.svc.Login(t.Context(), e.visitor(t, ""), e.token(t, "u1@bank.example", "U1",
		jwt.MapClaims{"sub": "u1", "attributes": json.RawMessage(`{"plan":{"tier":"gold"}}`)}))
	wantProblem(t, "nested attributes", err, http.StatusUnauthorized, "token_claims_invalid")
	if got, want := e.customerAttributes(t, "u1"), attrs(t, `{"plan":"gold"}`); got != want {
		t.Fatalf("after a refused login: %s; want %s", got, want)
	}
}

// Attributes a visitor claims (setUser → identify) stay on their session, shown to agents apart from
// verified ones; they never reach the customer profile, even when the visitor then signs in.
func TestClaimedAttributesStayClaimed(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	agent := e.createAgent(t, "agent@acme.example", store.RoleAgent)
	gold := attrs(t, `{"plan":"gold","note":"<img src=x onerror=alert(1)>"}`)

	_, v, err := e.svc.Identify(ctx, e.visitor(t, ""), chat.Claims{Name: "Eve", Attributes: &gold})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.st.ClaimedAttributes(ctx, v.Session.ID); err != nil || got != gold {
		t.Fatalf("claimed attributes %s, %v; want %s", got, err, gold)
	}
	m := e.say(t, v, "I am a gold customer, honestly")
	view, err := e.svc.ConversationDetails(ctx, agent, m.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if view.Profile.ClaimedAttributes != gold || view.Profile.Customer != nil {
		t.Fatalf("profile: claimed %s, customer %v; want the claimed set and no customer", view.Profile.ClaimedAttributes, view.Profile.Customer)
	}

	// Attributes alone are a claim; a claim without them keeps them; new ones replace them.
	_, v, err = e.svc.Identify(ctx, v, chat.Claims{Phone: "+1 555 0100"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.st.ClaimedAttributes(ctx, v.Session.ID); got != gold {
		t.Fatalf("after a claim without attributes: %s; want %s", got, gold)
	}
	silver := attrs(t, `{"plan":"silver"}`)
	if _, v, err = e.svc.Identify(ctx, v, chat.Claims{Attributes: &silver}); err != nil {
		t.Fatalf("a claim of attributes only: %v", err)
	}
	if got, _ := e.st.ClaimedAttributes(ctx, v.Session.ID); got != silver {
		t.Fatalf("after a claim of other attributes: %s; want %s", got, silver)
	}
	_, _, err = e.svc.Identify(ctx, v, chat.Claims{})
	wantProblem(t, "an empty claim", err, http.StatusUnprocessableEntity, "invalid_field")

	// Signing in (as the same person) keeps the conversation; the claim stays a claim: the customer
	// has no attributes, the panel shows them apart.
	v = e.loginAs(t, v, "u2", "")
	if got := e.customerAttributes(t, "u2"); !got.IsEmpty() {
		t.Fatalf("claimed attributes reached the verified customer: %s", got)
	}
	view, err = e.svc.ConversationDetails(ctx, agent, m.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if view.Profile.Customer == nil || !view.Profile.Customer.Attributes.IsEmpty() || view.Profile.ClaimedAttributes != silver {
		t.Fatalf("after login: customer %+v, claimed %s", view.Profile.Customer, view.Profile.ClaimedAttributes)
	}

	// A claim of another email is another person: a fresh session claiming nothing.
	_, first, err := e.svc.Identify(ctx, e.visitor(t, ""), chat.Claims{Email: "one@example.com", Attributes: &gold})
	if err != nil {
		t.Fatal(err)
	}
	_, second, err := e.svc.Identify(ctx, first, chat.Claims{Email: "two@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if second.Session.ID == first.Session.ID {
		t.Fatal("test bug: the same session")
	}
	if got, _ := e.st.ClaimedAttributes(ctx, second.Session.ID); !got.IsEmpty() {
		t.Fatalf("the next person inherited claimed attributes %s", got)
	}
}

// A rule on an attribute matches only the customer's verified attributes: a verified plan=gold
// customer lands in the VIP inbox; a visitor who claims plan=gold does not, whatever their level.
func TestAttributeRouting(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	admin := e.createAgent(t, "admin@acme.example", store.RoleAdmin)
	vipAgent := e.createAgent(t, "vip@acme.example", store.RoleAgent)
	vip, err := e.svc.SaveInbox(ctx, admin, "", "VIP", []string{vipAgent.ID})
	if err != nil {
		t.Fatal(err)
	}
	seats, err := e.svc.SaveInbox(ctx, admin, "", "Big accounts", []string{vipAgent.ID})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{
		{AttributeKey: " plan ", AttributeValue: " gold ", InboxID: vip.ID}, // any level: only verified attributes count
		{Level: store.LevelVerified, AttributeKey: "seats", AttributeValue: "10", InboxID: seats.ID},
		{AttributeKey: "vip", AttributeValue: "true", InboxID: vip.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rules[0].AttributeKey != "plan" || rules[0].AttributeValue != "gold" {
		t.Fatalf("rule stored as %q = %q", rules[0].AttributeKey, rules[0].AttributeValue)
	}
	inboxOf := func(v *chat.Visitor, body string) string {
		t.Helper()
		return e.conversation(t, e.say(t, v, body).ConversationID).InboxID
	}

	if got := inboxOf(e.loginAs(t, e.visitor(t, ""), "gold", `{"plan":"gold"}`), "hi"); got != vip.ID {
		t.Errorf("verified plan=gold: inbox %q; want VIP", got)
	}
	if got := inboxOf(e.loginAs(t, e.visitor(t, ""), "silver", `{"plan":"silver"}`), "hi"); got != "" {
		t.Errorf("verified plan=silver: inbox %q; want none", got)
	}
	if got := inboxOf(e.loginAs(t, e.visitor(t, ""), "goldish", `{"plan":"Gold"}`), "hi"); got != "" {
		t.Errorf("verified plan=Gold: inbox %q; want none (values compare exactly)", got)
	}
	// Numbers by their literal, booleans as true/false.
	if got := inboxOf(e.loginAs(t, e.visitor(t, ""), "ten", `{"seats":10}`), "hi"); got != seats.ID {
		t.Errorf("verified seats=10: inbox %q; want Big accounts", got)
	}
	if got := inboxOf(e.loginAs(t, e.visitor(t, ""), "tenpointzero", `{"seats":10.0}`), "hi"); got != "" {
		t.Errorf("verified seats=10.0: inbox %q; want none (10.0 is not the literal 10)", got)
	}
	if got := inboxOf(e.loginAs(t, e.visitor(t, ""), "flagged", `{"vip":true}`), "hi"); got != vip.ID {
		t.Errorf("verified vip=true: inbox %q; want VIP", got)
	}

	// Claims never match: an identified visitor claiming plan=gold, vip=true…
	claim := attrs(t, `{"plan":"gold","vip":true,"seats":10}`)
	_, claimed, err := e.svc.Identify(ctx, e.visitor(t, ""), chat.Claims{Email: "mallory@example.com", Attributes: &claim})
	if err != nil {
		t.Fatal(err)
	}
	if got := inboxOf(claimed, "I am gold"); got != "" {
		t.Errorf("claimed plan=gold: inbox %q; want none", got)
	}
	// …nor a verified customer without those attributes whose session claimed them before signing in.
	_, claimedFirst, err := e.svc.Identify(ctx, e.visitor(t, ""), chat.Claims{Attributes: &claim})
	if err != nil {
		t.Fatal(err)
	}
	if got := inboxOf(e.loginAs(t, claimedFirst, "plain", `{"plan":"bronze"}`), "hi"); got != "" {
		t.Errorf("verified plan=bronze who claimed plan=gold: inbox %q; want none", got)
	}

	// Routing runs when a conversation starts: an anonymous visitor's conversation stays where it was
	// routed when they sign in as a gold customer; their next conversation goes to VIP.
	anon := e.visitor(t, "")
	m := e.say(t, anon, "before signing in")
	signedIn := e.loginAs(t, anon, "latecomer", `{"plan":"gold"}`)
	if got := e.conversation(t, m.ConversationID).InboxID; got != "" {
		t.Errorf("adopted conversation: inbox %q; want none (routing does not run again)", got)
	}
	if _, err := e.svc.SetConversationStatus(ctx, admin, m.ConversationID, store.StatusClosed); err != nil {
		t.Fatal(err)
	}
	if got := inboxOf(signedIn, "a new question"); got != vip.ID {
		t.Errorf("the gold customer's next conversation: inbox %q; want VIP", got)
	}
}

func TestRoutingRuleAttributeValidation(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	admin := e.createAgent(t, "admin@acme.example", store.RoleAdmin)
	vip, err := e.svc.SaveInbox(ctx, admin, "", "VIP", nil)
	if err != nil {
		t.Fatal(err)
	}
	long := make([]byte, attributes.MaxValueBytes+1)
	for i := range long {
		long[i] = 'x'
	}
	for _, tc := range []struct {
		name       string
		key, value string
		field      string
	}{
		{"upper-case key", "Plan", "gold", "attribute_key"},
		{"41-character key", "k2345678901234567890123456789012345678901", "gold", "attribute_key"},
		{"dash in key", "plan-tier", "gold", "attribute_key"},
		{"value without key", "", "gold", "attribute_key"},
		{"key without value", "plan", "  ", "attribute_value"},
		{"value too long", "plan", string(long), "attribute_value"},
		{"control character", "plan", "go\u0007ld", "attribute_value"},
	} {
		_, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{{AttributeKey: tc.key, AttributeValue: tc.value, InboxID: vip.ID}})
		if p := wantProblem(t, tc.name, err, http.StatusUnprocessableEntity, "invalid_field"); p.Field != tc.field {
			t.Errorf("%s: field %q; want %q", tc.name, p.Field, tc.field)
		}
	}
	if rules, err := e.svc.RoutingRules(ctx, e.ws); err != nil || len(rules) != 0 {
		t.Fatalf("refused rules were stored: %v, %v", rules, err)
	}
	// At the limits.
	if _, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{{AttributeKey: "k234567890123456789012345678901234567890", AttributeValue: string(long[1:]), InboxID: vip.ID}}); err != nil {
		t.Fatalf("a 40-character key and a 256-byte value: %v", err)
	}
}
