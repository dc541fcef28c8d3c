package sqlite

// Backups and restores of the database file, for `parley backup` and `parley restore`.
//
// A backup is VACUUM INTO on a read-only connection of its own. In WAL mode a reader sees one snapshot
// and neither blocks the writer nor waits for it, so the server keeps serving while the copy is made,
// and the copy holds every transaction committed before the snapshot began and none after. Attachments
// are rows of this database (blob_chunks), so a backup holds them too; the master key is deliberately
// not in it.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// ErrInUse means another process holds the database's lock file in a way that conflicts: a restore is
// running (for those who open the database), or the database is open (for a restore).
var ErrInUse = errors.New("sqlite: the database is in use")

// ErrNotDatabase means a file is not a Parley SQLite database.
var ErrNotDatabase = errors.New("sqlite: not a Parley database")

// ErrNoDatabase means there is no database file to back up.
var ErrNoDatabase = errors.New("sqlite: no database")

// ErrTooNew means a database's schema is newer than this build's migrations.
var ErrTooNew = errors.New("sqlite: schema version newer than this build knows")

// LockPath is the lock file of the database at path. It stays in place between runs (removing a lock
// file that someone may be about to lock would defeat it); it never holds anything.
func LockPath(path string) string { return path + ".lock" }

// LatestVersion is the schema version this build's migrations bring a database to.
func LatestVersion() (int, error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, err
	}
	return ms[len(ms)-1].Version, nil
}

// Info describes a database file: its size, schema version and what it holds.
type Info struct {
	Size            int64
	SchemaVersion   int
	Workspaces      int64
	Conversations   int64
	Messages        int64
	Attachments     int64
	AttachmentBytes int64
}

// Backup writes a consistent copy of the database at path to dest, online. dest appears whole or not
// at all: the copy is written to a temporary file beside it, synced, then renamed into place. An
// existing dest is an error wrapping fs.ErrExist unless overwrite is set.
func Backup(ctx context.Context, path, dest string, overwrite bool) (Info, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Info{}, fmt.Errorf("sqlite: backup: no database at %s: %w", path, ErrNoDatabase)
		}
		return Info{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	if !overwrite {
		if _, err := os.Lstat(dest); err == nil {
			return Info{}, fmt.Errorf("sqlite: backup: %s already exists: %w", dest, fs.ErrExist)
		}
	}
	lock, err := lockFile(LockPath(path), false)
	if errors.Is(err, ErrInUse) {
		return Info{}, fmt.Errorf("sqlite: backup: %s is being restored: %w", path, err)
	}
	if err != nil {
		return Info{}, err
	}
	defer lock.release()

	tmp, err := tempBeside(dest)
	if err != nil {
		return Info{}, fmt.Errorf("sqlite: backup: cannot create a file in %s: %w", filepath.Dir(dest), pathCause(err))
	}
	placed := false
	defer func() {
		if !placed {
			removeWithSidecars(tmp)
		}
	}()
	if err := vacuumInto(ctx, path, tmp); err != nil {
		return Info{}, err
	}
	info, err := inspectCopy(ctx, tmp, true)
	if errors.Is(err, ErrNotDatabase) {
		return Info{}, fmt.Errorf("%s is not a Parley database: %w", path, err)
	}
	if err != nil {
		return Info{}, err
	}
	if err := syncFile(tmp); err != nil {
		return Info{}, fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := place(tmp, dest, overwrite); err != nil {
		return Info{}, err
	}
	placed = true
	return info, nil
}

// vacuumInto copies the database at path into the empty file dest with VACUUM INTO.
func vacuumInto(ctx context.Context, path, dest string) error {
	q := url.Values{}
	q.Set("mode", "ro")
	// The server may hold the write lock for a moment; a reader only waits for a checkpoint's
	// recovery, rarely, but the same patience as the server's costs nothing.
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("sqlite: backup: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("sqlite: backup: vacuum into %s: %w", dest, err)
	}
	return nil
}

// inspectCopy opens a copy Parley owns (a backup being made, or a restore's temporary file) and
// describes it. With rollback set, the copy is switched to a rollback journal so that it is one
// self-contained file that opens anywhere, read-only media included; serve turns WAL back on.
// It closes the copy with no -wal or -shm file left beside it.
func inspectCopy(ctx context.Context, path string, rollback bool) (Info, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return Info{}, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if rollback {
		if _, err := db.ExecContext(ctx, `PRAGMA journal_mode=DELETE`); err != nil {
			return Info{}, fmt.Errorf("sqlite: %s: %w", path, err)
		}
	} else {
		// A restore checks the file through before it replaces anything.
		var result string
		if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&result); err != nil {
			return Info{}, fmt.Errorf("sqlite: check %s: %w", path, err)
		}
		if result != "ok" {
			return Info{}, fmt.Errorf("sqlite: %s is damaged (quick_check: %s)", path, result)
		}
	}
	info, err := readInfo(ctx, db)
	if err != nil {
		return Info{}, err
	}
	if err := db.Close(); err != nil {
		return Info{}, fmt.Errorf("sqlite: close %s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return Info{}, err
	}
	info.Size = st.Size()
	return info, nil
}

// readInfo reads the schema version and the counts of what matters to an operator. Tables an older
// schema does not have yet count as empty.
func readInfo(ctx context.Context, db *sql.DB) (Info, error) {
	has := func(table string) (bool, error) {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n)
		return n > 0, err
	}
	ok, err := has("schema_migrations")
	if err != nil {
		return Info{}, fmt.Errorf("sqlite: read schema: %w", err)
	}
	if !ok {
		return Info{}, ErrNotDatabase
	}
	var info Info
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&info.SchemaVersion); err != nil {
		return Info{}, fmt.Errorf("sqlite: read schema version: %w", err)
	}
	counts := []struct {
		table, query string
		into         *int64
	}{
		{"workspaces", `SELECT COUNT(*) FROM workspaces`, &info.Workspaces},
		{"conversations", `SELECT COUNT(*) FROM conversations`, &info.Conversations},
		{"messages", `SELECT COUNT(*) FROM messages`, &info.Messages},
		{"attachments", `SELECT COUNT(*) FROM attachments`, &info.Attachments},
		{"attachments", `SELECT COALESCE(SUM(size), 0) FROM attachments`, &info.AttachmentBytes},
	}
	for _, c := range counts {
		ok, err := has(c.table)
		if err != nil {
			return Info{}, fmt.Errorf("sqlite: read schema: %w", err)
		}
		if !ok {
			continue
		}
		if err := db.QueryRowContext(ctx, c.query).Scan(c.into); err != nil {
			return Info{}, fmt.Errorf("sqlite: count %s: %w", c.table, err)
		}
	}
	return info, nil
}

// RestoreResult is what Restore did.
type RestoreResult struct {
	Info
	// Latest is the schema version this build migrates to; a restored database below it is migrated
	// when the server (or any command) next opens it.
	Latest int
	// Moved are the files of the replaced database, renamed to *.before-restore-<time>.
	Moved []string
}

// Restore replaces the database at path with a copy of the backup src. It refuses while any process
// has the database open (ErrInUse), when src is not a Parley database this build can run (ErrNotDatabase,
// ErrTooNew), and when a database exists at path unless overwrite is set; the replaced database is then
// kept beside it as <name>.before-restore-<time>, with its -wal. The new file appears whole or not at all.
func Restore(ctx context.Context, src, path string, overwrite bool, now time.Time) (RestoreResult, error) {
	if err := checkHeader(src); err != nil {
		return RestoreResult{}, err
	}
	latest, err := LatestVersion()
	if err != nil {
		return RestoreResult{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return RestoreResult{}, fmt.Errorf("sqlite: create data folder: %w", err)
	}
	// Held until the new file is in place: no server or command opens the database meanwhile.
	lock, err := lockFile(LockPath(path), true)
	if errors.Is(err, ErrInUse) {
		return RestoreResult{}, fmt.Errorf("%s is open in a running Parley process (parley serve, or another command holds %s): stop it, then restore: %w",
			path, LockPath(path), err)
	}
	if err != nil {
		return RestoreResult{}, err
	}
	defer lock.release()
	if _, err := os.Lstat(path); err == nil && !overwrite {
		return RestoreResult{}, fmt.Errorf("a database exists at %s: %w", path, fs.ErrExist)
	}

	tmp, err := tempBeside(path)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("sqlite: restore: cannot create a file in %s: %w", filepath.Dir(path), pathCause(err))
	}
	placed := false
	defer func() {
		if !placed {
			removeWithSidecars(tmp)
		}
	}()
	if err := copyFile(src, tmp); err != nil {
		return RestoreResult{}, fmt.Errorf("sqlite: restore: copy %s: %w", src, err)
	}
	info, err := inspectCopy(ctx, tmp, false)
	switch {
	case errors.Is(err, ErrNotDatabase):
		return RestoreResult{}, fmt.Errorf("%s is a SQLite database, but not Parley's (it has no schema_migrations table): %w", src, ErrNotDatabase)
	case err != nil && ctx.Err() == nil:
		return RestoreResult{}, fmt.Errorf("%s is damaged, or not a database (%v): %w", src, err, ErrNotDatabase)
	case err != nil:
		return RestoreResult{}, err
	}
	if info.SchemaVersion > latest {
		return RestoreResult{}, fmt.Errorf("%s has schema version %d, and this parley knows versions up to %d: restore it with the Parley version that made it, or a newer one: %w",
			src, info.SchemaVersion, latest, ErrTooNew)
	}
	if err := syncFile(tmp); err != nil {
		return RestoreResult{}, fmt.Errorf("sqlite: restore: %w", err)
	}

	res := RestoreResult{Info: info, Latest: latest}
	// The old database's -wal may hold its latest commits: it moves with it, under the matching name,
	// so the kept copy opens whole. A -wal left behind would be replayed into the restored file.
	prev := path + ".before-restore-" + now.UTC().Format("20060102T150405Z")
	for n := 2; ; n++ {
		if _, err := os.Lstat(prev); errors.Is(err, fs.ErrNotExist) {
			break
		}
		prev = fmt.Sprintf("%s.before-restore-%s-%d", path, now.UTC().Format("20060102T150405Z"), n)
	}
	for _, suffix := range []string{"", "-wal", "-journal"} {
		if _, err := os.Lstat(path + suffix); err != nil {
			continue
		}
		if err := os.Rename(path+suffix, prev+suffix); err != nil {
			return res, fmt.Errorf("sqlite: restore: keep the old database: %w", err)
		}
		res.Moved = append(res.Moved, prev+suffix)
	}
	// The -shm is only an index of the -wal, rebuilt on open.
	if err := os.Remove(path + "-shm"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("sqlite: restore: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("sqlite: restore: %w", err)
	}
	placed = true
	if err := syncDir(filepath.Dir(path)); err != nil {
		return res, fmt.Errorf("sqlite: restore: %w", err)
	}
	return res, nil
}

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != sqliteHeader {
		return fmt.Errorf("%s is not a SQLite database (it does not start with %q): %w", path, "SQLite format 3", ErrNotDatabase)
	}
	return nil
}

// tempBeside creates an empty file, readable by its owner only, in the folder of path: a rename from
// there to path is atomic.
func tempBeside(path string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	// The database holds customers' conversations and sealed secrets: owner only, like parley.db.
	err = errors.Join(f.Chmod(0o600), f.Close())
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// place moves the finished file tmp to dest: rename when overwriting; otherwise a hard link, which
// fails if dest exists, so a file created meanwhile is never replaced.
func place(tmp, dest string, overwrite bool) error {
	if overwrite {
		if err := os.Rename(tmp, dest); err != nil {
			return fmt.Errorf("sqlite: backup: %w", err)
		}
	} else {
		err := os.Link(tmp, dest)
		switch {
		case errors.Is(err, fs.ErrExist):
			return fmt.Errorf("sqlite: backup: %s already exists: %w", dest, fs.ErrExist)
		case err != nil:
			// A file system without hard links: check, then rename.
			if _, serr := os.Lstat(dest); serr == nil {
				return fmt.Errorf("sqlite: backup: %s already exists: %w", dest, fs.ErrExist)
			}
			if err := os.Rename(tmp, dest); err != nil {
				return fmt.Errorf("sqlite: backup: %w", err)
			}
		default:
			os.Remove(tmp)
		}
	}
	if err := syncDir(filepath.Dir(dest)); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	// Some file systems cannot sync a directory; the rename itself has happened.
	if errors.Is(err, os.ErrInvalid) {
		err = nil
	}
	return errors.Join(err, d.Close())
}

// pathCause is the cause of a file operation's error without the (temporary) path it names.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func removeWithSidecars(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}
