package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// EraseCustomer: the customer's conversations, messages, attachments with their chunks, sessions,
// blocks, email state, email log and jobs go; another customer's, and another workspace's, stay.
func testEraseCustomer(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	other := newWorkspace(t, s, "ws-other")
	cu := newCustomer(t, s, w.ID, "cu-gone", "ext-gone", "gone@example.com")
	keep := newCustomer(t, s, w.ID, "cu-keep", "ext-keep", "keep@example.com")
	anon := newSession(t, s, w.ID, "se-anon", "") // started the conversation, then logged in elsewhere
	verified := newSession(t, s, w.ID, "se-gone", cu.ID)
	keepSession := newSession(t, s, w.ID, "se-keep", keep.ID)
	conv := newConversation(t, s, w.ID, "cv-gone", anon.ID, cu.ID, at(0))
	keepConv := newConversation(t, s, w.ID, "cv-keep", keepSession.ID, keep.ID, at(0))
	ag := newAgent(t, s, w.ID, "ag", "agent@example.com", at(0))

	up := completeUpload(t, s, newUpload(t, s, w.ID, "att-sent", verified.ID, "", at(time.Second)), "a.png", 10)
	orphan := completeUpload(t, s, newUpload(t, s, w.ID, "att-orphan", verified.ID, "", at(time.Second)), "b.png", 10)
	keepUp := completeUpload(t, s, newUpload(t, s, w.ID, "att-keep", keepSession.ID, "", at(time.Second)), "c.png", 10)
	for _, a := range []store.Attachment{up, orphan, keepUp} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.PutBlobChunk(ctx, a.StorageKey, 0, []byte("bytes")) })
	}
	m := appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: verified.ID,
		Body: "hello", CreatedAt: at(2 * time.Second), Attachments: []store.Attachment{{ID: up.ID}}})
	appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: ag.ID, Body: "note",
		Internal: true, CreatedAt: at(3 * time.Second)})
	appendMessage(t, s, store.Message{ConversationID: keepConv.ID, Sender: store.SenderCustomer, SessionID: keepSession.ID,
		Body: "stay", CreatedAt: at(2 * time.Second)})
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.AppendEvent(ctx, &store.Event{ConversationID: conv.ID, Type: "assigned", CreatedAt: at(4 * time.Second)}); err != nil {
			return err
		}
		if err := tx.MarkRead(ctx, ag.ID, conv.ID, m.Seq); err != nil {
			return err
		}
		if _, err := tx.MarkCustomerSeen(ctx, conv.ID, 1, at(5*time.Second)); err != nil {
			return err
		}
		if err := tx.SetCustomerOptOut(ctx, cu.ID, at(5*time.Second)); err != nil {
			return err
		}
		if err := tx.MarkConversationEmailed(ctx, conv.ID, 1, at(5*time.Second)); err != nil {
			return err
		}
		if err := tx.LogEmail(ctx, &store.EmailLogEntry{WorkspaceID: w.ID, JobKey: "email_reply:" + conv.ID + ":1", Kind: "reply",
			Recipient: cu.Email, State: store.EmailSent, CreatedAt: at(5 * time.Second), UpdatedAt: at(5 * time.Second)}); err != nil {
			return err
		}
		if err := tx.LogEmail(ctx, &store.EmailLogEntry{WorkspaceID: w.ID, JobKey: "email_reply:" + keepConv.ID + ":1", Kind: "reply",
			Recipient: keep.Email, State: store.EmailSent, CreatedAt: at(5 * time.Second), UpdatedAt: at(5 * time.Second)}); err != nil {
			return err
		}
		for _, j := range []store.Job{
			{Kind: "email_reply", Key: conv.ID + ":1", Payload: []byte(`{"conversation_id":"` + conv.ID + `"}`)},
			{Kind: "email_reply", Key: keepConv.ID + ":1", Payload: []byte(`{"conversation_id":"` + keepConv.ID + `"}`)},
		} {
			j.RunAt, j.MaxAttempts, j.CreatedAt, j.UpdatedAt = at(time.Hour), 3, at(0), at(0)
			if _, err := tx.EnqueueJob(ctx, &j); err != nil {
				return err
			}
		}
		if err := tx.CreateBlock(ctx, &store.Block{ID: "bl-gone", WorkspaceID: w.ID, CustomerID: cu.ID, ConversationID: conv.ID, CreatedAt: at(0)}); err != nil {
			return err
		}
		return tx.CreateBlock(ctx, &store.Block{ID: "bl-keep", WorkspaceID: w.ID, CustomerID: keep.ID, CreatedAt: at(0)})
	})

	// Another workspace cannot erase the customer.
	err := tryUpdate(t, s, func(tx store.Tx) error { _, err := tx.EraseCustomer(ctx, other.ID, cu.ID); return err })
	wantErr(t, "EraseCustomer from another workspace", err, store.ErrNotFound)

	var got store.ErasedCustomer
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.EraseCustomer(ctx, w.ID, cu.ID)
		return err
	})
	slices.Sort(got.Sessions)
	slices.Sort(got.StorageKeys)
	checkEqual(t, "ErasedCustomer", got, store.ErasedCustomer{Conversations: 1, Messages: 2, Attachments: 2,
		Sessions: []string{anon.ID, verified.ID}, StorageKeys: []string{orphan.StorageKey, up.StorageKey}})

	gone := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after the erasure: %v; want ErrNotFound", what, err)
		}
	}
	_, err = s.Customer(ctx, cu.ID)
	gone("Customer", err)
	_, err = s.Conversation(ctx, conv.ID)
	gone("Conversation", err)
	_, err = s.Session(ctx, anon.ID)
	gone("anonymous Session", err)
	_, err = s.Session(ctx, verified.ID)
	gone("verified Session", err)
	_, err = s.SessionByTokenHash(ctx, verified.TokenHash)
	gone("SessionByTokenHash", err)
	for _, a := range []store.Attachment{up, orphan} {
		_, err = s.Attachment(ctx, a.ID)
		gone("Attachment "+a.ID, err)
		if b, err := s.BlobChunk(ctx, a.StorageKey, 0); err == nil {
			t.Errorf("chunk of %s after the erasure: %q", a.ID, b)
		}
	}
	_, err = s.Block(ctx, w.ID, "bl-gone")
	gone("Block", err)
	if msgs, err := s.Messages(ctx, conv.ID, 0, 10); err != nil || len(msgs) != 0 {
		t.Errorf("Messages after the erasure: %v, %v", msgs, err)
	}
	if em, err := s.CustomerEmail(ctx, cu.ID); err != nil || !em.OptedOutAt.IsZero() {
		t.Errorf("CustomerEmail after the erasure: %+v, %v", em, err)
	}
	if n, err := s.ConversationEmailed(ctx, conv.ID); err != nil || n != 0 {
		t.Errorf("ConversationEmailed after the erasure: %d, %v", n, err)
	}
	log, err := s.EmailLog(ctx, w.ID, 10)
	if err != nil || len(log) != 1 || log[0].Recipient != keep.Email {
		t.Errorf("EmailLog after the erasure: %+v, %v; want the other customer's entry only", log, err)
	}
	jobs, err := tryClaim(t, s)
	if err != nil || len(jobs) != 1 || jobs[0].Key != keepConv.ID+":1" {
		t.Errorf("jobs after the erasure: %+v, %v; want the other customer's only", jobs, err)
	}

	// The other customer keeps everything.
	if _, err := s.Customer(ctx, keep.ID); err != nil {
		t.Errorf("the other customer: %v", err)
	}
	if msgs, err := s.Messages(ctx, keepConv.ID, 0, 10); err != nil || len(msgs) != 1 {
		t.Errorf("the other customer's messages: %v, %v", msgs, err)
	}
	if _, err := s.Attachment(ctx, keepUp.ID); err != nil {
		t.Errorf("the other customer's attachment: %v", err)
	}
	if b, err := s.BlobChunk(ctx, keepUp.StorageKey, 0); err != nil || string(b) != "bytes" {
		t.Errorf("the other customer's chunk: %q, %v", b, err)
	}
	if _, err := s.Block(ctx, w.ID, "bl-keep"); err != nil {
		t.Errorf("the other customer's block: %v", err)
	}

	// A second erasure finds nothing.
	err = tryUpdate(t, s, func(tx store.Tx) error { _, err := tx.EraseCustomer(ctx, w.ID, cu.ID); return err })
	wantErr(t, "a second EraseCustomer", err, store.ErrNotFound)
}

// tryClaim claims every job due far in the future.
func tryClaim(t *testing.T, s store.Store) ([]store.Job, error) {
	t.Helper()
	var jobs []store.Job
	err := tryUpdate(t, s, func(tx store.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(t.Context(), at(1000*time.Hour), at(1001*time.Hour), "lease", 10)
		return err
	})
	return jobs, err
}

// DeleteClosedConversations: closed at or before the time, oldest first, in batches; open, recent and
// other workspaces' conversations stay; an anonymous starter session goes once the visitor has gone.
func testDeleteClosedConversations(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	other := newWorkspace(t, s, "ws-other")
	cu := newCustomer(t, s, w.ID, "cu", "ext", "c@example.com")
	closed := func(ws, id, session, customer string, closedAt time.Time) store.Conversation {
		t.Helper()
		c := newConversation(t, s, ws, id, session, customer, at(0))
		c.Status, c.ClosedAt, c.UpdatedAt = store.StatusClosed, closedAt, closedAt
		mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateConversation(ctx, &c) })
		return c
	}
	gone1 := newSession(t, s, w.ID, "se-gone1", "")
	gone2 := newSession(t, s, w.ID, "se-gone2", "")
	verified := newSession(t, s, w.ID, "se-verified", cu.ID)
	recentS := newSession(t, s, w.ID, "se-recent", "")
	openS := newSession(t, s, w.ID, "se-open", "")
	elsewhere := newSession(t, s, other.ID, "se-else", "")
	old1 := closed(w.ID, "cv-old1", gone1.ID, "", at(time.Hour))
	old2 := closed(w.ID, "cv-old2", gone2.ID, "", at(2*time.Hour))
	oldCust := closed(w.ID, "cv-oldcust", verified.ID, cu.ID, at(3*time.Hour))
	recent := closed(w.ID, "cv-recent", recentS.ID, "", at(100*time.Hour))
	open := newConversation(t, s, w.ID, "cv-open", openS.ID, "", at(0))
	otherWs := closed(other.ID, "cv-else", elsewhere.ID, "", at(time.Hour))
	up := completeUpload(t, s, newUpload(t, s, w.ID, "att-old", gone1.ID, "", at(time.Second)), "a.png", 10)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.PutBlobChunk(ctx, up.StorageKey, 0, []byte("x")) })
	appendMessage(t, s, store.Message{ConversationID: old1.ID, Sender: store.SenderCustomer, SessionID: gone1.ID, Body: "hi",
		CreatedAt: at(time.Minute), Attachments: []store.Attachment{{ID: up.ID}}})

	purge := func(limit int) store.PurgedConversations {
		t.Helper()
		var p store.PurgedConversations
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			p, err = tx.DeleteClosedConversations(ctx, w.ID, at(50*time.Hour), limit)
			return err
		})
		return p
	}
	first := purge(1)
	checkEqual(t, "first batch", first, store.PurgedConversations{Conversations: 1, Attachments: 1,
		Sessions: []string{gone1.ID}, StorageKeys: []string{up.StorageKey}})
	if _, err := s.Conversation(ctx, old1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the oldest conversation after the first batch: %v", err)
	}
	second := purge(10)
	if second.Conversations != 2 || !slices.Equal(second.Sessions, []string{gone2.ID}) {
		t.Errorf("second batch %+v; want 2 conversations and session %s", second, gone2.ID)
	}
	if third := purge(10); third.Conversations != 0 {
		t.Errorf("third batch %+v; want nothing", third)
	}
	for _, id := range []string{old2.ID, oldCust.ID} {
		if _, err := s.Conversation(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("conversation %s: %v; want deleted", id, err)
		}
	}
	for _, id := range []string{recent.ID, open.ID, otherWs.ID} {
		if _, err := s.Conversation(ctx, id); err != nil {
			t.Errorf("conversation %s: %v; want kept", id, err)
		}
	}
	if _, err := s.Session(ctx, verified.ID); err != nil {
		t.Errorf("the verified session: %v; want kept", err)
	}
	if _, err := s.Customer(ctx, cu.ID); err != nil {
		t.Errorf("the customer: %v; want kept", err)
	}
	if b, err := s.BlobChunk(ctx, up.StorageKey, 0); err == nil {
		t.Errorf("the attachment's chunk after the purge: %q", b)
	}
}
