package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// migrateUpTo builds the schema as it stood before the migration named *_<name>.sql, from the
// migration files themselves, recording each in schema_migrations as the store does.
func migrateUpTo(t *testing.T, path, name string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	raw := rawDB(t, path)
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, "_"+name+".sql") {
			return
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		version, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(version)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)`, v, base); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("no migration named *_%s.sql", name)
}

// TestMessageNumbersMigration numbers the messages stored before messages had numbers: per
// conversation, in seq order, whatever other conversations hold; appends then continue from there.
func TestMessageNumbersMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	migrateUpTo(t, path, "message_numbers")
	raw := rawDB(t, path)
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at, updated_at) VALUES ('ws', 'Acme', 0, 0)`,
		`INSERT INTO sessions (id, workspace_id, token_hash, level, created_at, updated_at) VALUES ('sess', 'ws', x'01', 'anonymous', 0, 0)`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at) VALUES ('conv-a', 'ws', 'sess', 'open', 0, 0)`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at) VALUES ('conv-b', 'ws', 'sess', 'open', 0, 0)`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at) VALUES ('conv-empty', 'ws', 'sess', 'open', 0, 0)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Interleaved, as two conversations' messages are; a gap in seq as a rolled-back append leaves.
	for i, conv := range []string{"conv-a", "conv-b", "conv-a", "conv-a", "conv-b"} {
		if _, err := raw.Exec(`INSERT INTO messages (seq, conversation_id, sender, body, trusted, created_at) VALUES (?, ?, 'system', ?, 0, ?)`,
			10+3*i, conv, conv+" "+strconv.Itoa(i), i); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := openPath(t, path)
	want := map[string][]string{"conv-a": {"conv-a 0", "conv-a 2", "conv-a 3"}, "conv-b": {"conv-b 1", "conv-b 4"}}
	for conv, bodies := range want {
		msgs, err := db.Messages(ctx, conv, 0, 100)
		if err != nil || len(msgs) != len(bodies) {
			t.Fatalf("Messages(%s) = %v, %v; want %d", conv, msgs, err, len(bodies))
		}
		for i, m := range msgs {
			if m.Body != bodies[i] || m.N != int64(i+1) {
				t.Errorf("%s's message %d after the migration: %q numbered %d; want %q numbered %d", conv, i, m.Body, m.N, bodies[i], i+1)
			}
		}
	}
	next := store.Message{ConversationID: "conv-a", Sender: store.SenderSystem, Body: "after", CreatedAt: at(time.Minute)}
	first := store.Message{ConversationID: "conv-empty", Sender: store.SenderSystem, Body: "first", CreatedAt: at(time.Minute)}
	mustUpdate(t, db, func(tx store.Tx) error {
		if err := tx.AppendMessage(ctx, &next); err != nil {
			return err
		}
		return tx.AppendMessage(ctx, &first)
	})
	if next.N != 4 || first.N != 1 {
		t.Errorf("appends after the migration numbered %d and %d; want 4 (after three) and 1 (a conversation's first)", next.N, first.N)
	}
	page, err := db.MessagesAfterNumber(ctx, "conv-a", 1, 100)
	if err != nil || len(page) != 3 || page[0].Body != "conv-a 2" || page[2].Body != "after" {
		t.Errorf("MessagesAfterNumber(conv-a, 1) = %v, %v; want the second, third and the new one", page, err)
	}
}
