package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

func testWebhooks(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	other := newWorkspace(t, s, "ws2")
	e := store.WebhookEndpoint{ID: "wh_1", WorkspaceID: w.ID, URL: "https://crm.example/hook", Events: []string{"message.created", "conversation.closed"},
		Secret: []byte("sealed"), CreatedAt: at(0), UpdatedAt: at(0)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateWebhookEndpoint(ctx, &e) })
	e2 := store.WebhookEndpoint{ID: "wh_2", WorkspaceID: w.ID, URL: "https://b.example/", IncludeNotes: true, Secret: []byte("s2"),
		CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateWebhookEndpoint(ctx, &e2) })

	got, err := s.WebhookEndpoint(ctx, w.ID, "wh_1")
	if err != nil || got.URL != e.URL || !slices.Equal(got.Events, e.Events) || string(got.Secret) != "sealed" || got.PreviousSecret != nil ||
		!got.PreviousUntil.IsZero() || !got.DisabledAt.IsZero() || !got.FailingSince.IsZero() || got.IncludeNotes {
		t.Fatalf("WebhookEndpoint = %+v, %v", got, err)
	}
	if _, err := s.WebhookEndpoint(ctx, other.ID, "wh_1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another workspace's endpoint: %v; want ErrNotFound", err)
	}
	list, err := s.WebhookEndpoints(ctx, w.ID)
	if err != nil || len(list) != 2 || list[0].ID != "wh_1" || list[1].ID != "wh_2" || list[1].Events != nil || !list[1].IncludeNotes {
		t.Fatalf("WebhookEndpoints = %+v, %v", list, err)
	}
	if l, _ := s.WebhookEndpoints(ctx, other.ID); len(l) != 0 {
		t.Errorf("another workspace lists %d endpoints", len(l))
	}

	got.Secret, got.PreviousSecret, got.PreviousUntil = []byte("new"), []byte("sealed"), at(24*time.Hour)
	got.Events, got.IncludeNotes, got.UpdatedAt, got.DisabledAt, got.FailingSince = nil, true, at(time.Hour), at(2*time.Hour), at(time.Hour)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateWebhookEndpoint(ctx, &got) })
	again, _ := s.WebhookEndpoint(ctx, w.ID, "wh_1")
	if string(again.Secret) != "new" || string(again.PreviousSecret) != "sealed" || !sameTime(again.PreviousUntil, at(24*time.Hour)) ||
		again.Events != nil || !again.IncludeNotes || !sameTime(again.DisabledAt, at(2*time.Hour)) || !sameTime(again.FailingSince, at(time.Hour)) {
		t.Errorf("after update: %+v", again)
	}
	wrong := again
	wrong.WorkspaceID = other.ID
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.UpdateWebhookEndpoint(ctx, &wrong) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update through another workspace: %v; want ErrNotFound", err)
	}

	for i := range 3 {
		d := store.WebhookDelivery{EndpointID: "wh_1", WebhookID: "msg_a", EventType: "message.created", Attempt: i + 1, Status: 500,
			Duration: 1500 * time.Microsecond, Error: "boom", At: at(time.Duration(i) * time.Hour)}
		mustUpdate(t, s, func(tx store.Tx) error { return tx.AddWebhookDelivery(ctx, &d) })
		if d.ID == 0 {
			t.Fatal("AddWebhookDelivery assigned no id")
		}
	}
	ds, err := s.WebhookDeliveries(ctx, "wh_1", 2)
	if err != nil || len(ds) != 2 || ds[0].Attempt != 3 || ds[1].Attempt != 2 || ds[0].Status != 500 || ds[0].Duration != 1500*time.Microsecond ||
		ds[0].Error != "boom" || ds[0].WebhookID != "msg_a" || ds[0].EventType != "message.created" || !sameTime(ds[0].At, at(2*time.Hour)) {
		t.Fatalf("WebhookDeliveries = %+v, %v", ds, err)
	}
	var n int
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteWebhookDeliveries(ctx, at(time.Hour), 10)
		return err
	})
	if n != 2 {
		t.Errorf("DeleteWebhookDeliveries = %d; want 2", n)
	}
	if ds, _ := s.WebhookDeliveries(ctx, "wh_1", 10); len(ds) != 1 {
		t.Errorf("%d deliveries left; want 1", len(ds))
	}

	if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteWebhookEndpoint(ctx, other.ID, "wh_1") }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete through another workspace: %v; want ErrNotFound", err)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteWebhookEndpoint(ctx, w.ID, "wh_1") })
	if _, err := s.WebhookEndpoint(ctx, w.ID, "wh_1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if ds, _ := s.WebhookDeliveries(ctx, "wh_1", 10); len(ds) != 0 {
		t.Errorf("the deleted endpoint's log kept %d rows", len(ds))
	}
}

// A message append tells the PostgreSQL store whether the conversation's workspace has webhook
// endpoints, so that WebhookEndpoints in the same transaction needs no statement: the answer must be
// what a read would give, with endpoints created by earlier transactions (on any instance), in the same
// transaction, or in another workspace. Both appends: to the owner's open conversation, and to a given
// conversation.
func testWebhookEndpointsBesideAppend(t *testing.T, s store.Store) {
	for _, toOpen := range []bool{true, false} {
		name := "AppendMessage"
		if toOpen {
			name = "AppendToOpenConversation"
		}
		t.Run(name, func(t *testing.T) { testWebhookEndpointsBesideAppendOf(t, s, toOpen) })
	}
}

func testWebhookEndpointsBesideAppendOf(t *testing.T, s store.Store, toOpen bool) {
	ctx := t.Context()
	suffix := "-given"
	if toOpen {
		suffix = "-open"
	}
	w := newWorkspace(t, s, "ws"+suffix)
	other := newWorkspace(t, s, "ws2"+suffix)
	sess := newSession(t, s, w.ID, "se"+suffix, "")
	conv := newConversation(t, s, w.ID, "cv"+suffix, sess.ID, "", at(0))
	endpoint := func(id, workspaceID string) store.WebhookEndpoint {
		return store.WebhookEndpoint{ID: id + suffix, WorkspaceID: workspaceID, URL: "https://crm.example/" + id, Secret: []byte("sealed"),
			CreatedAt: at(0), UpdatedAt: at(0)}
	}
	// appendAndList appends a message, runs also (if any), and lists the workspace's endpoints, in one
	// transaction.
	appendAndList := func(also func(tx store.Tx) error) []string {
		t.Helper()
		var ids []string
		mustUpdate(t, s, func(tx store.Tx) error {
			m := store.Message{Sender: store.SenderCustomer, SessionID: sess.ID, Body: "hi", CreatedAt: at(time.Second)}
			if toOpen {
				c, err := tx.AppendToOpenConversation(ctx, store.Owner{SessionID: sess.ID}, &m)
				if err != nil {
					return err
				}
				if c.ID != conv.ID {
					t.Errorf("appended to conversation %q; want %q", c.ID, conv.ID)
				}
			} else {
				m.ConversationID = conv.ID
				if err := tx.AppendMessage(ctx, &m); err != nil {
					return err
				}
			}
			if also != nil {
				if err := also(tx); err != nil {
					return err
				}
			}
			eps, err := tx.WebhookEndpoints(ctx, w.ID)
			ids = nil
			for _, e := range eps {
				ids = append(ids, strings.TrimSuffix(e.ID, suffix))
			}
			return err
		})
		return ids
	}

	if ids := appendAndList(nil); len(ids) != 0 {
		t.Errorf("endpoints of a workspace without any: %v", ids)
	}
	theirs := endpoint("wh_other", other.ID)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateWebhookEndpoint(ctx, &theirs) })
	if ids := appendAndList(nil); len(ids) != 0 {
		t.Errorf("endpoints, with one in another workspace only: %v", ids)
	}
	// Created in the same transaction, after the append.
	own := endpoint("wh_1", w.ID)
	if ids := appendAndList(func(tx store.Tx) error { return tx.CreateWebhookEndpoint(ctx, &own) }); !slices.Equal(ids, []string{"wh_1"}) {
		t.Errorf("endpoints after creating one in the same transaction: %v; want [wh_1]", ids)
	}
	// Created by an earlier transaction.
	if ids := appendAndList(nil); !slices.Equal(ids, []string{"wh_1"}) {
		t.Errorf("endpoints after creating one: %v; want [wh_1]", ids)
	}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteWebhookEndpoint(ctx, w.ID, own.ID) })
	if ids := appendAndList(nil); len(ids) != 0 {
		t.Errorf("endpoints after deleting the only one: %v", ids)
	}
}
