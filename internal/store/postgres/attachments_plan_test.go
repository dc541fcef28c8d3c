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

// Message reads look up attachments on every page that has some, downloads read chunks, cleanup finds
// unsent uploads by age, job runners poll for due jobs: each through its index, on tables never analysed (autovacuum off, no ANALYZE).
func TestAttachmentStatementsUseIndexes(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	conn := dbtest.Connect(t)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET search_path TO `+pgx.Identifier{s.Schema()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	// 2 workspaces, 2,000 conversations of 10 messages, 10,000 attachments (a tenth unsent), 20,000 chunks.
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at, updated_at) SELECT 'ws' || i, 'W', now(), now() FROM generate_series(1, 2) i`,
		`INSERT INTO sessions (id, workspace_id, token_hash, level, created_at, updated_at, last_seen_at)
			SELECT 'se' || i, 'ws' || (i % 2 + 1), sha256(i::text::bytea), 'anonymous', now(), now(), now() FROM generate_series(1, 2000) i`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at)
			SELECT 'cv' || i, 'ws' || (i % 2 + 1), 'se' || i, 'open', now(), now() FROM generate_series(1, 2000) i`,
		`INSERT INTO messages (conversation_id, sender, session_id, body, trusted, created_at, n, attachments)
			SELECT 'cv' || (i % 2000 + 1), 'customer', 'se' || (i % 2000 + 1), 'hello', false, now(), i / 2000 + 1, CASE WHEN i % 2 = 0 THEN 1 ELSE 0 END
			FROM generate_series(0, 19999) i`,
		`INSERT INTO attachments (id, workspace_id, session_id, state, storage_key, conversation_id, message_seq, name, kind, content_type, size, created_at)
			SELECT 'att' || i, 'ws' || (i % 2 + 1), 'se' || (i % 2000 + 1), 'ready', 'att' || i,
				CASE WHEN i % 10 <> 0 THEN 'cv' || (i % 2000 + 1) END, CASE WHEN i % 10 <> 0 THEN i * 2 + 1 END,
				'f.png', 'png', 'image/png', 1000, now() - i * interval '1 second'
			FROM generate_series(1, 9999) i`,
		`INSERT INTO blob_chunks (blob_key, n, data) SELECT 'att' || (i / 2), i % 2, '\x00'::bytea FROM generate_series(1, 20000) i`,
		`INSERT INTO jobs (kind, idempotency_key, payload, state, run_at, max_attempts, created_at, updated_at)
			SELECT 'mail', 'k' || i, '', CASE WHEN i % 20 = 0 THEN 'pending' ELSE 'done' END, now() + i * interval '1 second', 5, now(), now()
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
		{"attachments of messages", []any{[]int64{3, 5, 7}}, []string{"attachments_by_message"}},
		{"stale attachments", []any{now.Add(-time.Hour), 500}, []string{"attachments_unbound"}},
		{"conversation attachments", []any{"cv5", 100}, []string{"attachments_by_conversation", "messages_pkey"}},
		{"stored bytes", []any{"ws1"}, []string{"attachments_by_workspace"}},
		{"blob chunk", []any{"att5", 0}, []string{"blob_chunks_pkey"}},
		{"delete blob", []any{"att5", 64}, []string{"blob_chunks_pkey"}},
		{"bind", []any{"cv5", int64(9), 0, false, "att5"}, []string{"attachments_pkey"}},
		{"claim jobs", []any{now, now.Add(time.Minute), "lease", 10}, []string{"jobs_due", "jobs_pkey"}},
		{"delete finished jobs", []any{now, 500}, []string{"jobs_finished", "jobs_pkey"}},
		{"finish job", []any{now, int64(5), "lease"}, []string{"jobs_pkey"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := conn.Query(ctx, "EXPLAIN "+postgres.AttachmentStatements[tc.name], tc.args...)
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
