package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// The statements on every widget request, socket, message and console page load must search their
// own index: on a fresh database, which SQLite plans without statistics (nothing runs ANALYZE), and
// again once ANALYZE has run over tables with many sessions of many customers in several workspaces.
func TestHotStatementsUseTheirIndexes(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hash := []byte("0123456789abcdef0123456789abcdef")
	cases := []struct {
		name  string
		query string
		args  []any
		want  []string // each must appear in the plan, in this order
	}{
		{"workspace", sqlWorkspace, []any{"ws1"}, []string{"SEARCH workspaces USING INDEX sqlite_autoindex_workspaces_1 (id=?)"}},
		{"signing keys", sqlKeys, []any{"ws1"}, []string{"SEARCH signing_keys USING INDEX sqlite_autoindex_signing_keys_1 (workspace_id=?)"}},
		{"session by token", sqlSessionByHash, []any{hash}, []string{"SEARCH sessions USING INDEX sqlite_autoindex_sessions_2 (token_hash=?)"}},
		{"session and workspace", sqlSessionWorkspace, []any{hash},
			[]string{"SEARCH s USING INDEX sqlite_autoindex_sessions_2 (token_hash=?)", "SEARCH w USING INDEX sqlite_autoindex_workspaces_1 (id=?)"}},
		{"session by id", sqlSession, []any{"se7"}, []string{"SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (id=?)"}},
		{"touch session", sqlTouchSession, []any{int64(2), "se7", int64(1)}, []string{"SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (id=?)"}},
		{"customer", sqlCustomer, []any{"cu7"}, []string{"SEARCH customers USING INDEX sqlite_autoindex_customers_1 (id=?)"}},
		{"customer by external id", sqlCustomerByExternal, []any{"ws1", "u7"}, []string{"SEARCH customers USING INDEX customers_by_external_id (workspace_id=? AND external_id=?)"}},
		{"conversation", sqlConversation, []any{"cv7"}, []string{"SEARCH conversations USING INDEX sqlite_autoindex_conversations_1 (id=?)"}},
		{"open conversation, customer", sqlOpenConversationCustomer, []any{"cu7"}, []string{"SEARCH conversations USING INDEX conversations_by_customer (customer_id=?)"}},
		{"open conversation, session", sqlOpenConversationSession, []any{"se7"}, []string{"SEARCH conversations USING INDEX conversations_by_session (session_id=?)"}},
		{"conversations of customer", sqlConversationsOfCustomer, []any{"cu7"}, []string{"SEARCH conversations USING INDEX conversations_by_customer (customer_id=?)"}},
		{"conversations of session", sqlConversationsOfSession, []any{"se7"}, []string{"SEARCH conversations USING INDEX conversations_by_session (session_id=?)"}},
		{"append target, customer", sqlAppendTargetCustomer, []any{"cu7"}, []string{"SEARCH conversations USING INDEX conversations_by_customer (customer_id=?)", "SEARCH w USING COVERING INDEX webhook_endpoints_workspace (workspace_id=?)"}},
		{"append target, session", sqlAppendTargetSession, []any{"se7"}, []string{"SEARCH conversations USING INDEX conversations_by_session (session_id=?)", "SEARCH w USING COVERING INDEX webhook_endpoints_workspace (workspace_id=?)"}},
		{"messages after seq", sqlMessages, []any{"cv7", 10, 100}, []string{
			"SEARCH messages USING INDEX messages_by_conversation_number (conversation_id=? AND n>?)",
			"SEARCH messages USING COVERING INDEX messages_by_conversation_number (conversation_id=? AND n>?)",
			"SEARCH messages USING INDEX messages_by_conversation_number (conversation_id=? AND n<?)",
			"SEARCH messages USING COVERING INDEX messages_by_conversation_number (conversation_id=? AND n<?)"}},
		{"messages before seq", sqlMessagesBefore, []any{"cv7", 10, 100}, []string{
			"SEARCH messages USING INDEX messages_by_conversation_number (conversation_id=? AND n>?)",
			"SEARCH messages USING INDEX messages_by_conversation_number (conversation_id=? AND n<?)"}},
		{"read receipt", sqlAgentsReadUpTo, []any{"cv7"}, []string{"SEARCH messages USING INDEX messages_by_conversation_number (conversation_id=? AND n>?)"}},
		{"messages after number", sqlMessagesAfterNumber, []any{"cv7", 10, 100}, []string{"SEARCH messages USING INDEX messages_by_conversation_number (conversation_id=? AND n>?)"}},
		{"message by client id", sqlMessageByClientID, []any{"se7", "c7"}, []string{"SEARCH messages USING INDEX messages_by_session_client_id (session_id=? AND client_id=?)"}},
		{"append message", sqlInsertMessage, []any{"cv7", "customer", "se7", nil, "hi", false, "c9", int64(1), false, 0},
			[]string{"SEARCH messages USING COVERING INDEX messages_by_conversation_number (conversation_id=?)"}},
		{"use jti", sqlUseJTI, []any{"ws1", "j7", int64(5), int64(4)}, nil},
		{"agent session and agent", sqlAgentSessionAgent, []any{hash},
			[]string{"SEARCH s USING PRIMARY KEY (token_hash=?)", "SEARCH a USING INDEX sqlite_autoindex_agents_1 (id=?)"}},
		{"agent session by token", sqlAgentSessionByHash, []any{hash}, []string{"SEARCH agent_sessions USING PRIMARY KEY (token_hash=?)"}},
		{"agents of workspace", sqlAgents, []any{"ws1"}, []string{"SEARCH agents USING INDEX agents_by_workspace (workspace_id=?)"}},
		{"webhook endpoints", sqlWebhookEndpoints, []any{"ws1"}, []string{"SEARCH webhook_endpoints USING INDEX webhook_endpoints_workspace (workspace_id=?)"}},
	}
	check := func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				plan := queryPlan(t, db, tc.query, tc.args...)
				joined := strings.Join(plan, "\n")
				for _, step := range plan {
					// A co-routine's rows (a sub-select of a UNION ALL) are scanned in memory: not a table scan.
					if strings.HasPrefix(step, "SCAN ") && !strings.HasPrefix(step, "SCAN CONSTANT") && !strings.HasPrefix(step, "SCAN (subquery-") {
						t.Errorf("the plan scans: %q\n%s", step, joined)
					}
				}
				rest := joined
				for _, w := range tc.want {
					i := strings.Index(rest, w)
					if i < 0 {
						t.Errorf("the plan lacks %q:\n%s", w, joined)
						break
					}
					rest = rest[i+len(w):]
				}
			})
		}
	}
	t.Run("fresh", check)
	// 3 workspaces, 30,000 sessions (a third ended, every tenth a customer's), 15,000 conversations with
	// five messages each, 30 agents with 3,000 agent sessions; then ANALYZE.
	fill := []string{
		`CREATE TEMP TABLE nums AS WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 30000) SELECT n FROM i`,
		`INSERT INTO workspaces (id, name, settings, created_at, updated_at) SELECT 'ws' || n, 'W', '{}', 0, 0 FROM nums WHERE n <= 3`,
		`INSERT INTO customers (id, workspace_id, external_id, created_at, updated_at) SELECT 'cu' || n, 'ws' || (n % 3 + 1), 'u' || n, 0, 0 FROM nums WHERE n <= 3000`,
		`INSERT INTO sessions (id, workspace_id, token_hash, level, customer_id, created_at, updated_at, last_seen_at, revoked_at)
			SELECT 'se' || n, 'ws' || (n / 10 % 3 + 1), randomblob(32),
				CASE WHEN n % 10 = 0 THEN 'verified' ELSE 'anonymous' END, CASE WHEN n % 10 = 0 THEN 'cu' || (n / 10) END,
				n, n, n, CASE WHEN n % 3 = 0 THEN n END FROM nums`,
		`INSERT INTO conversations (id, workspace_id, customer_id, session_id, status, created_at, updated_at)
			SELECT 'cv' || n, 'ws' || (n / 10 % 3 + 1), CASE WHEN n % 10 = 0 THEN 'cu' || (n / 10) END, 'se' || n,
				CASE WHEN n % 4 = 0 THEN 'closed' ELSE 'open' END, n, n FROM nums WHERE n % 2 = 0`,
		`WITH j(n) AS (VALUES (1), (2), (3), (4), (5))
			INSERT INTO messages (conversation_id, sender, session_id, body, trusted, client_id, created_at, n)
			SELECT 'cv' || c.n, 'customer', 'se' || c.n, 'hello', 0, 'c' || j.n, c.n, j.n FROM nums c, j WHERE c.n % 2 = 0`,
		`ANALYZE`,
	}
	for _, q := range fill {
		if _, err := db.writer.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Run("analysed", check)
}
