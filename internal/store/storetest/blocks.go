package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

func blockKey(b store.Block) string { return b.ID }

// Blocks: stored as given, found by customer, session or address while live, per workspace.
func testBlocks(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	other := newWorkspace(t, s, "ws-other")

	create := func(b store.Block) store.Block {
		t.Helper()
		mustUpdate(t, s, func(tx store.Tx) error { return tx.CreateBlock(ctx, &b) })
		return b
	}
	customer := create(store.Block{
		ID: "bl-customer", WorkspaceID: w.ID, CustomerID: "cu-ada", ConversationID: "cv-1", Reason: "insults <b>agents</b>",
		CreatedBy: "ag-1", CreatedAt: at(0), ExpiresAt: at(time.Hour),
	})
	visitor := create(store.Block{
		ID: "bl-visitor", WorkspaceID: w.ID, SessionID: "se-1", Addr: "203.0.113.7", ConversationID: "cv-2",
		CreatedBy: "ag-2", CreatedAt: at(time.Minute), // no expiry: until lifted
	})
	sessionOnly := create(store.Block{ID: "bl-session", WorkspaceID: w.ID, SessionID: "se-2", CreatedBy: "ag-1", CreatedAt: at(2 * time.Minute)})
	elsewhere := create(store.Block{ID: "bl-elsewhere", WorkspaceID: other.ID, CustomerID: "cu-ada", Addr: "198.51.100.1", CreatedBy: "ag-9", CreatedAt: at(0)})

	got, err := s.Block(ctx, w.ID, customer.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "Block", got, customer)
	if _, err := s.Block(ctx, other.ID, customer.ID); err == nil {
		t.Error("Block found another workspace's block")
	} else {
		wantErr(t, "Block of another workspace", err, store.ErrNotFound)
	}
	list, err := s.Blocks(ctx, w.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	checkList(t, "Blocks", list, []store.Block{sessionOnly, visitor, customer}, blockKey)
	if list, err = s.Blocks(ctx, w.ID, 2); err != nil || len(list) != 2 {
		t.Errorf("Blocks with limit 2 = %d blocks, %v; want 2", len(list), err)
	}

	live := func(what string, m store.BlockMatch, when time.Time, want string) {
		t.Helper()
		b, err := s.LiveBlock(ctx, w.ID, m, when)
		if want == "" {
			if err == nil {
				t.Errorf("%s: LiveBlock = %s; want none", what, b.ID)
			} else {
				wantErr(t, what, err, store.ErrNotFound)
			}
			return
		}
		if err != nil {
			t.Errorf("%s: LiveBlock: %v; want %s", what, err, want)
		} else if b.ID != want {
			t.Errorf("%s: LiveBlock = %s; want %s", what, b.ID, want)
		}
	}
	live("customer", store.BlockMatch{CustomerID: "cu-ada"}, at(time.Minute), customer.ID)
	live("customer, a moment before expiry", store.BlockMatch{CustomerID: "cu-ada"}, at(time.Hour-time.Microsecond), customer.ID)
	live("customer, at expiry", store.BlockMatch{CustomerID: "cu-ada"}, at(time.Hour), "")
	live("another customer", store.BlockMatch{CustomerID: "cu-bob"}, at(time.Minute), "")
	live("session", store.BlockMatch{SessionID: "se-1"}, at(time.Minute), visitor.ID)
	live("address, years later", store.BlockMatch{SessionID: "se-new", Addr: "203.0.113.7"}, at(10000*time.Hour), visitor.ID)
	live("another address", store.BlockMatch{SessionID: "se-new", Addr: "203.0.113.8"}, at(time.Minute), "")
	live("nothing named", store.BlockMatch{}, at(time.Minute), "")
	// A block without an address matches no empty address, and one without a customer no empty customer.
	live("empty address", store.BlockMatch{Addr: ""}, at(time.Minute), "")
	live("another workspace's address", store.BlockMatch{Addr: "198.51.100.1"}, at(time.Minute), "")
	live("several match: the newest", store.BlockMatch{CustomerID: "cu-ada", SessionID: "se-2", Addr: "203.0.113.7"}, at(3*time.Minute), sessionOnly.ID)

	end := func(what string, when time.Time, wantEnd time.Time, wantUntilLifted bool) {
		t.Helper()
		got, untilLifted, err := s.LiveBlocksEnd(ctx, w.ID, when)
		if err != nil || untilLifted != wantUntilLifted || !sameTime(got, wantEnd) {
			t.Errorf("%s: LiveBlocksEnd = %v, %v, %v; want %v, %v", what, got, untilLifted, err, wantEnd, wantUntilLifted)
		}
	}
	end("with blocks until lifted", at(time.Minute), time.Time{}, true)
	if got, untilLifted, err := s.LiveBlocksEnd(ctx, "ws-none", at(0)); err != nil || untilLifted || !got.IsZero() {
		t.Errorf("LiveBlocksEnd of a workspace without blocks = %v, %v, %v; want none", got, untilLifted, err)
	}

	// Lifting ends a block once, in its own workspace only.
	wantErr(t, "LiftBlock from another workspace", tryUpdate(t, s, func(tx store.Tx) error {
		return tx.LiftBlock(ctx, other.ID, visitor.ID, "ag-9", at(time.Hour))
	}), store.ErrNotFound)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.LiftBlock(ctx, w.ID, visitor.ID, "ag-3", at(2*time.Hour)) })
	wantErr(t, "LiftBlock twice", tryUpdate(t, s, func(tx store.Tx) error {
		return tx.LiftBlock(ctx, w.ID, visitor.ID, "ag-4", at(3*time.Hour))
	}), store.ErrNotFound)
	wantErr(t, "LiftBlock of a missing block", tryUpdate(t, s, func(tx store.Tx) error {
		return tx.LiftBlock(ctx, w.ID, "bl-missing", "ag-4", at(3*time.Hour))
	}), store.ErrNotFound)
	visitor.LiftedAt, visitor.LiftedBy = at(2*time.Hour), "ag-3"
	if got, err = s.Block(ctx, w.ID, visitor.ID); err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "lifted Block", got, visitor)
	live("address after the lift", store.BlockMatch{Addr: "203.0.113.7"}, at(3*time.Hour), "")
	end("with one block until lifted left", at(3*time.Hour), time.Time{}, true)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.LiftBlock(ctx, w.ID, sessionOnly.ID, "ag-3", at(3*time.Hour)) })
	end("with one block that expires", at(3*time.Hour), time.Time{}, false) // it expired at at(1h)
	end("with one block that expires, before it does", at(time.Minute), customer.ExpiresAt, false)
	sessionOnly.LiftedAt, sessionOnly.LiftedBy = at(3*time.Hour), "ag-3"
	live("session after the lift", store.BlockMatch{SessionID: "se-1"}, at(time.Hour+time.Minute), "")
	live("address when the lift was not yet", store.BlockMatch{Addr: "203.0.113.7"}, at(time.Minute), "")
	b, err := s.LiveBlock(ctx, other.ID, store.BlockMatch{CustomerID: "cu-ada"}, at(time.Minute))
	if err != nil || b.ID != elsewhere.ID {
		t.Errorf("the other workspace's LiveBlock = %q, %v; want %s", b.ID, err, elsewhere.ID)
	}

	wantErr(t, "CreateBlock in a missing workspace", tryUpdate(t, s, func(tx store.Tx) error {
		return tx.CreateBlock(ctx, &store.Block{ID: "bl-x", WorkspaceID: "ws-missing", SessionID: "se-1", CreatedAt: at(0)})
	}), store.ErrNotFound)
	wantErr(t, "CreateBlock with a taken id", tryUpdate(t, s, func(tx store.Tx) error {
		return tx.CreateBlock(ctx, &store.Block{ID: customer.ID, WorkspaceID: w.ID, SessionID: "se-1", CreatedAt: at(0)})
	}), store.ErrConflict)
}

// A session's client address: empty until a message records one, rewritten only when it changes.
func testSessionClientAddr(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := newWorkspace(t, s, "ws")
	sess := newSession(t, s, w.ID, "se-1", "")
	addr := func() string {
		t.Helper()
		a, err := s.SessionClientAddr(ctx, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := addr(); a != "" {
		t.Errorf("a new session's client address = %q; want none", a)
	}
	for _, a := range []string{"203.0.113.7", "203.0.113.7", "2001:db8::1"} {
		mustUpdate(t, s, func(tx store.Tx) error { return tx.SetSessionClientAddr(ctx, sess.ID, a) })
		if got := addr(); got != a {
			t.Errorf("client address = %q; want %q", got, a)
		}
	}
	// The address is the session's own: updating the session's other fields keeps it.
	sess.ClaimedName, sess.UpdatedAt = "Ada", at(time.Minute)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.UpdateSession(ctx, &sess) })
	if got := addr(); got != "2001:db8::1" {
		t.Errorf("client address after UpdateSession = %q; want 2001:db8::1", got)
	}
	if _, err := s.SessionClientAddr(ctx, "se-missing"); err == nil {
		t.Error("SessionClientAddr of a missing session succeeded")
	} else {
		wantErr(t, "SessionClientAddr of a missing session", err, store.ErrNotFound)
	}
	// Recording an address for a missing session is no error: there is nothing to record it on.
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetSessionClientAddr(ctx, "se-missing", "203.0.113.9") })

	// The transaction's next statement sees the address (PostgreSQL sends the write with that statement),
	// and a transaction that fails afterwards does not record it.
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.SetSessionClientAddr(ctx, sess.ID, "198.51.100.1"); err != nil {
			return err
		}
		if a, err := tx.SessionClientAddr(ctx, sess.ID); err != nil || a != "198.51.100.1" {
			t.Errorf("client address read in the same transaction = %q, %v; want 198.51.100.1", a, err)
		}
		return nil
	})
	failed := errors.New("failed after")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.SetSessionClientAddr(ctx, sess.ID, "198.51.100.2"); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Errorf("Update = %v; want the function's error", err)
	}
	if got := addr(); got != "198.51.100.1" {
		t.Errorf("client address after a failed transaction = %q; want 198.51.100.1", got)
	}
}
