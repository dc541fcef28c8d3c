package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lazyTx is one Update's transaction, sent with as few round trips as the function allows. On a busy
// server each round trip costs CPU on both ends (a write, a read, a wake-up), and a message post was
// six of them; so:
//
//   - BEGIN is not a round trip of its own: it goes out in one pipelined batch with the transaction's
//     first statement (pgx's Batch.BeginTx). A function that runs no statement takes no connection and
//     begins nothing.
//   - A statement whose result nobody waits for (later) is queued and goes out in the same batch as the
//     next statement, or before the commit. Its error, if any, is then the error of that next statement
//     or of the commit, so the transaction still fails as a whole, as it would have a statement earlier.
//
// The batch is one pipeline ended by one Sync: the server runs its statements in order and, after an
// error, skips the rest, so what the function sees is exactly what running them one by one would give.
type lazyTx struct {
	pool  *pgxpool.Pool
	tx    pgx.Tx // nil until the first batch has gone out
	later []queued
}

// queued is a statement waiting for the next batch; what names it in an error.
type queued struct {
	what string
	sql  string
	args []any
}

var serializable = pgx.TxOptions{IsoLevel: pgx.Serializable}

var _ querier = (*lazyTx)(nil)

// queue adds a statement to the next batch.
func (l *lazyTx) queue(what, sql string, args ...any) {
	l.later = append(l.later, queued{what: what, sql: sql, args: args})
}

// direct reports whether a statement can go out alone on the open transaction.
func (l *lazyTx) direct() bool { return l.tx != nil && len(l.later) == 0 }

// send sends, in one batch, the BEGIN if it has not gone out yet, the queued statements, and sql unless
// it is empty. It reads the results before sql's; the first failure closes the batch and is returned.
func (l *lazyTx) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	begin := l.tx == nil
	if begin {
		b.BeginTx(serializable)
	}
	later := l.later
	l.later = nil
	for _, q := range later {
		b.Queue(q.sql, q.args...)
	}
	if sql != "" {
		b.Queue(sql, args...)
	}
	var br pgx.BatchResults
	if begin {
		br = l.pool.SendBatch(ctx, b)
		// Taken before the results are read, so that the deferred Rollback of runOnce releases the
		// connection whatever happens next.
		l.tx = br.Tx()
	} else {
		br = l.tx.SendBatch(ctx, b)
	}
	if begin {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, fmt.Errorf("store: begin: %w", err)
		}
	}
	for _, q := range later {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, writeErr(err, q.what)
		}
	}
	return br, nil
}

// flush sends what is queued, if anything.
func (l *lazyTx) flush(ctx context.Context) error {
	if len(l.later) == 0 {
		return nil
	}
	br, err := l.send(ctx, "", nil)
	if err != nil {
		return err
	}
	return br.Close()
}

func (l *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if l.direct() {
		return l.tx.Exec(ctx, sql, args...)
	}
	br, err := l.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (l *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if l.direct() {
		return l.tx.QueryRow(ctx, sql, args...)
	}
	br, err := l.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return batchRow{br.QueryRow(), br}
}

func (l *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if l.direct() {
		return l.tx.Query(ctx, sql, args...)
	}
	br, err := l.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// commit sends what is queued and commits. Nothing sent, nothing to commit: no round trip at all.
func (l *lazyTx) commit(ctx context.Context) error {
	if err := l.flush(ctx); err != nil {
		return err
	}
	if l.tx == nil {
		return nil
	}
	return l.tx.Commit(ctx)
}

// rollback ends the transaction if it began, and gives its connection back to the pool. After a
// commit it does nothing.
func (l *lazyTx) rollback(ctx context.Context) {
	l.later = nil
	if l.tx != nil {
		_ = l.tx.Rollback(ctx)
	}
}

// batchRow is the last statement of a batch, read as one row; reading it ends the batch, so that the
// connection is free for the transaction's next statement.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// batchRows are the rows of the last statement of a batch; the batch ends when they are read or closed.
type batchRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.end()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	r.end()
}

func (r *batchRows) end() {
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}
