package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Message reads look up attachments on every page that has some, downloads read chunks, cleanup finds
// unsent uploads by age: each through its index, never a scan of tables that grow with every file.
func TestAttachmentStatementsUseIndexes(t *testing.T) {
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
		{"attachments of messages", fmt.Sprintf(attachmentsOfMsg, "?,?"), []any{1, 2}, []string{"SEARCH attachments USING INDEX attachments_by_message (message_seq=?)"}},
		{"stale attachments", sqlStaleAttachments, []any{int64(5), 500}, []string{"SEARCH attachments USING INDEX attachments_unbound (created_at<?)"}},
		{"conversation attachments", sqlConversationAttachments, []any{"cv", 100}, []string{"SEARCH a USING INDEX attachments_by_conversation (conversation_id=?)", "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"stored bytes", sqlStoredAttachmentBytes, []any{"ws"}, []string{"SEARCH attachments USING INDEX attachments_by_workspace (workspace_id=?)"}},
		{"blob chunk", sqlBlobChunk, []any{"k", 0}, []string{"SEARCH blob_chunks USING INDEX sqlite_autoindex_blob_chunks_1 (blob_key=? AND n=?)"}},
		{"delete blob", sqlDeleteBlob, []any{"k", 64}, []string{"SEARCH blob_chunks USING COVERING INDEX sqlite_autoindex_blob_chunks_1 (blob_key=?)"}},
		{"bind", sqlBindAttachment, []any{"cv", 1, 0, false, "att"}, []string{"SEARCH attachments USING INDEX sqlite_autoindex_attachments_1 (id=?)"}},
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

// Job runners poll for due jobs on every tick, and cleanup deletes finished ones: both by index.
func TestJobStatementsUseIndexes(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name, query, want string
		args              []any
	}{
		{"due jobs", sqlDueJobs, "INDEX jobs_due (run_at<?)", []any{int64(5), 10}},
		{"claim job", sqlClaimJob, "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)", []any{int64(5), "l", int64(1), int64(1)}},
		{"delete finished jobs", sqlDeleteFinishedJobs, "SEARCH jobs USING INDEX jobs_finished (updated_at<?)", []any{int64(5), 10}},
	} {
		plan := strings.Join(queryPlan(t, db, tc.query, tc.args...), "\n")
		if !strings.Contains(plan, tc.want) || strings.Contains(plan, "SCAN jobs") {
			t.Errorf("%s: plan\n%s\nwant %q and no scan", tc.name, plan, tc.want)
		}
	}
}
