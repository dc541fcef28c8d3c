package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
)

// migrateUpTo creates schema as it stood before the migration named *_<name>.sql, from the migration
// files themselves, recording each in schema_migrations as the store does, and returns a connection
// working in it.
func migrateUpTo(t *testing.T, schema, name string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	conn := connect(t)
	t.Cleanup(func() { conn.Close(context.Background()) })
	for _, q := range []string{
		`CREATE SCHEMA ` + pgx.Identifier{schema}.Sanitize(),
		`SET search_path TO ` + pgx.Identifier{schema}.Sanitize(),
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasSuffix(base, "_"+name+".sql") {
			return conn
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		version, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(version)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, v, base); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("no migration named *_%s.sql", name)
	return nil
}

// TestMessageNumbersMigration numbers the messages stored before messages had numbers: per
// conversation, in seq order, whatever other conversations hold; appends then continue from there.
func TestMessageNumbersMigration(t *testing.T) {
	ctx := context.Background()
	schema := schemaName(t)
	conn := migrateUpTo(t, schema, "message_numbers")
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at, updated_at) VALUES ('ws', 'Acme', now(), now())`,
		`INSERT INTO sessions (id, workspace_id, token_hash, level, created_at, updated_at) VALUES ('sess', 'ws', '\x01', 'anonymous', now(), now())`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at) VALUES ('conv-a', 'ws', 'sess', 'open', now(), now())`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at) VALUES ('conv-b', 'ws', 'sess', 'open', now(), now())`,
		`INSERT INTO conversations (id, workspace_id, session_id, status, created_at, updated_at) VALUES ('conv-empty', 'ws', 'sess', 'open', now(), now())`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Interleaved, as two conversations' messages are; gaps in seq as rolled-back appends leave.
	for i, conv := range []string{"conv-a", "conv-b", "conv-a", "conv-a", "conv-b"} {
		if _, err := conn.Exec(ctx, `INSERT INTO messages (seq, conversation_id, sender, body, trusted, created_at)
			OVERRIDING SYSTEM VALUE VALUES ($1, $2, 'system', $3, false, $4)`,
			int64(10+3*i), conv, conv+" "+strconv.Itoa(i), at(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// The identity sequence moves past the rows written by hand, as it would have handed them out.
	if _, err := conn.Exec(ctx, `SELECT setval(pg_get_serial_sequence('messages', 'seq'), 100)`); err != nil {
		t.Fatal(err)
	}

	s := openSchema(t, schema, postgres.Options{})
	want := map[string][]string{"conv-a": {"conv-a 0", "conv-a 2", "conv-a 3"}, "conv-b": {"conv-b 1", "conv-b 4"}}
	for conv, bodies := range want {
		msgs, err := s.Messages(ctx, conv, 0, 100)
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
	mustUpdate(t, s, func(tx store.Tx) error {
		if err := tx.AppendMessage(ctx, &next); err != nil {
			return err
		}
		return tx.AppendMessage(ctx, &first)
	})
	if next.N != 4 || first.N != 1 {
		t.Errorf("appends after the migration numbered %d and %d; want 4 (after three) and 1 (a conversation's first)", next.N, first.N)
	}
	page, err := s.MessagesAfterNumber(ctx, "conv-a", 1, 100)
	if err != nil || len(page) != 3 || page[0].Body != "conv-a 2" || page[2].Body != "after" {
		t.Errorf("MessagesAfterNumber(conv-a, 1) = %v, %v; want the second, third and the new one", page, err)
	}
}
