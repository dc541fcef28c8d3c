package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// The retention job finds a workspace's old closed conversations through conversations_closed, never
// by scanning every conversation, and looks a visitor's session up by key.
func TestRetentionStatementsUseIndexes(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  []string
	}{
		{"closed conversations", sqlClosedConversations, []any{"ws", int64(5), 200},
			[]string{"SEARCH conversations USING INDEX conversations_closed (workspace_id=? AND closed_at<?)"}},
		{"purgeable session", sqlPurgeableSession, []any{"se", int64(5), "se"},
			[]string{"SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (id=?)", "SEARCH conversations USING COVERING INDEX conversations_by_session_id (session_id=?)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := queryPlan(t, db, tc.query, tc.args...)
			joined := strings.Join(plan, "\n")
			for _, step := range plan {
				if strings.HasPrefix(step, "SCAN ") && !strings.HasPrefix(step, "SCAN CONSTANT") {
					t.Errorf("the plan scans: %q\n%s", step, joined)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(joined, w) {
					t.Errorf("the plan lacks %q:\n%s", w, joined)
				}
			}
		})
	}
}
