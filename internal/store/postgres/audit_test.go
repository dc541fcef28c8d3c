package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// schemaConn connects to the store's schema directly, bypassing the store, as a hand-run statement would.
func schemaConn(t *testing.T, s *postgres.Store) *pgx.Conn {
	t.Helper()
	conn := dbtest.Connect(t)
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), `SET search_path TO `+pgx.Identifier{s.Schema()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return conn
}

// The audit trail is append-only in the database itself: a statement that bypasses the store (a
// mistaken migration, a hand-run fix, an intruder with the store's credentials) cannot rewrite it.
func TestAuditEventsAreAppendOnly(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	e := store.AuditEvent{WorkspaceID: "ws", At: now, Actor: "cli", Action: "agent.created", Target: "ag_1", Detail: "agent"}
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.CreateWorkspace(ctx, &store.Workspace{ID: "ws", Name: "W", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &e)
	})
	conn := schemaConn(t, s)
	for _, q := range []string{
		`UPDATE audit_events SET detail = 'admin', actor = 'someone else'`,
		`DELETE FROM audit_events`,
		`DELETE FROM audit_events WHERE seq = 1`,
		`TRUNCATE audit_events`,
	} {
		_, err := conn.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "audit_events are append-only") {
			t.Errorf("%s: err = %v; want the trigger's refusal", q, err)
		}
	}
	got, err := s.AuditEvents(ctx, "ws", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Seq != e.Seq || got[0].Actor != "cli" || got[0].Detail != "agent" || !got[0].At.Equal(now) {
		t.Errorf("after the refused statements the trail is %+v; want %+v unchanged", got, e)
	}
}

// The audit page and its CSV export filter a trail that only grows: every filter walks an index of the
// workspace's events, never the table. Nothing runs ANALYZE, as on an installation whose statistics are
// missing or stale; the planner then guesses few matching rows and may gather them from the index and
// sort them, which it stops doing once statistics show how many there are.
func TestAuditFilterUsesIndexes(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	conn := schemaConn(t, s)
	// 3 workspaces, 60,000 events over 20 actions and 100 actors.
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at, updated_at) SELECT 'ws' || i, 'W', now(), now() FROM generate_series(1, 3) i`,
		`INSERT INTO audit_events (workspace_id, at, actor, action, target, detail)
			SELECT 'ws' || (i % 3 + 1), now() - (60000 - i) * interval '1 minute', 'agent ag_' || (i % 100) || ' (a@example.com)',
				'signin.a' || (i % 20), 'ag_' || (i % 100), 'method=password' FROM generate_series(1, 60000) i`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want string
	}{
		{"newest", store.AuditFilter{}, "audit_events_by_workspace"},
		{"next page", store.AuditFilter{BeforeSeq: 5000}, "audit_events_by_workspace"},
		{"one action", store.AuditFilter{Action: "signin.a3", BeforeSeq: 5000}, "audit_events_by_action"},
		{"action prefix", store.AuditFilter{Action: "signin."}, "audit_events_by_"},
		{"everything", store.AuditFilter{Actor: "ag_1", Action: "signin.", From: now.Add(-time.Hour), To: now, BeforeSeq: 9000}, "audit_events_by_"},
		{"one action, everything", store.AuditFilter{Actor: "ag_1", Action: "signin.a1", From: now.Add(-time.Hour), To: now, BeforeSeq: 9000}, "audit_events_by_action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, args := postgres.AuditEventsSQL("ws1", tc.f)
			rows, err := conn.Query(ctx, "EXPLAIN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("the plan scans the table:\n%s", plan)
			}
			if !strings.Contains(plan, tc.want) {
				t.Errorf("the plan does not use %s:\n%s", tc.want, plan)
			}
		})
	}
}
