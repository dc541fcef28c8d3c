package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Blocks of abusive visitors, and the client address a session's messages came from.

const (
	blockColumns = `id, workspace_id, COALESCE(customer_id, ''), COALESCE(session_id, ''), COALESCE(addr, ''), conversation_id,
		reason, created_by, created_at, expires_at, lifted_at, lifted_by`
	// liveBlockWhere selects the blocks live at ?5; each subject is its own indexed lookup.
	liveBlockWhere = ` AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?5)`
	sqlLiveBlock   = `SELECT * FROM (
		SELECT ` + blockColumns + `, rowid AS r FROM blocks WHERE workspace_id = ?1 AND customer_id = ?2` + liveBlockWhere + `
		UNION ALL SELECT ` + blockColumns + `, rowid AS r FROM blocks WHERE workspace_id = ?1 AND session_id = ?3` + liveBlockWhere + `
		UNION ALL SELECT ` + blockColumns + `, rowid AS r FROM blocks WHERE workspace_id = ?1 AND addr = ?4` + liveBlockWhere + `
	) ORDER BY created_at DESC, r DESC LIMIT 1`
	sqlBlock                = `SELECT ` + blockColumns + ` FROM blocks WHERE workspace_id = ? AND id = ?`
	sqlBlocks               = `SELECT ` + blockColumns + ` FROM blocks WHERE workspace_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`
	sqlInsertBlock          = `INSERT INTO blocks (id, workspace_id, customer_id, session_id, addr, conversation_id, reason, created_by, created_at, expires_at, lifted_at, lifted_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlLiftBlock            = `UPDATE blocks SET lifted_at = ?, lifted_by = ? WHERE workspace_id = ? AND id = ? AND lifted_at IS NULL`
	sqlSessionClientAddr    = `SELECT client_addr FROM sessions WHERE id = ?`
	sqlSetSessionClientAddr = `UPDATE sessions SET client_addr = ?1 WHERE id = ?2 AND client_addr <> ?1`
)

// blockStatements are the statements of this file that the writer runs.
func blockStatements() []string {
	return []string{sqlLiveBlock, sqlBlock, sqlBlocks, sqlInsertBlock, sqlLiftBlock, sqlSessionClientAddr, sqlSetSessionClientAddr, sqlLiveBlocksEnd}
}

func scanBlock(s scanner, extra ...any) (store.Block, error) {
	var b store.Block
	var created, expires, lifted sql.NullInt64
	dest := append([]any{&b.ID, &b.WorkspaceID, &b.CustomerID, &b.SessionID, &b.Addr, &b.ConversationID,
		&b.Reason, &b.CreatedBy, &created, &expires, &lifted, &b.LiftedBy}, extra...)
	err := s.Scan(dest...)
	b.CreatedAt, b.ExpiresAt, b.LiftedAt = fromMicros(created), fromMicros(expires), fromMicros(lifted)
	return b, err
}

func (q queries) LiveBlock(ctx context.Context, workspaceID string, m store.BlockMatch, at time.Time) (store.Block, error) {
	var rowid int64
	b, err := scanBlock(q.run.queryRow(ctx, sqlLiveBlock, workspaceID, nullString(m.CustomerID), nullString(m.SessionID), nullString(m.Addr), at.UnixMicro()), &rowid)
	if err != nil {
		return store.Block{}, notFound(err, "live block")
	}
	return b, nil
}

func (q queries) Block(ctx context.Context, workspaceID, id string) (store.Block, error) {
	b, err := scanBlock(q.run.queryRow(ctx, sqlBlock, workspaceID, id))
	if err != nil {
		return store.Block{}, notFound(err, "block")
	}
	return b, nil
}

func (q queries) Blocks(ctx context.Context, workspaceID string, limit int) ([]store.Block, error) {
	return list(ctx, q.run, "blocks", func(s scanner) (store.Block, error) { return scanBlock(s) }, sqlBlocks, workspaceID, limit)
}

func (q queries) SessionClientAddr(ctx context.Context, sessionID string) (string, error) {
	var addr string
	if err := q.run.queryRow(ctx, sqlSessionClientAddr, sessionID).Scan(&addr); err != nil {
		return "", notFound(err, "session client address")
	}
	return addr, nil
}

func (t *txn) CreateBlock(ctx context.Context, b *store.Block) error {
	_, err := t.run.exec(ctx, sqlInsertBlock, b.ID, b.WorkspaceID, nullString(b.CustomerID), nullString(b.SessionID), nullString(b.Addr),
		b.ConversationID, b.Reason, b.CreatedBy, micros(b.CreatedAt), micros(b.ExpiresAt), micros(b.LiftedAt), b.LiftedBy)
	if err != nil {
		return writeErr(err, "insert block")
	}
	return nil
}

func (t *txn) LiftBlock(ctx context.Context, workspaceID, id, agentID string, at time.Time) error {
	res, err := t.run.exec(ctx, sqlLiftBlock, micros(at), agentID, workspaceID, id)
	return mustChange(res, err, "lift block")
}

func (t *txn) SetSessionClientAddr(ctx context.Context, sessionID, addr string) error {
	if _, err := t.run.exec(ctx, sqlSetSessionClientAddr, addr, sessionID); err != nil {
		return writeErr(err, "set session client address")
	}
	return nil
}

const sqlLiveBlocksEnd = `SELECT MAX(expires_at), COALESCE(SUM(expires_at IS NULL), 0) FROM blocks
	WHERE workspace_id = ? AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`

func (q queries) LiveBlocksEnd(ctx context.Context, workspaceID string, at time.Time) (time.Time, bool, error) {
	var end sql.NullInt64
	var untilLifted int64
	if err := q.run.queryRow(ctx, sqlLiveBlocksEnd, workspaceID, at.UnixMicro()).Scan(&end, &untilLifted); err != nil {
		return time.Time{}, false, fmt.Errorf("store: live blocks end: %w", err)
	}
	if untilLifted > 0 {
		return time.Time{}, true, nil
	}
	return fromMicros(end), false, nil
}
