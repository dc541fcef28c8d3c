package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

func testEmailState(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	c := newCustomer(t, s, w.ID, "cu", "u1", "ada@example.com")
	sess := newSession(t, s, w.ID, "sess", c.ID)
	conv := newConversation(t, s, w.ID, "conv", sess.ID, c.ID, at(0))

	if got, err := s.CustomerEmail(ctx, c.ID); err != nil || got != (store.CustomerEmail{}) {
		t.Errorf("CustomerEmail of a new customer = %+v, %v; want the zero value", got, err)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkCustomerEmailed(ctx, c.ID, at(time.Hour)) })
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetCustomerOptOut(ctx, c.ID, at(2*time.Hour)) })
	got, _ := s.CustomerEmail(ctx, c.ID)
	if !sameTime(got.LastEmailedAt, at(time.Hour)) || !sameTime(got.OptedOutAt, at(2*time.Hour)) {
		t.Errorf("CustomerEmail = %+v", got)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetCustomerOptOut(ctx, c.ID, time.Time{}) })
	if got, _ := s.CustomerEmail(ctx, c.ID); !got.OptedOutAt.IsZero() || !sameTime(got.LastEmailedAt, at(time.Hour)) {
		t.Errorf("after subscribing again: %+v", got)
	}

	if n, err := s.ConversationEmailed(ctx, conv.ID); n != 0 || err != nil {
		t.Errorf("ConversationEmailed of a new conversation = %d, %v", n, err)
	}
	for _, n := range []int64{3, 2, 5} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.MarkConversationEmailed(ctx, conv.ID, n, at(time.Hour)) })
	}
	if n, _ := s.ConversationEmailed(ctx, conv.ID); n != 5 {
		t.Errorf("ConversationEmailed = %d; want 5 (the mark only moves forward)", n)
	}

	e := store.EmailLogEntry{WorkspaceID: w.ID, JobKey: "reply:conv:3", Kind: "reply", Recipient: "ada@example.com", Subject: "Re", State: store.EmailRetrying,
		Attempts: 1, Reply: "451 try later", CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.LogEmail(ctx, &e) })
	first := e.ID
	e.State, e.Attempts, e.Reply, e.UpdatedAt = store.EmailSent, 2, "250 queued", at(time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.LogEmail(ctx, &e) })
	if e.ID != first {
		t.Errorf("logging the same job again made entry %d; want %d updated", e.ID, first)
	}
	for i := range 3 {
		x := store.EmailLogEntry{WorkspaceID: w.ID, JobKey: fmt.Sprint("k", i), Kind: "alert", Recipient: "ann@acme.example", State: store.EmailSent,
			CreatedAt: at(time.Duration(i) * time.Hour), UpdatedAt: at(time.Duration(i) * time.Hour)}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.LogEmail(ctx, &x) })
	}
	log, err := s.EmailLog(ctx, w.ID, 10)
	if err != nil || len(log) != 4 || log[0].JobKey != "k2" || log[3].JobKey != "reply:conv:3" || log[3].State != store.EmailSent ||
		log[3].Attempts != 2 || log[3].Reply != "250 queued" || !sameTime(log[3].CreatedAt, at(0)) {
		t.Errorf("EmailLog = %+v, %v", log, err)
	}
	if other, _ := s.EmailLog(ctx, "elsewhere", 10); len(other) != 0 {
		t.Errorf("another workspace's log = %+v", other)
	}
	var n int
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteEmailLog(ctx, at(time.Hour), 10)
		return err
	})
	if n != 3 {
		t.Errorf("DeleteEmailLog = %d; want 3 (all but the one updated after the hour)", n)
	}
}
