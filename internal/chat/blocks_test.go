package chat_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/store"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// blockEnv is a workspace with an agent and a signing key, on a clock the test controls.
type blockEnv struct {
	*agentEnv
	clock  *testClock
	key    chat.NewKey
	agent  store.Agent
	tokens map[string]string // session id → token
}

func newBlockEnv(t *testing.T) *blockEnv {
	t.Helper()
	clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
	e := newAgentEnv(t, chat.Config{Passwords: password.NewHasher(2), Now: clock.Now})
	key, err := e.svc.CreateKey(t.Context(), e.ws, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	return &blockEnv{agentEnv: e, clock: clock, key: key, agent: e.createAgent(t, "agent@acme.example", store.RoleAgent), tokens: map[string]string{}}
}

// visitor starts a widget session whose requests come from addr.
func (e *blockEnv) visitor(t *testing.T, ws, addr string) *chat.Visitor {
	t.Helper()
	token, v, err := e.svc.CreateSession(t.Context(), ws)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens[v.Session.ID] = token
	v.ClientAddr = addr
	return v
}

// request is v as a new request from it finds it: authenticated by its token again, which reads the
// session and its workspace anew, from v's current address.
func (e *blockEnv) request(t *testing.T, v *chat.Visitor) *chat.Visitor {
	t.Helper()
	fresh, err := e.svc.Authenticate(t.Context(), e.tokens[v.Session.ID])
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	fresh.ClientAddr = v.ClientAddr
	return fresh
}

// login signs v in as the customer with that user id, with a token signed now by the test's clock.
func (e *blockEnv) login(t *testing.T, v *chat.Visitor, sub string) *chat.Visitor {
	t.Helper()
	now := e.clock.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "email": sub + "@bank.example", "name": "Customer " + sub, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	})
	tok.Header["kid"] = e.key.ID
	raw, err := tok.SignedString([]byte(e.key.Secret))
	if err != nil {
		t.Fatal(err)
	}
	token, next, _, err := e.svc.Login(t.Context(), e.request(t, v), raw)
	if err != nil {
		t.Fatalf("login as %s: %v", sub, err)
	}
	e.tokens[next.Session.ID] = token
	next.ClientAddr = v.ClientAddr
	return next
}

func (e *blockEnv) send(t *testing.T, v *chat.Visitor, body string) (store.Message, error) {
	t.Helper()
	m, _, err := e.svc.PostMessage(t.Context(), e.request(t, v), body, "")
	return m, err
}

func (e *blockEnv) mustSend(t *testing.T, v *chat.Visitor, body string) store.Message {
	t.Helper()
	m, err := e.send(t, v, body)
	if err != nil {
		t.Fatalf("sending %q: %v", body, err)
	}
	return m
}

// wantBlocked fails unless err is the neutral 403 blocked, which says nothing about the block.
func wantBlocked(t *testing.T, what string, err error) {
	t.Helper()
	p := wantProblem(t, what, err, http.StatusForbidden, "blocked")
	if p.Code == "blocked" && p.Message != "this chat is unavailable" {
		t.Errorf("%s: the blocked visitor is told %q; want only that the chat is unavailable", what, p.Message)
	}
}

func (e *blockEnv) block(t *testing.T, agent store.Agent, conversationID string, d time.Duration, reason string) store.Block {
	t.Helper()
	ctx := chat.WithActor(t.Context(), chat.AgentActor(agent))
	b, err := e.svc.BlockVisitor(ctx, agent, conversationID, chat.BlockInput{For: d, Reason: reason})
	if err != nil {
		t.Fatalf("BlockVisitor: %v", err)
	}
	return b
}

func (e *blockEnv) conversationCount(t *testing.T, v *chat.Visitor) int {
	t.Helper()
	convs, err := e.svc.Conversations(t.Context(), e.request(t, v))
	if err != nil {
		t.Fatalf("the blocked visitor cannot list their conversations: %v", err)
	}
	return len(convs)
}

// A verified customer is blocked as the customer: on a second device, in a new session that signs in
// as them, too, including the message that would open a new conversation. They still sign in and read.
func TestBlockVerifiedCustomerOnEveryDevice(t *testing.T) {
	ctx := t.Context()
	e := newBlockEnv(t)
	laptop := e.login(t, e.visitor(t, e.ws, "203.0.113.10"), "ada")
	first := e.mustSend(t, laptop, "you are all useless")

	b := e.block(t, e.agent, first.ConversationID, 0, "insults agents")
	if b.CustomerID != laptop.Session.CustomerID || b.SessionID != "" || b.Addr != "" || !b.ExpiresAt.IsZero() || b.Reason != "insults agents" {
		t.Errorf("block = %+v; want the customer %s only, until lifted, with the reason", b, laptop.Session.CustomerID)
	}
	_, err := e.send(t, laptop, "hello?")
	wantBlocked(t, "the blocked customer's laptop", err)

	// A second device: a new session from elsewhere, signed in as the same customer. Login works.
	phone := e.login(t, e.visitor(t, e.ws, "198.51.100.20"), "ada")
	_, err = e.send(t, phone, "from my phone")
	wantBlocked(t, "the blocked customer's second device", err)
	// Closed, so the next message would open a new conversation: refused as well, and nothing opened.
	if _, err := e.svc.SetConversationStatus(ctx, e.agent, first.ConversationID, store.StatusClosed); err != nil {
		t.Fatal(err)
	}
	_, err = e.send(t, phone, "a new conversation")
	wantBlocked(t, "the first message of a new conversation", err)
	if n := e.conversationCount(t, phone); n != 1 {
		t.Errorf("the blocked customer has %d conversations; want still 1", n)
	}
	// Reading is not blocked.
	msgs, err := e.svc.Messages(ctx, e.request(t, phone), first.ConversationID, "", 0)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "you are all useless" {
		t.Errorf("the blocked customer reads %d messages, %v; want their one message", len(msgs), err)
	}
	// Claims are not the customer's to make anyway; another customer, and an anonymous visitor on the
	// blocked customer's own address, are not blocked.
	e.mustSend(t, e.login(t, e.visitor(t, e.ws, "203.0.113.10"), "bob"), "hello from bob")
	e.mustSend(t, e.visitor(t, e.ws, "203.0.113.10"), "hello, anonymously")
}

// An anonymous or identified visitor is blocked by session and by the address their messages came from:
// a fresh session from that address is refused, another address is not.
func TestBlockVisitorBySessionAndAddress(t *testing.T) {
	ctx := t.Context()
	e := newBlockEnv(t)
	v := e.visitor(t, e.ws, "198.51.100.1")
	e.mustSend(t, v, "first, from home")
	v.ClientAddr = "203.0.113.7" // moved: the last address counts
	sent, _, err := e.svc.PostMessage(ctx, e.request(t, v), "then from a café", "before-block")
	if err != nil {
		t.Fatal(err)
	}
	b := e.block(t, e.agent, sent.ConversationID, 24*time.Hour, "")
	if b.SessionID != v.Session.ID || b.Addr != "203.0.113.7" || b.CustomerID != "" || !b.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Errorf("block = %+v; want session %s and address 203.0.113.7, for a day", b, v.Session.ID)
	}

	_, err = e.send(t, v, "again")
	wantBlocked(t, "the blocked session", err)
	v.ClientAddr = "192.0.2.99"
	_, err = e.send(t, v, "from another address")
	wantBlocked(t, "the blocked session from another address", err)
	_, _, err = e.svc.Identify(ctx, e.request(t, v), chat.Claims{Name: "a new insult"})
	wantBlocked(t, "identify of the blocked session", err)
	// A retry of a message stored before the block gets its answer.
	if m, created, err := e.svc.PostMessage(ctx, e.request(t, v), "then from a café", "before-block"); err != nil || created || m.N != sent.N {
		t.Errorf("retry of a message sent before the block = %+v, %v, %v; want the stored message", m, created, err)
	}

	fresh := e.visitor(t, e.ws, "203.0.113.7")
	_, err = e.send(t, fresh, "a new session, same address")
	wantBlocked(t, "a fresh session from the blocked address", err)
	if n := e.conversationCount(t, fresh); n != 0 {
		t.Errorf("the fresh session from the blocked address opened %d conversations; want none", n)
	}
	e.mustSend(t, e.visitor(t, e.ws, "203.0.113.8"), "a different address")
	e.mustSend(t, e.visitor(t, e.ws, "198.51.100.1"), "the visitor's earlier address")
	// A verified customer is judged as a customer, not by where they are.
	e.mustSend(t, e.login(t, e.visitor(t, e.ws, "203.0.113.7"), "carol"), "a customer at the same café")

	// Reading is not blocked.
	if n := e.conversationCount(t, v); n != 1 {
		t.Errorf("the blocked visitor lists %d conversations; want 1", n)
	}
	if msgs, err := e.svc.Messages(ctx, e.request(t, v), sent.ConversationID, "", 0); err != nil || len(msgs) != 2 {
		t.Errorf("the blocked visitor reads %d messages, %v; want 2", len(msgs), err)
	}
}

// An IPv6 visitor is blocked by their /64.
func TestBlockIPv6ByPrefix(t *testing.T) {
	e := newBlockEnv(t)
	v := e.visitor(t, e.ws, "2001:db8:1:2::7")
	b := e.block(t, e.agent, e.mustSend(t, v, "hi").ConversationID, time.Hour, "")
	if b.Addr != "2001:db8:1:2::/64" {
		t.Errorf("block address = %q; want 2001:db8:1:2::/64", b.Addr)
	}
	_, err := e.send(t, e.visitor(t, e.ws, "2001:db8:1:2:ffff::1"), "same /64")
	wantBlocked(t, "another address of the blocked /64", err)
	e.mustSend(t, e.visitor(t, e.ws, "2001:db8:1:3::7"), "another /64")
}

// A shared address (loopback, private: a proxy when --trusted-proxies is not set) is never blocked; the
// visitor is blocked by session only, and the console is told why.
func TestBlockSharedAddressBySessionOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1", "10.1.2.3", "::1", "fe80::1", ""} {
		t.Run("address "+addr, func(t *testing.T) {
			e := newBlockEnv(t)
			v := e.visitor(t, e.ws, addr)
			m := e.mustSend(t, v, "hi")
			conv, err := e.svc.Conversation(t.Context(), e.agent, m.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			vb, err := e.svc.ConversationBlock(t.Context(), e.agent, conv.Conversation)
			if err != nil || vb.SharedAddr != addr || vb.Block != nil || vb.Verified {
				t.Errorf("ConversationBlock = %+v, %v; want shared address %q and no block", vb, err, addr)
			}
			b := e.block(t, e.agent, m.ConversationID, time.Hour, "")
			if b.SessionID != v.Session.ID || b.Addr != "" {
				t.Errorf("block = %+v; want the session only", b)
			}
			_, err = e.send(t, v, "again")
			wantBlocked(t, "the blocked session", err)
			e.mustSend(t, e.visitor(t, e.ws, addr), "everyone else behind the same address")
		})
	}
}

// A block is live until its expiry, not at it; "until lifted" never expires.
func TestBlockExpiry(t *testing.T) {
	e := newBlockEnv(t)
	hour := e.visitor(t, e.ws, "203.0.113.1")
	e.block(t, e.agent, e.mustSend(t, hour, "hi").ConversationID, time.Hour, "")
	forever := e.visitor(t, e.ws, "203.0.113.2")
	e.block(t, e.agent, e.mustSend(t, forever, "hi").ConversationID, 0, "")

	e.clock.Advance(time.Hour - time.Microsecond)
	_, err := e.send(t, hour, "a moment before the expiry")
	wantBlocked(t, "a moment before the expiry", err)
	_, err = e.send(t, e.visitor(t, e.ws, "203.0.113.1"), "a moment before the expiry, new session")
	wantBlocked(t, "a new session a moment before the expiry", err)
	e.clock.Advance(time.Microsecond)
	e.mustSend(t, hour, "at the expiry")
	e.mustSend(t, e.visitor(t, e.ws, "203.0.113.1"), "at the expiry, new session")

	// A year later the blocked session has long expired; its address is still blocked.
	e.clock.Advance(400 * 24 * time.Hour)
	_, err = e.send(t, e.visitor(t, e.ws, "203.0.113.2"), "a year later")
	wantBlocked(t, "a block until lifted, a year later", err)

	// The blocks list tells live from ended.
	list, err := e.svc.Blocks(t.Context(), e.agent, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !list[0].Live || list[1].Live || list[0].CreatedByName != e.agent.Name {
		t.Errorf("Blocks = %+v; want the block until lifted live (by %s), the hour's ended", list, e.agent.Name)
	}
}

// Lifting a block lets the visitor send again; the audit trail records both, with who did them.
func TestBlockLiftAndAudit(t *testing.T) {
	ctx := t.Context()
	e := newBlockEnv(t)
	colleague := e.createAgent(t, "colleague@acme.example", store.RoleAgent)
	v := e.visitor(t, e.ws, "203.0.113.5")
	m := e.mustSend(t, v, "hi")
	b := e.block(t, e.agent, m.ConversationID, 7*24*time.Hour, "spam")

	_, err := e.svc.BlockVisitor(ctx, colleague, m.ConversationID, chat.BlockInput{For: time.Hour})
	wantProblem(t, "blocking a blocked visitor again", err, http.StatusConflict, "already_blocked")
	vb, err := e.svc.ConversationBlock(ctx, colleague, e.conversation(t, m.ConversationID))
	if err != nil || vb.Block == nil || vb.Block.ID != b.ID || vb.Block.Reason != "spam" {
		t.Errorf("ConversationBlock = %+v, %v; want block %s", vb, err, b.ID)
	}

	// Any agent may lift, not only the one who blocked or an administrator.
	lifted, err := e.svc.LiftBlock(chat.WithActor(ctx, chat.AgentActor(colleague)), colleague, b.ID)
	if err != nil {
		t.Fatalf("LiftBlock: %v", err)
	}
	if lifted.LiftedBy != colleague.ID || !lifted.LiftedAt.Equal(e.clock.Now()) {
		t.Errorf("lifted block = %+v; want lifted by %s now", lifted, colleague.ID)
	}
	e.mustSend(t, v, "sorry")
	e.mustSend(t, e.visitor(t, e.ws, "203.0.113.5"), "a new session from the address")
	_, err = e.svc.LiftBlock(ctx, e.agent, b.ID)
	wantProblem(t, "lifting a lifted block", err, http.StatusConflict, "block_ended")
	if vb, err = e.svc.ConversationBlock(ctx, colleague, e.conversation(t, m.ConversationID)); err != nil || vb.Block != nil {
		t.Errorf("ConversationBlock after the lift = %+v, %v; want none", vb, err)
	}

	// An expired block cannot be lifted either; blocking again is possible once one has ended.
	again := e.block(t, e.agent, m.ConversationID, time.Hour, "")
	e.clock.Advance(time.Hour)
	_, err = e.svc.LiftBlock(ctx, e.agent, again.ID)
	wantProblem(t, "lifting an expired block", err, http.StatusConflict, "block_ended")

	events, err := e.svc.AuditEvents(ctx, e.ws, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range events {
		if strings.HasPrefix(ev.Action, "block.") {
			got = append(got, ev.Action+" "+ev.Target+" by "+ev.Actor)
			if ev.Action == "block.created" && ev.Target == b.ID && (!strings.Contains(ev.Detail, "203.0.113.5") || !strings.Contains(ev.Detail, m.ConversationID)) {
				t.Errorf("block.created detail %q; want the address and the conversation", ev.Detail)
			}
			if strings.Contains(ev.Detail, "spam") {
				t.Errorf("audit detail %q carries the reason; it is for agents' eyes on the blocks page", ev.Detail)
			}
		}
	}
	want := []string{
		"block.created " + again.ID + " by " + chat.AgentActor(e.agent),
		"block.lifted " + b.ID + " by " + chat.AgentActor(colleague),
		"block.created " + b.ID + " by " + chat.AgentActor(e.agent),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func (e *blockEnv) conversation(t *testing.T, id string) store.Conversation {
	t.Helper()
	c, err := e.st.Conversation(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Blocks belong to one workspace: another workspace's agent can neither block nor lift, nor see them,
// and a blocked address is blocked in its workspace only.
func TestBlockTenantIsolation(t *testing.T) {
	ctx := t.Context()
	e := newBlockEnv(t)
	other, err := e.svc.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	intruder, err := e.svc.CreateAgent(ctx, other.ID, "admin@other.example", "Other admin", store.RoleAdmin, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	v := e.visitor(t, e.ws, "203.0.113.9")
	m := e.mustSend(t, v, "hi")

	_, err = e.svc.BlockVisitor(ctx, intruder, m.ConversationID, chat.BlockInput{For: time.Hour})
	wantProblem(t, "another workspace's agent blocking", err, http.StatusNotFound, "conversation_not_found")
	e.mustSend(t, v, "still fine")
	_, err = e.svc.ConversationBlock(ctx, intruder, e.conversation(t, m.ConversationID))
	wantProblem(t, "another workspace's agent reading the block panel", err, http.StatusNotFound, "conversation_not_found")

	b := e.block(t, e.agent, m.ConversationID, 0, "secret reason")
	_, err = e.svc.LiftBlock(ctx, intruder, b.ID)
	wantProblem(t, "another workspace's agent lifting", err, http.StatusNotFound, "block_not_found")
	_, err = e.send(t, v, "still blocked")
	wantBlocked(t, "after another workspace's attempt to lift", err)
	if list, err := e.svc.Blocks(ctx, intruder, 0); err != nil || len(list) != 0 {
		t.Errorf("another workspace lists %d blocks, %v; want none", len(list), err)
	}
	// The same address in the other workspace is not blocked.
	e.mustSend(t, e.visitor(t, other.ID, "203.0.113.9"), "hello, other workspace")
}

// What an agent asks for is checked.
func TestBlockInputChecked(t *testing.T) {
	ctx := t.Context()
	e := newBlockEnv(t)
	m := e.mustSend(t, e.visitor(t, e.ws, "203.0.113.3"), "hi")
	for _, in := range []chat.BlockInput{
		{For: -time.Hour},
		{For: chat.MaxBlockDuration + time.Hour},
		{For: time.Hour, Reason: strings.Repeat("x", 501)},
		{For: time.Hour, Reason: "bidi \u202e trick"},
	} {
		_, err := e.svc.BlockVisitor(ctx, e.agent, m.ConversationID, in)
		wantProblem(t, "block with a bad input", err, http.StatusUnprocessableEntity, "invalid_field")
	}
	_, err := e.svc.BlockVisitor(ctx, e.agent, "cv_missing", chat.BlockInput{})
	wantProblem(t, "block of a missing conversation", err, http.StatusNotFound, "conversation_not_found")
	if list, _ := e.svc.Blocks(ctx, e.agent, 0); len(list) != 0 {
		t.Errorf("refused blocks stored %d blocks", len(list))
	}
}

// The workspace says until when any of its blocks may be live, so that messages in a workspace without a
// live block need not look for one: blocks extend it, lifts shorten it to the blocks left, and saving
// the workspace's settings keeps it.
func TestBlocksUntilFollowsBlocks(t *testing.T) {
	ctx := t.Context()
	e := newBlockEnv(t)
	until := func(what string, want time.Time) {
		t.Helper()
		w, err := e.svc.Workspace(ctx, e.ws)
		if err != nil {
			t.Fatal(err)
		}
		if !w.Settings.BlocksUntil.Equal(want) {
			t.Errorf("%s: BlocksUntil = %v; want %v", what, w.Settings.BlocksUntil, want)
		}
	}
	until("no block yet", time.Time{})
	start := e.clock.Now()
	hour := e.visitor(t, e.ws, "203.0.113.11")
	month := e.visitor(t, e.ws, "203.0.113.12")
	forever := e.visitor(t, e.ws, "203.0.113.13")
	bHour := e.block(t, e.agent, e.mustSend(t, hour, "hi").ConversationID, time.Hour, "")
	until("a block for an hour", start.Add(time.Hour))
	bMonth := e.block(t, e.agent, e.mustSend(t, month, "hi").ConversationID, 30*24*time.Hour, "")
	until("and one for 30 days", start.Add(30*24*time.Hour))
	bForever := e.block(t, e.agent, e.mustSend(t, forever, "hi").ConversationID, 0, "")
	until("and one until lifted", time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC))

	// An administrator saving the settings keeps it.
	name := "Acme Support"
	if _, err := e.svc.UpdateWorkspace(ctx, e.ws, chat.SettingsPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	_, err := e.send(t, hour, "after a settings change")
	wantBlocked(t, "after the workspace's settings were saved", err)

	for _, step := range []struct {
		lift store.Block
		want time.Time
	}{{bForever, start.Add(30 * 24 * time.Hour)}, {bMonth, start.Add(time.Hour)}, {bHour, time.Time{}}} {
		if _, err := e.svc.LiftBlock(ctx, e.agent, step.lift.ID); err != nil {
			t.Fatal(err)
		}
		until("after lifting "+step.lift.ID, step.want)
	}
	e.mustSend(t, hour, "free again")
	e.mustSend(t, forever, "free again")
}
