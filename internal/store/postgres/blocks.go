package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Blocks of abusive visitors, and the client address a session's messages came from.

const (
	blockColumns = `id, workspace_id, COALESCE(customer_id, ''), COALESCE(session_id, ''), COALESCE(addr, ''), conversation_id,
		reason, created_by, created_at, expires_at, lifted_at, lifted_by`
	// liveBlockWhere selects the blocks live at $5; each subject is its own indexed lookup.
	liveBlockWhere = ` AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $5)`
	sqlLiveBlock   = `SELECT * FROM (
		SELECT ` + blockColumns + `, insert_order FROM blocks WHERE workspace_id = $1 AND customer_id = $2` + liveBlockWhere + `
		UNION ALL SELECT ` + blockColumns + `, insert_order FROM blocks WHERE workspace_id = $1 AND session_id = $3` + liveBlockWhere + `
		UNION ALL SELECT ` + blockColumns + `, insert_order FROM blocks WHERE workspace_id = $1 AND addr = $4` + liveBlockWhere + `
	) AS live ORDER BY created_at DESC, insert_order DESC LIMIT 1`
	sqlBlock       = `SELECT ` + blockColumns + ` FROM blocks WHERE workspace_id = $1 AND id = $2`
	sqlBlocks      = `SELECT ` + blockColumns + ` FROM blocks WHERE workspace_id = $1 ORDER BY created_at DESC, insert_order DESC LIMIT $2`
	sqlInsertBlock = `INSERT INTO blocks (id, workspace_id, customer_id, session_id, addr, conversation_id, reason, created_by,
		created_at, expires_at, lifted_at, lifted_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	sqlLiftBlock         = `UPDATE blocks SET lifted_at = $1, lifted_by = $2 WHERE workspace_id = $3 AND id = $4 AND lifted_at IS NULL`
	sqlSessionClientAddr = `SELECT client_addr FROM sessions WHERE id = $1`
	// An unchanged address matches no row, so it writes no new row version.
	sqlSetSessionClientAddr = `UPDATE sessions SET client_addr = $1 WHERE id = $2 AND client_addr <> $1`
)

func blockDest(b *store.Block) []any {
	return []any{&b.ID, &b.WorkspaceID, &b.CustomerID, &b.SessionID, &b.Addr, &b.ConversationID,
		&b.Reason, &b.CreatedBy, tz(&b.CreatedAt), tz(&b.ExpiresAt), tz(&b.LiftedAt), &b.LiftedBy}
}

func scanBlock(row pgx.Row) (store.Block, error) {
	var b store.Block
	err := row.Scan(blockDest(&b)...)
	return b, err
}

func (q queries) LiveBlock(ctx context.Context, workspaceID string, m store.BlockMatch, at time.Time) (store.Block, error) {
	var b store.Block
	var order int64
	err := q.db.QueryRow(ctx, sqlLiveBlock, workspaceID, nullString(m.CustomerID), nullString(m.SessionID), nullString(m.Addr), at).
		Scan(append(blockDest(&b), &order)...)
	if err != nil {
		return store.Block{}, notFound(err, "live block")
	}
	return b, nil
}

func (q queries) Block(ctx context.Context, workspaceID, id string) (store.Block, error) {
	b, err := scanBlock(q.db.QueryRow(ctx, sqlBlock, workspaceID, id))
	if err != nil {
		return store.Block{}, notFound(err, "block")
	}
	return b, nil
}

func (q queries) Blocks(ctx context.Context, workspaceID string, limit int) ([]store.Block, error) {
	return list(ctx, q.db, "blocks", scanBlock, sqlBlocks, workspaceID, limit)
}

func (q queries) SessionClientAddr(ctx context.Context, sessionID string) (string, error) {
	var addr string
	if err := q.db.QueryRow(ctx, sqlSessionClientAddr, sessionID).Scan(&addr); err != nil {
		return "", notFound(err, "session client address")
	}
	return addr, nil
}

func (t *txn) CreateBlock(ctx context.Context, b *store.Block) error {
	_, err := t.db.Exec(ctx, sqlInsertBlock, b.ID, b.WorkspaceID, nullString(b.CustomerID), nullString(b.SessionID), nullString(b.Addr),
		b.ConversationID, b.Reason, b.CreatedBy, ts(b.CreatedAt), ts(b.ExpiresAt), ts(b.LiftedAt), b.LiftedBy)
	if err != nil {
		return writeErr(err, "insert block")
	}
	return nil
}

func (t *txn) LiftBlock(ctx context.Context, workspaceID, id, agentID string, at time.Time) error {
	tag, err := t.db.Exec(ctx, sqlLiftBlock, ts(at), agentID, workspaceID, id)
	return mustChange(tag, err, "lift block")
}

// SetSessionClientAddr goes out with the transaction's next statement: nothing waits for its result,
// and on every message post it was a round trip of its own. A failure fails that next statement.
func (t *txn) SetSessionClientAddr(ctx context.Context, sessionID, addr string) error {
	t.lazy.queue("set session client address", sqlSetSessionClientAddr, addr, sessionID)
	return nil
}

const sqlLiveBlocksEnd = `SELECT MAX(expires_at), COUNT(*) FILTER (WHERE expires_at IS NULL) FROM blocks
	WHERE workspace_id = $1 AND lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`

func (q queries) LiveBlocksEnd(ctx context.Context, workspaceID string, at time.Time) (time.Time, bool, error) {
	var end time.Time
	var untilLifted int64
	if err := q.db.QueryRow(ctx, sqlLiveBlocksEnd, workspaceID, at).Scan(tz(&end), &untilLifted); err != nil {
		return time.Time{}, false, notFound(err, "live blocks end")
	}
	if untilLifted > 0 {
		return time.Time{}, true, nil
	}
	return end, false, nil
}
