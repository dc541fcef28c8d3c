//go:build unix

package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// While a restore holds the lock file exclusively, opening the database fails at once, saying so.
func TestOpenRefusedDuringRestore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	lock, err := lockFile(LockPath(path), true)
	if err != nil {
		t.Fatal(err)
	}
	if db, err := Open(context.Background(), path, Options{}); !errors.Is(err, ErrInUse) {
		if db != nil {
			db.Close()
		}
		t.Fatalf("Open during a restore: %v, want ErrInUse", err)
	}
	if err := lock.release(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open once the restore is done: %v", err)
	}
	db.Close()
}
