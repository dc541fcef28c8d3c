package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Retention: a workspace's closed conversations go some days after they closed (package chat runs it
// as a job). Each call deletes one batch, found through conversations_closed.

const (
	sqlClosedConversations = `SELECT id, session_id, customer_id IS NULL FROM conversations
		WHERE workspace_id = $1 AND status = 'closed' AND closed_at <= $2 ORDER BY closed_at LIMIT $3`
	sqlPurgeableSession = `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND level <> 'verified' AND COALESCE(last_seen_at, created_at) <= $2)
		AND NOT EXISTS (SELECT 1 FROM conversations WHERE session_id = $1)`
)

func (t *txn) DeleteClosedConversations(ctx context.Context, workspaceID string, closedBefore time.Time, limit int) (store.PurgedConversations, error) {
	var out store.PurgedConversations
	type conv struct {
		id, session string
		anonymous   bool
	}
	var convs []conv
	if err := t.eraseRows(ctx, sqlClosedConversations, []any{workspaceID, closedBefore, limit}, func(r pgx.Rows) error {
		var c conv
		err := r.Scan(&c.id, &c.session, &c.anonymous)
		convs = append(convs, c)
		return err
	}); err != nil {
		return out, err
	}
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
		if err := t.eraseRows(ctx, sqlEraseConvAttachments, []any{c.id}, collect); err != nil {
			return out, err
		}
	}
	for _, c := range convs {
		if err := t.eraseExec(ctx, "delete conversation", sqlEraseConversation, c.id); err != nil {
			return out, err
		}
	}
	out.Conversations = len(convs)
	// The visitor sessions that started them, once nothing names them and the visitor has gone.
	seen := map[string]bool{}
	for _, c := range convs {
		if !c.anonymous || seen[c.session] {
			continue
		}
		seen[c.session] = true
		var purge bool
		if err := t.db.QueryRow(ctx, sqlPurgeableSession, c.session, closedBefore).Scan(&purge); err != nil {
			return out, fmt.Errorf("store: delete closed conversations: session: %w", err)
		}
		if !purge {
			continue
		}
		if err := t.eraseRows(ctx, sqlEraseUnboundUploads, []any{c.session}, collect); err != nil {
			return out, err
		}
		if err := t.eraseExec(ctx, "delete session", sqlEraseSession, c.session); err != nil {
			return out, err
		}
		out.Sessions = append(out.Sessions, c.session)
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
	return out, nil
}
