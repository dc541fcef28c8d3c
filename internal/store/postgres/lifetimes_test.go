package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// The touch runs on widget requests and cleanup walks tables that grow with every visitor: each
// statement must find its rows through its index, never a sequential scan of the table. Autovacuum is
// off and nothing runs ANALYZE, so the planner sees only the tables' sizes, as on an installation
// whose statistics are missing or stale.
func TestLifetimeStatementsUseIndexes(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	conn := dbtest.Connect(t)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET search_path TO `+pgx.Identifier{s.Schema()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	// Enough rows that a scan would cost more than an index: 3 workspaces, 30,000 sessions (a third of
	// them ended, every tenth verified), 5,000 conversations, 20,000 used token ids, 20,000 agent sessions (enough rows, now that they are wider, for an ordered index scan to beat a sort), 30,000 blocks.
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at, updated_at) SELECT 'ws' || i, 'W', now(), now() FROM generate_series(1, 3) i`,
		`INSERT INTO customers (id, workspace_id, external_id, created_at, updated_at) SELECT 'cu' || i, 'ws' || (i % 3 + 1), 'u' || i, now(), now() FROM generate_series(1, 3000) i`,
		`INSERT INTO sessions (id, workspace_id, token_hash, level, customer_id, verified_at, created_at, updated_at, last_seen_at, revoked_at)
			SELECT 'se' || i, 'ws' || (i % 3 + 1), sha256(i::text::bytea),
				CASE WHEN i % 10 = 0 THEN 'verified' WHEN i % 10 = 1 THEN 'identified' ELSE 'anonymous' END,
				CASE WHEN i % 10 = 0 THEN 'cu' || (i / 10 % 1000 * 3 + i % 3 + 1) END,
				CASE WHEN i % 10 = 0 THEN now() - i * interval '1 minute' END,
				now() - i * interval '1 minute', now(), now() - i * interval '1 minute',
				CASE WHEN i % 3 = 0 THEN now() - i * interval '1 second' END
			FROM generate_series(1, 30000) i`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at)
			SELECT 'cv' || i, 'ws' || (i * 6 % 3 + 1), 'se' || (i * 6), 'open', now(), now() FROM generate_series(1, 5000) i`,
		`INSERT INTO used_jtis (workspace_id, jti, until) SELECT 'ws1', 'j' || i, now() + i * interval '1 second' FROM generate_series(1, 20000) i`,
		`INSERT INTO agents (id, workspace_id, email, name, role, password_hash, created_at, updated_at)
			SELECT 'ag' || i, 'ws1', 'a' || i || '@x.example', 'A', 'agent', 'x', now(), now() FROM generate_series(1, 50) i`,
		`INSERT INTO agent_sessions (id, token_hash, agent_id, csrf_token, created_at, expires_at, revoked_at)
			SELECT 'as_' || i, sha256(('a' || i)::bytea), 'ag' || (i % 50 + 1), 'c', now(), now() + i * interval '1 second',
				CASE WHEN i % 4 = 0 THEN now() END FROM generate_series(1, 20000) i`,
		`INSERT INTO blocks (id, workspace_id, session_id, created_at, expires_at, lifted_at)
			SELECT 'bl' || i, 'ws' || (i % 3 + 1), 'se' || i, now(),
				CASE WHEN i % 2 = 0 THEN now() + i * interval '1 minute' END,
				CASE WHEN i % 5 = 0 THEN now() - i * interval '1 minute' END FROM generate_series(1, 30000) i`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		args []any
		want []string // index names the plan must use
	}{
		{"touch", []any{now, "se5", now.Add(-time.Minute)}, []string{"sessions_pkey"}},
		{"session and workspace", []any{[]byte{1, 2}}, []string{"sessions_token_hash_key", "workspaces_pkey"}},
		{"expire by last activity", []any{now, "ws1", "anonymous", now.Add(-720 * time.Hour), 500}, []string{"sessions_live_by_seen"}},
		{"expire by login time", []any{now, "ws1", now.Add(-168 * time.Hour), 500}, []string{"sessions_live_by_verified"}},
		{"walk ended sessions", []any{time.Unix(0, 0), "", now.Add(-time.Hour), 500}, []string{"sessions_ended"}},
		{"delete ended sessions", []any{time.Unix(0, 0), "", now.Add(-time.Hour), "se99"}, []string{"sessions_ended", "conversations_by_session_id"}},
		{"delete used jtis", []any{now, 500}, []string{"used_jtis_by_until"}},
		{"delete expired agent sessions", []any{now, 500}, []string{"agent_sessions_by_expiry"}},
		{"delete revoked agent sessions", []any{now, 500}, []string{"agent_sessions_ended"}},
		{"delete lifted blocks", []any{now, 500}, []string{"blocks_lifted"}},
		{"delete expired blocks", []any{now, 500}, []string{"blocks_by_expiry"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			query, ok := postgres.LifetimeStatements[tc.name]
			if !ok {
				t.Fatalf("no statement %q", tc.name)
			}
			rows, err := conn.Query(ctx, "EXPLAIN "+query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("the plan scans a table:\n%s", plan)
			}
			for _, w := range tc.want {
				if !strings.Contains(plan, w) {
					t.Errorf("the plan does not use %s:\n%s", w, plan)
				}
			}
		})
	}
}
