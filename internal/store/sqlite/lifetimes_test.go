package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// queryPlan returns the details of a statement's EXPLAIN QUERY PLAN.
func queryPlan(t *testing.T, db *DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.reader.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// The session lifetime statements run often (the touch, on widget requests) or over tables that grow
// with every visitor (cleanup): each must search its index, never scan a table. SQLite plans without
// statistics here, as on a fresh installation.
func TestLifetimeStatementsUseIndexes(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  []string // each must appear in the plan, in this order
	}{
		{"touch", sqlTouchSession, []any{int64(2), "se", int64(1)}, []string{"SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (id=?)"}},
		{"session and workspace", sqlSessionWorkspace, []any{[]byte{1}}, []string{"SEARCH s USING INDEX sqlite_autoindex_sessions_2 (token_hash=?)", "SEARCH w USING INDEX sqlite_autoindex_workspaces_1 (id=?)"}},
		{"expire by last activity", sqlExpireBySeen, []any{int64(9), "ws", "anonymous", int64(5), 500},
			[]string{"SEARCH sessions USING INDEX sessions_live_by_seen (workspace_id=? AND level=? AND last_seen_at<?)"}},
		{"expire by login time", sqlExpireByVerified, []any{int64(9), "ws", int64(5), 500},
			[]string{"SEARCH sessions USING INDEX sessions_live_by_verified (workspace_id=? AND verified_at<?)"}},
		{"walk ended sessions", sqlEndedSessions, []any{int64(1), "", int64(5), 500},
			[]string{"SEARCH sessions USING COVERING INDEX sessions_ended ((revoked_at,id)>(?,?) AND revoked_at<?)"}},
		{"delete ended sessions", sqlDeleteEndedSessions, []any{int64(1), "", int64(5), "se"},
			[]string{"SEARCH sessions USING COVERING INDEX sessions_ended", "SEARCH c USING COVERING INDEX conversations_by_session_id (session_id=?)"}},
		{"delete used jtis", sqlDeleteUsedJTIs, []any{int64(5), 500}, []string{"SEARCH used_jtis USING COVERING INDEX used_jtis_by_until (until<?)"}},
		{"delete expired agent sessions", sqlDeleteAgentSessionsExpired, []any{int64(5), 500}, []string{"SEARCH agent_sessions USING COVERING INDEX agent_sessions_by_expiry (expires_at<?)"}},
		{"delete lifted blocks", sqlDeleteLiftedBlocks, []any{int64(5), 500}, []string{"SEARCH blocks USING INDEX blocks_lifted (lifted_at>? AND lifted_at<?)"}},
		{"delete expired blocks", sqlDeleteExpiredBlocks, []any{int64(5), 500}, []string{"SEARCH blocks USING INDEX blocks_by_expiry (expires_at>? AND expires_at<?)"}},
		{"delete revoked agent sessions", sqlDeleteAgentSessionsRevoked, []any{int64(5), 500}, []string{"SEARCH agent_sessions USING COVERING INDEX agent_sessions_ended (revoked_at>? AND revoked_at<?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := queryPlan(t, db, tc.query, tc.args...)
			joined := strings.Join(plan, "\n")
			for _, step := range plan {
				if strings.HasPrefix(step, "SCAN ") && !strings.HasPrefix(step, "SCAN CONSTANT") {
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
