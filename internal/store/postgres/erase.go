package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Erasing a customer (the right to be forgotten). It runs rarely, so the statements favour plainness
// over indexes where a table is bounded anyway (jobs, email log, blocks, login failures are all
// cleaned up on a schedule); the sessions of a customer that ended are found by a scan.

const (
	sqlEraseCustomer        = `SELECT COALESCE(external_id, ''), COALESCE(email, '') FROM customers WHERE id = $1 AND workspace_id = $2`
	sqlEraseConversations   = `SELECT id, session_id FROM conversations WHERE customer_id = $1`
	sqlEraseSessions        = `SELECT id FROM sessions WHERE customer_id = $1`
	sqlEraseCountMessages   = `SELECT COUNT(*) FROM messages WHERE conversation_id = $1`
	sqlEraseConvAttachments = `SELECT id, storage_key FROM attachments WHERE conversation_id = $1`
	sqlEraseUnboundUploads  = `SELECT id, storage_key FROM attachments WHERE message_seq IS NULL AND session_id = $1`
	sqlEraseAttachment      = `DELETE FROM attachments WHERE id = $1`
	sqlEraseBlob            = `DELETE FROM blob_chunks WHERE blob_key = $1`
	sqlEraseBlocks          = `DELETE FROM blocks WHERE workspace_id = $1 AND (customer_id = $2 OR session_id = $2 OR conversation_id = $2)`
	sqlEraseJobs            = `DELETE FROM jobs WHERE strpos(idempotency_key, $1) > 0 OR position(convert_to($1, 'UTF8') in payload) > 0`
	sqlEraseEmailLog        = `DELETE FROM email_log WHERE workspace_id = $1 AND (strpos(job_key, $2) > 0 OR recipient = $2)`
	sqlEraseLoginFailures   = `DELETE FROM login_failures WHERE workspace_id = $1 AND strpos(message, $2) > 0`
	sqlEraseConversation    = `DELETE FROM conversations WHERE id = $1`
	sqlEraseSessionInUse    = `SELECT EXISTS (SELECT 1 FROM conversations WHERE session_id = $1)`
	sqlEraseSession         = `DELETE FROM sessions WHERE id = $1`
	sqlEraseEmptySession    = `UPDATE sessions SET level = 'anonymous', customer_id = NULL, claimed_name = '', claimed_email = '',
		claimed_phone = '', claimed_attributes = '{}', client_addr = '', key_id = '', key_source = '', verified_at = NULL,
		revoked_at = COALESCE(revoked_at, updated_at) WHERE id = $1`
	sqlEraseCustomerRow = `DELETE FROM customers WHERE id = $1`
)

func (t *txn) EraseCustomer(ctx context.Context, workspaceID, customerID string) (store.ErasedCustomer, error) {
	var out store.ErasedCustomer
	var externalID, email string
	err := t.db.QueryRow(ctx, sqlEraseCustomer, customerID, workspaceID).Scan(&externalID, &email)
	if err != nil {
		return out, notFound(err, "erase customer")
	}
	var convs []string
	sessions := map[string]bool{}
	if err := t.eraseRows(ctx, sqlEraseConversations, []any{customerID}, func(r pgx.Rows) error {
		var id, session string
		if err := r.Scan(&id, &session); err != nil {
			return err
		}
		convs = append(convs, id)
		sessions[session] = true
		return nil
	}); err != nil {
		return out, err
	}
	if err := t.eraseRows(ctx, sqlEraseSessions, []any{customerID}, func(r pgx.Rows) error {
		var id string
		err := r.Scan(&id)
		sessions[id] = true
		return err
	}); err != nil {
		return out, err
	}
	for id := range sessions {
		out.Sessions = append(out.Sessions, id)
	}

	// Attachments go first with their bytes: those of the conversations, and uploads a session made
	// that no message took.
	var attachments []string
	collect := func(r pgx.Rows) error {
		var id, key string
		if err := r.Scan(&id, &key); err != nil {
			return err
		}
		attachments = append(attachments, id)
		out.StorageKeys = append(out.StorageKeys, key)
		return nil
	}
	for _, c := range convs {
		var n int
		if err := t.db.QueryRow(ctx, sqlEraseCountMessages, c).Scan(&n); err != nil {
			return out, fmt.Errorf("store: erase customer: count messages: %w", err)
		}
		out.Messages += n
		if err := t.eraseRows(ctx, sqlEraseConvAttachments, []any{c}, collect); err != nil {
			return out, err
		}
	}
	for _, s := range out.Sessions {
		if err := t.eraseRows(ctx, sqlEraseUnboundUploads, []any{s}, collect); err != nil {
			return out, err
		}
	}
	for i, id := range attachments {
		if err := t.eraseExec(ctx, "delete attachment", sqlEraseAttachment, id); err != nil {
			return out, err
		}
		if err := t.eraseExec(ctx, "delete blob", sqlEraseBlob, out.StorageKeys[i]); err != nil {
			return out, err
		}
	}
	out.Attachments = len(attachments)

	// Rows that name the customer, a session or a conversation of theirs without a foreign key.
	names := append([]string{customerID}, convs...)
	names = append(names, out.Sessions...)
	for _, id := range names {
		if err := t.eraseExec(ctx, "delete blocks", sqlEraseBlocks, workspaceID, id); err != nil {
			return out, err
		}
		if err := t.eraseExec(ctx, "delete jobs", sqlEraseJobs, id); err != nil {
			return out, err
		}
		if err := t.eraseExec(ctx, "delete email log", sqlEraseEmailLog, workspaceID, id); err != nil {
			return out, err
		}
	}
	for _, v := range []string{externalID, email} {
		if v == "" {
			continue
		}
		if err := t.eraseExec(ctx, "delete jobs", sqlEraseJobs, v); err != nil {
			return out, err
		}
		if err := t.eraseExec(ctx, "delete email log", sqlEraseEmailLog, workspaceID, v); err != nil {
			return out, err
		}
		if err := t.eraseExec(ctx, "delete login failures", sqlEraseLoginFailures, workspaceID, v); err != nil {
			return out, err
		}
	}

	// Conversations take their messages, mentions, events, read and seen marks and emailed marks with
	// them (ON DELETE CASCADE).
	for _, c := range convs {
		if err := t.eraseExec(ctx, "delete conversation", sqlEraseConversation, c); err != nil {
			return out, err
		}
	}
	out.Conversations = len(convs)
	for _, s := range out.Sessions {
		var inUse bool
		if err := t.db.QueryRow(ctx, sqlEraseSessionInUse, s).Scan(&inUse); err != nil {
			return out, fmt.Errorf("store: erase customer: session in use: %w", err)
		}
		q := sqlEraseSession
		if inUse {
			q = sqlEraseEmptySession
		}
		if err := t.eraseExec(ctx, "delete session", q, s); err != nil {
			return out, err
		}
	}
	// The customer's email state goes with the row (ON DELETE CASCADE).
	return out, t.eraseExec(ctx, "delete customer", sqlEraseCustomerRow, customerID)
}

// eraseRows runs a query in the transaction and calls fn for each row.
func (t *txn) eraseRows(ctx context.Context, q string, args []any, fn func(pgx.Rows) error) error {
	rows, err := t.db.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: erase customer: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("store: erase customer: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: erase customer: %w", err)
	}
	return nil
}

func (t *txn) eraseExec(ctx context.Context, what, q string, args ...any) error {
	_, err := t.db.Exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: erase customer: %s: %w", what, err)
	}
	return nil
}
