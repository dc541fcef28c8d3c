package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Ending sessions in bulk: by the key that verified them, by customer, or every session of a workspace.
func testRevokeSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	other := newWorkspace(t, s, "ws-other")
	ada := newCustomer(t, s, w.ID, "cu-ada", "ada", "ada@bank.example")
	bob := newCustomer(t, s, w.ID, "cu-bob", "", "bob@other.example")
	eve := newCustomer(t, s, other.ID, "cu-eve", "eve", "")

	verified := func(id, customerID, source string) store.Session {
		x := newSession(t, s, customerWorkspace(customerID, w, other), id, customerID)
		x.KeySource = source
		mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &x) })
		return x
	}
	a1 := verified("se-a1", ada.ID, "k1")
	verified("se-a2", ada.ID, "jwks_1")
	verified("se-b1", bob.ID, "k1")
	verified("se-e1", eve.ID, "k1") // same kid, another workspace
	newSession(t, s, w.ID, "se-anon", "")
	done := verified("se-done", ada.ID, "k1")
	done.RevokedAt = at(time.Second)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &done) })

	got, err := s.Session(ctx, a1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.KeySource != "k1" {
		t.Errorf("KeySource = %q; want k1", got.KeySource)
	}
	live, err := s.LiveVerifiedSessions(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.VerifiedSession{
		{SessionID: "se-a1", CustomerID: ada.ID, Email: "ada@bank.example"},
		{SessionID: "se-a2", CustomerID: ada.ID, Email: "ada@bank.example"},
		{SessionID: "se-b1", CustomerID: bob.ID, Email: "bob@other.example"},
	}
	slices.SortFunc(live, func(a, b store.VerifiedSession) int { return strings.Compare(a.SessionID, b.SessionID) })
	if !slices.Equal(live, want) {
		t.Errorf("LiveVerifiedSessions = %v; want %v", live, want)
	}

	revoke := func(f store.SessionFilter) []string {
		t.Helper()
		var ids []string
		mustUpdate(t, s, func(tx store.Tx) error {
			var err error
			ids, err = tx.RevokeSessions(ctx, f, at(time.Minute))
			return err
		})
		slices.Sort(ids)
		return ids
	}
	if ids := revoke(store.SessionFilter{WorkspaceID: w.ID, KeySource: "k1"}); !slices.Equal(ids, []string{"se-a1", "se-b1"}) {
		t.Errorf("RevokeSessions(key k1) = %v; want [se-a1 se-b1] (not the revoked one, not another workspace's)", ids)
	}
	if ids := revoke(store.SessionFilter{WorkspaceID: w.ID, KeySource: "k1"}); len(ids) != 0 {
		t.Errorf("RevokeSessions(key k1) again = %v; want none", ids)
	}
	if _, err := s.SessionByTokenHash(ctx, a1.TokenHash); err == nil {
		t.Error("a revoked session still authenticates")
	}
	if got, _ := s.Session(ctx, a1.ID); !sameTime(got.RevokedAt, at(time.Minute)) {
		t.Errorf("RevokedAt = %v; want %v", got.RevokedAt, at(time.Minute))
	}
	if ids := revoke(store.SessionFilter{WorkspaceID: w.ID, CustomerID: ada.ID}); !slices.Equal(ids, []string{"se-a2"}) {
		t.Errorf("RevokeSessions(customer ada) = %v; want [se-a2]", ids)
	}
	if ids := revoke(store.SessionFilter{WorkspaceID: w.ID}); !slices.Equal(ids, []string{"se-anon"}) {
		t.Errorf("RevokeSessions(workspace) = %v; want [se-anon]", ids)
	}
	if _, err := s.SessionByTokenHash(ctx, tokenHash("token of se-e1")); err != nil {
		t.Errorf("another workspace's session was ended: %v", err)
	}
	err = tryUpdate(t, s, func(tx store.Tx) error {
		_, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: w.ID, KeySource: "k1", CustomerID: ada.ID}, at(0))
		return err
	})
	if err == nil {
		t.Error("RevokeSessions with both a key and a customer: want an error")
	}
}

func customerWorkspace(customerID string, w, other store.Workspace) string {
	if customerID == "cu-eve" {
		return other.ID
	}
	return w.ID
}

// A customer's logout time is stored and read back; zero means never.
func testCustomerLoggedOutAt(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	c := newCustomer(t, s, w.ID, "cu-1", "u1", "")
	got, err := s.Customer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LoggedOutAt.IsZero() {
		t.Errorf("new customer LoggedOutAt = %v; want zero", got.LoggedOutAt)
	}
	got.LoggedOutAt = at(90*time.Second + 123456*time.Microsecond)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateCustomer(ctx, &got) })
	again, err := s.CustomerByExternalID(ctx, w.ID, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if !sameTime(again.LoggedOutAt, got.LoggedOutAt) {
		t.Errorf("LoggedOutAt = %v; want %v", again.LoggedOutAt, got.LoggedOutAt)
	}
}
