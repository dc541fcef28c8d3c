// Package sqlite is Parley's embedded store: one SQLite file in WAL mode, opened through modernc.org/sqlite
// (no cgo), with one writer connection and a pool of readers.
//
// Writes go through a single goroutine that commits the functions of concurrent callers together (group
// commit); one caller's failure never touches another's work, and every caller returns only after the
// shared COMMIT. A commit costs about the same for one row or a hundred, so batching is what lets message
// appends outrun the single-row commit ceiling.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"

	"github.com/parleyhq/parley/internal/store"
)

// maxBatch bounds one group commit so a burst cannot make the first caller wait for thousands of others.
const maxBatch = 256

// Options tune the store. The zero value is the production default.
type Options struct {
	// Synchronous is SQLite's synchronous pragma: "NORMAL" (default) survives any process crash,
	// including SIGKILL; "FULL" also survives power loss at the cost of an fsync per commit.
	Synchronous string
	// Readers is the size of the read pool; 0 means one per CPU, at least 2.
	Readers int
}

// DB is the SQLite store.
type DB struct {
	path     string
	migrated int       // migrations this Open applied
	lock     *fileLock // shared while open (see Restore)
	writer   *sql.DB
	reader   *sql.DB
	ckpt     *sql.DB
	rstmts   *stmtCache
	wstmts   *stmtCache
	queries

	writes    chan *writeOp
	closing   chan struct{}
	stopped   chan struct{} // closed when writeLoop has returned
	closeOnce sync.Once
	wg        sync.WaitGroup
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path, applies pending migrations and starts the
// writer.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data folder: %w", err)
	}
	// Everyone who has the database open holds its lock file shared, for as long as the store is open,
	// so that restore (which takes it exclusively) can tell reliably that the file is in use.
	lock, err := lockFile(LockPath(path), false)
	if errors.Is(err, ErrInUse) {
		return nil, fmt.Errorf("sqlite: %s is being restored (parley restore holds %s); start again when it is done: %w", path, LockPath(path), err)
	}
	if err != nil {
		return nil, err
	}
	opened := false
	defer func() {
		if !opened {
			lock.release()
		}
	}()
	// The database holds secrets: create it readable by its owner only (SQLite gives the -wal and -shm
	// files the same permissions).
	if f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("sqlite: create database file: %w", err)
	} else {
		f.Close()
	}
	sync := strings.ToUpper(opts.Synchronous)
	switch sync {
	case "":
		sync = "NORMAL"
	case "NORMAL", "FULL":
	default:
		return nil, fmt.Errorf("sqlite: synchronous must be NORMAL or FULL, not %q", opts.Synchronous)
	}
	readers := opts.Readers
	if readers <= 0 {
		readers = max(2, runtime.NumCPU())
	}

	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous("+sync+")")
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return "file:" + path + "?" + q.Encode()
	}
	// BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails halfway when another
	// process (the CLI) writes at the same time; busy_timeout then waits instead of erroring.
	// Checkpoints copy the WAL back into the database file. SQLite runs them inside whichever commit
	// crosses the threshold, stalling the writer and everyone queued behind it; a background connection
	// does it instead (see checkpointLoop). journal_size_limit keeps the WAL file from staying large.
	writer, err := sql.Open("sqlite", dsn("_txlock", "immediate", "_pragma", "wal_autocheckpoint(0)", "_pragma", "journal_size_limit(67108864)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := connect(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	migrated, err := migrate(ctx, writer)
	if err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite", dsn("_pragma", "query_only(1)"))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	checkpointer, err := sql.Open("sqlite", dsn())
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("sqlite: open checkpointer: %w", err)
	}
	checkpointer.SetMaxOpenConns(1)
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	reader.SetConnMaxIdleTime(0)

	db := &DB{
		path: path, migrated: migrated, lock: lock,
		writer:  writer,
		reader:  reader,
		rstmts:  newStmtCache(reader, true),
		wstmts:  newStmtCache(writer, false),
		ckpt:    checkpointer,
		writes:  make(chan *writeOp, maxBatch),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
	}
	db.queries = queries{run: db.rstmts}
	if err := db.wstmts.prepare(ctx, statements()...); err != nil {
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("sqlite: prepare statements: %w", err)
	}
	db.wg.Add(2)
	go db.writeLoop()
	go db.checkpointLoop()
	opened = true
	return db, nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close finishes queued writes, then closes the database.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { close(db.closing) })
	db.wg.Wait()
	db.rstmts.close()
	db.wstmts.close()
	// Leave a complete database file behind, so a copy of it alone is a full backup.
	_, ckErr := db.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	err := errors.Join(ckErr, db.ckpt.Close(), db.reader.Close(), db.writer.Close())
	return errors.Join(err, db.lock.release())
}

// checkpointInterval is how often the background checkpoint runs. A passive checkpoint never blocks
// the writer or readers; it copies what it can, and the WAL restarts from its beginning once a
// checkpoint has caught up.
const checkpointInterval = time.Second

func (db *DB) checkpointLoop() {
	defer db.wg.Done()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-db.closing:
			return
		case <-t.C:
			// Errors (SQLITE_BUSY while another process checkpoints) only postpone the work to the next tick.
			_, _ = db.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

type writeOp struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
}

// Update implements store.Store with group commit.
func (db *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case <-db.closing:
		return store.ErrClosed
	default:
	}
	select {
	case db.writes <- op:
	case <-db.closing:
		return store.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the op may already be committing, and the
	// caller must never believe a committed write failed.
	select {
	case err := <-op.done:
		return err
	case <-db.stopped:
		// An op queued while Close was draining may have landed after the last drain: the writer reported
		// every op it took before stopping, so one without an outcome never ran.
		select {
		case err := <-op.done:
			return err
		default:
			return store.ErrClosed
		}
	}
}

// connect opens the writer's connection. Switching a new file to WAL needs a lock SQLite will not wait
// for (busy_timeout does not apply, to avoid deadlock), so when two processes create the same file at
// once one gets SQLITE_BUSY: retry it briefly.
func connect(ctx context.Context, db *sql.DB) error {
	for delay := time.Millisecond; ; delay *= 2 {
		err := db.PingContext(ctx)
		var se *sqlite3.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3lib.SQLITE_BUSY || delay > time.Second {
			return err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (db *DB) writeLoop() {
	defer db.wg.Done()
	defer close(db.stopped)
	batch := make([]*writeOp, 0, maxBatch)
	for {
		select {
		case op := <-db.writes:
			batch = append(batch[:0], op)
		case <-db.closing:
			// Drain what was queued before Close so no accepted write is dropped.
			for {
				select {
				case op := <-db.writes:
					db.commit([]*writeOp{op})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case op := <-db.writes:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		db.commit(batch)
	}
}

// commit runs a batch in as few transactions as possible and reports each op's outcome once the batch
// is over. The ops run one after another in one transaction; when one fails, the transaction is rolled
// back and the batch runs again without it — so an op before it runs twice, which is why Update's
// functions must have no effects outside the transaction. Savepoints would avoid the rerun, but they
// cost two statements for every op, and failures are rare. A failed op hears of its failure only after
// the others have committed: its caller may look for what a concurrent op wrote (a retried client id).
func (db *DB) commit(batch []*writeOp) {
	type failure struct {
		op  *writeOp
		err error
	}
	var failures []failure
	defer func() {
		for _, f := range failures {
			f.op.done <- f.err
		}
	}()
	pending := make([]*writeOp, 0, len(batch))
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			failures = append(failures, failure{op, err}) // the caller gave up before the op started
			continue
		}
		pending = append(pending, op)
	}
	for len(pending) > 0 {
		failed, opErr, err := db.runOnce(pending)
		switch {
		case err != nil: // BEGIN or COMMIT failed: nothing of this pass is stored
			for _, op := range pending {
				op.done <- err
			}
			return
		case failed < 0:
			for _, op := range pending {
				op.done <- nil
			}
			return
		}
		failures = append(failures, failure{pending[failed], opErr})
		pending = append(pending[:failed], pending[failed+1:]...)
	}
}

// runOnce runs ops in one transaction. It returns the index of the first op that failed (the
// transaction is then rolled back) and that op's error, or -1 once the transaction has committed.
func (db *DB) runOnce(ops []*writeOp) (failed int, opErr, err error) {
	ctx := context.Background()
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return -1, nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	t := &txn{queries: queries{run: &txRunner{tx: tx, cache: db.wstmts}}}
	for i, op := range ops {
		if err := op.fn(t); err != nil {
			tx.Rollback()
			return i, err, nil
		}
	}
	if err := tx.Commit(); err != nil {
		return -1, nil, fmt.Errorf("sqlite: commit: %w", err)
	}
	return -1, nil, nil
}

// isForeignKeyViolation reports whether err is a FOREIGN KEY constraint failure.
func isForeignKeyViolation(err error) bool {
	var se *sqlite3.Error
	return errors.As(err, &se) && se.Code() == sqlite3lib.SQLITE_CONSTRAINT_FOREIGNKEY
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
