package chat_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// writeCounter is the real store, counting the write transactions and conversation reads made through
// it.
type writeCounter struct {
	store.Store
	updates, conversationReads atomic.Int64
}

func (w *writeCounter) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	w.updates.Add(1)
	return w.Store.Update(ctx, fn)
}

func (w *writeCounter) Conversation(ctx context.Context, id string) (store.Conversation, error) {
	w.conversationReads.Add(1)
	return w.Store.Conversation(ctx, id)
}

// typingFixture: a workspace with an agent, a visitor who started a conversation, and a hub to watch.
type typingFixture struct {
	svc   *chat.Service
	hub   *realtime.Hub
	st    *writeCounter
	agent store.Agent
	v     *chat.Visitor
	conv  store.Conversation
}

func newTypingFixture(t *testing.T) *typingFixture {
	t.Helper()
	ctx := t.Context()
	st := &writeCounter{Store: dbtest.Open(t)}
	hub := realtime.NewHub()
	// No relay: typing goes straight to the hub here (the relay is TestTypingAndSeenCrossInstances's).
	svc := chat.New(chat.Config{Store: st, Events: hub, Passwords: password.NewHasher(2)})
	ws, err := svc.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	agent, err := svc.CreateAgent(ctx, ws.ID, "sam@acme.example", "Sam", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := svc.CreateSession(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := svc.PostMessage(ctx, v, "Hello", "")
	if err != nil {
		t.Fatal(err)
	}
	conv, err := st.Conversation(ctx, m.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	return &typingFixture{svc: svc, hub: hub, st: st, agent: agent, v: v, conv: conv}
}

// next returns the next event of a subscription, or fails.
func next(t *testing.T, sub *realtime.Subscription, what string) realtime.Event {
	t.Helper()
	select {
	case ev := <-sub.Events():
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no event within 10s", what)
		return realtime.Event{}
	}
}

func none(t *testing.T, sub *realtime.Subscription, what string) {
	t.Helper()
	select {
	case ev := <-sub.Events():
		t.Fatalf("%s: got %s %+v; want nothing", what, ev.Type, ev.Data)
	default:
	}
}

func TestTypingReachesTheOtherSideAndWritesNothing(t *testing.T) {
	ctx := t.Context()
	f := newTypingFixture(t)
	agents := f.hub.Subscribe(64, chat.WorkspaceTopic(f.conv.WorkspaceID))
	defer agents.Close()
	customer := f.hub.Subscribe(64, f.v.Topics()...)
	defer customer.Close()
	writes, reads := f.st.updates.Load(), f.st.conversationReads.Load()

	gate := f.svc.CustomerTyping(f.v)
	for _, state := range []string{chat.TypingStart, chat.TypingStop} {
		if sent, err := gate.Typing(ctx, f.conv.ID, state); err != nil || !sent {
			t.Fatalf("customer typing %s: sent %v, err %v", state, sent, err)
		}
		ev := next(t, agents, "agents")
		if got, ok := ev.Data.(chat.Typing); !ok || got != (chat.Typing{ConversationID: f.conv.ID, From: store.SenderCustomer, State: state}) {
			t.Fatalf("agents got %s %+v; want the customer's typing %s", ev.Type, ev.Data, state)
		}
	}
	none(t, customer, "the customer's own devices")

	agentGate := f.svc.AgentTyping(f.agent)
	if sent, err := agentGate.Typing(ctx, f.conv.ID, chat.TypingStart); err != nil || !sent {
		t.Fatalf("agent typing: sent %v, err %v", sent, err)
	}
	ev := next(t, customer, "the customer")
	if got, ok := ev.Data.(chat.Typing); !ok || got != (chat.Typing{ConversationID: f.conv.ID, From: store.SenderAgent, AgentID: f.agent.ID, State: chat.TypingStart}) {
		t.Fatalf("the customer got %s %+v; want the agent's typing", ev.Type, ev.Data)
	}
	none(t, agents, "agents, for an agent's typing")

	if n := f.st.updates.Load() - writes; n != 0 {
		t.Errorf("typing ran %d write transactions; want none", n)
	}
	// Each gate looked the conversation up once, however many frames it took.
	if n := f.st.conversationReads.Load() - reads; n != 2 {
		t.Errorf("typing read the conversation %d times for two gates; want 2", n)
	}
}

func TestTypingOnlyInOwnConversations(t *testing.T) {
	ctx := t.Context()
	f := newTypingFixture(t)
	agents := f.hub.Subscribe(64, chat.WorkspaceTopic(f.conv.WorkspaceID))
	defer agents.Close()

	_, other, err := f.svc.CreateSession(ctx, f.conv.WorkspaceID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.CustomerTyping(other).Typing(ctx, f.conv.ID, chat.TypingStart)
	wantProblem(t, "another session's conversation", err, http.StatusNotFound, "conversation_not_found")
	_, err = f.svc.CustomerTyping(f.v).Typing(ctx, "cv_doesnotexist", chat.TypingStart)
	wantProblem(t, "a missing conversation", err, http.StatusNotFound, "conversation_not_found")
	_, err = f.svc.CustomerTyping(f.v).Typing(ctx, "<script>", chat.TypingStart)
	wantProblem(t, "junk", err, http.StatusNotFound, "conversation_not_found")
	_, err = f.svc.CustomerTyping(f.v).Typing(ctx, f.conv.ID, "typing: secret text")
	wantProblem(t, "a bad state", err, http.StatusUnprocessableEntity, "invalid_field")

	// An agent of another workspace cannot type into this one.
	ws2, err := f.svc.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := f.svc.CreateAgent(ctx, ws2.ID, "eve@other.example", "Eve", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	customer := f.hub.Subscribe(64, f.v.Topics()...)
	defer customer.Close()
	_, err = f.svc.AgentTyping(stranger).Typing(ctx, f.conv.ID, chat.TypingStart)
	wantProblem(t, "another workspace's agent", err, http.StatusNotFound, "conversation_not_found")
	none(t, agents, "agents, after refused frames")
	none(t, customer, "the customer, after a stranger's frame")
}

func TestTypingRateLimitPerSocket(t *testing.T) {
	ctx := t.Context()
	f := newTypingFixture(t)
	agents := f.hub.Subscribe(256, chat.WorkspaceTopic(f.conv.WorkspaceID))
	defer agents.Close()
	gate := f.svc.CustomerTyping(f.v)
	start := time.Now()
	sent := 0
	const frames = 100
	for range frames {
		ok, err := gate.Typing(ctx, f.conv.ID, chat.TypingStart)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			sent++
		}
	}
	// A burst of 4, then one a second: however slow the machine, a flood mostly drops.
	allowed := 4 + int(time.Since(start)/time.Second) + 1
	if sent < 4 || sent > allowed || len(agents.Events()) != sent {
		t.Fatalf("%d of %d frames passed (%d published); want 4 to %d", sent, frames, len(agents.Events()), allowed)
	}
	// Another socket of the same session has a budget of its own.
	if ok, err := f.svc.CustomerTyping(f.v).Typing(ctx, f.conv.ID, chat.TypingStop); err != nil || !ok {
		t.Fatalf("a fresh gate: sent %v, err %v", ok, err)
	}
	// Frames naming ever new conversations cost a read each only within the same budget.
	flood := f.svc.CustomerTyping(f.v)
	reads := f.st.conversationReads.Load()
	start = time.Now()
	for i := range frames {
		_, _ = flood.Typing(ctx, fmt.Sprintf("cv_nosuch%d", i), chat.TypingStart)
	}
	allowed = 4 + int(time.Since(start)/time.Second) + 1
	if n := int(f.st.conversationReads.Load() - reads); n > allowed {
		t.Fatalf("%d frames naming unknown conversations cost %d reads; want at most %d", frames, n, allowed)
	}
}

func TestSeenIsMonotonicAndValidated(t *testing.T) {
	ctx := t.Context()
	f := newTypingFixture(t)
	agents := f.hub.Subscribe(64, chat.WorkspaceTopic(f.conv.WorkspaceID))
	defer agents.Close()
	reply := func(body string) store.Message {
		m, _, err := f.svc.PostAgentMessage(ctx, f.conv.WorkspaceID, f.agent.ID, f.conv.ID, body, "")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a2, a3 := reply("one"), reply("two")
	for len(agents.Events()) > 0 {
		<-agents.Events()
	}
	if err := f.svc.MarkSeen(ctx, f.v, f.conv.ID, chat.MessageID(a3)); err != nil {
		t.Fatalf("MarkSeen: %v", err)
	}
	ev := next(t, agents, "agents")
	seen, ok := ev.Data.(chat.SeenMark)
	if !ok || seen.ConversationID != f.conv.ID || seen.N != a3.N || seen.At.IsZero() {
		t.Fatalf("agents got %s %+v; want seen up to %d", ev.Type, ev.Data, a3.N)
	}
	// Going back changes nothing and tells nobody.
	if err := f.svc.MarkSeen(ctx, f.v, f.conv.ID, chat.MessageID(a2)); err != nil {
		t.Fatalf("MarkSeen of an older message: %v", err)
	}
	none(t, agents, "agents, after an older mark")
	got, err := f.svc.CustomerSeen(ctx, f.agent, f.conv.ID)
	if err != nil || got.N != a3.N || !got.At.Equal(seen.At) {
		t.Fatalf("CustomerSeen = %+v, %v; want %d at %v", got, err, a3.N, seen.At)
	}

	// Only the conversation's own agent messages.
	customerMsg, _, err := f.svc.PostMessage(ctx, f.v, "thanks", "")
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.MarkSeen(ctx, f.v, f.conv.ID, chat.MessageID(customerMsg))
	wantProblem(t, "a customer message", err, http.StatusUnprocessableEntity, "invalid_field")
	err = f.svc.MarkSeen(ctx, f.v, f.conv.ID, chat.MessageID(store.Message{ConversationID: f.conv.ID, N: 99}))
	wantProblem(t, "a message not written yet", err, http.StatusUnprocessableEntity, "invalid_field")
	err = f.svc.MarkSeen(ctx, f.v, f.conv.ID, "msg_nonsense")
	wantProblem(t, "a malformed id", err, http.StatusUnprocessableEntity, "invalid_field")
	// Another session's conversation, and a message id of it in this one.
	_, other, err := f.svc.CreateSession(ctx, f.conv.WorkspaceID)
	if err != nil {
		t.Fatal(err)
	}
	om, _, err := f.svc.PostMessage(ctx, other, "hi", "")
	if err != nil {
		t.Fatal(err)
	}
	oa, _, err := f.svc.PostAgentMessage(ctx, f.conv.WorkspaceID, f.agent.ID, om.ConversationID, "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.MarkSeen(ctx, f.v, f.conv.ID, chat.MessageID(oa))
	wantProblem(t, "another conversation's message", err, http.StatusUnprocessableEntity, "invalid_field")
	err = f.svc.MarkSeen(ctx, f.v, om.ConversationID, chat.MessageID(oa))
	wantProblem(t, "another session's conversation", err, http.StatusNotFound, "conversation_not_found")
	for len(agents.Events()) > 0 {
		if ev := <-agents.Events(); ev.Type == chat.EventSeen {
			t.Fatalf("a refused mark was announced: %+v", ev.Data)
		}
	}
	if got, _ := f.svc.CustomerSeen(ctx, f.agent, f.conv.ID); got.N != a3.N {
		t.Fatalf("after refused marks the mark is %d; want %d", got.N, a3.N)
	}
}

func TestReadReceipts(t *testing.T) {
	ctx := t.Context()
	f := newTypingFixture(t)
	customer := f.hub.Subscribe(64, f.v.Topics()...)
	defer customer.Close()
	msgs, err := f.svc.Messages(ctx, f.v, f.conv.ID, "", 0)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Messages: %v, %v", msgs, err)
	}
	first := msgs[0]
	if id, err := f.svc.ReadUpTo(ctx, f.v, f.conv.ID); err != nil || id != "" {
		t.Fatalf("ReadUpTo before any read = %q, %v; want none", id, err)
	}
	if err := f.svc.MarkRead(ctx, f.agent, f.conv.ID, first.Seq); err != nil {
		t.Fatal(err)
	}
	ev := next(t, customer, "the customer")
	if got, ok := ev.Data.(chat.ReadReceipt); !ok || got != (chat.ReadReceipt{ConversationID: f.conv.ID, N: first.N}) {
		t.Fatalf("the customer got %s %+v; want read up to %d", ev.Type, ev.Data, first.N)
	}
	if id, err := f.svc.ReadUpTo(ctx, f.v, f.conv.ID); err != nil || id != chat.MessageID(first) {
		t.Fatalf("ReadUpTo = %q, %v; want %s", id, err, chat.MessageID(first))
	}
	// Reading again tells nothing new.
	if err := f.svc.MarkRead(ctx, f.agent, f.conv.ID, first.Seq); err != nil {
		t.Fatal(err)
	}
	none(t, customer, "the customer, after the same read mark")

	// The workspace turns read receipts off: no frame, no field.
	off := false
	w, err := f.svc.UpdateWorkspace(ctx, f.conv.WorkspaceID, chat.SettingsPatch{ReadReceipts: &off})
	if err != nil || !w.Settings.HideReadReceipts {
		t.Fatalf("UpdateWorkspace: %+v, %v", w.Settings, err)
	}
	for len(customer.Events()) > 0 {
		<-customer.Events()
	}
	second, _, err := f.svc.PostMessage(ctx, f.v, "are you there?", "")
	if err != nil {
		t.Fatal(err)
	}
	next(t, customer, "the customer's own message")
	if err := f.svc.MarkRead(ctx, f.agent, f.conv.ID, second.Seq); err != nil {
		t.Fatal(err)
	}
	none(t, customer, "the customer, with read receipts off")
	f.v.Workspace = w // a visitor's workspace is read with every request
	if id, err := f.svc.ReadUpTo(ctx, f.v, f.conv.ID); err != nil || id != "" {
		t.Fatalf("ReadUpTo with read receipts off = %q, %v; want none", id, err)
	}
}

// Two instances sharing PostgreSQL: a customer's typing and seen mark on one reach agents on the other,
// and an agent's typing the customer's socket on the first; typing never writes.
func TestTypingAndSeenCrossInstances(t *testing.T) {
	if !dbtest.UsePostgres() {
		t.Skip("one instance only: events travel between instances on PostgreSQL (PARLEY_TEST_STORE=postgres)")
	}
	ctx := t.Context()
	st := dbtest.Postgres(t)
	hub1, hub2 := realtime.NewHub(), realtime.NewHub()
	one := chattest.Start(t, chat.Config{Store: st, Events: hub1, Passwords: password.NewHasher(2)}, hub1)
	two := chattest.Start(t, chat.Config{Store: st, Events: hub2, Passwords: password.NewHasher(2)}, hub2)
	ws, err := one.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	agent, err := one.CreateAgent(ctx, ws.ID, "sam@acme.example", "Sam", store.RoleAgent, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := one.CreateSession(ctx, ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := one.PostMessage(ctx, v, "Hello", "")
	if err != nil {
		t.Fatal(err)
	}
	agents := hub2.Subscribe(64, chat.WorkspaceTopic(ws.ID))
	defer agents.Close()
	customer := hub1.Subscribe(64, v.Topics()...)
	defer customer.Close()
	before := dbtest.Count(t, st, `SELECT COUNT(*) FROM customer_seen`)

	if _, err := one.CustomerTyping(v).Typing(ctx, m.ConversationID, chat.TypingStart); err != nil {
		t.Fatal(err)
	}
	ev := nextOfType(t, agents, chat.EventTyping, "agents on the other instance")
	if got := ev.Data.(chat.Typing); got.From != store.SenderCustomer || got.State != chat.TypingStart || got.ConversationID != m.ConversationID {
		t.Fatalf("agents on the other instance got %+v", got)
	}
	if _, err := two.AgentTyping(agent).Typing(ctx, m.ConversationID, chat.TypingStart); err != nil {
		t.Fatal(err)
	}
	ev = nextOfType(t, customer, chat.EventTyping, "the customer, from an agent on the other instance")
	if got := ev.Data.(chat.Typing); got.From != store.SenderAgent || got.AgentID != agent.ID {
		t.Fatalf("the customer got %+v", got)
	}
	if n := dbtest.Count(t, st, `SELECT COUNT(*) FROM customer_seen`); n != before {
		t.Fatalf("typing wrote seen rows")
	}

	reply, _, err := two.PostAgentMessage(ctx, ws.ID, agent.ID, m.ConversationID, "Hi!", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := one.MarkSeen(ctx, v, m.ConversationID, chat.MessageID(reply)); err != nil {
		t.Fatal(err)
	}
	ev = nextOfType(t, agents, chat.EventSeen, "agents on the other instance")
	if got := ev.Data.(chat.SeenMark); got.N != reply.N || got.At.IsZero() {
		t.Fatalf("agents on the other instance got seen %+v; want %d", got, reply.N)
	}
	if err := two.MarkRead(ctx, agent, m.ConversationID, m.Seq); err != nil {
		t.Fatal(err)
	}
	ev = nextOfType(t, customer, chat.EventRead, "the customer, from a read on the other instance")
	if got := ev.Data.(chat.ReadReceipt); got.N != m.N {
		t.Fatalf("the customer got read %+v; want %d", got, m.N)
	}
}

// nextOfType skips events of other types (messages, timeline) until one of typ arrives.
func nextOfType(t *testing.T, sub *realtime.Subscription, typ, what string) realtime.Event {
	t.Helper()
	for {
		if ev := next(t, sub, what); ev.Type == typ {
			return ev
		}
	}
}

// A burst of typing on one instance reaches the other (notifications carry batches): every frame is either
// delivered there or counted as dropped, none is lost unaccounted, and nothing is written.
func TestTypingBurstCrossesInstances(t *testing.T) {
	if !dbtest.UsePostgres() {
		t.Skip("one instance only: events travel between instances on PostgreSQL (PARLEY_TEST_STORE=postgres)")
	}
	ctx := t.Context()
	st := dbtest.Postgres(t)
	hub1, hub2 := realtime.NewHub(), realtime.NewHub()
	one := chattest.Start(t, chat.Config{Store: st, Events: hub1, Passwords: password.NewHasher(2)}, hub1)
	chattest.Start(t, chat.Config{Store: st, Events: hub2, Passwords: password.NewHasher(2)}, hub2)
	ws, err := one.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	agents := hub2.Subscribe(16384, chat.WorkspaceTopic(ws.ID))
	defer agents.Close()
	// 50 visitors with 20 sockets each, every socket sending its burst of 4 at once: 4,000 frames in a
	// moment, more than the relay's queue holds.
	const visitors, socketsEach, frames = 50, 20, 4
	var gates []*chat.TypingGate
	var convs []string
	for range visitors {
		_, v, err := one.CreateSession(ctx, ws.ID)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := one.PostMessage(ctx, v, "hi", "")
		if err != nil {
			t.Fatal(err)
		}
		for range socketsEach {
			gates, convs = append(gates, one.CustomerTyping(v)), append(convs, m.ConversationID)
		}
	}
	rows := dbtest.Count(t, st, `SELECT COUNT(*) FROM messages`) + dbtest.Count(t, st, `SELECT COUNT(*) FROM customer_seen`)
	for len(agents.Events()) > 0 {
		<-agents.Events()
	}
	sent := 0
	began := time.Now()
	for range frames {
		for i, g := range gates {
			if ok, err := g.Typing(ctx, convs[i], chat.TypingStart); err != nil || !ok {
				t.Fatalf("typing: sent %v, err %v", ok, err)
			}
			sent++
		}
	}
	got := 0
	deadline := time.After(10 * time.Second)
	for got+int(one.EphemeralDropped()) < sent {
		select {
		case ev := <-agents.Events():
			if ev.Type == chat.EventTyping {
				got++
			}
		case <-deadline:
			t.Fatalf("the other instance got %d of %d frames, %d dropped", got, sent, one.EphemeralDropped())
		}
	}
	if got == 0 {
		t.Fatalf("no frame reached the other instance (%d dropped)", one.EphemeralDropped())
	}
	t.Logf("%d frames at once: %d delivered on the other instance, %d dropped, all accounted for in %v", sent, got, one.EphemeralDropped(), time.Since(began).Round(time.Millisecond))
	if n := dbtest.Count(t, st, `SELECT COUNT(*) FROM messages`) + dbtest.Count(t, st, `SELECT COUNT(*) FROM customer_seen`); n != rows {
		t.Fatalf("typing wrote rows: %d → %d", rows, n)
	}
}
