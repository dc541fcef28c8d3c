package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// testAgentPrefs: an agent without saved preferences has both alerts on; saving replaces them, for that
// agent only; an unknown agent cannot have preferences saved; they go with their agent.
func testAgentPrefs(t *testing.T, s store.Store) {
	ctx := t.Context()
	newWorkspace(t, s, "ws_1")
	ann := newAgent(t, s, "ws_1", "ag_ann", "ann@example.com", at(0))
	newAgent(t, s, "ws_1", "ag_bob", "bob@example.com", at(0))

	get := func(id string) store.AgentPrefs {
		t.Helper()
		p, err := s.AgentPrefs(ctx, id)
		if err != nil {
			t.Fatalf("AgentPrefs(%s): %v", id, err)
		}
		return p
	}
	if p := get("ag_ann"); p != store.DefaultAgentPrefs("ag_ann") || !p.Sound || !p.Notifications {
		t.Errorf("before saving: %+v; want both on", p)
	}

	saved := store.AgentPrefs{AgentID: "ag_ann", Sound: false, Notifications: true, UpdatedAt: at(time.Minute)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetAgentPrefs(ctx, &saved) })
	if p := get("ag_ann"); p.Sound || !p.Notifications || !sameTime(p.UpdatedAt, at(time.Minute)) {
		t.Errorf("after saving sound off: %+v", p)
	}
	if p := get("ag_bob"); !p.Sound || !p.Notifications {
		t.Errorf("another agent's: %+v; want untouched", p)
	}

	saved = store.AgentPrefs{AgentID: "ag_ann", Sound: true, Notifications: false, UpdatedAt: at(2 * time.Minute)}
	mustUpdate(t, s, func(tx store.Tx) error { return tx.SetAgentPrefs(ctx, &saved) })
	if p := get("ag_ann"); !p.Sound || p.Notifications || !sameTime(p.UpdatedAt, at(2*time.Minute)) {
		t.Errorf("after saving again: %+v", p)
	}
	// Reads inside a transaction see its own write.
	mustUpdate(t, s, func(tx store.Tx) error {
		p := store.AgentPrefs{AgentID: "ag_bob", Sound: false, Notifications: false, UpdatedAt: at(3 * time.Minute)}
		if err := tx.SetAgentPrefs(ctx, &p); err != nil {
			return err
		}
		if got, err := tx.AgentPrefs(ctx, "ag_bob"); err != nil || got.Sound || got.Notifications {
			t.Errorf("inside the transaction: %+v, %v", got, err)
		}
		return nil
	})

	missing := store.AgentPrefs{AgentID: "ag_nobody", Sound: true, UpdatedAt: at(time.Minute)}
	wantErr(t, "SetAgentPrefs for a missing agent", tryUpdate(t, s, func(tx store.Tx) error { return tx.SetAgentPrefs(ctx, &missing) }), store.ErrNotFound)
	if p := get("ag_nobody"); p != store.DefaultAgentPrefs("ag_nobody") {
		t.Errorf("a missing agent's: %+v", p)
	}
	_ = ann
}
