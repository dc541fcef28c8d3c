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

// The retention job finds a workspace's old closed conversations through conversations_closed, never by
// a sequential scan, on tables without statistics (nothing runs ANALYZE here, as on an installation
// whose statistics are missing or stale).
func TestRetentionStatementsUseIndexes(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	conn := dbtest.Connect(t)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET search_path TO `+pgx.Identifier{s.Schema()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at, updated_at) SELECT 'ws' || i, 'W', now(), now() FROM generate_series(1, 3) i`,
		`INSERT INTO sessions (id, workspace_id, token_hash, level, created_at, updated_at, last_seen_at)
			SELECT 'se' || i, 'ws' || (i % 3 + 1), sha256(i::text::bytea), 'anonymous', now(), now(), now()
			FROM generate_series(1, 30000) i`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at, closed_at)
			SELECT 'cv' || i, 'ws' || (i % 3 + 1), 'se' || i, CASE WHEN i % 4 = 0 THEN 'open' ELSE 'closed' END,
				now(), now(), CASE WHEN i % 4 <> 0 THEN now() - i * interval '1 minute' END
			FROM generate_series(1, 30000) i`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		args []any
		want []string
	}{
		{"closed conversations", []any{"ws1", now.Add(-24 * time.Hour), 200}, []string{"conversations_closed"}},
		{"purgeable session", []any{"se5", now}, []string{"sessions_pkey", "conversations_by_session_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := conn.Query(ctx, "EXPLAIN "+postgres.RetentionStatements[tc.name], tc.args...)
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
