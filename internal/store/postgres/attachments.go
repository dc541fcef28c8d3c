package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Attachments and the chunks of stored objects.

const (
	attachmentColumns = `id, workspace_id, COALESCE(session_id, ''), COALESCE(agent_id, ''), state, storage_key,
		COALESCE(conversation_id, ''), COALESCE(message_seq, 0), internal, name, kind, content_type, size, width, height,
		sha256, created_at`
	sqlAttachment       = `SELECT ` + attachmentColumns + ` FROM attachments WHERE id = $1`
	sqlInsertAttachment = `INSERT INTO attachments (id, workspace_id, session_id, agent_id, state, storage_key, name, kind,
		content_type, size, width, height, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
	sqlCompleteAttachment = `UPDATE attachments SET state = 'ready', name = $1, kind = $2, content_type = $3, size = $4,
		width = $5, height = $6, sha256 = $7 WHERE id = $8 AND state = 'uploading'`
	sqlDeleteAttachment = `DELETE FROM attachments WHERE id = $1 AND message_seq IS NULL`
	// Binding takes an attachment only while it is ready and unbound: of two messages racing for it, the
	// second waits for the first's row lock, then finds it bound and changes nothing.
	sqlBindAttachment = `UPDATE attachments SET conversation_id = $1, message_seq = $2, position = $3, internal = $4
		WHERE id = $5 AND state = 'ready' AND message_seq IS NULL RETURNING ` + attachmentColumns
	sqlStoredAttachmentBytes = `SELECT COALESCE(SUM(size), 0)::bigint FROM attachments WHERE workspace_id = $1 AND state = 'ready'`
	sqlStaleAttachments      = `SELECT ` + attachmentColumns + ` FROM attachments
		WHERE message_seq IS NULL AND created_at <= $1 ORDER BY created_at LIMIT $2`
	sqlConversationAttachments = `SELECT a.id, a.workspace_id, COALESCE(a.session_id, ''), COALESCE(a.agent_id, ''), a.state,
		a.storage_key, COALESCE(a.conversation_id, ''), COALESCE(a.message_seq, 0), a.internal, a.name, a.kind, a.content_type,
		a.size, a.width, a.height, a.sha256, a.created_at, m.n
		FROM attachments a JOIN messages m ON m.seq = a.message_seq
		WHERE a.conversation_id = $1 AND NOT a.internal ORDER BY a.message_seq, a.position LIMIT $2`
	sqlAttachmentsOfMessages = `SELECT ` + attachmentColumns + ` FROM attachments
		WHERE message_seq = ANY($1::bigint[]) ORDER BY message_seq, position`
	sqlBlobChunk    = `SELECT data FROM blob_chunks WHERE blob_key = $1 AND n = $2`
	sqlPutBlobChunk = `INSERT INTO blob_chunks (blob_key, n, data) VALUES ($1, $2, $3)
		ON CONFLICT (blob_key, n) DO UPDATE SET data = excluded.data`
	// The key on both sides keeps the delete on the primary key whatever the planner knows of the table.
	sqlDeleteBlob = `DELETE FROM blob_chunks WHERE blob_key = $1
		AND n = ANY(ARRAY(SELECT n FROM blob_chunks WHERE blob_key = $1 ORDER BY n LIMIT $2))`
)

func scanAttachment(row pgx.Row) (store.Attachment, error) {
	var a store.Attachment
	err := row.Scan(&a.ID, &a.WorkspaceID, &a.SessionID, &a.AgentID, &a.State, &a.StorageKey, &a.ConversationID, &a.MessageSeq,
		&a.Internal, &a.Name, &a.Kind, &a.ContentType, &a.Size, &a.Width, &a.Height, &a.SHA256, tz(&a.CreatedAt))
	return a, err
}

// scanAttachmentN scans an attachment followed by its message's number.
func scanAttachmentN(row pgx.Row) (store.Attachment, error) {
	var n int64
	a, err := scanAttachment(nScanner{row, &n})
	a.MessageN = n
	return a, err
}

// nScanner appends one destination to every Scan.
type nScanner struct {
	row   pgx.Row
	extra any
}

func (n nScanner) Scan(dest ...any) error { return n.row.Scan(append(dest, n.extra)...) }

func (q queries) Attachment(ctx context.Context, id string) (store.Attachment, error) {
	a, err := scanAttachment(q.db.QueryRow(ctx, sqlAttachment, id))
	if err != nil {
		return a, notFound(err, "attachment")
	}
	return a, nil
}

func (q queries) ConversationAttachments(ctx context.Context, conversationIDs []string, limit int) (map[string][]store.Attachment, error) {
	out := make(map[string][]store.Attachment, len(conversationIDs))
	for _, id := range conversationIDs {
		found, err := list(ctx, q.db, "conversation attachments", scanAttachmentN, sqlConversationAttachments, id, limit)
		if err != nil {
			return nil, err
		}
		if len(found) > 0 {
			out[id] = found
		}
	}
	return out, nil
}

func (q queries) StoredAttachmentBytes(ctx context.Context, workspaceID string) (int64, error) {
	var n int64
	if err := q.db.QueryRow(ctx, sqlStoredAttachmentBytes, workspaceID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: stored attachment bytes: %w", err)
	}
	return n, nil
}

func (q queries) StaleAttachments(ctx context.Context, before time.Time, limit int) ([]store.Attachment, error) {
	return list(ctx, q.db, "stale attachments", scanAttachment, sqlStaleAttachments, ts(before), limit)
}

func (q queries) BlobChunk(ctx context.Context, key string, n int) ([]byte, error) {
	var data []byte
	if err := q.db.QueryRow(ctx, sqlBlobChunk, key, n).Scan(&data); err != nil {
		return nil, notFound(err, "blob chunk")
	}
	return data, nil
}

// withAttachments fills in the attachments of a page of messages (see fillAttachments).
func (q queries) withAttachments(ctx context.Context) func([]store.Message, error) ([]store.Message, error) {
	return func(msgs []store.Message, err error) ([]store.Message, error) {
		if err != nil {
			return nil, err
		}
		return msgs, q.fillAttachments(ctx, msgs)
	}
}

func (q queries) withAttachment(ctx context.Context, m store.Message) (store.Message, error) {
	msgs := []store.Message{m}
	err := q.fillAttachments(ctx, msgs)
	return msgs[0], err
}

// fillAttachments replaces the placeholders scanMessage left for messages that carry attachments with
// their records, in one query for the whole page; a page without any costs nothing.
func (q queries) fillAttachments(ctx context.Context, msgs []store.Message) error {
	seqs := store.PendingAttachments(msgs)
	if len(seqs) == 0 {
		return nil
	}
	found, err := list(ctx, q.db, "message attachments", scanAttachment, sqlAttachmentsOfMessages, seqs)
	if err != nil {
		return err
	}
	store.PlaceAttachments(msgs, found)
	return nil
}

func (t *txn) CreateAttachment(ctx context.Context, a *store.Attachment) error {
	_, err := t.db.Exec(ctx, sqlInsertAttachment, a.ID, a.WorkspaceID, nullString(a.SessionID), nullString(a.AgentID),
		a.State, a.StorageKey, a.Name, a.Kind, a.ContentType, a.Size, a.Width, a.Height, a.SHA256, ts(a.CreatedAt))
	if err != nil {
		return writeErr(err, "create attachment")
	}
	return nil
}

func (t *txn) CompleteAttachment(ctx context.Context, a *store.Attachment) error {
	tag, err := t.db.Exec(ctx, sqlCompleteAttachment, a.Name, a.Kind, a.ContentType, a.Size, a.Width, a.Height, a.SHA256, a.ID)
	if err := mustChange(tag, err, "complete attachment"); err != nil {
		return err
	}
	a.State = store.AttachmentReady
	return nil
}

func (t *txn) DeleteAttachment(ctx context.Context, id string) error {
	tag, err := t.db.Exec(ctx, sqlDeleteAttachment, id)
	return mustChange(tag, err, "delete attachment")
}

func (t *txn) PutBlobChunk(ctx context.Context, key string, n int, data []byte) error {
	if _, err := t.db.Exec(ctx, sqlPutBlobChunk, key, n, data); err != nil {
		return writeErr(err, "put blob chunk")
	}
	return nil
}

func (t *txn) DeleteBlob(ctx context.Context, key string, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteBlob, key, limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete blob: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// bindAttachments binds the message's attachments to it, in order, and fills in their records.
func (t *txn) bindAttachments(ctx context.Context, m *store.Message) error {
	for i := range m.Attachments {
		a := &m.Attachments[i]
		got, err := scanAttachment(t.db.QueryRow(ctx, sqlBindAttachment, m.ConversationID, m.Seq, i, m.Internal, a.ID))
		if err != nil {
			if err == pgx.ErrNoRows {
				return fmt.Errorf("store: bind attachment %s: %w", a.ID, store.ErrAttachmentTaken)
			}
			return writeErr(err, "bind attachment")
		}
		*a = got
	}
	return nil
}
