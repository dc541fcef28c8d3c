package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
	"github.com/parleyhq/parley/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

// openTemp opens a new database file in a temporary folder, closed when the test ends.
func openTemp(t testing.TB) *sqlite.DB {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "parley.db"))
}

func openPath(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func at(d time.Duration) time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).Add(d) }

func mustUpdate(t testing.TB, db *sqlite.DB, fn func(tx store.Tx) error) {
	t.Helper()
	if err := db.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// rawDB opens the file directly, without the store's connection settings.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func TestPersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data", "parley.db") // the folder is created too
	db := openPath(t, path)
	if db.Path() != path {
		t.Errorf("Path() = %q; want %q", db.Path(), path)
	}
	w := store.Workspace{ID: "ws", Name: "Acme", Settings: store.Settings{AllowedOrigins: []string{"https://acme.example"},
		MaxTokenLifetime: 5 * time.Minute}, CreatedAt: at(0), UpdatedAt: at(0)}
	sess := store.Session{ID: "sess", WorkspaceID: w.ID, TokenHash: []byte{1, 2, 3}, Level: store.LevelAnonymous,
		CreatedAt: at(0), UpdatedAt: at(0)}
	conv := store.Conversation{ID: "conv", WorkspaceID: w.ID, SessionID: sess.ID, Status: store.StatusOpen,
		CreatedAt: at(0), UpdatedAt: at(0)}
	m := store.Message{ConversationID: conv.ID, Sender: store.SenderCustomer, SessionID: sess.ID, Body: "persist me",
		ClientID: "c1", CreatedAt: at(time.Second)}
	mustUpdate(t, db, func(tx store.Tx) error {
		return errors.Join(tx.CreateWorkspace(ctx, &w), tx.CreateSession(ctx, &sess), tx.CreateConversation(ctx, &conv),
			tx.AppendMessage(ctx, &m), tx.UseJTI(ctx, w.ID, "jti", at(time.Hour), at(0)))
	})
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = openPath(t, path)
	got, err := db.Workspace(ctx, w.ID)
	if err != nil || got.Name != w.Name || got.Settings.MaxTokenLifetime != w.Settings.MaxTokenLifetime {
		t.Errorf("Workspace after reopen = %+v, %v", got, err)
	}
	if s, err := db.SessionByTokenHash(ctx, sess.TokenHash); err != nil || s.ID != sess.ID {
		t.Errorf("SessionByTokenHash after reopen = %q, %v", s.ID, err)
	}
	if c, err := db.Conversation(ctx, conv.ID); err != nil || !c.LastMessage.Equal(m.CreatedAt) {
		t.Errorf("Conversation after reopen = %+v, %v", c, err)
	}
	if got, err := db.MessageByClientID(ctx, sess.ID, "c1"); err != nil || got.Seq != m.Seq || got.Body != m.Body {
		t.Errorf("MessageByClientID after reopen = %+v, %v; want seq %d", got, err, m.Seq)
	}
	err = db.Update(ctx, func(tx store.Tx) error { return tx.UseJTI(ctx, w.ID, "jti", at(time.Hour), at(time.Minute)) })
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("UseJTI after reopen = %v; want the recorded jti to conflict", err)
	}
	next := store.Message{ConversationID: conv.ID, Sender: store.SenderAgent, AgentID: "agent", Body: "after reopen", CreatedAt: at(time.Minute)}
	mustUpdate(t, db, func(tx store.Tx) error { return tx.AppendMessage(ctx, &next) })
	if next.Seq <= m.Seq {
		t.Errorf("Seq after reopen = %d; want above %d", next.Seq, m.Seq)
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openPath(t, path)
	mustUpdate(t, db, func(tx store.Tx) error {
		return tx.CreateWorkspace(context.Background(), &store.Workspace{ID: "ws", Name: "kept", CreatedAt: at(0), UpdatedAt: at(0)})
	})
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		db := openPath(t, path)
		if w, err := db.Workspace(context.Background(), "ws"); err != nil || w.Name != "kept" {
			t.Errorf("Workspace after re-running migrations = %+v, %v", w, err)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var applied, latest int
	if err := rawDB(t, path).QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&applied, &latest); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	if applied != len(files) || latest != len(files) {
		t.Errorf("schema_migrations holds %d rows up to version %d; want each of the %d migrations once", applied, latest, len(files))
	}
}

// TestConcurrentOpen starts several stores on one new file at once, as a server and a CLI command may:
// migrations must run exactly once and every store must open.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = errors.Join(db.Update(context.Background(), func(tx store.Tx) error {
				return tx.CreateWorkspace(context.Background(), &store.Workspace{ID: fmt.Sprintf("ws-%d", i), Name: "x", CreatedAt: at(0), UpdatedAt: at(0)})
			}), db.Close())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
	db := openPath(t, path)
	if ws, err := db.Workspaces(context.Background()); err != nil || len(ws) != n {
		t.Errorf("Workspaces = %d, %v; want %d", len(ws), err, n)
	}
}

func TestWALAndForeignKeys(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)

	var mode string
	if err := rawDB(t, db.Path()).QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatalf("PRAGMA journal_mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q; want wal", mode)
	}

	sess := store.Session{ID: "sess", WorkspaceID: "ws-missing", TokenHash: []byte{1}, Level: store.LevelAnonymous,
		CreatedAt: at(0), UpdatedAt: at(0)}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateSession(ctx, &sess) }); err == nil {
		t.Errorf("CreateSession for a missing workspace succeeded; foreign keys are not enforced")
	} else if errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateSession for a missing workspace = %v; a missing parent is not a uniqueness conflict", err)
	}
	mustUpdate(t, db, func(tx store.Tx) error {
		return tx.CreateWorkspace(ctx, &store.Workspace{ID: "ws", Name: "x", CreatedAt: at(0), UpdatedAt: at(0)})
	})
	conv := store.Conversation{ID: "conv", WorkspaceID: "ws", SessionID: "sess-missing", Status: store.StatusOpen,
		CreatedAt: at(0), UpdatedAt: at(0)}
	if err := db.Update(ctx, func(tx store.Tx) error { return tx.CreateConversation(ctx, &conv) }); err == nil {
		t.Errorf("CreateConversation for a missing session succeeded; foreign keys are not enforced")
	}
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	if _, err := sqlite.Open(context.Background(), filepath.Join(dir, "bad.db"), sqlite.Options{Synchronous: "OFF"}); err == nil ||
		!strings.Contains(err.Error(), "synchronous") {
		t.Errorf("Open with synchronous OFF = %v; want it refused", err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "full.db"), sqlite.Options{Synchronous: "full", Readers: 1})
	if err != nil {
		t.Fatalf("Open with synchronous full: %v", err)
	}
	defer db.Close()
	mustUpdate(t, db, func(tx store.Tx) error {
		return tx.CreateWorkspace(context.Background(), &store.Workspace{ID: "ws", Name: "x", CreatedAt: at(0), UpdatedAt: at(0)})
	})
	if _, err := db.Workspace(context.Background(), "ws"); err != nil {
		t.Errorf("Workspace: %v", err)
	}
}

// TestCloseKeepsAcceptedWrites closes the store under load, reopens the file, and checks that every
// Update that reported success is there: a caller must never be told a write committed when it did not.
func TestCloseKeepsAcceptedWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openPath(t, path)
	mustUpdate(t, db, func(tx store.Tx) error {
		return tx.CreateWorkspace(ctx, &store.Workspace{ID: "ws", Name: "x", CreatedAt: at(0), UpdatedAt: at(0)})
	})
	const writers = 16
	committed := make([][]string, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				jti := fmt.Sprintf("jti-%d-%d", g, i)
				err := db.Update(ctx, func(tx store.Tx) error { return tx.UseJTI(ctx, "ws", jti, at(time.Hour), at(0)) })
				if err != nil {
					if !errors.Is(err, store.ErrClosed) {
						t.Errorf("Update: %v", err)
					}
					return
				}
				committed[g] = append(committed[g], jti)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()

	db = openPath(t, path)
	total := 0
	for _, jtis := range committed {
		for _, jti := range jtis {
			total++
			err := db.Update(ctx, func(tx store.Tx) error { return tx.UseJTI(ctx, "ws", jti, at(time.Hour), at(time.Minute)) })
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("%s was reported committed but is not in the reopened file (UseJTI = %v)", jti, err)
			}
		}
	}
	if total == 0 {
		t.Errorf("no write committed before Close; the test proved nothing")
	}
}
