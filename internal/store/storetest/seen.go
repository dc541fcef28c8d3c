package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// testCustomerSeen: a conversation's seen mark starts empty, only moves forward (a lower or equal
// number changes nothing and says so), and belongs to its conversation alone.
func testCustomerSeen(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	one := newConversation(t, s, w.ID, "conv-1", sess.ID, "", at(0))
	two := newConversation(t, s, w.ID, "conv-2", sess.ID, "", at(0))

	seen := func(convID string) store.Seen {
		t.Helper()
		got, err := s.CustomerSeen(ctx, convID)
		if err != nil {
			t.Fatalf("CustomerSeen(%s): %v", convID, err)
		}
		return got
	}
	if got := seen(one.ID); got != (store.Seen{}) {
		t.Errorf("CustomerSeen before any mark = %+v; want zero", got)
	}
	if got := seen("conv-missing"); got != (store.Seen{}) {
		t.Errorf("CustomerSeen(unknown conversation) = %+v; want zero", got)
	}
	for i, step := range []struct {
		n      int64
		at     time.Duration
		moved  bool
		wantN  int64
		wantAt time.Duration
	}{
		{3, time.Minute, true, 3, time.Minute},
		{2, 2 * time.Minute, false, 3, time.Minute},
		{3, 3 * time.Minute, false, 3, time.Minute},
		{7, 4*time.Minute + 250*time.Microsecond, true, 7, 4*time.Minute + 250*time.Microsecond},
	} {
		var moved bool
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			moved, err = tx.MarkCustomerSeen(ctx, one.ID, step.n, at(step.at))
			return err
		})
		if moved != step.moved {
			t.Errorf("step %d: MarkCustomerSeen(%d) moved = %v; want %v", i, step.n, moved, step.moved)
		}
		got := seen(one.ID)
		if got.N != step.wantN || !got.At.Equal(at(step.wantAt)) {
			t.Errorf("step %d: after MarkCustomerSeen(%d) the mark is %d at %v; want %d at %v (marks never go back)", i, step.n, got.N, got.At, step.wantN, at(step.wantAt))
		}
	}
	if got := seen(two.ID); got != (store.Seen{}) {
		t.Errorf("CustomerSeen of another conversation = %+v; want zero", got)
	}
	if err := tryUpdate(t, s, func(tx store.Tx) error {
		_, err := tx.MarkCustomerSeen(ctx, "conv-missing", 1, at(0))
		return err
	}); err == nil {
		t.Errorf("MarkCustomerSeen of a missing conversation succeeded")
	}
}

// testAgentsReadUpTo: the customer's newest message that any agent's read mark covers, by its number;
// agent messages and other conversations do not count.
func testAgentsReadUpTo(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@acme.example", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@acme.example", at(0))
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv-1", sess.ID, "", at(0))
	other := newConversation(t, s, w.ID, "conv-2", sess.ID, "", at(0))

	msg := func(convID, sender string) store.Message {
		m := store.Message{ConversationID: convID, Sender: sender, Body: "x", CreatedAt: at(time.Minute)}
		if sender == store.SenderCustomer {
			m.SessionID = sess.ID
		} else {
			m.AgentID = ada.ID
		}
		return appendMessage(t, s, m)
	}
	readUpTo := func(convID string) int64 {
		t.Helper()
		n, err := s.AgentsReadUpTo(ctx, convID)
		if err != nil {
			t.Fatalf("AgentsReadUpTo(%s): %v", convID, err)
		}
		return n
	}
	markRead := func(agentID string, seq int64) {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkRead(ctx, agentID, conv.ID, seq) })
	}
	c1 := msg(conv.ID, store.SenderCustomer) // n 1
	c2 := msg(conv.ID, store.SenderCustomer) // n 2
	a3 := msg(conv.ID, store.SenderAgent)    // n 3
	o1 := msg(other.ID, store.SenderCustomer)
	c4 := msg(conv.ID, store.SenderCustomer) // n 4

	if n := readUpTo(conv.ID); n != 0 {
		t.Errorf("AgentsReadUpTo before any read mark = %d; want 0", n)
	}
	markRead(ada.ID, c1.Seq)
	if n := readUpTo(conv.ID); n != c1.N {
		t.Errorf("after reading message 1: %d; want %d", n, c1.N)
	}
	// An agent message past the customer's newest read one changes nothing; a read mark of another
	// conversation's message number counts for this one only as far as this one's messages go.
	markRead(bob.ID, a3.Seq)
	if n := readUpTo(conv.ID); n != c2.N {
		t.Errorf("after reading up to the agent's message 3: %d; want %d (the customer's message 2)", n, c2.N)
	}
	markRead(ada.ID, o1.Seq) // past o1 but before c4
	if n := readUpTo(conv.ID); n != c2.N {
		t.Errorf("after reading up to a Seq between messages 3 and 4: %d; want %d", n, c2.N)
	}
	markRead(bob.ID, c4.Seq)
	if n := readUpTo(conv.ID); n != c4.N {
		t.Errorf("after reading message 4: %d; want %d", n, c4.N)
	}
	if n := readUpTo(other.ID); n != 0 {
		t.Errorf("AgentsReadUpTo of a conversation nobody read = %d; want 0", n)
	}
}
