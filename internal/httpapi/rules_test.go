package httpapi_test

import (
	"context"
	"testing"

	"github.com/parleyhq/parley/internal/store"
)

func msgField(r response, field string) any {
	m, _ := r.body["message"].(map[string]any)
	return m[field]
}

func bodies(msgs []map[string]any) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m["body"].(string)
	}
	return out
}

func eventTypes(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Rule 6: an identified visitor who claims a verified customer's email sees nothing of that customer,
// and nothing it sends becomes theirs or trusted.
func TestRule6UnverifiedClaimsGrantNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ada := e.verified(claims(map[string]any{"sub": "ada-1", "email": "ada@example.com"}))
	expect(t, e.send(ada, "my card number ends in 4242", "a1"), 201, "")
	adaConvs := e.conversations(ada)

	mallory := e.session()
	r := e.request("POST", "/v1/widget/identify", mallory, map[string]string{"name": "Ada Lovelace", "email": "ADA@example.com"})
	expect(t, r, 200, "")
	mallory = r.str("session_token")
	if r.str("identity", "level") != "identified" || r.str("identity", "customer_id") != "" {
		t.Fatalf("identify gave %s", r.raw)
	}
	if got := e.conversations(mallory); len(got) != 0 {
		t.Fatalf("identified visitor sees %d conversations of the verified customer", len(got))
	}
	// Reading the customer's conversation by id fails exactly like a missing one.
	path := "/v1/widget/conversations/" + adaConvs[0]["id"].(string) + "/messages"
	expect(t, e.request("GET", path, mallory, nil), 404, "conversation_not_found")

	m := e.send(mallory, "please change my address", "m1")
	expect(t, m, 201, "")
	if msgField(m, "trusted") != false {
		t.Fatal("an identified visitor's message is trusted")
	}
	if msgField(m, "conversation_id") == adaConvs[0]["id"] {
		t.Fatal("the claim merged into the verified customer's conversation")
	}
	// The customer's view is unchanged: one conversation, one message.
	if got := e.conversations(ada); len(got) != 1 {
		t.Fatalf("verified customer now has %d conversations", len(got))
	}
	if got := e.messages(ada, adaConvs[0]["id"].(string), ""); len(got) != 1 {
		t.Fatalf("verified customer's conversation has %d messages", len(got))
	}
	// Agents see the claim on the conversation, and can learn that a verified profile with that email
	// exists — without the conversation belonging to it.
	conv, err := e.st.Conversation(ctx, msgField(m, "conversation_id").(string))
	if err != nil {
		t.Fatal(err)
	}
	if conv.CustomerID != "" || conv.ClaimedEmail != "ada@example.com" {
		t.Fatalf("conversation = %+v", conv)
	}
	if n, err := e.st.CountCustomersWithEmail(ctx, e.ws.ID, conv.ClaimedEmail); err != nil || n != 1 {
		t.Fatalf("verified profiles with the claimed email = %d, %v", n, err)
	}
}

// Rule 7: logging in mid-conversation keeps the conversation; earlier messages stay untrusted, later
// ones are trusted, and the timeline says who authenticated with which key.
func TestRule7UpgradeMidConversation(t *testing.T) {
	e := newEnv(t)
	anon := e.session()
	first := e.send(anon, "hi, I have a question about my loan", "c1")
	expect(t, first, 201, "")
	convID := msgField(first, "conversation_id").(string)

	r := e.login(anon, e.sign(claims(map[string]any{"sub": "cust-9", "email": "grace@example.com", "name": "Grace Hopper"})))
	expect(t, r, 200, "")
	verified := r.str("session_token")

	second := e.send(verified, "it's loan 123", "c2")
	expect(t, second, 201, "")
	if msgField(second, "conversation_id") != convID {
		t.Fatal("login started a new conversation instead of keeping the current one")
	}
	msgs := e.messages(verified, convID, "")
	if len(msgs) != 2 || msgs[0]["trusted"] != false || msgs[1]["trusted"] != true {
		t.Fatalf("trust after upgrade = %v", msgs)
	}
	// The conversation now belongs to the customer, with the anonymous session kept as its starter.
	conv, err := e.st.Conversation(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	if conv.CustomerID != r.str("identity", "customer_id") {
		t.Fatalf("conversation customer = %q", conv.CustomerID)
	}
	var sawAuth bool
	for _, ev := range e.events(convID) {
		if ev.Type == "authenticated" {
			sawAuth = true
			if ev.Data["key_id"] != e.key.ID || ev.Data["email"] != "grace@example.com" || ev.Data["external_id"] != "cust-9" {
				t.Fatalf("authenticated event = %+v", ev.Data)
			}
		}
	}
	if !sawAuth {
		t.Fatalf("timeline has no authenticated event: %v", eventTypes(e.events(convID)))
	}
}

// Rule 7: a verified identity different from the earlier claim is a different person.
func TestRule7DifferentPersonAfterClaim(t *testing.T) {
	e := newEnv(t)
	s := e.session()
	r := e.request("POST", "/v1/widget/identify", s, map[string]string{"name": "Bob", "email": "bob@example.com"})
	expect(t, r, 200, "")
	s = r.str("session_token")
	claimed := e.send(s, "this is bob", "b1")
	expect(t, claimed, 201, "")
	claimedConv := msgField(claimed, "conversation_id").(string)

	r = e.login(s, e.sign(claims(map[string]any{"sub": "carol-1", "email": "carol@example.com"})))
	expect(t, r, 200, "")
	carol := r.str("session_token")
	// Carol does not see Bob's conversation, and her first message starts her own.
	if got := e.conversations(carol); len(got) != 0 {
		t.Fatalf("the verified customer sees %d conversations of the earlier claim", len(got))
	}
	expect(t, e.request("GET", "/v1/widget/conversations/"+claimedConv+"/messages", carol, nil), 404, "conversation_not_found")
	m := e.send(carol, "this is carol", "c1")
	expect(t, m, 201, "")
	if msgField(m, "conversation_id") == claimedConv || msgField(m, "trusted") != true {
		t.Fatalf("carol's message = %v", m.body)
	}
	// Bob's conversation stays with his claim, untouched.
	conv, err := e.st.Conversation(context.Background(), claimedConv)
	if err != nil {
		t.Fatal(err)
	}
	if conv.CustomerID != "" || conv.ClaimedEmail != "bob@example.com" {
		t.Fatalf("claimed conversation = %+v", conv)
	}
	// The pre-login token is dead.
	expect(t, e.request("GET", "/v1/widget/session", s, nil), 401, "session_invalid")
}

// Rule 7: the same person — the claim matches the verified email — keeps the conversation.
func TestRule7SamePersonAfterClaim(t *testing.T) {
	e := newEnv(t)
	s := e.session()
	r := e.request("POST", "/v1/widget/identify", s, map[string]string{"name": "Ada", "email": "ada@example.com"})
	expect(t, r, 200, "")
	s = r.str("session_token")
	m := e.send(s, "hello", "1")
	expect(t, m, 201, "")
	r = e.login(s, e.sign(claims(map[string]any{"email": "Ada@Example.com"})))
	expect(t, r, 200, "")
	got := e.conversations(r.str("session_token"))
	if len(got) != 1 || got[0]["id"] != msgField(m, "conversation_id") {
		t.Fatalf("conversations after same-person login = %v", got)
	}
}

// Rule 7: a session verified as one customer that logs in as another gets a fresh session.
func TestRule7SwitchingVerifiedCustomers(t *testing.T) {
	e := newEnv(t)
	a := e.verified(claims(map[string]any{"sub": "a"}))
	expect(t, e.send(a, "a's secret", "1"), 201, "")
	r := e.login(a, e.sign(claims(map[string]any{"sub": "b", "email": "b@example.com"})))
	expect(t, r, 200, "")
	b := r.str("session_token")
	if got := e.conversations(b); len(got) != 0 {
		t.Fatalf("customer b sees %d of a's conversations", len(got))
	}
	expect(t, e.request("GET", "/v1/widget/session", a, nil), 401, "session_invalid")
}

// Rule 8: a verified customer sees every conversation from any device, including follow-ups an agent
// sent while they were away.
func TestRule8CrossDeviceHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := claims(map[string]any{"sub": "bank-user-77", "email": "lin@example.com"})
	laptop := e.verified(c)
	m := e.send(laptop, "what is the rate for a 20k loan?", "l1")
	expect(t, m, 201, "")
	convID := msgField(m, "conversation_id").(string)
	if _, _, err := e.svc.PostAgentMessage(ctx, e.ws.ID, "agent-1", convID, "4.1% over 5 years", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetStatus(ctx, e.ws.ID, "agent-1", convID, store.StatusClosed); err != nil {
		t.Fatal(err)
	}
	// The customer is away; the agent follows up on the closed conversation, which reopens.
	if _, _, err := e.svc.PostAgentMessage(ctx, e.ws.ID, "agent-1", convID, "a better offer: 3.9%", ""); err != nil {
		t.Fatal(err)
	}

	phone := e.verified(c)
	convs := e.conversations(phone)
	if len(convs) != 1 || convs[0]["id"] != convID || convs[0]["status"] != "open" {
		t.Fatalf("phone sees %v", convs)
	}
	got := bodies(e.messages(phone, convID, ""))
	want := []string{"what is the rate for a 20k loan?", "4.1% over 5 years", "a better offer: 3.9%"}
	if len(got) != len(want) {
		t.Fatalf("phone history = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("phone history = %q, want %q", got, want)
		}
	}
	// The phone continues the same conversation.
	r := e.send(phone, "I'll take it", "p1")
	expect(t, r, 201, "")
	if msgField(r, "conversation_id") != convID {
		t.Fatal("the phone started a new conversation")
	}
	if !contains(eventTypes(e.events(convID)), "reopened") {
		t.Fatal("the follow-up did not record a reopen")
	}
}

// Rule 9: logout revokes the session; the device gets a fresh anonymous session that sees nothing.
func TestRule9LogoutOnSharedDevice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ada := e.verified(claims(nil))
	expect(t, e.send(ada, "private", "1"), 201, "")
	r := e.request("POST", "/v1/widget/logout", ada, nil)
	expect(t, r, 200, "")
	fresh := r.str("session_token")
	if fresh == "" || fresh == ada || r.str("identity", "level") != "anonymous" {
		t.Fatalf("logout returned %s", r.raw)
	}
	expect(t, e.request("GET", "/v1/widget/conversations", ada, nil), 401, "session_invalid")
	expect(t, e.send(ada, "ghost", "2"), 401, "session_invalid")
	if got := e.conversations(fresh); len(got) != 0 {
		t.Fatalf("the next visitor sees %d conversations", len(got))
	}
	// The next person on the device chats on their own.
	m := e.send(fresh, "hello, new person here", "1")
	expect(t, m, 201, "")
	if msgField(m, "trusted") != false {
		t.Fatal("the next visitor's message is trusted")
	}
	// Logging out of an anonymous session works too, and the timeline records logouts.
	expect(t, e.request("POST", "/v1/widget/logout", fresh, nil), 200, "")
	if !contains(eventTypes(e.events(msgField(m, "conversation_id").(string))), "logged_out") {
		t.Fatal("no logged_out event")
	}

	// The business's back end can end every session of a customer at once.
	c := claims(map[string]any{"sub": "multi"})
	d1, d2 := e.verified(c), e.verified(c)
	id := e.request("GET", "/v1/widget/session", d1, nil).str("identity", "customer_id")
	n, err := e.svc.LogoutCustomer(ctx, e.ws.ID, id)
	if err != nil || n != 2 {
		t.Fatalf("LogoutCustomer = %d, %v", n, err)
	}
	expect(t, e.request("GET", "/v1/widget/session", d1, nil), 401, "session_invalid")
	expect(t, e.request("GET", "/v1/widget/session", d2, nil), 401, "session_invalid")
	// A customer of another workspace cannot be reached through this one.
	if _, err := e.svc.LogoutCustomer(ctx, "ws_other", id); err == nil {
		t.Fatal("LogoutCustomer crossed workspaces")
	}
}
