package chat_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/store"
)

// consoleEnv adds visitors and a signing key to agentEnv.
type consoleEnv struct {
	*agentEnv
	key chat.NewKey
}

func newConsoleEnv(t *testing.T) *consoleEnv {
	t.Helper()
	e := newAgentEnv(t, chat.Config{Passwords: password.NewHasher(2)})
	key, err := e.svc.CreateKey(t.Context(), e.ws, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	return &consoleEnv{agentEnv: e, key: key}
}

func (e *consoleEnv) token(t *testing.T, email, name string, extra jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"email": email, "name": name, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header["kid"] = e.key.ID
	s, err := tok.SignedString([]byte(e.key.Secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// visitor starts a widget session; with an email it logs in as that verified customer first.
func (e *consoleEnv) visitor(t *testing.T, verifiedEmail string) *chat.Visitor {
	t.Helper()
	_, v, err := e.svc.CreateSession(t.Context(), e.ws)
	if err != nil {
		t.Fatal(err)
	}
	if verifiedEmail != "" {
		if _, v, _, err = e.svc.Login(t.Context(), v, e.token(t, verifiedEmail, "Customer "+verifiedEmail, nil)); err != nil {
			t.Fatalf("login %s: %v", verifiedEmail, err)
		}
	}
	return v
}

func (e *consoleEnv) say(t *testing.T, v *chat.Visitor, body string) store.Message {
	t.Helper()
	m, _, err := e.svc.PostMessage(t.Context(), v, body, "")
	if err != nil {
		t.Fatalf("PostMessage: %v", err)
	}
	return m
}

func (e *consoleEnv) conversation(t *testing.T, id string) store.Conversation {
	t.Helper()
	c, err := e.st.Conversation(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func eventTypes(t *testing.T, e *consoleEnv, conversationID string) string {
	t.Helper()
	evs, err := e.st.Events(t.Context(), conversationID)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	return strings.Join(types, " ")
}

func TestRoutingRulesAndLeastBusy(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	admin := e.createAgent(t, "admin@acme.example", store.RoleAdmin)
	bob := e.createAgent(t, "bob@acme.example", store.RoleAgent)
	carol := e.createAgent(t, "carol@acme.example", store.RoleAgent)
	if _, err := e.svc.SetAvailability(ctx, admin, false); err != nil {
		t.Fatal(err)
	}
	priority, err := e.svc.SaveInbox(ctx, admin, "", "Priority", []string{bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{{Level: store.LevelVerified, EmailDomain: "@Bank.Example", InboxID: priority.ID}}); err != nil {
		t.Fatal(err)
	}

	// A verified customer of bank.example goes to Priority, to its only member.
	m := e.say(t, e.visitor(t, "ada@bank.example"), "my card is blocked")
	c := e.conversation(t, m.ConversationID)
	if c.InboxID != priority.ID || c.AssigneeID != bob.ID {
		t.Errorf("verified bank.example customer: inbox %q assignee %q; want Priority and bob", c.InboxID, c.AssigneeID)
	}
	if got := eventTypes(t, e, c.ID); got != "started routed assigned" {
		t.Errorf("timeline %q; want started routed assigned", got)
	}
	// Not verified, or another domain: no rule matches, and the least busy available agent gets it
	// (carol has none; bob has one; the admin is away).
	m = e.say(t, e.visitor(t, "eve@other.example"), "hello")
	if c := e.conversation(t, m.ConversationID); c.InboxID != "" || c.AssigneeID != carol.ID {
		t.Errorf("other domain: inbox %q assignee %q; want none and carol", c.InboxID, c.AssigneeID)
	}
	_, claimed, err := e.svc.Identify(ctx, e.visitor(t, ""), chat.Claims{Email: "ada@bank.example"})
	if err != nil {
		t.Fatal(err)
	}
	m = e.say(t, claimed, "claims only") // a claimed bank.example email is not a verified one
	if c := e.conversation(t, m.ConversationID); c.InboxID != "" || (c.AssigneeID != carol.ID && c.AssigneeID != bob.ID) {
		t.Errorf("anonymous: inbox %q assignee %q", c.InboxID, c.AssigneeID)
	}

	// Nobody available in Priority: the conversation waits there, unassigned.
	if _, err := e.svc.SetAvailability(ctx, bob, false); err != nil {
		t.Fatal(err)
	}
	m = e.say(t, e.visitor(t, "grace@bank.example"), "anyone?")
	if c := e.conversation(t, m.ConversationID); c.InboxID != priority.ID || c.AssigneeID != "" {
		t.Errorf("no one available: inbox %q assignee %q; want Priority, unassigned", c.InboxID, c.AssigneeID)
	}
	unassigned, err := e.svc.Inbox(ctx, carol, chat.InboxQuery{View: chat.ViewUnassigned})
	if err != nil || len(unassigned) != 1 || unassigned[0].ID != m.ConversationID || !unassigned[0].Unread || unassigned[0].Level != store.LevelVerified {
		t.Errorf("unassigned view: %+v, %v", unassigned, err)
	}

	// Only admins change routing; rules only name the workspace's own inboxes.
	if _, err := e.svc.SetRoutingRules(ctx, bob, nil); err == nil {
		t.Error("an agent changed the routing rules")
	}
	if _, err := e.svc.SetRoutingRules(ctx, admin, []chat.RuleInput{{InboxID: "in_nope"}}); err == nil {
		t.Error("a rule for a missing inbox was accepted")
	}
}

func TestLeastBusyAlternates(t *testing.T) {
	e := newConsoleEnv(t)
	a := e.createAgent(t, "a@acme.example", store.RoleAgent)
	b := e.createAgent(t, "b@acme.example", store.RoleAgent)
	counts := map[string]int{}
	for i := 0; i < 6; i++ {
		m := e.say(t, e.visitor(t, ""), "hi")
		counts[e.conversation(t, m.ConversationID).AssigneeID]++
	}
	if counts[a.ID] != 3 || counts[b.ID] != 3 {
		t.Errorf("assignments %v; want 3 each", counts)
	}
}

func TestTrustMarksAndFollowUp(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	agent := e.createAgent(t, "agent@acme.example", store.RoleAgent)
	v := e.visitor(t, "")
	first := e.say(t, v, "before sign-in")
	_, v, _, err := e.svc.Login(ctx, v, e.token(t, "ada@example.com", "Ada Lovelace", nil))
	if err != nil {
		t.Fatal(err)
	}
	e.say(t, v, "after sign-in")

	marks := func() []string {
		view, err := e.svc.Conversation(ctx, agent, first.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, en := range view.Timeline {
			if en.Message != nil && en.Message.Sender == store.SenderCustomer {
				out = append(out, en.Message.Body+"="+en.Trust)
				if en.Trust != "" && !strings.Contains(en.TrustNote, "verified") {
					t.Errorf("trust note %q does not say why", en.TrustNote)
				}
			}
		}
		return out
	}
	if got := strings.Join(marks(), ","); got != "before sign-in=,after sign-in=green" {
		t.Errorf("open conversation marks %s", got)
	}
	view, _ := e.svc.Conversation(ctx, agent, first.ConversationID)
	if view.Profile.Level != store.LevelVerified || view.Profile.KeyID != e.key.ID || view.Profile.Customer == nil || view.Profile.Customer.Email != "ada@example.com" {
		t.Errorf("profile %+v", view.Profile)
	}
	if _, err := e.svc.SetConversationStatus(ctx, agent, first.ConversationID, store.StatusClosed); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(marks(), ","); got != "before sign-in=,after sign-in=gray" {
		t.Errorf("closed conversation marks %s", got)
	}
	view, _ = e.svc.Conversation(ctx, agent, first.ConversationID)
	if !view.FollowUp || !view.CanReply {
		t.Errorf("closed verified conversation: FollowUp %v CanReply %v", view.FollowUp, view.CanReply)
	}
	// A follow-up reopens it, and the customer's session sees it.
	if _, err := e.svc.Reply(ctx, agent, first.ConversationID, "Your card is unblocked", ""); err != nil {
		t.Fatal(err)
	}
	if c := e.conversation(t, first.ConversationID); c.Status != store.StatusOpen {
		t.Errorf("follow-up left the conversation %s", c.Status)
	}
	msgs, err := e.svc.Messages(ctx, v, first.ConversationID, "", 0)
	if err != nil || msgs[len(msgs)-1].Body != "Your card is unblocked" {
		t.Errorf("the customer does not see the follow-up: %v %v", msgs, err)
	}

	// An anonymous conversation, once closed, cannot be followed up.
	anon := e.say(t, e.visitor(t, ""), "anonymous question")
	if _, err := e.svc.SetConversationStatus(ctx, agent, anon.ConversationID, store.StatusClosed); err != nil {
		t.Fatal(err)
	}
	view, _ = e.svc.Conversation(ctx, agent, anon.ConversationID)
	if view.CanReply || view.FollowUp {
		t.Errorf("closed anonymous conversation: CanReply %v FollowUp %v", view.CanReply, view.FollowUp)
	}
	_, err = e.svc.Reply(ctx, agent, anon.ConversationID, "hello?", "")
	wantProblem(t, "reply to closed anonymous", err, http.StatusConflict, "conversation_closed")
}

func TestClaimWarningRule6(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	agent := e.createAgent(t, "agent@acme.example", store.RoleAgent)
	e.say(t, e.visitor(t, "ada@example.com"), "the real Ada") // a verified profile exists
	v := e.visitor(t, "")
	_, v, err := e.svc.Identify(ctx, v, chat.Claims{Name: "Ada", Email: "ADA@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m := e.say(t, v, "it's me, Ada, what's my balance?")
	view, err := e.svc.Conversation(ctx, agent, m.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	p := view.Profile
	if p.Level != store.LevelIdentified || p.Customer != nil || len(p.Past) != 0 {
		t.Errorf("an identified visitor's profile shows verified data: %+v", p)
	}
	if !strings.Contains(p.ClaimWarning, "ada@example.com") || !strings.Contains(p.ClaimWarning, "verified profile with that email exists") {
		t.Errorf("claim warning %q", p.ClaimWarning)
	}
}

func TestRequestLogin(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	agent := e.createAgent(t, "agent@acme.example", store.RoleAgent)
	m := e.say(t, e.visitor(t, ""), "hi")
	_, err := e.svc.RequestLogin(ctx, agent, m.ConversationID)
	wantProblem(t, "no login URL", err, http.StatusConflict, "no_login_url")
	url := "https://shop.example/login"
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{LoginURL: &url}); err != nil {
		t.Fatal(err)
	}
	sys, err := e.svc.RequestLogin(ctx, agent, m.ConversationID)
	if err != nil || sys.Sender != store.SenderSystem || !strings.Contains(sys.Body, url) {
		t.Fatalf("RequestLogin = %+v, %v", sys, err)
	}
	if got := eventTypes(t, e, m.ConversationID); !strings.HasSuffix(got, "login_requested") {
		t.Errorf("timeline %q has no login_requested", got)
	}
	verified := e.say(t, e.visitor(t, "ada@example.com"), "hi")
	_, err = e.svc.RequestLogin(ctx, agent, verified.ConversationID)
	wantProblem(t, "already verified", err, http.StatusConflict, "already_verified")
}

// TestConsoleTenantIsolation: every console call with an id of another workspace is "not found".
func TestConsoleTenantIsolation(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	mine := e.createAgent(t, "a@acme.example", store.RoleAdmin)
	m := e.say(t, e.visitor(t, "ada@example.com"), "secret stuff")
	conv := e.conversation(t, m.ConversationID)
	inbox, err := e.svc.SaveInbox(ctx, mine, "", "VIP", []string{mine.ID})
	if err != nil {
		t.Fatal(err)
	}

	other, err := e.svc.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	intruder, err := e.svc.CreateAgent(ctx, other.ID, "x@other.example", "X", store.RoleAdmin, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	notFound := func(what string, err error, code string) {
		t.Helper()
		wantProblem(t, what, err, http.StatusNotFound, code)
	}
	_, err = e.svc.Conversation(ctx, intruder, conv.ID)
	notFound("Conversation", err, "conversation_not_found")
	_, err = e.svc.Reply(ctx, intruder, conv.ID, "boo", "")
	notFound("Reply", err, "conversation_not_found")
	_, err = e.svc.Assign(ctx, intruder, conv.ID, intruder.ID)
	notFound("Assign", err, "conversation_not_found")
	_, err = e.svc.SetConversationStatus(ctx, intruder, conv.ID, store.StatusClosed)
	notFound("SetConversationStatus", err, "conversation_not_found")
	_, err = e.svc.RequestLogin(ctx, intruder, conv.ID)
	notFound("RequestLogin", err, "conversation_not_found")
	notFound("MarkRead", e.svc.MarkRead(ctx, intruder, conv.ID, 99), "conversation_not_found")
	_, err = e.svc.Customer(ctx, intruder, conv.CustomerID)
	notFound("Customer", err, "customer_not_found")
	_, err = e.svc.Inbox(ctx, intruder, chat.InboxQuery{InboxID: inbox.ID})
	notFound("Inbox filter", err, "inbox_not_found")
	_, err = e.svc.SaveInbox(ctx, intruder, inbox.ID, "Mine now", nil)
	notFound("SaveInbox", err, "inbox_not_found")
	notFound("DeleteInbox", e.svc.DeleteInbox(ctx, intruder, inbox.ID), "inbox_not_found")
	_, err = e.svc.SetAgentRole(ctx, intruder, mine.ID, store.RoleAgent)
	notFound("SetAgentRole", err, "agent_not_found")
	_, err = e.svc.SetAgentDisabled(ctx, intruder, mine.ID, true)
	notFound("SetAgentDisabled", err, "agent_not_found")
	// Assigning one's own conversation to an agent of another workspace is refused too.
	if _, err := e.svc.Assign(ctx, mine, conv.ID, intruder.ID); err == nil {
		t.Error("a conversation was assigned to another workspace's agent")
	}
	items, err := e.svc.Inbox(ctx, intruder, chat.InboxQuery{View: chat.ViewOpen})
	if err != nil || len(items) != 0 {
		t.Errorf("the intruder's inbox lists %d conversations (%v)", len(items), err)
	}
	if after := e.conversation(t, conv.ID); after.Status != store.StatusOpen || after.AssigneeID != conv.AssigneeID {
		t.Errorf("the conversation changed: %+v", after)
	}
}

func TestCheckTokenAndIdentityLog(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	good := e.token(t, "ada@example.com", "Ada", jwt.MapClaims{"jti": "once"})
	checks, err := e.svc.CheckToken(ctx, e.ws, good)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if !c.OK {
			t.Errorf("check %s failed on a good token: %s", c.Name, c.Message)
		}
	}
	if len(checks) < 6 {
		t.Errorf("only %d checks: %+v", len(checks), checks)
	}
	// Checking did not use the jti: the token still logs in, once.
	if _, _, _, err := e.svc.Login(ctx, e.visitor(t, ""), good); err != nil {
		t.Fatalf("login after the check: %v", err)
	}

	expired := e.token(t, "ada@example.com", "Ada", jwt.MapClaims{"iat": time.Now().Add(-9 * time.Minute).Unix(), "exp": time.Now().Add(-3 * time.Minute).Unix()})
	checks, _ = e.svc.CheckToken(ctx, e.ws, expired)
	_, _, _, loginErr := e.svc.Login(ctx, e.visitor(t, ""), expired)
	var times string
	for _, c := range checks {
		if c.Name == "Times" && !c.OK {
			times = c.Code + ": " + c.Message
		}
	}
	if loginErr == nil || times != loginErr.Error() {
		t.Errorf("checker says %q, login says %v; they must match", times, loginErr)
	}

	// A forged token: the identity log has the code and key id, never the token.
	forged := good[:len(good)-4] + "AAAA"
	if _, _, _, err := e.svc.Login(ctx, e.visitor(t, ""), forged); err == nil {
		t.Fatal("forged token accepted")
	}
	log, err := e.svc.LoginFailures(ctx, e.ws, 10)
	if err != nil || len(log) != 2 {
		t.Fatalf("identity log %+v, %v; want 2 failures", log, err)
	}
	if log[0].Code != "token_bad_signature" || log[0].KeyID != e.key.ID || log[0].Alg != "HS256" || log[1].Code != "token_expired" {
		t.Errorf("identity log %+v", log)
	}
	for _, f := range log {
		if strings.Contains(f.Message, forged[:20]) || strings.Contains(f.Message, expired[:20]) {
			t.Errorf("the identity log holds a token: %+v", f)
		}
	}
	// A replayed jti is logged as well.
	if _, _, _, err := e.svc.Login(ctx, e.visitor(t, ""), good); err == nil {
		t.Fatal("replayed jti accepted")
	}
	if log, _ := e.svc.LoginFailures(ctx, e.ws, 10); len(log) != 3 || log[0].Code != "token_replayed" {
		t.Errorf("replay not in the identity log: %+v", log)
	}
}

func TestReportCounts(t *testing.T) {
	ctx := t.Context()
	e := newConsoleEnv(t)
	agent := e.createAgent(t, "agent@acme.example", store.RoleAgent)
	e.say(t, e.visitor(t, ""), "anonymous")
	v := e.visitor(t, "ada@example.com")
	e.say(t, v, "trusted 1")
	e.say(t, v, "trusted 2")
	r, err := e.svc.Report(ctx, agent, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 7 || r.Anonymous != 1 || r.Verified != 1 || r.CustomerMessages != 3 || r.TrustedCustomerMessages != 2 {
		t.Errorf("report %+v", r)
	}
	if today := r.Days[6]; today.Verified != 1 || !today.Day.Equal(time.Now().UTC().Truncate(24*time.Hour)) {
		t.Errorf("today %+v", today)
	}
	if s := r.TrustedShare(); s < 0.66 || s > 0.67 {
		t.Errorf("trusted share %v", s)
	}
}

// A reply sent twice with one client id (a double click, a resubmitted form) is one message: the second
// send answers with the first.
func TestAgentReplyRetryIsIdempotent(t *testing.T) {
	e := newConsoleEnv(t)
	agent := e.createAgent(t, "sam@acme.example", store.RoleAgent)
	first := e.say(t, e.visitor(t, "ada@example.com"), "hello")
	m1, created, err := e.svc.PostAgentMessage(t.Context(), e.ws, agent.ID, first.ConversationID, "hi Ada", "reply-1")
	if err != nil || !created {
		t.Fatalf("first reply: %v, created %v", err, created)
	}
	m2, created, err := e.svc.PostAgentMessage(t.Context(), e.ws, agent.ID, first.ConversationID, "hi Ada", "reply-1")
	if err != nil || created || m2.Seq != m1.Seq {
		t.Fatalf("repeated reply = seq %d, created %v, %v; want seq %d, not created", m2.Seq, created, err, m1.Seq)
	}
	msgs, err := e.st.Messages(t.Context(), first.ConversationID, 0, 100)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("conversation holds %d messages (%v), want 2", len(msgs), err)
	}
	// The same client id in another conversation is not an answer to this one.
	other := e.say(t, e.visitor(t, "grace@example.com"), "hi")
	if _, _, err := e.svc.PostAgentMessage(t.Context(), e.ws, agent.ID, other.ConversationID, "hi Grace", "reply-1"); err == nil {
		t.Error("a client id used in another conversation was accepted as a retry")
	}
}

// The first message of a conversation is stamped after its "started" event.
func TestFirstMessageFollowsStartedEvent(t *testing.T) {
	e := newConsoleEnv(t)
	m := e.say(t, e.visitor(t, ""), "hello")
	evs, err := e.st.Events(t.Context(), m.ConversationID)
	if err != nil || len(evs) == 0 || evs[0].Type != "started" {
		t.Fatalf("events %v, %v", evs, err)
	}
	if m.CreatedAt.Before(evs[0].CreatedAt) {
		t.Errorf("first message at %v, before the started event at %v", m.CreatedAt, evs[0].CreatedAt)
	}
}
