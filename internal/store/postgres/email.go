package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

const (
	sqlCustomerEmail       = `SELECT opted_out_at, last_emailed_at FROM customer_email WHERE customer_id = $1`
	sqlSetCustomerOptOut   = `INSERT INTO customer_email (customer_id, opted_out_at) VALUES ($1, $2) ON CONFLICT (customer_id) DO UPDATE SET opted_out_at = excluded.opted_out_at`
	sqlMarkCustomerEmailed = `INSERT INTO customer_email (customer_id, last_emailed_at) VALUES ($1, $2) ON CONFLICT (customer_id) DO UPDATE SET last_emailed_at = excluded.last_emailed_at`
	sqlConversationEmailed = `SELECT n FROM conversation_emailed WHERE conversation_id = $1`
	sqlMarkConvEmailed     = `INSERT INTO conversation_emailed (conversation_id, n, at) VALUES ($1, $2, $3)
		ON CONFLICT (conversation_id) DO UPDATE SET n = excluded.n, at = excluded.at WHERE excluded.n > conversation_emailed.n`
	emailLogColumns = `id, workspace_id, job_key, kind, recipient, subject, state, attempts, reply, created_at, updated_at`
	sqlLogEmail     = `INSERT INTO email_log (workspace_id, job_key, kind, recipient, subject, state, attempts, reply, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (job_key) DO UPDATE SET recipient = excluded.recipient, subject = excluded.subject,
		state = excluded.state, attempts = excluded.attempts, reply = excluded.reply, updated_at = excluded.updated_at RETURNING id`
	sqlEmailLog       = `SELECT ` + emailLogColumns + ` FROM email_log WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2`
	sqlDeleteEmailLog = `DELETE FROM email_log WHERE id = ANY(ARRAY(SELECT id FROM email_log WHERE updated_at <= $1 ORDER BY updated_at LIMIT $2
		FOR UPDATE SKIP LOCKED))`
)

func (q queries) CustomerEmail(ctx context.Context, customerID string) (store.CustomerEmail, error) {
	var c store.CustomerEmail
	err := q.db.QueryRow(ctx, sqlCustomerEmail, customerID).Scan(tz(&c.OptedOutAt), tz(&c.LastEmailedAt))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.CustomerEmail{}, nil
	}
	if err != nil {
		return c, notFound(err, "customer email")
	}
	return c, nil
}

func (q queries) ConversationEmailed(ctx context.Context, conversationID string) (int64, error) {
	var n int64
	err := q.db.QueryRow(ctx, sqlConversationEmailed, conversationID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, notFound(err, "conversation emailed")
	}
	return n, nil
}

func scanEmailLog(row pgx.Row) (store.EmailLogEntry, error) {
	var e store.EmailLogEntry
	err := row.Scan(&e.ID, &e.WorkspaceID, &e.JobKey, &e.Kind, &e.Recipient, &e.Subject, &e.State, &e.Attempts, &e.Reply, tz(&e.CreatedAt), tz(&e.UpdatedAt))
	return e, err
}

func (q queries) EmailLog(ctx context.Context, workspaceID string, limit int) ([]store.EmailLogEntry, error) {
	return list(ctx, q.db, "email log", scanEmailLog, sqlEmailLog, workspaceID, limit)
}

func (t *txn) SetCustomerOptOut(ctx context.Context, customerID string, at time.Time) error {
	if _, err := t.db.Exec(ctx, sqlSetCustomerOptOut, customerID, ts(at)); err != nil {
		return writeErr(err, "set customer opt-out")
	}
	return nil
}

func (t *txn) MarkCustomerEmailed(ctx context.Context, customerID string, at time.Time) error {
	if _, err := t.db.Exec(ctx, sqlMarkCustomerEmailed, customerID, ts(at)); err != nil {
		return writeErr(err, "mark customer emailed")
	}
	return nil
}

func (t *txn) MarkConversationEmailed(ctx context.Context, conversationID string, n int64, at time.Time) error {
	if _, err := t.db.Exec(ctx, sqlMarkConvEmailed, conversationID, n, ts(at)); err != nil {
		return writeErr(err, "mark conversation emailed")
	}
	return nil
}

func (t *txn) LogEmail(ctx context.Context, e *store.EmailLogEntry) error {
	if err := t.db.QueryRow(ctx, sqlLogEmail, e.WorkspaceID, e.JobKey, e.Kind, e.Recipient, e.Subject, e.State, e.Attempts, e.Reply,
		ts(e.CreatedAt), ts(e.UpdatedAt)).Scan(&e.ID); err != nil {
		return writeErr(err, "log email")
	}
	return nil
}

func (t *txn) DeleteEmailLog(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteEmailLog, ts(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete email log: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
