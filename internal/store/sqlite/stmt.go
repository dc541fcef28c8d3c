package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// runner runs SQL either on the reader pool or inside the writer's transaction.
type runner interface {
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, q string, args ...any) *sql.Row
	exec(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// stmtCache keeps one prepared statement per SQL text. Preparing costs about as much as running a simple
// statement with modernc.org/sqlite, so re-using them roughly halves the cost of the hot paths.
type stmtCache struct {
	db *sql.DB
	// lazy allows preparing on a miss. The writer pool has a single connection that its transaction
	// holds, so preparing there mid-transaction would deadlock; writer statements are prepared at Open.
	lazy bool

	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB, lazy bool) *stmtCache {
	return &stmtCache{db: db, lazy: lazy, m: make(map[string]*sql.Stmt)}
}

func (c *stmtCache) prepare(ctx context.Context, qs ...string) error {
	for _, q := range qs {
		if _, err := c.get(ctx, q, true); err != nil {
			return err
		}
	}
	return nil
}

func (c *stmtCache) get(ctx context.Context, q string, force bool) (*sql.Stmt, error) {
	c.mu.RLock()
	s := c.m[q]
	c.mu.RUnlock()
	if s != nil || !(c.lazy || force) {
		return s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.m[q]; s != nil {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.m[q] = s
	return s, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}

// The reader pool runs prepared statements directly.

func (c *stmtCache) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := c.get(ctx, q, false)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (c *stmtCache) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	s, err := c.get(ctx, q, false)
	if err != nil {
		return c.db.QueryRowContext(ctx, q, args...) // reports the same preparation error through Scan
	}
	return s.QueryRowContext(ctx, args...)
}

func (c *stmtCache) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := c.get(ctx, q, false)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// txRunner runs statements inside the writer's transaction, re-using statements prepared on its
// connection when there is one.
type txRunner struct {
	tx    *sql.Tx
	cache *stmtCache
}

// shield keeps a caller's cancellation from interrupting a statement. SQLite rolls back the whole
// transaction when it interrupts a write, silently: the rest of the batch would then run in autocommit
// mode, each statement durable at once, even for an fn that goes on to fail. Cancellation is honoured
// between statements instead.
func shield(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return ctx // database/sql then fails the call before it reaches SQLite
	}
	return context.WithoutCancel(ctx)
}

func (r *txRunner) stmt(ctx context.Context, q string) *sql.Stmt {
	s, _ := r.cache.get(ctx, q, false)
	if s == nil {
		return nil
	}
	return r.tx.StmtContext(ctx, s)
}

func (r *txRunner) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = shield(ctx)
	if s := r.stmt(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return r.tx.QueryContext(ctx, q, args...)
}

func (r *txRunner) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = shield(ctx)
	if s := r.stmt(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return r.tx.QueryRowContext(ctx, q, args...)
}

func (r *txRunner) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = shield(ctx)
	if s := r.stmt(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return r.tx.ExecContext(ctx, q, args...)
}
