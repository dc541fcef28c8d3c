package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// The audit trail is append-only in the database itself: a statement that bypasses the store (a
// mistaken migration, a hand-run fix, an intruder with the store's connection) cannot rewrite it.
func TestAuditEventsAreAppendOnly(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	e := store.AuditEvent{WorkspaceID: "ws", At: now, Actor: "cli", Action: "agent.created", Target: "ag_1", Detail: "agent"}
	err = db.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateWorkspace(ctx, &store.Workspace{ID: "ws", Name: "W", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &e)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE audit_events SET detail = 'admin', actor = 'someone else'`,
		`DELETE FROM audit_events`,
		`DELETE FROM audit_events WHERE seq = 1`,
	} {
		_, err := db.writer.ExecContext(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "audit_events are append-only") {
			t.Errorf("%s: err = %v; want the trigger's refusal", q, err)
		}
	}
	got, err := db.AuditEvents(ctx, "ws", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Seq != e.Seq || got[0].Actor != "cli" || got[0].Detail != "agent" || !got[0].At.Equal(now) {
		t.Errorf("after the refused statements the trail is %+v; want %+v unchanged", got, e)
	}
}

// The audit page and its CSV export filter a trail that only grows: every filter walks an index of the
// workspace's events in seq order, never the table, and needs no sort.
func TestAuditFilterUsesIndexes(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	from, to := time.Unix(100, 0), time.Unix(200, 0)
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want string
	}{
		{"newest", store.AuditFilter{}, "SEARCH audit_events USING INDEX audit_events_by_workspace (workspace_id=?)"},
		{"next page", store.AuditFilter{BeforeSeq: 50}, "SEARCH audit_events USING INDEX audit_events_by_workspace (workspace_id=? AND seq<?)"},
		{"one action", store.AuditFilter{Action: "agent.created", BeforeSeq: 50}, "SEARCH audit_events USING INDEX audit_events_by_action (workspace_id=? AND action=? AND seq<?)"},
		{"action prefix", store.AuditFilter{Action: "signin."}, "SEARCH audit_events USING INDEX audit_events_by_workspace (workspace_id=?)"},
		{"everything", store.AuditFilter{Actor: "ag_1", Action: "signin.", From: from, To: to, BeforeSeq: 9}, "SEARCH audit_events USING INDEX audit_events_by_workspace (workspace_id=? AND seq<?)"},
		{"one action, everything", store.AuditFilter{Actor: "ag_1", Action: "signin.failed", From: from, To: to, BeforeSeq: 9}, "SEARCH audit_events USING INDEX audit_events_by_action (workspace_id=? AND action=? AND seq<?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, args := auditEventsSQL("ws", tc.f)
			plan := queryPlan(t, db, q, args...)
			if len(plan) != 1 || plan[0] != tc.want {
				t.Errorf("plan %q; want only %q", plan, tc.want)
			}
		})
	}
}
