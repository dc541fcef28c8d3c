package storetest

import (
	"testing"

	"github.com/parleyhq/parley/internal/store"
)

// testCannedResponses: shared and personal responses, each scope's shortcuts unique on their own, the
// listing of one agent's view, updates and deletes confined to their workspace.
func testCannedResponses(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	other := newWorkspace(t, s, "ws-other")
	ada := newAgent(t, s, w.ID, "ag-ada", "ada@example.com", at(0))
	bob := newAgent(t, s, w.ID, "ag-bob", "bob@example.com", at(0))
	eve := newAgent(t, s, other.ID, "ag-eve", "eve@example.com", at(0))

	create := func(c store.CannedResponse) error {
		c.CreatedAt, c.UpdatedAt = at(0), at(0)
		return tryUpdate(t, s, func(tx store.Tx) error { return tx.CreateCannedResponse(ctx, &c) })
	}
	mustCreate := func(c store.CannedResponse) {
		t.Helper()
		if err := create(c); err != nil {
			t.Fatalf("CreateCannedResponse(%s): %v", c.ID, err)
		}
	}
	mustCreate(store.CannedResponse{ID: "cr-hello", WorkspaceID: w.ID, Title: "Hello", Shortcut: "hello", Body: "Hi {{customer.first_name}}!"})
	mustCreate(store.CannedResponse{ID: "cr-bye", WorkspaceID: w.ID, Title: "Bye", Shortcut: "bye", Body: "Bye"})
	// A personal shortcut may equal a shared one, and two agents' personal ones may be equal.
	mustCreate(store.CannedResponse{ID: "cr-ada-hello", WorkspaceID: w.ID, OwnerID: ada.ID, Title: "My hello", Shortcut: "hello", Body: "Hey"})
	mustCreate(store.CannedResponse{ID: "cr-bob-hello", WorkspaceID: w.ID, OwnerID: bob.ID, Title: "Bob's hello", Shortcut: "hello", Body: "Yo"})
	// Another workspace's shared shortcut is its own.
	mustCreate(store.CannedResponse{ID: "cr-other", WorkspaceID: other.ID, Title: "Hello", Shortcut: "hello", Body: "Other"})

	for _, c := range []store.CannedResponse{
		{ID: "cr-dup-shared", WorkspaceID: w.ID, Title: "Again", Shortcut: "hello", Body: "x"},
		{ID: "cr-dup-personal", WorkspaceID: w.ID, OwnerID: ada.ID, Title: "Again", Shortcut: "hello", Body: "x"},
		{ID: "cr-hello", WorkspaceID: w.ID, Title: "Same id", Shortcut: "other", Body: "x"},
	} {
		wantErr(t, "CreateCannedResponse("+c.ID+")", create(c), store.ErrConflict)
	}
	for _, c := range []store.CannedResponse{
		{ID: "cr-no-ws", WorkspaceID: "ws-missing", Title: "x", Shortcut: "x", Body: "x"},
		{ID: "cr-no-owner", WorkspaceID: w.ID, OwnerID: "ag-missing", Title: "x", Shortcut: "x", Body: "x"},
		// An agent of another workspace owns nothing here.
		{ID: "cr-foreign-owner", WorkspaceID: w.ID, OwnerID: eve.ID, Title: "x", Shortcut: "x", Body: "x"},
	} {
		wantErr(t, "CreateCannedResponse("+c.ID+")", create(c), store.ErrNotFound)
	}

	ids := func(agentID string) []string {
		t.Helper()
		list, err := s.CannedResponses(ctx, w.ID, agentID)
		if err != nil {
			t.Fatalf("CannedResponses(%q): %v", agentID, err)
		}
		var out []string
		for _, c := range list {
			out = append(out, c.ID)
		}
		return out
	}
	wantIDs := func(what string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s = %v; want %v", what, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s = %v; want %v", what, got, want)
				return
			}
		}
	}
	wantIDs("CannedResponses(ada)", ids(ada.ID), "cr-bye", "cr-hello", "cr-ada-hello")
	wantIDs("CannedResponses(bob)", ids(bob.ID), "cr-bye", "cr-hello", "cr-bob-hello")
	wantIDs("CannedResponses(shared only)", ids(""), "cr-bye", "cr-hello")

	got, err := s.CannedResponse(ctx, w.ID, "cr-ada-hello")
	if err != nil {
		t.Fatalf("CannedResponse: %v", err)
	}
	want := store.CannedResponse{ID: "cr-ada-hello", WorkspaceID: w.ID, OwnerID: ada.ID, Title: "My hello", Shortcut: "hello", Body: "Hey"}
	if got.ID != want.ID || got.WorkspaceID != want.WorkspaceID || got.OwnerID != want.OwnerID || got.Title != want.Title ||
		got.Shortcut != want.Shortcut || got.Body != want.Body || !sameTime(got.CreatedAt, at(0)) || !sameTime(got.UpdatedAt, at(0)) {
		t.Errorf("CannedResponse = %+v; want %+v at %v", got, want, at(0))
	}
	_, err = s.CannedResponse(ctx, other.ID, "cr-hello")
	wantErr(t, "CannedResponse(another workspace's id)", err, store.ErrNotFound)

	// Updates: fields change, a shortcut taken in the scope conflicts, another workspace's id is missing.
	upd := got
	upd.Title, upd.Shortcut, upd.Body, upd.UpdatedAt = "Greeting", "greet", "Hello there", at(60e9)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCannedResponse(ctx, &upd) })
	if got, err := s.CannedResponse(ctx, w.ID, upd.ID); err != nil || got.Title != "Greeting" || got.Shortcut != "greet" ||
		got.Body != "Hello there" || !sameTime(got.UpdatedAt, at(60e9)) || !sameTime(got.CreatedAt, at(0)) || got.OwnerID != ada.ID {
		t.Errorf("after update: %+v, %v", got, err)
	}
	clash := store.CannedResponse{ID: "cr-bye", WorkspaceID: w.ID, Title: "Bye", Shortcut: "hello", Body: "Bye", UpdatedAt: at(0)}
	wantErr(t, "UpdateCannedResponse(taken shortcut)",
		tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCannedResponse(ctx, &clash) }), store.ErrConflict)
	foreign := store.CannedResponse{ID: "cr-other", WorkspaceID: w.ID, Title: "Mine", Shortcut: "mine", Body: "x", UpdatedAt: at(0)}
	wantErr(t, "UpdateCannedResponse(another workspace's id)",
		tryUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCannedResponse(ctx, &foreign) }), store.ErrNotFound)
	if got, _ := s.CannedResponse(ctx, other.ID, "cr-other"); got.Title != "Hello" {
		t.Errorf("another workspace's response changed: %+v", got)
	}

	// Deletes.
	wantErr(t, "DeleteCannedResponse(another workspace's id)",
		tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteCannedResponse(ctx, w.ID, "cr-other") }), store.ErrNotFound)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.DeleteCannedResponse(ctx, w.ID, "cr-hello") })
	wantErr(t, "DeleteCannedResponse(again)",
		tryUpdate(t, s, func(tx store.Tx) error { return tx.DeleteCannedResponse(ctx, w.ID, "cr-hello") }), store.ErrNotFound)
	wantIDs("CannedResponses(ada) after delete", ids(ada.ID), "cr-bye", "cr-ada-hello")
	// The shared shortcut is free again.
	mustCreate(store.CannedResponse{ID: "cr-hello-2", WorkspaceID: w.ID, Title: "Hello", Shortcut: "hello", Body: "Hi"})
	if _, err := s.CannedResponse(ctx, other.ID, "cr-other"); err != nil {
		t.Errorf("another workspace's response: %v", err)
	}
}
