package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// testTimelinePages: MessagesBefore, EventsAfter and EventsBefore page a conversation's timeline from
// either end, each page oldest first, never reaching into another conversation.
func testTimelinePages(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))
	other := newConversation(t, s, w.ID, "conv-other", sess.ID, "", at(0))

	if msgs, err := s.MessagesBefore(ctx, conv.ID, 0, 10); err != nil || len(msgs) != 0 {
		t.Fatalf("MessagesBefore of a new conversation = %v, %v; want none", msgs, err)
	}
	if evs, err := s.EventsBefore(ctx, conv.ID, 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("EventsBefore of a new conversation = %v, %v; want none", evs, err)
	}
	if evs, err := s.EventsAfter(ctx, conv.ID, 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("EventsAfter of a new conversation = %v, %v; want none", evs, err)
	}

	var msgs []store.Message
	var evs []store.Event
	for i := range 11 {
		// Another conversation's rows interleave with this one's, so its Seqs have gaps.
		appendMessage(t, s, store.Message{ConversationID: other.ID, Sender: store.SenderAgent, AgentID: "agent-1",
			Body: fmt.Sprintf("elsewhere %d", i), CreatedAt: at(time.Duration(i) * time.Second)})
		msgs = append(msgs, appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer,
			SessionID: sess.ID, Body: fmt.Sprintf("message %d", i), CreatedAt: at(time.Duration(i) * time.Second)}))
		e := store.Event{ConversationID: conv.ID, Type: "assigned", CreatedAt: at(time.Duration(i) * time.Second),
			Data: map[string]string{"n": fmt.Sprint(i)}}
		o := store.Event{ConversationID: other.ID, Type: "assigned", CreatedAt: at(time.Duration(i) * time.Second)}
		mustUpdate(t, s, func(tx store.Tx) error {
			if err := tx.AppendEvent(ctx, &o); err != nil {
				return err
			}
			return tx.AppendEvent(ctx, &e)
		})
		evs = append(evs, e)
	}

	// The newest page, then older ones from the oldest Seq each page held, until none is left.
	var paged []store.Message
	var sizes []int
	before := int64(0)
	for range len(msgs) + 2 {
		page, err := s.MessagesBefore(ctx, conv.ID, before, 4)
		if err != nil {
			t.Fatalf("MessagesBefore(%d, 4): %v", before, err)
		}
		sizes = append(sizes, len(page))
		if len(page) == 0 {
			break
		}
		for i := 1; i < len(page); i++ {
			if page[i].Seq <= page[i-1].Seq {
				t.Fatalf("MessagesBefore(%d) is not oldest first: %v", before, keys(page, messageKey))
			}
		}
		paged = append(page, paged...)
		before = page[0].Seq
	}
	if want := []int{4, 4, 3, 0}; fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Errorf("pages of 4 back from the newest over %d messages had sizes %v; want %v", len(msgs), sizes, want)
	}
	checkList(t, "MessagesBefore, page by page", paged, msgs, messageKey)
	got, err := s.MessagesBefore(ctx, conv.ID, msgs[5].Seq, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "MessagesBefore(the sixth, 2)", got, msgs[3:5], messageKey)

	got2, err := s.EventsBefore(ctx, conv.ID, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "EventsBefore(newest, 3)", got2, evs[8:], eventKey)
	checkEqual(t, "EventsBefore's data", got2[0].Data, evs[8].Data)
	got2, err = s.EventsBefore(ctx, conv.ID, evs[8].Seq, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "EventsBefore(the ninth, 100)", got2, evs[:8], eventKey)
	got2, err = s.EventsAfter(ctx, conv.ID, evs[2].Seq, 4)
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "EventsAfter(the third, 4)", got2, evs[3:7], eventKey)
	got2, err = s.EventsAfter(ctx, conv.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "EventsAfter(0, 100)", got2, evs, eventKey)
	if got2, err = s.EventsAfter(ctx, conv.ID, evs[len(evs)-1].Seq, 10); err != nil || len(got2) != 0 {
		t.Errorf("EventsAfter(the newest) = %v, %v; want none", got2, err)
	}
	if got, err := s.MessagesBefore(ctx, "conv-missing", 0, 10); err != nil || len(got) != 0 {
		t.Errorf("MessagesBefore(missing conversation) = %v, %v; want none", got, err)
	}
}

// testMessagesAndNotesInSeqOrder: Messages (after a seq) and MessagesBefore return a conversation's
// messages and internal notes, however they interleave, exactly as seq order has them, from every place
// and with every limit — the SQLite store finds them through the (conversation_id, n) index, where
// notes are numbered downwards.
func testMessagesAndNotesInSeqOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))
	other := newConversation(t, s, w.ID, "conv-other", sess.ID, "", at(0))
	a := newAgent(t, s, w.ID, "ag-1", "ada@example.com", at(0))

	// m: a customer message, n: a note, o: a message of another conversation (a gap in this one's seqs).
	var all []store.Message
	for i, kind := range "nmmonnmomnnnmmomn" {
		m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID,
			Body: fmt.Sprintf("%c%d", kind, i), CreatedAt: at(time.Duration(i) * time.Second)}
		switch kind {
		case 'n':
			m.Sender, m.SessionID, m.AgentID, m.Internal = store.SenderAgent, "", a.ID, true
		case 'o':
			m.ConversationID = other.ID
		}
		m = appendMessage(t, s, m)
		if kind != 'o' {
			all = append(all, m)
		}
	}
	places := []int64{0, all[len(all)-1].Seq + 1}
	for _, m := range all {
		places = append(places, m.Seq, m.Seq+1)
	}
	for _, place := range places {
		var after, before []store.Message
		for _, m := range all {
			if m.Seq > place {
				after = append(after, m)
			}
			if place == 0 || m.Seq < place {
				before = append(before, m)
			}
		}
		for _, limit := range []int{1, 2, 3, 5, 100} {
			got, err := s.Messages(ctx, conv.ID, place, limit)
			if err != nil {
				t.Fatal(err)
			}
			checkList(t, fmt.Sprintf("Messages(after %d, limit %d)", place, limit), got, after[:min(limit, len(after))], messageKey)
			got, err = s.MessagesBefore(ctx, conv.ID, place, limit)
			if err != nil {
				t.Fatal(err)
			}
			checkList(t, fmt.Sprintf("MessagesBefore(%d, limit %d)", place, limit), got, before[max(0, len(before)-limit):], messageKey)
		}
	}
}
