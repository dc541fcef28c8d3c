// Package postgres is Parley's shared store: a PostgreSQL database that many Parley instances use at
// once, through a pgx connection pool.
//
// Reads run on the pool concurrently. Each Update runs its function in a SERIALIZABLE transaction, so
// the functions of concurrent callers — on this instance or any other — behave as if they ran one after
// another, as they do on the SQLite store's single writer: a function that looks a row up and inserts it
// when missing never races another into a conflict. PostgreSQL keeps that promise by aborting one of two
// colliding transactions (a serialization failure), as it breaks deadlocks; Update then runs the
// function again.
//
// Message numbers come from one sequence, which hands them out when a row is inserted rather than when
// it commits. So that a client resuming after the last number it saw never skips one, an append first
// locks its conversation's row: within a conversation, appends then take their numbers in commit order.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parleyhq/parley/internal/store"
)

// Options tune the store. The zero value is the production default.
type Options struct {
	// Schema, when set, is the schema Parley's tables live in (created if missing), so that several
	// installations, or tests, can share one database. Empty means the URL's search_path, by default
	// "public".
	Schema string
	// MaxConns caps the connection pool; 0 keeps pgxpool's default: the URL's pool_max_conns, else the
	// larger of 4 and the number of CPUs.
	MaxConns int
}

// Store is the PostgreSQL store.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	queries

	// closing ends when Close begins, stopping listeners.
	closing    context.Context
	endClosing context.CancelFunc

	// mu orders Update's check of closed before Close's wait for the updates in flight.
	mu        sync.RWMutex
	closed    atomic.Bool
	inflight  sync.WaitGroup
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// SessionSettings are set on every connection of the store unless the URL sets them.
//
// enable_seqscan=off: every statement Parley runs on a request reaches its rows through an index
// (TestHotStatementsUseTheirIndexes lists them), but the planner weighs an index against reading the
// table from its statistics, and those are wrong on a young installation: a table analysed while empty
// (ANALYZE after migrating, or autovacuum's first pass) looks one page long as it grows, so the planner
// reads it whole — and a prepared statement keeps that generic plan on its connection while the table
// grows to millions of rows (measured: about 1,900 rows read per delivered message). Turned off, a
// sequential scan is chosen only where no index can serve the statement (a full export, a report over a
// whole table), and those still run as before. Bitmap scans, which read a large share of a table almost as
// cheaply, are unaffected.
var SessionSettings = map[string]string{"enable_seqscan": "off"}

// Open connects to the database at url (a postgres:// URL or a key=value DSN, as libpq accepts), applies
// pending migrations and returns the store.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database url: %w", err)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "parley"
	}
	for name, value := range SessionSettings {
		if _, ok := cfg.ConnConfig.RuntimeParams[name]; !ok {
			cfg.ConnConfig.RuntimeParams[name] = value
		}
	}
	if opts.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: MaxConns must not be negative, not %d", opts.MaxConns)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(min(opts.MaxConns, math.MaxInt32))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	_, err = migrate(ctx, conn.Conn(), opts.Schema)
	schema := opts.Schema
	if err == nil && schema == "" {
		// A search_path in the URL puts the installation in a schema of its own: its notification
		// channels must be its own too (see channel).
		var current *string
		if err = conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&current); err == nil && current != nil && *current != "public" {
			schema = *current
		}
	}
	conn.Release()
	if err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, schema: schema}
	s.queries = queries{db: poolRunner{s}}
	s.closing, s.endClosing = context.WithCancel(context.Background())
	return s, nil
}

// Schema is the schema the store's tables live in ("" for the URL's search_path).
func (s *Store) Schema() string { return s.schema }

// Close refuses new calls with store.ErrClosed, stops listeners, waits for the updates in flight, and
// closes the pool once the reads in flight are done.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true)
		s.mu.Unlock()
		s.endClosing()
		s.inflight.Wait()
		s.pool.Close()
	})
	return nil
}

// maxAttempts bounds how often Update runs a function that PostgreSQL keeps aborting. Conflicts clear
// quickly (the other transaction commits), so reaching it means something keeps colliding. Appends to
// one conversation collide by design: each takes the number after the previous one's, which a
// transaction that started before that append committed cannot see, so it aborts and runs again. Sixteen
// writers hammering one conversation (TestAppendOrderAcrossInstances) need up to about 26 turns.
const maxAttempts = 64

// Update implements store.Store: fn runs in a serializable transaction, again if PostgreSQL aborts it to
// keep transactions serializable or to break a deadlock.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.RLock()
	if s.closed.Load() {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	s.inflight.Add(1)
	s.mu.RUnlock()
	defer s.inflight.Done()

	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.runOnce(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		// Back off a little, at random, so the transactions that collided do not collide again.
		wait := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 7)))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// runOnce runs fn in one transaction. It returns fn's error unchanged, after rolling back.
func (s *Store) runOnce(ctx context.Context, fn func(store.Tx) error) error {
	tx := &lazyTx{pool: s.pool}
	// Once fn has run, the caller's cancellation must not cut the end of the transaction short: a commit
	// interrupted halfway would leave the caller unsure whether its write is stored.
	end := context.WithoutCancel(ctx)
	// Rolls back when fn fails (or panics); after a commit it does nothing. On a broken connection the
	// server rolls back by itself.
	defer tx.rollback(end)
	if err := fn(&txn{queries: queries{db: tx}, s: s, lazy: tx}); err != nil {
		return err
	}
	if err := tx.commit(end); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// retryable reports whether PostgreSQL aborted a transaction that may succeed when run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	// serialization_failure, deadlock_detected; and a message number taken twice, which only a
	// transaction that could not see a concurrent append can do (PostgreSQL reports it as a
	// serialization failure when it can tell, and advises retrying unique violations too).
	return pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "23505" && pe.ConstraintName == "messages_by_conversation_number"
}

// querier runs SQL on the pool or in a transaction: *pgxpool.Pool and pgx.Tx both have these methods.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// poolRunner runs reads on the pool, and reports store.ErrClosed once the store is closed.
type poolRunner struct{ s *Store }

func (r poolRunner) err(err error) error {
	if err != nil && r.s.closed.Load() {
		return fmt.Errorf("%w (%w)", store.ErrClosed, err)
	}
	return err
}

func (r poolRunner) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if r.s.closed.Load() {
		return pgconn.CommandTag{}, store.ErrClosed
	}
	tag, err := r.s.pool.Exec(ctx, sql, args...)
	return tag, r.err(err)
}

func (r poolRunner) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if r.s.closed.Load() {
		return nil, store.ErrClosed
	}
	rows, err := r.s.pool.Query(ctx, sql, args...)
	return rows, r.err(err)
}

func (r poolRunner) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if r.s.closed.Load() {
		return errRow{store.ErrClosed}
	}
	return closingRow{r.s.pool.QueryRow(ctx, sql, args...), r}
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type closingRow struct {
	row pgx.Row
	r   poolRunner
}

func (c closingRow) Scan(dest ...any) error { return c.r.err(c.row.Scan(dest...)) }

// Errors

// notFound reports a missing row as store.ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", what, store.ErrNotFound)
	}
	// A key PostgreSQL cannot even hold as text (a NUL byte, invalid UTF-8: SQLite takes them) names no
	// row; to the caller that is a missing row, as it is on SQLite.
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "22021" {
		return fmt.Errorf("store: %s: %w", what, store.ErrNotFound)
	}
	return writeErr(err, what)
}

// writeErr maps constraint violations to the store's errors.
func writeErr(err error, what string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("store: %s: %w (%w)", what, store.ErrConflict, err)
		case "23503": // foreign_key_violation: the row refers to one that does not exist
			return fmt.Errorf("store: %s: %w (%w)", what, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// mustChange turns a statement that matched nothing into ErrNotFound.
func mustChange(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return writeErr(err, what)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: %s: %w", what, store.ErrNotFound)
	}
	return nil
}
