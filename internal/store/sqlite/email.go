package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

const (
	sqlCustomerEmail       = `SELECT opted_out_at, last_emailed_at FROM customer_email WHERE customer_id = ?`
	sqlSetCustomerOptOut   = `INSERT INTO customer_email (customer_id, opted_out_at) VALUES (?, ?) ON CONFLICT (customer_id) DO UPDATE SET opted_out_at = excluded.opted_out_at`
	sqlMarkCustomerEmailed = `INSERT INTO customer_email (customer_id, last_emailed_at) VALUES (?, ?) ON CONFLICT (customer_id) DO UPDATE SET last_emailed_at = excluded.last_emailed_at`
	sqlConversationEmailed = `SELECT n FROM conversation_emailed WHERE conversation_id = ?`
	sqlMarkConvEmailed     = `INSERT INTO conversation_emailed (conversation_id, n, at) VALUES (?, ?, ?)
		ON CONFLICT (conversation_id) DO UPDATE SET n = excluded.n, at = excluded.at WHERE excluded.n > conversation_emailed.n`
	emailLogColumns = `id, workspace_id, job_key, kind, recipient, subject, state, attempts, reply, created_at, updated_at`
	sqlLogEmail     = `INSERT INTO email_log (workspace_id, job_key, kind, recipient, subject, state, attempts, reply, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_key) DO UPDATE SET recipient = excluded.recipient, subject = excluded.subject,
		state = excluded.state, attempts = excluded.attempts, reply = excluded.reply, updated_at = excluded.updated_at RETURNING id`
	sqlEmailLog       = `SELECT ` + emailLogColumns + ` FROM email_log INDEXED BY email_log_recent WHERE workspace_id = ? ORDER BY id DESC LIMIT ?`
	sqlDeleteEmailLog = `DELETE FROM email_log WHERE id IN (SELECT id FROM email_log INDEXED BY email_log_by_age WHERE updated_at <= ? LIMIT ?)`
)

func (q queries) CustomerEmail(ctx context.Context, customerID string) (store.CustomerEmail, error) {
	var out, last sql.NullInt64
	err := q.run.queryRow(ctx, sqlCustomerEmail, customerID).Scan(&out, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return store.CustomerEmail{}, nil
	}
	if err != nil {
		return store.CustomerEmail{}, fmt.Errorf("store: customer email: %w", err)
	}
	return store.CustomerEmail{OptedOutAt: fromMicros(out), LastEmailedAt: fromMicros(last)}, nil
}

func (q queries) ConversationEmailed(ctx context.Context, conversationID string) (int64, error) {
	var n int64
	err := q.run.queryRow(ctx, sqlConversationEmailed, conversationID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: conversation emailed: %w", err)
	}
	return n, nil
}

func scanEmailLog(s scanner) (store.EmailLogEntry, error) {
	var e store.EmailLogEntry
	var created, updated sql.NullInt64
	err := s.Scan(&e.ID, &e.WorkspaceID, &e.JobKey, &e.Kind, &e.Recipient, &e.Subject, &e.State, &e.Attempts, &e.Reply, &created, &updated)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return e, err
}

func (q queries) EmailLog(ctx context.Context, workspaceID string, limit int) ([]store.EmailLogEntry, error) {
	return list(ctx, q.run, "email log", scanEmailLog, sqlEmailLog, workspaceID, limit)
}

func (t *txn) SetCustomerOptOut(ctx context.Context, customerID string, at time.Time) error {
	_, err := t.run.exec(ctx, sqlSetCustomerOptOut, customerID, micros(at))
	return writeErr2(err, "set customer opt-out")
}

func (t *txn) MarkCustomerEmailed(ctx context.Context, customerID string, at time.Time) error {
	_, err := t.run.exec(ctx, sqlMarkCustomerEmailed, customerID, micros(at))
	return writeErr2(err, "mark customer emailed")
}

func (t *txn) MarkConversationEmailed(ctx context.Context, conversationID string, n int64, at time.Time) error {
	_, err := t.run.exec(ctx, sqlMarkConvEmailed, conversationID, n, micros(at))
	return writeErr2(err, "mark conversation emailed")
}

func (t *txn) LogEmail(ctx context.Context, e *store.EmailLogEntry) error {
	err := t.run.queryRow(ctx, sqlLogEmail, e.WorkspaceID, e.JobKey, e.Kind, e.Recipient, e.Subject, e.State, e.Attempts, e.Reply,
		micros(e.CreatedAt), micros(e.UpdatedAt)).Scan(&e.ID)
	return writeErr2(err, "log email")
}

func (t *txn) DeleteEmailLog(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteEmailLog, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete email log: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
