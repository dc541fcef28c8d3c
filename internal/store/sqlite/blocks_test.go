package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// Every widget message asks LiveBlock about its sender, so each of its lookups must come from the
// partial index of live blocks for that subject, never from a scan of the workspace's blocks.
func TestLiveBlockUsesLiveIndexes(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+sqlLiveBlock, "ws", "cu", "se", "203.0.113.7", int64(1))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var searches []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(detail, "blocks") {
			searches = append(searches, detail)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"blocks_live_by_customer (workspace_id=? AND customer_id=?)", "blocks_live_by_session (workspace_id=? AND session_id=?)", "blocks_live_by_addr (workspace_id=? AND addr=?)"}
	if len(searches) != len(want) {
		t.Fatalf("LiveBlock's plan reads blocks %d times: %q; want one search per subject", len(searches), searches)
	}
	for i, w := range want {
		if !strings.HasPrefix(searches[i], "SEARCH blocks USING INDEX "+w) {
			t.Errorf("LiveBlock's lookup %d: %q; want SEARCH blocks USING INDEX %s", i+1, searches[i], w)
		}
	}
}
