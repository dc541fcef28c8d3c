package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Attachments and the chunks of stored objects.

const (
	attachmentColumns = `id, workspace_id, session_id, agent_id, state, storage_key, conversation_id, message_seq,
		internal, name, kind, content_type, size, width, height, sha256, created_at`
	sqlAttachment         = `SELECT ` + attachmentColumns + ` FROM attachments WHERE id = ?`
	sqlInsertAttachment   = `INSERT INTO attachments (` + attachmentColumns + `) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, 0, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlCompleteAttachment = `UPDATE attachments SET state = 'ready', name = ?, kind = ?, content_type = ?, size = ?, width = ?,
		height = ?, sha256 = ? WHERE id = ? AND state = 'uploading'`
	sqlDeleteAttachment = `DELETE FROM attachments WHERE id = ? AND message_seq IS NULL`
	// Binding takes an attachment only while it is ready and unbound: two messages racing for it cannot
	// both have it.
	sqlBindAttachment = `UPDATE attachments SET conversation_id = ?, message_seq = ?, position = ?, internal = ?
		WHERE id = ? AND state = 'ready' AND message_seq IS NULL`
	sqlStoredAttachmentBytes = `SELECT COALESCE(SUM(size), 0) FROM attachments WHERE workspace_id = ? AND state = 'ready'`
	sqlStaleAttachments      = `SELECT ` + attachmentColumns + ` FROM attachments INDEXED BY attachments_unbound
		WHERE message_seq IS NULL AND created_at <= ? ORDER BY created_at LIMIT ?`
	sqlConversationAttachments = `SELECT ` + attachmentColumnsOfA + `, m.n FROM attachments a INDEXED BY attachments_by_conversation
		JOIN messages m ON m.seq = a.message_seq WHERE a.conversation_id = ? AND a.internal = 0 ORDER BY a.message_seq, a.position LIMIT ?`
	attachmentColumnsOfA = `a.id, a.workspace_id, a.session_id, a.agent_id, a.state, a.storage_key, a.conversation_id, a.message_seq,
		a.internal, a.name, a.kind, a.content_type, a.size, a.width, a.height, a.sha256, a.created_at`
	sqlBlobChunk     = `SELECT data FROM blob_chunks WHERE blob_key = ? AND n = ?`
	sqlPutBlobChunk  = `INSERT INTO blob_chunks (blob_key, n, data) VALUES (?, ?, ?) ON CONFLICT (blob_key, n) DO UPDATE SET data = excluded.data`
	sqlDeleteBlob    = `DELETE FROM blob_chunks WHERE rowid IN (SELECT rowid FROM blob_chunks WHERE blob_key = ? LIMIT ?)`
	attachmentsOfMsg = `SELECT ` + attachmentColumns + ` FROM attachments INDEXED BY attachments_by_message
		WHERE message_seq IN (%s) ORDER BY message_seq, position`
)

func attachmentStatements() []string {
	return []string{sqlAttachment, sqlStoredAttachmentBytes, sqlBlobChunk, sqlConversationAttachments}
}

func scanAttachment(s scanner) (store.Attachment, error) {
	var a store.Attachment
	var session, agent, conv sql.NullString
	var seq, created sql.NullInt64
	err := s.Scan(&a.ID, &a.WorkspaceID, &session, &agent, &a.State, &a.StorageKey, &conv, &seq,
		&a.Internal, &a.Name, &a.Kind, &a.ContentType, &a.Size, &a.Width, &a.Height, &a.SHA256, &created)
	a.SessionID, a.AgentID, a.ConversationID, a.MessageSeq = session.String, agent.String, conv.String, seq.Int64
	a.CreatedAt = fromMicros(created)
	return a, err
}

// scanAttachmentN scans an attachment followed by its message's number.
func scanAttachmentN(s scanner) (store.Attachment, error) {
	var n int64
	a, err := scanAttachment(nScanner{s, &n})
	a.MessageN = n
	return a, err
}

// nScanner appends one destination to every Scan.
type nScanner struct {
	s     scanner
	extra any
}

func (n nScanner) Scan(dest ...any) error { return n.s.Scan(append(dest, n.extra)...) }

func (q queries) Attachment(ctx context.Context, id string) (store.Attachment, error) {
	a, err := scanAttachment(q.run.queryRow(ctx, sqlAttachment, id))
	if err != nil {
		return a, notFound(err, "attachment")
	}
	return a, nil
}

func (q queries) ConversationAttachments(ctx context.Context, conversationIDs []string, limit int) (map[string][]store.Attachment, error) {
	out := make(map[string][]store.Attachment, len(conversationIDs))
	for _, id := range conversationIDs {
		list, err := list(ctx, q.run, "conversation attachments", scanAttachmentN, sqlConversationAttachments, id, limit)
		if err != nil {
			return nil, err
		}
		if len(list) > 0 {
			out[id] = list
		}
	}
	return out, nil
}

func (q queries) StoredAttachmentBytes(ctx context.Context, workspaceID string) (int64, error) {
	var n int64
	if err := q.run.queryRow(ctx, sqlStoredAttachmentBytes, workspaceID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: stored attachment bytes: %w", err)
	}
	return n, nil
}

func (q queries) StaleAttachments(ctx context.Context, before time.Time, limit int) ([]store.Attachment, error) {
	return list(ctx, q.run, "stale attachments", scanAttachment, sqlStaleAttachments, micros(before), limit)
}

func (q queries) BlobChunk(ctx context.Context, key string, n int) ([]byte, error) {
	var data []byte
	if err := q.run.queryRow(ctx, sqlBlobChunk, key, n).Scan(&data); err != nil {
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
	args := make([]any, len(seqs))
	for i, seq := range seqs {
		args[i] = seq
	}
	query := fmt.Sprintf(attachmentsOfMsg, strings.TrimSuffix(strings.Repeat("?,", len(seqs)), ","))
	found, err := list(ctx, q.run, "message attachments", scanAttachment, query, args...)
	if err != nil {
		return err
	}
	store.PlaceAttachments(msgs, found)
	return nil
}

func (t *txn) CreateAttachment(ctx context.Context, a *store.Attachment) error {
	_, err := t.run.exec(ctx, sqlInsertAttachment, a.ID, a.WorkspaceID, nullString(a.SessionID), nullString(a.AgentID),
		a.State, a.StorageKey, a.Name, a.Kind, a.ContentType, a.Size, a.Width, a.Height, a.SHA256, micros(a.CreatedAt))
	return writeErr2(err, "create attachment")
}

func (t *txn) CompleteAttachment(ctx context.Context, a *store.Attachment) error {
	res, err := t.run.exec(ctx, sqlCompleteAttachment, a.Name, a.Kind, a.ContentType, a.Size, a.Width, a.Height, a.SHA256, a.ID)
	if err := mustChange(res, err, "complete attachment"); err != nil {
		return err
	}
	a.State = store.AttachmentReady
	return nil
}

func (t *txn) DeleteAttachment(ctx context.Context, id string) error {
	res, err := t.run.exec(ctx, sqlDeleteAttachment, id)
	return mustChange(res, err, "delete attachment")
}

func (t *txn) PutBlobChunk(ctx context.Context, key string, n int, data []byte) error {
	_, err := t.run.exec(ctx, sqlPutBlobChunk, key, n, data)
	return writeErr2(err, "put blob chunk")
}

func (t *txn) DeleteBlob(ctx context.Context, key string, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteBlob, key, limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete blob: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// bindAttachments binds the message's attachments to it, in order, and fills in their records.
func (t *txn) bindAttachments(ctx context.Context, m *store.Message) error {
	for i := range m.Attachments {
		a := &m.Attachments[i]
		res, err := t.run.exec(ctx, sqlBindAttachment, m.ConversationID, m.Seq, i, m.Internal, a.ID)
		if err != nil {
			return fmt.Errorf("store: bind attachment: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: bind attachment: %w", err)
		} else if n == 0 {
			return fmt.Errorf("store: bind attachment %s: %w", a.ID, store.ErrAttachmentTaken)
		}
		got, err := t.Attachment(ctx, a.ID)
		if err != nil {
			return err
		}
		*a = got
	}
	return nil
}

func writeErr2(err error, what string) error {
	if err == nil {
		return nil
	}
	return writeErr(err, what)
}
