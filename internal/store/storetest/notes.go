package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// testNotes: internal notes are numbered apart (-1, -2, …) so the customer's messages stay 1, 2, 3…;
// MessagesAfterNumber (the customer's read) and a conversation's LastMessage and inbox summary leave
// them out, while the console's reads (Messages, MessagesBefore) keep them, flagged.
func testNotes(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))
	a := newAgent(t, s, w.ID, "ag-1", "ada@example.com", at(0))
	customer := func(body string, d time.Duration) store.Message {
		return appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: body, CreatedAt: at(d)})
	}
	note := func(body string, d time.Duration) store.Message {
		return appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: a.ID, Body: body, CreatedAt: at(d), Internal: true})
	}
	n1 := note("before anything", time.Second)
	m1 := customer("hello", 2*time.Second)
	n2 := note("about hello", 3*time.Second)
	m2 := customer("again", 4*time.Second)
	n3 := note("last word", 5*time.Second)
	for _, c := range []struct {
		m    store.Message
		want int64
	}{{n1, -1}, {m1, 1}, {n2, -2}, {m2, 2}, {n3, -3}} {
		if c.m.N != c.want {
			t.Errorf("%q numbered %d, want %d", c.m.Body, c.m.N, c.want)
		}
	}
	got, err := s.MessagesAfterNumber(ctx, conv.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != m1.Seq || got[1].Seq != m2.Seq {
		t.Fatalf("MessagesAfterNumber(0) = %+v; want the two customer messages only", got)
	}
	if got, _ := s.MessagesAfterNumber(ctx, conv.ID, 0, 1); len(got) != 1 || got[0].Seq != m1.Seq {
		t.Fatalf("MessagesAfterNumber(0, limit 1) = %+v; want the first customer message (a note must not use up the limit)", got)
	}
	all, err := s.Messages(ctx, conv.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || !all[0].Internal || all[1].Internal || !all[4].Internal || all[4].Body != "last word" {
		t.Fatalf("Messages = %+v; want all five, the notes flagged Internal", all)
	}
	before, err := s.MessagesBefore(ctx, conv.ID, 0, 10)
	if err != nil || len(before) != 5 || !before[4].Internal {
		t.Fatalf("MessagesBefore = %+v, %v; want all five", before, err)
	}
	c, err := s.Conversation(ctx, conv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.LastMessage.Equal(m2.CreatedAt) {
		t.Errorf("LastMessage = %v; want the last customer-visible message's %v, not the note's", c.LastMessage, m2.CreatedAt)
	}
	convs, err := s.Conversations(ctx, store.Owner{SessionID: sess.ID})
	if err != nil || len(convs) != 1 || !convs[0].LastMessage.Equal(m2.CreatedAt) {
		t.Errorf("Conversations = %+v, %v; want LastMessage %v", convs, err, m2.CreatedAt)
	}
	sums, err := s.ListConversations(ctx, store.ConversationFilter{WorkspaceID: w.ID}, "")
	if err != nil || len(sums) != 1 {
		t.Fatalf("ListConversations = %+v, %v", sums, err)
	}
	if sums[0].LastSeq != m2.Seq || sums[0].LastSender != store.SenderCustomer || sums[0].LastBody != "again" {
		t.Errorf("summary's last message = %d %q %q; want the customer's %d (a note changes no waiting state)", sums[0].LastSeq, sums[0].LastSender, sums[0].LastBody, m2.Seq)
	}
}

// testMentions: a mention is stored once per note and agent, and read back newest note first with the
// note's number and body; another agent's mentions are not theirs.
func testMentions(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	one := newConversation(t, s, w.ID, "conv-1", sess.ID, "", at(0))
	two := newConversation(t, s, w.ID, "conv-2", sess.ID, "", at(0))
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@example.com", at(0))
	grace := newAgent(t, s, w.ID, "ag-grace", "grace@example.com", at(0))
	alan := newAgent(t, s, w.ID, "ag-alan", "alan@example.com", at(0))
	if got, err := s.Mentions(ctx, grace.ID, 10); err != nil || len(got) != 0 {
		t.Fatalf("Mentions before any = %+v, %v; want none", got, err)
	}
	var notes []store.Message
	for i, conv := range []store.Conversation{one, two, one} {
		n := appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: ada.ID,
			Body: "note " + string(rune('a'+i)), CreatedAt: at(time.Duration(i+1) * time.Minute), Internal: true})
		notes = append(notes, n)
		mustUpdate(t, s, func(tx store.Tx) error {
			m := store.Mention{MessageSeq: n.Seq, AgentID: grace.ID, ConversationID: conv.ID, AuthorID: ada.ID, CreatedAt: n.CreatedAt}
			if err := tx.AddMention(ctx, &m); err != nil {
				return err
			}
			return tx.AddMention(ctx, &m) // again: nothing changes
		})
	}
	got, err := s.Mentions(ctx, grace.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Mentions = %+v; want 3 (one per note)", got)
	}
	for i, want := range []store.Message{notes[2], notes[1], notes[0]} {
		g := got[i]
		if g.MessageSeq != want.Seq || g.ConversationID != want.ConversationID || g.AuthorID != ada.ID || g.AgentID != grace.ID ||
			g.N != want.N || g.Body != want.Body || !g.CreatedAt.Equal(want.CreatedAt) {
			t.Errorf("mention %d = %+v; want note %+v", i, g, want)
		}
	}
	if got, _ := s.Mentions(ctx, grace.ID, 1); len(got) != 1 || got[0].MessageSeq != notes[2].Seq {
		t.Errorf("Mentions(limit 1) = %+v; want the newest", got)
	}
	if got, err := s.Mentions(ctx, alan.ID, 10); err != nil || len(got) != 0 {
		t.Errorf("Mentions of an agent nobody mentioned = %+v, %v", got, err)
	}
}

// UnreadMentions names each conversation whose newest mention of the agent is past the agent's read mark,
// newest first, once; reading past the mention clears it; another agent's mentions and reads count not.
func testUnreadMentions(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	one := newConversation(t, s, w.ID, "conv-1", sess.ID, "", at(0))
	two := newConversation(t, s, w.ID, "conv-2", sess.ID, "", at(0))
	three := newConversation(t, s, w.ID, "conv-3", sess.ID, "", at(0))
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@example.com", at(0))
	grace := newAgent(t, s, w.ID, "ag-grace", "grace@example.com", at(0))
	mention := func(conv store.Conversation, who store.Agent, i int) store.Message {
		t.Helper()
		n := appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: ada.ID,
			Body: "note", CreatedAt: at(time.Duration(i) * time.Minute), Internal: true})
		mustUpdate(t, s, func(tx store.Tx) error {
			return tx.AddMention(ctx, &store.Mention{MessageSeq: n.Seq, AgentID: who.ID, ConversationID: conv.ID, AuthorID: ada.ID, CreatedAt: n.CreatedAt})
		})
		return n
	}
	unread := func(recent, limit int) []string {
		t.Helper()
		got, err := s.UnreadMentions(ctx, grace.ID, recent, limit)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := unread(10, 10); len(got) != 0 {
		t.Fatalf("before any mention: %v", got)
	}
	first := mention(one, grace, 1)
	mention(two, grace, 2)
	mention(one, grace, 3)
	mention(three, ada, 4) // Ada's, not Grace's
	if got := unread(10, 10); !slices.Equal(got, []string{one.ID, two.ID}) {
		t.Errorf("unread mentions = %v; want [%s %s], newest first, each once", got, one.ID, two.ID)
	}
	if got := unread(10, 1); !slices.Equal(got, []string{one.ID}) {
		t.Errorf("limit 1 = %v; want [%s]", got, one.ID)
	}
	if got := unread(1, 10); !slices.Equal(got, []string{one.ID}) {
		t.Errorf("only the newest mention looked at = %v; want [%s]", got, one.ID)
	}
	// Read past the first note of conv-1 only: its second mention is still unread.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkRead(ctx, grace.ID, one.ID, first.Seq) })
	if got := unread(10, 10); !slices.Equal(got, []string{one.ID, two.ID}) {
		t.Errorf("read before the newest mention = %v; want both still", got)
	}
	latest := appendMessage(t, s, store.Message{ConversationID: one.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: "hi", CreatedAt: at(5 * time.Minute)})
	mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkRead(ctx, grace.ID, one.ID, latest.Seq) })
	mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkRead(ctx, ada.ID, two.ID, latest.Seq) }) // Ada's read clears nothing of Grace's
	if got := unread(10, 10); !slices.Equal(got, []string{two.ID}) {
		t.Errorf("after reading conv-1 = %v; want [%s]", got, two.ID)
	}
}
