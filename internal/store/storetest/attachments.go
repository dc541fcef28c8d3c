package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// newUpload stores an attachment record as an upload starts (state uploading), by a session or an agent.
func newUpload(t *testing.T, s store.Store, workspaceID, id, sessionID, agentID string, created time.Time) store.Attachment {
	t.Helper()
	a := store.Attachment{ID: id, WorkspaceID: workspaceID, SessionID: sessionID, AgentID: agentID,
		State: store.AttachmentUploading, StorageKey: "key-" + id, Name: "upload", CreatedAt: created}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateAttachment(t.Context(), &a) })
	return a
}

// completeUpload makes an upload ready with the given name and size.
func completeUpload(t *testing.T, s store.Store, a store.Attachment, name string, size int64) store.Attachment {
	t.Helper()
	a.Name, a.Kind, a.ContentType, a.Size, a.Width, a.Height, a.SHA256 = name, "png", "image/png", size, 640, 480, []byte{1, 2, 3}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CompleteAttachment(t.Context(), &a) })
	return a
}

func testAttachments(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))
	ag := newAgent(t, s, w.ID, "ag", "ada@example.com", at(0))

	up := newUpload(t, s, w.ID, "att-1", sess.ID, "", at(time.Second))
	got, err := s.Attachment(ctx, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "uploading attachment", got, up)
	if _, err := s.Attachment(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Attachment(missing) err = %v; want ErrNotFound", err)
	}

	// An upload that has not finished cannot be sent, and the failed append stores nothing.
	m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: "", CreatedAt: at(2 * time.Second),
		Attachments: []store.Attachment{{ID: up.ID}}}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(ctx, &m) })
	wantErr(t, "append with an uploading attachment", err, store.ErrAttachmentTaken)
	if msgs, _ := s.Messages(ctx, conv.ID, 0, 10); len(msgs) != 0 {
		t.Fatalf("a refused append left messages: %+v", msgs)
	}
	if n, _ := s.StoredAttachmentBytes(ctx, w.ID); n != 0 {
		t.Errorf("StoredAttachmentBytes counts an upload that has not finished: %d", n)
	}

	ready := completeUpload(t, s, up, "shot.png", 1234)
	if ready.State != store.AttachmentReady {
		t.Errorf("CompleteAttachment left state %q", ready.State)
	}
	// Completing twice is no longer possible: the record is not uploading any more.
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.CompleteAttachment(ctx, &ready) })
	wantErr(t, "CompleteAttachment twice", err, store.ErrNotFound)

	second := completeUpload(t, s, newUpload(t, s, w.ID, "att-2", sess.ID, "", at(time.Second)), "doc.pdf", 100)
	m = store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: "two files", ClientID: "c1",
		CreatedAt: at(2 * time.Second), Attachments: []store.Attachment{{ID: second.ID}, {ID: ready.ID}}}
	m = appendMessage(t, s, m)
	if len(m.Attachments) != 2 || m.Attachments[0].ID != second.ID || m.Attachments[1].ID != ready.ID ||
		m.Attachments[0].MessageSeq != m.Seq || m.Attachments[1].ConversationID != conv.ID || m.Attachments[1].Name != "shot.png" {
		t.Fatalf("AppendMessage's attachments = %+v; want both records, bound, in the order given", m.Attachments)
	}
	// Every read of messages carries the attachments, in order.
	check := func(what string, msgs []store.Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var found *store.Message
		for i := range msgs {
			if msgs[i].Seq == m.Seq {
				found = &msgs[i]
			}
		}
		if found == nil {
			t.Fatalf("%s: message missing", what)
		}
		checkEqual(t, what, found.Attachments, m.Attachments)
	}
	msgs, err := s.Messages(ctx, conv.ID, 0, 10)
	check("Messages", msgs, err)
	msgs, err = s.MessagesAfterNumber(ctx, conv.ID, 0, 10)
	check("MessagesAfterNumber", msgs, err)
	msgs, err = s.MessagesBefore(ctx, conv.ID, 0, 10)
	check("MessagesBefore", msgs, err)
	byClient, err := s.MessageByClientID(ctx, sess.ID, "c1")
	check("MessageByClientID", []store.Message{byClient}, err)

	// A message without attachments has none (not a placeholder).
	plain := appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: "plain", CreatedAt: at(3 * time.Second)})
	all, _ := s.Messages(ctx, conv.ID, 0, 10)
	for _, x := range all {
		if x.Seq == plain.Seq && len(x.Attachments) != 0 {
			t.Errorf("a message without attachments reads with %+v", x.Attachments)
		}
	}

	// A bound attachment cannot be sent again, nor deleted as unused.
	again := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: "again", CreatedAt: at(4 * time.Second),
		Attachments: []store.Attachment{{ID: ready.ID}}}
	wantErr(t, "sending a bound attachment again", tryUpdate(t, s, func(tx store.Tx) error { return tx.AppendMessage(ctx, &again) }), store.ErrAttachmentTaken)
	wantErr(t, "deleting a bound attachment", tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteAttachment(ctx, ready.ID) }), store.ErrNotFound)

	// AppendToOpenConversation binds too.
	third := completeUpload(t, s, newUpload(t, s, w.ID, "att-3", sess.ID, "", at(time.Second)), "c.csv", 10)
	om := store.Message{Sender: store.SenderCustomer, SessionID: sess.ID, Body: "", CreatedAt: at(5 * time.Second), Attachments: []store.Attachment{{ID: third.ID}}}
	mustUpdate(t, s, func(tx store.Tx) error {
		_, err := tx.AppendToOpenConversation(ctx, store.Owner{SessionID: sess.ID}, &om)
		return err
	})
	if len(om.Attachments) != 1 || om.Attachments[0].MessageSeq != om.Seq {
		t.Errorf("AppendToOpenConversation's attachments = %+v", om.Attachments)
	}

	// An internal note's attachment is flagged and left out of the customer-facing listing.
	noteAtt := completeUpload(t, s, newUpload(t, s, w.ID, "att-note", "", ag.ID, at(time.Second)), "secret.pdf", 7)
	note := appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: ag.ID, Body: "internal", Internal: true,
		CreatedAt: at(6 * time.Second), Attachments: []store.Attachment{{ID: noteAtt.ID}}})
	if !note.Attachments[0].Internal {
		t.Errorf("a note's attachment is not flagged internal: %+v", note.Attachments[0])
	}
	listed, err := s.ConversationAttachments(ctx, []string{conv.ID, "other"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range listed[conv.ID] {
		names = append(names, fmt.Sprintf("%s@%d", a.Name, a.MessageN))
	}
	if fmt.Sprint(names) != fmt.Sprintf("[doc.pdf@%d shot.png@%d c.csv@%d]", m.N, m.N, om.N) || len(listed) != 1 {
		t.Errorf("ConversationAttachments = %v (%d conversations); want the customer-visible ones in order with their message numbers", names, len(listed))
	}
	if l, _ := s.ConversationAttachments(ctx, []string{conv.ID}, 1); len(l[conv.ID]) != 1 {
		t.Errorf("ConversationAttachments ignores its limit: %d", len(l[conv.ID]))
	}

	if n, err := s.StoredAttachmentBytes(ctx, w.ID); err != nil || n != 1234+100+10+7 {
		t.Errorf("StoredAttachmentBytes = %d, %v; want %d", n, err, 1234+100+10+7)
	}
	other := newWorkspace(t, s, "other")
	if n, _ := s.StoredAttachmentBytes(ctx, other.ID); n != 0 {
		t.Errorf("another workspace's stored bytes = %d", n)
	}
}

// testAttachmentCrash: a crash at any point of an upload leaves nothing half-written and nothing that
// refers to bytes that do not exist. The points are: after the record (uploading, no bytes), amid the
// chunks, and inside the transaction that completes it or binds it (rolled back: as if never run).
func testAttachmentCrash(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))

	// Crash amid the chunks: the record stays uploading, unsendable, and listed for cleanup by age.
	cut := newUpload(t, s, w.ID, "cut", sess.ID, "", at(0))
	mustUpdate(t, s, func(tx store.Tx) error { return tx.PutBlobChunk(ctx, cut.StorageKey, 0, []byte("first chunk")) })

	// Crash inside the completing transaction: it rolls back whole.
	boom := errors.New("crash")
	half := newUpload(t, s, w.ID, "half", sess.ID, "", at(time.Minute))
	err := tryUpdate(t, s, func(tx store.Tx) error {
		h := half
		h.Size = 99
		if err := tx.CompleteAttachment(ctx, &h); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "completing transaction that crashed", err, boom)
	if got, _ := s.Attachment(ctx, half.ID); got.State != store.AttachmentUploading || got.Size != 0 {
		t.Errorf("a rolled-back completion left %+v", got)
	}

	// Crash inside the sending transaction: the message and the binding roll back together.
	ready := completeUpload(t, s, newUpload(t, s, w.ID, "ready", sess.ID, "", at(2*time.Minute)), "r.png", 5)
	err = tryUpdate(t, s, func(tx store.Tx) error {
		m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, CreatedAt: at(time.Hour),
			Attachments: []store.Attachment{{ID: ready.ID}}}
		if err := tx.AppendMessage(ctx, &m); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, "sending transaction that crashed", err, boom)
	if got, _ := s.Attachment(ctx, ready.ID); got.MessageSeq != 0 || got.ConversationID != "" {
		t.Errorf("a rolled-back send left the attachment bound: %+v", got)
	}
	if msgs, _ := s.Messages(ctx, conv.ID, 0, 10); len(msgs) != 0 {
		t.Errorf("a rolled-back send left messages: %+v", msgs)
	}

	// Cleanup finds unbound records by age, uploading or ready, oldest first; bound ones never.
	stale, err := s.StaleAttachments(ctx, at(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 2 || stale[0].ID != cut.ID || stale[1].ID != half.ID {
		t.Errorf("StaleAttachments(at 1m) = %+v; want cut, half", stale)
	}
	if l, _ := s.StaleAttachments(ctx, at(time.Minute), 1); len(l) != 1 {
		t.Errorf("StaleAttachments ignores its limit")
	}
	bound := completeUpload(t, s, newUpload(t, s, w.ID, "bound", sess.ID, "", at(0)), "b.png", 5)
	appendMessage(t, s, store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, CreatedAt: at(time.Hour),
		Attachments: []store.Attachment{{ID: bound.ID}}})
	all, _ := s.StaleAttachments(ctx, at(24*time.Hour), 10)
	for _, a := range all {
		if a.ID == bound.ID {
			t.Errorf("StaleAttachments lists a bound attachment")
		}
	}
	if len(all) != 3 {
		t.Errorf("StaleAttachments(at 24h) = %d records; want cut, half, ready", len(all))
	}
	// Deleting the crashed upload's record and bytes leaves nothing.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteAttachment(ctx, cut.ID) })
	mustUpdate(t, s, func(tx store.Tx) error { _, err := tx.DeleteBlob(ctx, cut.StorageKey, 10); return err })
	if _, err := s.Attachment(ctx, cut.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted attachment still reads: %v", err)
	}
	if _, err := s.BlobChunk(ctx, cut.StorageKey, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted blob still reads: %v", err)
	}
}

// testAttachmentRace: two messages sending the same attachment at once — exactly one has it.
func testAttachmentRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "sess", "")
	conv := newConversation(t, s, w.ID, "conv", sess.ID, "", at(0))
	for round := range 5 {
		a := completeUpload(t, s, newUpload(t, s, w.ID, fmt.Sprintf("att-%d", round), sess.ID, "", at(0)), "x.png", 1)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() {
				m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, CreatedAt: at(time.Second),
					Attachments: []store.Attachment{{ID: a.ID}}}
				errs[i] = s.Update(ctx, func(tx store.Tx) error { return tx.AppendMessage(ctx, &m) })
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrAttachmentTaken):
				t.Errorf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d messages took the attachment; want 1", round, won)
		}
	}
	msgs, _ := s.Messages(ctx, conv.ID, 0, 100)
	if len(msgs) != 5 {
		t.Errorf("%d messages stored; want 5 (one per attachment)", len(msgs))
	}
}

func testBlobChunks(t *testing.T, s store.Store) {
	ctx := t.Context()
	for n := range 5 {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.PutBlobChunk(ctx, "k", n, bytes.Repeat([]byte{byte(n)}, 10+n)) })
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.PutBlobChunk(ctx, "k", 2, []byte("replaced")) })
	mustUpdate(t, s, func(tx store.Tx) error { return tx.PutBlobChunk(ctx, "other", 0, []byte("kept")) })
	if got, err := s.BlobChunk(ctx, "k", 2); err != nil || string(got) != "replaced" {
		t.Errorf("BlobChunk(k, 2) = %q, %v", got, err)
	}
	if got, _ := s.BlobChunk(ctx, "k", 4); !bytes.Equal(got, bytes.Repeat([]byte{4}, 14)) {
		t.Errorf("BlobChunk(k, 4) = %v", got)
	}
	if _, err := s.BlobChunk(ctx, "k", 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("BlobChunk past the end: %v", err)
	}
	var deleted []int
	for {
		var n int
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.DeleteBlob(ctx, "k", 2)
			return err
		})
		deleted = append(deleted, n)
		if n == 0 {
			break
		}
	}
	if fmt.Sprint(deleted) != "[2 2 1 0]" {
		t.Errorf("DeleteBlob in batches of 2 deleted %v; want [2 2 1 0]", deleted)
	}
	if got, err := s.BlobChunk(ctx, "other", 0); err != nil || string(got) != "kept" {
		t.Errorf("another object was touched: %q, %v", got, err)
	}
}
