package chat_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/chat/chattest"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/realtime"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// transferEnv is consoleEnv with the hub at hand, so that tests watch agents' and customers' topics.
type transferEnv struct {
	*consoleEnv
	hub *realtime.Hub
}

func newTransferEnv(t *testing.T) *transferEnv {
	t.Helper()
	hub := realtime.NewHub()
	e := newAgentEnv(t, chat.Config{Passwords: password.NewHasher(2), Events: hub})
	key, err := e.svc.CreateKey(t.Context(), e.ws, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	return &transferEnv{consoleEnv: &consoleEnv{agentEnv: e, key: key}, hub: hub}
}

// until reads a subscription's events up to the first that stop accepts, and returns them all.
func until(t *testing.T, sub *realtime.Subscription, what string, stop func(realtime.Event) bool) []realtime.Event {
	t.Helper()
	var got []realtime.Event
	for {
		select {
		case ev := <-sub.Events():
			got = append(got, ev)
			if stop(ev) {
				return got
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the awaited event never came (got %d others)", what, len(got))
		}
	}
}

func transfers(evs []realtime.Event) []store.Event {
	var out []store.Event
	for _, ev := range evs {
		if ev.Type == chat.EventTransfer {
			out = append(out, ev.Data.(store.Event))
		}
	}
	return out
}

// markerFor publishes an event to the agent's own topic (saving their preferences) and returns the
// events their topic carried up to it: in commit order, so anything published before it is in there.
func (e *transferEnv) markerFor(t *testing.T, sub *realtime.Subscription, a store.Agent) []realtime.Event {
	t.Helper()
	if _, err := e.svc.SetAgentPrefs(t.Context(), a, true, true); err != nil {
		t.Fatal(err)
	}
	return until(t, sub, a.Email, func(ev realtime.Event) bool { return ev.Type == chat.EventAgent && ev.Data == a.ID })
}

func TestTransferToAgentWithNote(t *testing.T) {
	ctx := t.Context()
	e := newTransferEnv(t)
	ann := e.createAgent(t, "ann@acme.example", store.RoleAdmin)
	bob := e.createAgent(t, "bob@acme.example", store.RoleAgent)
	carol := e.createAgent(t, "carol@acme.example", store.RoleAgent)
	for _, a := range []store.Agent{bob, carol} {
		if _, err := e.svc.SetAvailability(ctx, a, false); err != nil {
			t.Fatal(err)
		}
	}
	v := e.visitor(t, "ada@bank.example")
	first := e.say(t, v, "My card was charged twice")
	conv := e.conversation(t, first.ConversationID)
	if conv.AssigneeID != ann.ID {
		t.Fatalf("routed to %q; want ann, the only available agent", conv.AssigneeID)
	}

	subs := map[string]*realtime.Subscription{}
	for _, a := range []store.Agent{ann, bob, carol} {
		subs[a.ID] = e.hub.Subscribe(64, chat.AgentTopic(a.ID))
		defer subs[a.ID].Close()
	}
	customer := e.hub.Subscribe(64, v.Topics()...)
	defer customer.Close()

	const note = `Refund approved <script>alert(1)</script> — "card" ends 42`
	got, err := e.svc.Transfer(ctx, ann, conv.ID, chat.TransferTo{AgentID: bob.ID}, "  "+note+"\n")
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	if got.AssigneeID != bob.ID || e.conversation(t, conv.ID).AssigneeID != bob.ID {
		t.Fatalf("assignee %q; want bob", got.AssigneeID)
	}

	// The timeline records it, with the note as given (trimmed) and who did it.
	events, err := e.st.Events(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Type != "transferred" || last.Data["note"] != note || last.Data["agent_id"] != ann.ID ||
		last.Data["to_agent_id"] != bob.ID || last.Data["from_agent_id"] != ann.ID {
		t.Errorf("last event %s %v; want transferred by ann to bob with the note", last.Type, last.Data)
	}

	// Bob's consoles hear of it; ann's (she did it) and carol's do not, even though bob is away (his
	// console decides whether to alert).
	bobs := transfers(until(t, subs[bob.ID], "bob", func(ev realtime.Event) bool { return ev.Type == chat.EventTransfer }))
	if len(bobs) != 1 || bobs[0].ConversationID != conv.ID || bobs[0].Seq != last.Seq {
		t.Errorf("bob got %+v; want the transferred event", bobs)
	}
	for _, a := range []store.Agent{ann, carol} {
		if tr := transfers(e.markerFor(t, subs[a.ID], a)); len(tr) != 0 {
			t.Errorf("%s got a transfer frame: %+v", a.Email, tr)
		}
	}

	// The customer never hears of it: nothing on their topics up to the next reply, and nothing in
	// their message list.
	reply, err := e.svc.Reply(ctx, bob, conv.ID, "Hi, Bob here: refund is on its way", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range until(t, customer, "customer", func(ev realtime.Event) bool {
		m, ok := ev.Data.(store.Message)
		return ok && m.Seq == reply.Seq
	}) {
		if _, ok := ev.Data.(store.Event); ok || ev.Type == chat.EventTransfer || ev.Type == chat.EventTimeline {
			t.Errorf("the customer's topics carried %s %+v", ev.Type, ev.Data)
		}
	}
	msgs, err := e.svc.Messages(ctx, v, conv.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if strings.Contains(m.Body, "Refund approved") {
			t.Errorf("the customer's messages hold the note: %q", m.Body)
		}
	}

	// Transferring to whoever has it already changes nothing.
	before := len(events)
	if _, err := e.svc.Transfer(ctx, ann, conv.ID, chat.TransferTo{AgentID: bob.ID}, "again"); err != nil {
		t.Fatal(err)
	}
	if events, _ = e.st.Events(ctx, conv.ID); len(events) != before {
		t.Errorf("a transfer to the current assignee recorded %d events", len(events)-before)
	}
}

func TestTransferToInboxAlertsItsAvailableMembers(t *testing.T) {
	ctx := t.Context()
	e := newTransferEnv(t)
	ann := e.createAgent(t, "ann@acme.example", store.RoleAdmin)
	bob := e.createAgent(t, "bob@acme.example", store.RoleAgent)
	carol := e.createAgent(t, "carol@acme.example", store.RoleAgent)
	dan := e.createAgent(t, "dan@acme.example", store.RoleAgent)
	billing, err := e.svc.SaveInbox(ctx, ann, "", "Billing", []string{ann.ID, bob.ID, carol.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []store.Agent{bob, dan} {
		if _, err := e.svc.SetAvailability(ctx, a, false); err != nil {
			t.Fatal(err)
		}
	}
	m := e.say(t, e.visitor(t, ""), "Where is my invoice?")
	subs := map[string]*realtime.Subscription{}
	for _, a := range []store.Agent{ann, bob, carol, dan} {
		subs[a.ID] = e.hub.Subscribe(64, chat.AgentTopic(a.ID))
		defer subs[a.ID].Close()
	}

	conv, err := e.svc.Transfer(ctx, ann, m.ConversationID, chat.TransferTo{InboxID: billing.ID}, "")
	if err != nil {
		t.Fatalf("Transfer: %v", err)
	}
	if conv.InboxID != billing.ID || conv.AssigneeID != "" {
		t.Fatalf("inbox %q assignee %q; want Billing, unassigned", conv.InboxID, conv.AssigneeID)
	}
	events, _ := e.st.Events(ctx, conv.ID)
	if last := events[len(events)-1]; last.Type != "transferred" || last.Data["to_inbox_id"] != billing.ID || last.Data["inbox"] != "Billing" || last.Data["note"] != "" {
		t.Errorf("last event %s %v", last.Type, last.Data)
	}
	// Carol, an available member, hears of it; ann did it, bob is away, dan is not a member.
	if tr := transfers(until(t, subs[carol.ID], "carol", func(ev realtime.Event) bool { return ev.Type == chat.EventTransfer })); len(tr) != 1 {
		t.Errorf("carol got %d transfers", len(tr))
	}
	for _, a := range []store.Agent{ann, bob, dan} {
		if tr := transfers(e.markerFor(t, subs[a.ID], a)); len(tr) != 0 {
			t.Errorf("%s got a transfer frame", a.Email)
		}
	}
	// It now waits for carol (and bob, who is away but a member): it is in their attention count.
	st, err := e.svc.AlertState(ctx, carol)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Attention) != 1 || st.Attention[0] != conv.ID {
		t.Errorf("carol's attention %v; want the conversation", st.Attention)
	}
	if st, _ := e.svc.AlertState(ctx, dan); len(st.Attention) != 0 {
		t.Errorf("dan's attention %v; want none (not a member)", st.Attention)
	}
}

func TestTransferRefusals(t *testing.T) {
	ctx := t.Context()
	e := newTransferEnv(t)
	ann := e.createAgent(t, "ann@acme.example", store.RoleAdmin)
	bob := e.createAgent(t, "bob@acme.example", store.RoleAgent)
	m := e.say(t, e.visitor(t, ""), "hello")
	inbox, err := e.svc.SaveInbox(ctx, ann, "", "Sales", []string{bob.ID})
	if err != nil {
		t.Fatal(err)
	}

	other := newTransferEnv(t)
	stranger := other.createAgent(t, "eve@other.example", store.RoleAdmin)
	otherInbox, err := other.svc.SaveInbox(ctx, stranger, "", "Theirs", []string{stranger.ID})
	if err != nil {
		t.Fatal(err)
	}

	long := strings.Repeat("é", chat.MaxTransferNote+1)
	for _, tc := range []struct {
		name   string
		agent  store.Agent
		to     chat.TransferTo
		note   string
		status int
		code   string
	}{
		{"note too long", ann, chat.TransferTo{AgentID: bob.ID}, long, http.StatusUnprocessableEntity, "invalid_field"},
		{"control character", ann, chat.TransferTo{AgentID: bob.ID}, "a\x00b", http.StatusUnprocessableEntity, "invalid_field"},
		{"both", ann, chat.TransferTo{AgentID: bob.ID, InboxID: inbox.ID}, "", http.StatusUnprocessableEntity, "invalid_field"},
		{"another workspace's agent", ann, chat.TransferTo{AgentID: stranger.ID}, "", http.StatusUnprocessableEntity, "invalid_field"},
		{"another workspace's inbox", ann, chat.TransferTo{InboxID: otherInbox.ID}, "", http.StatusUnprocessableEntity, "invalid_field"},
		{"another workspace's conversation", stranger, chat.TransferTo{AgentID: stranger.ID}, "", http.StatusNotFound, "conversation_not_found"},
	} {
		_, err := e.svc.Transfer(ctx, tc.agent, m.ConversationID, tc.to, tc.note)
		wantProblem(t, tc.name, err, tc.status, tc.code)
	}
	if c := e.conversation(t, m.ConversationID); c.AssigneeID == stranger.ID || c.InboxID != "" {
		t.Errorf("a refused transfer changed the conversation: %+v", c)
	}
	// At the limit it goes through.
	if _, err := e.svc.Transfer(ctx, ann, m.ConversationID, chat.TransferTo{AgentID: bob.ID}, strings.Repeat("é", chat.MaxTransferNote)); err != nil {
		t.Errorf("a note of %d characters: %v", chat.MaxTransferNote, err)
	}
}

func TestConversationAlert(t *testing.T) {
	ctx := t.Context()
	e := newTransferEnv(t)
	ann := e.createAgent(t, "ann@acme.example", store.RoleAdmin)
	bob, err := e.svc.SetAvailability(ctx, e.createAgent(t, "bob@acme.example", store.RoleAgent), false)
	if err != nil {
		t.Fatal(err)
	}
	v := e.visitor(t, "ada@bank.example")
	body := strings.Repeat("ü", 70) + " and then some more words past eighty"
	m := e.say(t, v, body)

	a, err := e.svc.ConversationAlert(ctx, ann, m.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat("ü", 70) + " and then "
	if a.Text != want || !a.Cut || a.Name != "Customer ada@bank.example" || a.Level != chat.AlertVerified ||
		!a.ForMe || !a.Assigned || !a.Unread || a.N != m.N {
		t.Errorf("alert %+v; want the first 80 characters %q, verified, for ann, unread", a, want)
	}

	// A transfer note and agents' words never show: the alert stays on the customer's message.
	if _, err := e.svc.Transfer(ctx, ann, m.ConversationID, chat.TransferTo{AgentID: bob.ID}, "secret context for bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reply(ctx, bob, m.ConversationID, "agent words", ""); err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.ConversationAlert(ctx, bob, m.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Text != want || strings.Contains(b.Text, "secret") || !b.Assigned {
		t.Errorf("bob's alert %+v", b)
	}
	if a, _ := e.svc.ConversationAlert(ctx, ann, m.ConversationID); a.ForMe || a.Assigned {
		t.Errorf("ann's alert after the transfer %+v; want not hers", a)
	}

	// Claimed and anonymous visitors, in words.
	_, claimed, err := e.svc.Identify(ctx, e.visitor(t, ""), chat.Claims{Name: "Grace H", Email: "grace@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	cm := e.say(t, claimed, "short")
	if a, _ := e.svc.ConversationAlert(ctx, ann, cm.ConversationID); a.Level != chat.AlertClaimed || a.Name != "Grace H" || a.Text != "short" || a.Cut {
		t.Errorf("claimed alert %+v", a)
	}
	am := e.say(t, e.visitor(t, ""), "hi")
	if a, _ := e.svc.ConversationAlert(ctx, ann, am.ConversationID); a.Level != chat.AlertAnonymous || a.Name != "Visitor" {
		t.Errorf("anonymous alert %+v", a)
	}

	// Another workspace's agent learns nothing, not even that it exists.
	other := newTransferEnv(t)
	stranger := other.createAgent(t, "eve@other.example", store.RoleAdmin)
	_, err = other.svc.ConversationAlert(ctx, stranger, m.ConversationID)
	wantProblem(t, "another workspace", err, http.StatusNotFound, "conversation_not_found")

	// Reading clears the attention count.
	st, err := e.svc.AlertState(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Attention) != 0 {
		t.Errorf("bob's attention %v; want none: his reply is newest", st.Attention)
	}
	e.say(t, v, "are you there?")
	if st, _ = e.svc.AlertState(ctx, bob); len(st.Attention) != 1 || st.Available || !st.Prefs.Sound {
		t.Errorf("bob's state %+v; want one conversation, away, sound on", st)
	}
	msgs, _ := e.st.MessagesBefore(ctx, m.ConversationID, 0, 1)
	if err := e.svc.MarkRead(ctx, bob, m.ConversationID, msgs[0].Seq); err != nil {
		t.Fatal(err)
	}
	if st, _ = e.svc.AlertState(ctx, bob); len(st.Attention) != 0 {
		t.Errorf("bob's attention after reading %v; want none", st.Attention)
	}
}

func TestAgentPrefsAreTheirOwn(t *testing.T) {
	ctx := t.Context()
	e := newTransferEnv(t)
	ann := e.createAgent(t, "ann@acme.example", store.RoleAdmin)
	bob := e.createAgent(t, "bob@acme.example", store.RoleAgent)
	if _, err := e.svc.SetAgentPrefs(ctx, ann, false, true); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.svc.AgentPrefs(ctx, ann); p.Sound || !p.Notifications {
		t.Errorf("ann's prefs %+v", p)
	}
	if p, _ := e.svc.AgentPrefs(ctx, bob); !p.Sound || !p.Notifications {
		t.Errorf("bob's prefs %+v; want the defaults", p)
	}
}

func TestAlertStateCountsUnreadMentions(t *testing.T) {
	ctx := t.Context()
	e := newTransferEnv(t)
	ann := e.createAgent(t, "ann@acme.example", store.RoleAdmin)
	bob, err := e.svc.SetAvailability(ctx, e.createAgent(t, "bob@acme.example", store.RoleAgent), false)
	if err != nil {
		t.Fatal(err)
	}
	m := e.say(t, e.visitor(t, ""), "hello") // routed to ann, the one available
	if _, err := e.svc.Reply(ctx, ann, m.ConversationID, "hi there", ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.svc.AlertState(ctx, bob); len(st.Attention) != 0 {
		t.Fatalf("bob's attention before the mention: %v", st.Attention)
	}
	note, _, err := e.svc.PostNote(ctx, ann, m.ConversationID, "@bob can you check the invoice?", "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.svc.AlertState(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Attention) != 1 || st.Attention[0] != m.ConversationID {
		t.Errorf("bob's attention after the mention: %v", st.Attention)
	}
	if st, _ := e.svc.AlertState(ctx, ann); len(st.Attention) != 0 {
		t.Errorf("ann's attention (she wrote the note, and replied last): %v", st.Attention)
	}
	if err := e.svc.MarkRead(ctx, bob, m.ConversationID, note.Seq); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.svc.AlertState(ctx, bob); len(st.Attention) != 0 {
		t.Errorf("bob's attention after reading the note: %v", st.Attention)
	}
	// The alert about it shows the customer's message, never the note.
	a, err := e.svc.ConversationAlert(ctx, bob, m.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != "hello" {
		t.Errorf("alert text %q; want the customer's message", a.Text)
	}
}

// Two instances sharing PostgreSQL: a transfer made on one reaches the receiving agent's consoles on the
// other, as the stored event (its note included, for agents), and only theirs.
func TestTransferCrossesInstances(t *testing.T) {
	if !dbtest.UsePostgres() {
		t.Skip("one instance only: events travel between instances on PostgreSQL (PARLEY_TEST_STORE=postgres)")
	}
	ctx := t.Context()
	st := dbtest.Postgres(t)
	hub1, hub2 := realtime.NewHub(), realtime.NewHub()
	one := chattest.Start(t, chat.Config{Store: st, Events: hub1, Passwords: password.NewHasher(2)}, hub1)
	chattest.Start(t, chat.Config{Store: st, Events: hub2, Passwords: password.NewHasher(2)}, hub2) // relays to hub2
	ws, err := one.CreateWorkspace(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	ann, err := one.CreateAgent(ctx, ws.ID, "ann@acme.example", "Ann", store.RoleAdmin, agentPassword)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := one.CreateAgent(ctx, ws.ID, "bob@acme.example", "Bob", store.RoleAgent, agentPassword)
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
	bobs := hub2.Subscribe(64, chat.AgentTopic(bob.ID))
	defer bobs.Close()
	anns := hub2.Subscribe(64, chat.AgentTopic(ann.ID))
	defer anns.Close()

	if _, err := one.Transfer(ctx, ann, m.ConversationID, chat.TransferTo{AgentID: bob.ID}, "over to you"); err != nil {
		t.Fatal(err)
	}
	ev := nextOfType(t, bobs, chat.EventTransfer, "bob on the other instance")
	if e, ok := ev.Data.(store.Event); !ok || e.ConversationID != m.ConversationID || e.Type != "transferred" || e.Data["note"] != "over to you" || e.Data["agent_name"] != "Ann" {
		t.Errorf("bob got %+v", ev.Data)
	}
	// Ann's topic carries nothing of it: her preferences, saved afterwards, come first.
	if _, err := one.SetAgentPrefs(ctx, ann, true, false); err != nil {
		t.Fatal(err)
	}
	if got := transfers(until(t, anns, "ann", func(ev realtime.Event) bool { return ev.Type == chat.EventAgent })); len(got) != 0 {
		t.Errorf("ann got %d transfers", len(got))
	}
}
