package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/attributes"
	"github.com/parleyhq/parley/internal/store"
)

// testAuthEpoch checks that every write that can change what authenticating a widget session finds
// moves AuthEpoch, in its own transaction, and that the frequent writes that cannot (a use recorded by
// TouchSession, a login rewriting its customer with the same email, new rows) leave it.
func testAuthEpoch(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.AuthEpoch(ctx); errors.Is(err, store.ErrNoAuthEpoch) {
		t.Skip("the store keeps no authentication epoch")
	}
	epoch := func() int64 {
		t.Helper()
		n, err := s.AuthEpoch(ctx)
		if err != nil {
			t.Fatalf("AuthEpoch: %v", err)
		}
		return n
	}
	step := func(what string, bumps bool, fn func(tx store.Tx) error) {
		t.Helper()
		before := epoch()
		mustUpdate(t, s, fn)
		after := epoch()
		switch {
		case bumps && after <= before:
			t.Errorf("%s: AuthEpoch stayed at %d; want it to grow", what, before)
		case !bumps && after != before:
			t.Errorf("%s: AuthEpoch moved from %d to %d; want it unchanged", what, before, after)
		}
	}

	w := newWorkspace(t, s, "ws")
	cu := newCustomer(t, s, w.ID, "cu", "ext", "ada@example.com")
	var x store.Session
	step("CreateSession", false, func(tx store.Tx) error {
		x = store.Session{ID: "se", WorkspaceID: w.ID, TokenHash: tokenHash("token of se"), Level: store.LevelVerified,
			CustomerID: cu.ID, KeyID: "k1", VerifiedAt: at(0), CreatedAt: at(0), UpdatedAt: at(0)}
		return tx.CreateSession(ctx, &x)
	})
	step("CreateCustomer", false, func(tx store.Tx) error {
		c := store.Customer{ID: "cu2", WorkspaceID: w.ID, Email: "bob@example.com", CreatedAt: at(0), UpdatedAt: at(0)}
		return tx.CreateCustomer(ctx, &c)
	})
	step("TouchSession", false, func(tx store.Tx) error {
		wrote, err := tx.TouchSession(ctx, x.ID, at(time.Hour), at(time.Hour))
		if err == nil && !wrote {
			t.Error("TouchSession did not write")
		}
		return err
	})
	step("SetSessionClientAddr", false, func(tx store.Tx) error { return tx.SetSessionClientAddr(ctx, x.ID, "192.0.2.1") })
	step("SetClaimedAttributes", false, func(tx store.Tx) error {
		return tx.SetClaimedAttributes(ctx, x.ID, attributes.Set{})
	})
	step("UpdateCustomer, same email", false, func(tx store.Tx) error {
		c := cu
		c.Name, c.FirstVerifiedAt, c.LoggedOutAt, c.UpdatedAt = "Ada L.", at(time.Minute), at(time.Minute), at(time.Minute)
		return tx.UpdateCustomer(ctx, &c)
	})

	// The commit bumps, not the statement: a transaction that rolls back leaves the epoch, and the
	// transaction itself reads its own bump.
	before := epoch()
	errRollback := errors.New("roll back")
	err := s.Update(ctx, func(tx store.Tx) error {
		y := x
		y.ClaimedName, y.UpdatedAt = "rolled back", at(2*time.Minute)
		if err := tx.UpdateSession(ctx, &y); err != nil {
			return err
		}
		if n, err := tx.AuthEpoch(ctx); err != nil {
			return err
		} else if n <= before {
			t.Errorf("AuthEpoch inside the transaction that updated a session = %d; want above %d", n, before)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update = %v; want the rollback", err)
	}
	if after := epoch(); after != before {
		t.Errorf("a rolled back session update moved AuthEpoch from %d to %d", before, after)
	}

	step("UpdateSession", true, func(tx store.Tx) error {
		y := x
		y.ClaimedName, y.UpdatedAt = "Ada", at(2*time.Minute)
		return tx.UpdateSession(ctx, &y)
	})
	step("UpdateSession rotating the token", true, func(tx store.Tx) error {
		y, err := tx.Session(ctx, x.ID)
		if err != nil {
			return err
		}
		y.TokenHash = tokenHash("rotated")
		return tx.UpdateSession(ctx, &y)
	})
	step("UpdateCustomer, new email", true, func(tx store.Tx) error {
		c, err := tx.Customer(ctx, cu.ID)
		if err != nil {
			return err
		}
		c.Email = "ada@elsewhere.example"
		return tx.UpdateCustomer(ctx, &c)
	})
	step("UpdateCustomer, email removed", true, func(tx store.Tx) error {
		c, err := tx.Customer(ctx, cu.ID)
		if err != nil {
			return err
		}
		c.Email = ""
		return tx.UpdateCustomer(ctx, &c)
	})
	step("UpdateWorkspace", true, func(tx store.Tx) error {
		v := w
		v.Settings.AllowedEmailDomains = []string{"example.com"}
		return tx.UpdateWorkspace(ctx, &v)
	})
	step("RevokeSessions", true, func(tx store.Tx) error {
		ids, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: w.ID, CustomerID: cu.ID}, at(3*time.Minute))
		if err == nil && len(ids) != 1 {
			t.Errorf("RevokeSessions ended %v; want [se]", ids)
		}
		return err
	})
	step("RevokeSessions ending none", false, func(tx store.Tx) error {
		_, err := tx.RevokeSessions(ctx, store.SessionFilter{WorkspaceID: w.ID}, at(3*time.Minute))
		return err
	})
	idle := newSession(t, s, w.ID, "se-idle", "")
	step("RevokeExpiredSessions", true, func(tx store.Tx) error {
		ids, err := tx.RevokeExpiredSessions(ctx, store.SessionExpiry{WorkspaceID: w.ID, VisitorSeenBefore: at(time.Hour)}, at(4*time.Minute), 10)
		if err == nil && len(ids) != 1 {
			t.Errorf("RevokeExpiredSessions ended %v; want [%s]", ids, idle.ID)
		}
		return err
	})
	step("RevokeExpiredSessions ending none", false, func(tx store.Tx) error {
		_, err := tx.RevokeExpiredSessions(ctx, store.SessionExpiry{WorkspaceID: w.ID, VisitorSeenBefore: at(time.Hour)}, at(4*time.Minute), 10)
		return err
	})
	step("DeleteEndedSessions", true, func(tx store.Tx) error {
		n, _, err := tx.DeleteEndedSessions(ctx, store.SessionCursor{}, at(time.Hour), 10)
		if err == nil && n != 2 {
			t.Errorf("DeleteEndedSessions deleted %d; want 2", n)
		}
		return err
	})
	// A customer without sessions: the customer's row alone must bump.
	erased := newCustomer(t, s, w.ID, "cu-erased", "ext-erased", "erased@example.com")
	step("EraseCustomer", true, func(tx store.Tx) error {
		_, err := tx.EraseCustomer(ctx, w.ID, erased.ID)
		return err
	})
}
