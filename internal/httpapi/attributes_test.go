package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/store"
)

// Attributes over HTTP: the login token's claim (verified), setUser's identify (claimed), the customers
// API, and routing on verified attributes only.

// customerAttributesJSON returns the customer's attributes exactly as the customers API writes them.
func (e *env) customerAttributesJSON(key, externalID string) string {
	e.t.Helper()
	r := e.customers("GET", externalID, "", key, nil)
	expect(e.t, r, 200, "")
	var body struct {
		Customer struct {
			Attributes json.RawMessage `json:"attributes"`
		} `json:"customer"`
	}
	if err := json.Unmarshal(r.raw, &body); err != nil {
		e.t.Fatal(err)
	}
	return string(body.Customer.Attributes)
}

// sessionID finds the session behind a session token.
func (e *env) sessionID(token string) string {
	e.t.Helper()
	v, err := e.svc.Recheck(context.Background(), token)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.Session.ID
}

func TestLoginAttributes(t *testing.T) {
	e := newEnv(t)
	key := e.apiKey()
	// A literal claim value, so that numbers travel exactly as written.
	with := func(attrs string) map[string]any { return map[string]any{"attributes": json.RawMessage(attrs)} }

	expect(t, e.login(e.session(), e.sign(claims(with(`{"plan":"gold","seats":10,"ratio":1.50,"vip":true}`)))), 200, "")
	if got, want := e.customerAttributesJSON(key, "user-1"), `{"plan":"gold","ratio":1.50,"seats":10,"vip":true}`; got != want {
		t.Fatalf("after a login with attributes: %s; want %s", got, want)
	}
	expect(t, e.login(e.session(), e.sign(claims(with(`{"plan":"silver"}`)))), 200, "")
	if got, want := e.customerAttributesJSON(key, "user-1"), `{"plan":"silver"}`; got != want {
		t.Fatalf("after a login replacing them: %s; want %s", got, want)
	}
	expect(t, e.login(e.session(), e.sign(claims(nil))), 200, "")
	if got, want := e.customerAttributesJSON(key, "user-1"), `{"plan":"silver"}`; got != want {
		t.Fatalf("after a login without the claim: %s; want %s", got, want)
	}

	for _, bad := range []struct{ attrs, why string }{
		{`{"plan":{"name":"gold"}}`, `"plan" is an object`},
		{`{"plan":null}`, `"plan" is null`},
		{`{"plans":["gold"]}`, `"plans" is an array`},
		{`{"Plan":"gold"}`, `key "Plan"`},
		{`{"note":"` + strings.Repeat("x", 257) + `"}`, "257 bytes"},
		{`{` + manyMembers(21) + `}`, "more than 20"},
	} {
		r := e.login(e.session(), e.sign(claims(with(bad.attrs))))
		expect(t, r, 401, "token_claims_invalid")
		if !strings.Contains(r.message(), `"attributes"`) || !strings.Contains(r.message(), bad.why) {
			t.Errorf("%s: message %q does not say %q", bad.attrs, r.message(), bad.why)
		}
	}
	if got, want := e.customerAttributesJSON(key, "user-1"), `{"plan":"silver"}`; got != want {
		t.Fatalf("after refused logins: %s; want %s", got, want)
	}
}

// manyMembers renders n members "k0":0, … without braces.
func manyMembers(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%d":%d`, i, i)
	}
	return strings.Join(parts, ",")
}

func TestIdentifyAttributes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	session := e.session()
	r := e.request("POST", "/v1/widget/identify", session, `{"name":"Eve","attributes":{"plan":"gold","seats":10,"vip":true}}`)
	expect(t, r, 200, "")
	session = r.str("session_token")
	if r.str("identity", "level") != store.LevelIdentified {
		t.Fatalf("identity %v", r.body["identity"])
	}
	claimed, err := e.st.ClaimedAttributes(ctx, e.sessionID(session))
	if err != nil || claimed.String() != `{"plan":"gold","seats":10,"vip":true}` {
		t.Fatalf("claimed attributes %s, %v", claimed, err)
	}
	// Attributes alone are a claim; each call's set replaces the last.
	r = e.request("POST", "/v1/widget/identify", session, `{"attributes":{"plan":"silver"}}`)
	expect(t, r, 200, "")
	if claimed, _ = e.st.ClaimedAttributes(ctx, e.sessionID(session)); claimed.String() != `{"plan":"silver"}` {
		t.Fatalf("after a second claim: %s", claimed)
	}

	key40, key41 := strings.Repeat("k", 40), strings.Repeat("k", 41)
	for _, ok := range []string{
		`{` + manyMembers(20) + `}`,
		`{"` + key40 + `":"` + strings.Repeat("é", 128) + `"}`,
		`{}`,
	} {
		expect(t, e.request("POST", "/v1/widget/identify", session, `{"attributes":`+ok+`}`), 200, "")
	}
	for _, bad := range []struct{ attrs, why string }{
		{`{` + manyMembers(21) + `}`, "more than 20"},
		{`{"` + key41 + `":1}`, "1 to 40"},
		{`{"Plan":"gold"}`, `key "Plan"`},
		{`{"plan tier":"gold"}`, "a-z, 0-9 and _"},
		{`{"note":"` + strings.Repeat("é", 128) + `x"}`, "257 bytes"},
		{`{"plan":{"name":"gold"}}`, "is an object"},
		{`{"plans":["gold"]}`, "is an array"},
		{`{"plan":null}`, "is null"},
		{`{"n":1e999}`, "finite"},
		{`"plan=gold"`, "must be a JSON object"},
		{`["plan"]`, "must be a JSON object"},
		{`null`, "not null"},
	} {
		r := e.request("POST", "/v1/widget/identify", session, `{"attributes":`+bad.attrs+`}`)
		expect(t, r, 422, "invalid_field")
		if !strings.HasPrefix(r.message(), "attributes: ") || !strings.Contains(r.message(), bad.why) {
			t.Errorf("%s: message %q does not name the field and say %q", bad.attrs, r.message(), bad.why)
		}
	}
	// A repeated member makes the body ambiguous JSON, wherever it is: 400 invalid_json, as everywhere.
	expect(t, e.request("POST", "/v1/widget/identify", session, `{"attributes":{"plan":"gold","plan":"silver"}}`), 400, "invalid_json")
	if claimed, _ = e.st.ClaimedAttributes(ctx, e.sessionID(session)); !claimed.IsEmpty() {
		t.Fatalf("refused claims changed the session's attributes to %s", claimed)
	}
}

func TestCustomersAPIAttributes(t *testing.T) {
	e := newEnv(t)
	key := e.apiKey()
	r := e.customers("PUT", "u1", "", key, `{"name":"Ada","attributes":{"plan":"gold","seats":10,"ratio":1.50,"vip":true}}`)
	expect(t, r, 201, "")
	if !strings.Contains(string(r.raw), `"attributes":{"plan":"gold","ratio":1.50,"seats":10,"vip":true}`) {
		t.Fatalf("PUT answered %s", r.raw)
	}
	// Without the field: kept. Another set: replaced. {}: cleared.
	expect(t, e.customers("PUT", "u1", "", key, `{"name":"Ada L."}`), 200, "")
	if got := e.customerAttributesJSON(key, "u1"); got != `{"plan":"gold","ratio":1.50,"seats":10,"vip":true}` {
		t.Fatalf("after a PUT without attributes: %s", got)
	}
	for _, bad := range []string{`{"plan":{"x":1}}`, `{"Plan":1}`, `null`, `[]`, `{` + manyMembers(21) + `}`} {
		r := e.customers("PUT", "u1", "", key, `{"attributes":`+bad+`}`)
		expect(t, r, 422, "invalid_field")
		if !strings.HasPrefix(r.message(), "attributes: ") {
			t.Errorf("%s: message %q", bad, r.message())
		}
	}
	if got := e.customerAttributesJSON(key, "u1"); got != `{"plan":"gold","ratio":1.50,"seats":10,"vip":true}` {
		t.Fatalf("after refused PUTs: %s", got)
	}

	// The customers API's login tokens carry no attributes: a login with one keeps what PUT set.
	r = e.customers("POST", "u1", "/login-tokens", key, nil)
	expect(t, r, 201, "")
	expect(t, e.login(e.session(), r.str("token")), 200, "")
	if got := e.customerAttributesJSON(key, "u1"); got != `{"plan":"gold","ratio":1.50,"seats":10,"vip":true}` {
		t.Fatalf("after a login with the API's token: %s", got)
	}

	// A set at every limit: too large for a login token (8 KiB), fine for the customers API.
	parts := make([]string, 20)
	for i := range parts {
		parts[i] = fmt.Sprintf(`"k%02d%s":"%s"`, i, strings.Repeat("_", 37), strings.Repeat("ü", 128))
	}
	largest := "{" + strings.Join(parts, ",") + "}"
	expect(t, e.login(e.session(), e.sign(claims(map[string]any{"sub": "u1", "attributes": json.RawMessage(largest)}))), 413, "token_too_large")
	expect(t, e.customers("PUT", "u1", "", key, `{"attributes":`+largest+`}`), 200, "")
	if got := e.customerAttributesJSON(key, "u1"); got != largest {
		t.Fatalf("the largest set reads back as %s", got)
	}

	expect(t, e.customers("PUT", "u1", "", key, `{"attributes":{"plan":"platinum"}}`), 200, "")
	if got := e.customerAttributesJSON(key, "u1"); got != `{"plan":"platinum"}` {
		t.Fatalf("after a PUT with other attributes: %s", got)
	}
	expect(t, e.customers("PUT", "u1", "", key, `{"attributes":{}}`), 200, "")
	if got := e.customerAttributesJSON(key, "u1"); got != `{}` {
		t.Fatalf("after a PUT with {}: %s", got)
	}
	// A customer created without attributes shows {} (the field is always present).
	r = e.customers("PUT", "u2", "", key, nil)
	expect(t, r, 201, "")
	if !strings.Contains(string(r.raw), `"attributes":{}`) {
		t.Fatalf("a new customer: %s", r.raw)
	}
}

// A verified plan=gold customer lands in the VIP inbox; a visitor who claims plan=gold does not.
func TestAttributeRoutingHTTP(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, err := e.svc.CreateAgent(ctx, e.ws.ID, "admin@acme.example", "Admin", store.RoleAdmin, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	vip, err := e.svc.SaveInbox(ctx, admin, "", "VIP", []string{admin.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{{AttributeKey: "plan", AttributeValue: "gold", InboxID: vip.ID}}); err != nil {
		t.Fatal(err)
	}
	inboxOf := func(session string) string {
		t.Helper()
		r := e.send(session, "hello", "")
		expect(t, r, 201, "")
		c, err := e.st.Conversation(ctx, r.str("message", "conversation_id"))
		if err != nil {
			t.Fatal(err)
		}
		return c.InboxID
	}

	verified := e.verified(claims(map[string]any{"sub": "gold-1", "attributes": json.RawMessage(`{"plan":"gold"}`)}))
	if got := inboxOf(verified); got != vip.ID {
		t.Errorf("verified plan=gold: inbox %q; want VIP", got)
	}

	r := e.request("POST", "/v1/widget/identify", e.session(), `{"email":"ada@example.com","attributes":{"plan":"gold"}}`)
	expect(t, r, 200, "")
	if got := inboxOf(r.str("session_token")); got != "" {
		t.Errorf("claimed plan=gold: inbox %q; want none", got)
	}
}
