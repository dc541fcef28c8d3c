package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// TestBackupRestoreLock backs up an open database, then restores it: refused while a store has the
// target open (the lock file is shared by every Open), done once it is closed, with the replaced
// database and its -wal kept aside under matching names.
func TestBackupRestoreLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustUpdate(t, db, func(tx store.Tx) error {
		return tx.CreateWorkspace(ctx, &store.Workspace{ID: "ws_1", Name: "One", CreatedAt: at(0), UpdatedAt: at(0)})
	})

	backup := filepath.Join(t.TempDir(), "parley-backup.db")
	info, err := sqlite.Backup(ctx, path, backup, false)
	if err != nil {
		t.Fatalf("Backup of an open database: %v", err)
	}
	latest, err := sqlite.LatestVersion()
	if err != nil {
		t.Fatal(err)
	}
	if info.Workspaces != 1 || info.SchemaVersion != latest || info.Size == 0 {
		t.Fatalf("backup info %+v, want 1 workspace at schema version %d", info, latest)
	}
	for _, sidecar := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(backup + sidecar); err == nil {
			t.Errorf("the backup left %s beside it: it should be one self-contained file", backup+sidecar)
		}
	}
	if _, err := sqlite.Backup(ctx, path, backup, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Backup to the same file: %v, want fs.ErrExist", err)
	}

	// A write after the backup, so the target differs from the backup, and restoring loses it.
	mustUpdate(t, db, func(tx store.Tx) error {
		return tx.CreateWorkspace(ctx, &store.Workspace{ID: "ws_2", Name: "Two", CreatedAt: at(1), UpdatedAt: at(1)})
	})
	if _, err := sqlite.Restore(ctx, backup, path, true, at(0)); !errors.Is(err, sqlite.ErrInUse) {
		t.Fatalf("Restore while the store is open: %v, want ErrInUse", err)
	}
	// While a restore holds the lock, nobody opens the database.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Restore(ctx, backup, path, false, at(0)); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Restore over an existing database without overwrite: %v, want fs.ErrExist", err)
	}
	res, err := sqlite.Restore(ctx, backup, path, true, at(0))
	if err != nil {
		t.Fatalf("Restore after Close: %v", err)
	}
	if len(res.Moved) == 0 || res.Moved[0] != path+".before-restore-20261122T120000Z" {
		t.Fatalf("replaced database kept as %v", res.Moved)
	}
	restored := openPath(t, path)
	ws, err := restored.Workspaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].ID != "ws_1" {
		t.Fatalf("restored workspaces %v, want only ws_1", ws)
	}
	kept := openPath(t, res.Moved[0])
	if ws, err := kept.Workspaces(ctx); err != nil || len(ws) != 2 {
		t.Fatalf("the kept database holds %v (%v), want both workspaces", ws, err)
	}
}
