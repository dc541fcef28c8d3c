package postgres_test

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// hotPlan is a hot statement, arguments for it, and the indexes its plan must use.
type hotPlan struct {
	name string
	args []any
	want []string
}

// hotPlans lists every statement on the widget's, the socket's, the message path's and the console's
// every request, with the index each must reach its rows through.
func hotPlans(now time.Time) []hotPlan {
	hash := []byte("0123456789abcdef0123456789abcdef")
	return []hotPlan{
		{"workspace", []any{"ws1"}, []string{"workspaces_pkey"}},
		{"signing keys", []any{"ws1"}, []string{"signing_keys_pkey"}},
		{"session by token", []any{hash}, []string{"sessions_token_hash_key"}},
		{"session and workspace", []any{hash}, []string{"sessions_token_hash_key", "workspaces_pkey"}},
		{"session by id", []any{"se7"}, []string{"sessions_pkey"}},
		{"touch session", []any{now, "se7", now.Add(-time.Minute)}, []string{"sessions_pkey"}},
		{"customer", []any{"cu7"}, []string{"customers_pkey"}},
		{"customer by external id", []any{"ws1", "u7"}, []string{"customers_by_external_id"}},
		{"conversation", []any{"cv7"}, []string{"conversations_pkey"}},
		{"open conversation, customer", []any{"cu7"}, []string{"conversations_by_customer"}},
		{"open conversation, session", []any{"se7"}, []string{"conversations_by_session"}},
		{"conversations of customer", []any{"cu7"}, []string{"conversations_by_customer"}},
		{"conversations of session", []any{"se7"}, []string{"conversations_by_session"}},
		{"messages after seq", []any{"cv7", 10, 100}, []string{"messages_by_conversation"}},
		{"messages after number", []any{"cv7", 10, 100}, []string{"messages_by_conversation_number"}},
		{"message by client id", []any{"se7", "c7"}, []string{"messages_by_session_client_id"}},
		{"append message", []any{"cv7", "customer", "se7", nil, "hi", false, "c9", now, false, 0},
			[]string{"conversations_pkey", "messages_by_conversation_number", "webhook_endpoints_workspace"}},
		{"append to open, customer", []any{"cu7", "customer", "se7", nil, "hi", false, "c9", now, 0},
			[]string{"conversations_by_customer", "messages_by_conversation_number", "webhook_endpoints_workspace"}},
		{"append to open, session", []any{"se7", "customer", "se7", nil, "hi", false, "c9", now, 0},
			[]string{"conversations_by_session", "messages_by_conversation_number", "webhook_endpoints_workspace"}},
		{"use jti", []any{"ws1", "j7", now, now}, []string{"used_jtis_pkey"}},
		{"agent session and agent", []any{hash}, []string{"agent_sessions_pkey", "agents_pkey"}},
		{"agent session by token", []any{hash}, []string{"agent_sessions_pkey"}},
		{"agents of workspace", []any{"ws1"}, []string{"agents_by_workspace"}},
		{"webhook endpoints", []any{"ws1"}, []string{"webhook_endpoints_workspace"}},
	}
}

// sessionIndexes are the sessions table's indexes; a hot statement's plan may use only those it wants.
// The partial ones (WHERE revoked_at IS NULL) match any statement that asks for live sessions, and with
// no statistics the planner took one of them for the token lookup, reading every live session of the
// workspace on every request.
var sessionIndexes = []string{"sessions_pkey", "sessions_token_hash_key", "sessions_by_customer", "sessions_live_by_key",
	"sessions_live_by_seen", "sessions_live_by_verified", "sessions_ended"}

// The statements on every request must reach their rows through their own index whatever the planner
// knows: on a fresh deployment's small tables, on tables grown large, all never analysed (autovacuum is
// off here, and a fresh or busy installation may not have run it), then after ANALYZE; each with the
// plan for the arguments (custom) and the plan a prepared statement switches to after five runs (generic).
//
// Twice: on tables never analysed, and on tables analysed while empty (ANALYZE right after migrating, as
// autovacuum's first pass may do), whose statistics then say "one page" however much they grow.
func TestHotStatementsUseTheirIndexes(t *testing.T) {
	t.Run("never analysed", func(t *testing.T) { testHotStatements(t, false) })
	t.Run("analysed empty", func(t *testing.T) { testHotStatements(t, true) })
}

func testHotStatements(t *testing.T, analyseEmpty bool) {
	s := openTemp(t)
	ctx := context.Background()
	conn := dbtest.Connect(t)
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SET search_path TO `+pgx.Identifier{s.Schema()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	// The store's own connection settings, as its statements run with them.
	for name, value := range postgres.SessionSettings {
		if _, err := conn.Exec(ctx, `SELECT set_config($1, $2, false)`, name, value); err != nil {
			t.Fatal(err)
		}
	}
	if analyseEmpty {
		if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}
	// fill adds sessions se[from..to] (a third ended, every tenth verified as a customer of its
	// workspace), a conversation for every other session, five messages in each, and the agents.
	fill := func(workspaces, from, to int) {
		t.Helper()
		for _, q := range []string{
			`INSERT INTO workspaces (id, name, created_at, updated_at) SELECT 'ws' || i, 'W', now(), now()
				FROM generate_series(1, $3::int) i ON CONFLICT DO NOTHING`,
			`INSERT INTO signing_keys (workspace_id, kid, alg, secret, created_at)
				SELECT 'ws' || i, 'k' || i, 'HS256', '\x00', now() FROM generate_series(1, $3::int) i ON CONFLICT DO NOTHING`,
			`INSERT INTO customers (id, workspace_id, external_id, created_at, updated_at)
				SELECT 'cu' || i, 'ws' || (i % $3::int + 1), 'u' || i, now(), now() FROM generate_series($1::int / 10, $2::int / 10) i ON CONFLICT DO NOTHING`,
			`INSERT INTO sessions (id, workspace_id, token_hash, level, customer_id, verified_at, created_at, updated_at, last_seen_at, revoked_at)
				SELECT 'se' || i, 'ws' || (i / 10 % $3::int + 1), sha256(i::text::bytea),
					CASE WHEN i % 10 = 0 THEN 'verified' WHEN i % 10 = 1 THEN 'identified' ELSE 'anonymous' END,
					CASE WHEN i % 10 = 0 THEN 'cu' || (i / 10) END,
					CASE WHEN i % 10 = 0 THEN now() END,
					now() - i * interval '1 minute', now(), now() - i * interval '1 minute',
					CASE WHEN i % 3 = 0 THEN now() END
				FROM generate_series($1::int, $2::int) i`,
			`INSERT INTO conversations (id, workspace_id, customer_id, session_id, status, created_at, updated_at)
				SELECT 'cv' || i, 'ws' || (i / 10 % $3::int + 1), CASE WHEN i % 10 = 0 THEN 'cu' || (i / 10) END, 'se' || i,
					CASE WHEN i % 4 = 0 THEN 'closed' ELSE 'open' END, now(), now()
				FROM generate_series($1::int, $2::int) i WHERE i % 2 = 0`,
			`INSERT INTO messages (conversation_id, sender, session_id, body, trusted, client_id, created_at, n)
				SELECT 'cv' || i, 'customer', 'se' || i, 'hello', false, 'c' || j, now(), j
				FROM generate_series($1::int, $2::int) i, generate_series(1, 5) j WHERE i % 2 = 0`,
			`INSERT INTO agents (id, workspace_id, email, name, role, password_hash, created_at, updated_at)
				SELECT 'ag' || i, 'ws' || (i % $3::int + 1), 'a' || i || '@x.example', 'A', 'agent', 'x', now(), now()
				FROM generate_series(1, 10 * $3::int) i ON CONFLICT DO NOTHING`,
			`INSERT INTO agent_sessions (id, token_hash, agent_id, csrf_token, created_at, expires_at)
				SELECT 'as' || i, sha256(('a' || i)::bytea), 'ag' || (i % (10 * $3::int) + 1), 'c', now(), now() + interval '1 day'
				FROM generate_series($1::int / 10, $2::int / 10) i ON CONFLICT DO NOTHING`,
			`INSERT INTO webhook_endpoints (id, workspace_id, url, events, secret, created_at, updated_at)
				SELECT 'wh' || i, 'ws' || (i % $3::int + 1), 'https://x.example/h', '{}', 's', now(), now()
				FROM generate_series(1, 2 * $3::int) i ON CONFLICT DO NOTHING`,
		} {
			q = strings.NewReplacer("$1", strconv.Itoa(from), "$2", strconv.Itoa(to), "$3", strconv.Itoa(workspaces)).Replace(q)
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	// strict: every wanted index and no sequential scan at all. Once analysed, the planner knows that
	// workspaces, keys, agents and webhook endpoints fit in a page and reads them whole, and may read one
	// conversation's few messages through either of its indexes: both are right, so only the big tables'
	// scans and the sessions' partial indexes are checked then.
	check := func(t *testing.T, strict bool) {
		for _, generic := range []bool{false, true} {
			mode := "custom"
			if generic {
				mode = "generic"
			}
			if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_`+mode+`_plan`); err != nil {
				t.Fatal(err)
			}
			for _, tc := range hotPlans(time.Now()) {
				t.Run(mode+"/"+tc.name, func(t *testing.T) {
					query, ok := postgres.HotStatements[tc.name]
					if !ok {
						t.Fatalf("no statement %q", tc.name)
					}
					plan := explainPrepared(t, conn, query, tc.args)
					for _, table := range []string{"sessions", "customers", "conversations", "messages", "used_jtis", "agent_sessions"} {
						if strings.Contains(plan, "Seq Scan on "+table+" ") {
							t.Errorf("the plan scans %s:\n%s", table, plan)
						}
					}
					for _, ix := range sessionIndexes {
						if usesIndex(plan, ix) && !containsString(tc.want, ix) {
							t.Errorf("the plan uses %s:\n%s", ix, plan)
						}
					}
					// By primary key, the read would walk every conversation's messages above the seq.
					if strings.HasPrefix(tc.name, "messages after") && usesIndex(plan, "messages_pkey") {
						t.Errorf("the plan reads messages by seq alone:\n%s", plan)
					}
					if !strict {
						return
					}
					if strings.Contains(plan, "Seq Scan") {
						t.Errorf("the plan scans a table:\n%s", plan)
					}
					for _, w := range tc.want {
						if !usesIndex(plan, w) {
							t.Errorf("the plan does not use %s:\n%s", w, plan)
						}
					}
				})
			}
		}
	}
	// A fresh deployment: 2 workspaces, its first 300 visitors.
	fill(2, 1, 300)
	t.Run("fresh", func(t *testing.T) { check(t, true) })
	// Grown: 3 workspaces, 30,000 sessions, 15,000 conversations, 75,000 messages; still never analysed.
	fill(3, 301, 30000)
	t.Run("grown", func(t *testing.T) { check(t, true) })
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	t.Run("analysed", func(t *testing.T) { check(t, false) })
}

// explainPrepared prepares the statement on the server and explains its execution with the arguments
// written as literals, so that plan_cache_mode decides between the plan for these arguments and the
// generic one.
func explainPrepared(t *testing.T, conn *pgx.Conn, query string, args []any) string {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `PREPARE hot AS `+query); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `DEALLOCATE hot`)
	literals := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil:
			literals[i] = "NULL"
		case bool:
			literals[i] = strconv.FormatBool(v)
		case int:
			literals[i] = strconv.Itoa(v)
		case []byte:
			literals[i] = `'\x` + hex.EncodeToString(v) + `'`
		case time.Time:
			literals[i] = "'" + v.Format(time.RFC3339Nano) + "'"
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		default:
			t.Fatalf("argument %T", a)
		}
	}
	rows, err := conn.Query(ctx, `EXPLAIN EXECUTE hot(`+strings.Join(literals, ", ")+`)`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// usesIndex reports whether the plan reads through the index (or arbitrates an insert with it).
func usesIndex(plan, index string) bool {
	return strings.Contains(plan, " using "+index+" ") || strings.Contains(plan, " on "+index+" ") ||
		strings.Contains(plan, "Arbiter Indexes: "+index+"\n") || strings.HasSuffix(plan, "Arbiter Indexes: "+index)
}
