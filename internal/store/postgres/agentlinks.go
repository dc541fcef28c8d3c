package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Agent links (invitations, password resets) and the console sessions an agent lists and ends.

const (
	agentLinkColumns = `token_hash, workspace_id, agent_id, purpose, created_by, created_at, expires_at, used_at`

	sqlAgentSessionsLive = `SELECT ` + agentSessionColumns + ` FROM agent_sessions
		WHERE agent_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id DESC`
	sqlRevokeOtherAgentSessions = `UPDATE agent_sessions SET revoked_at = $1 WHERE agent_id = $2 AND token_hash <> $3 AND revoked_at IS NULL`
	sqlRevokeAgentSessionByID   = `UPDATE agent_sessions SET revoked_at = $1 WHERE agent_id = $2 AND id = $3 AND revoked_at IS NULL`
	sqlAgentLink                = `SELECT ` + agentLinkColumns + ` FROM agent_links WHERE token_hash = $1`
	sqlInsertAgentLink          = `INSERT INTO agent_links (` + agentLinkColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	// The condition makes a link single-use: of two concurrent uses, the second waits for the first's
	// row lock, then finds the link used.
	sqlUseAgentLink = `UPDATE agent_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING ` + agentLinkColumns
	sqlRevokeAgentLinks = `UPDATE agent_links SET used_at = $1 WHERE agent_id = $2 AND purpose = $3 AND used_at IS NULL`
	sqlDeleteAgentLinks = `DELETE FROM agent_links WHERE token_hash IN (
		SELECT token_hash FROM agent_links WHERE expires_at <= $1 LIMIT $2)`
)

func scanAgentLink(row pgx.Row) (store.AgentLink, error) {
	var l store.AgentLink
	err := row.Scan(&l.TokenHash, &l.WorkspaceID, &l.AgentID, &l.Purpose, &l.CreatedBy, tz(&l.CreatedAt), tz(&l.ExpiresAt), tz(&l.UsedAt))
	return l, err
}

func (q queries) AgentSessions(ctx context.Context, agentID string, now time.Time) ([]store.AgentSession, error) {
	return list(ctx, q.db, "agent sessions", scanAgentSession, sqlAgentSessionsLive, agentID, ts(now))
}

func (q queries) AgentLink(ctx context.Context, hash []byte) (store.AgentLink, error) {
	l, err := scanAgentLink(q.db.QueryRow(ctx, sqlAgentLink, hash))
	if err != nil {
		return l, notFound(err, "agent link")
	}
	return l, nil
}

func (t *txn) RevokeOtherAgentSessions(ctx context.Context, agentID string, keep []byte, at time.Time) (int, error) {
	if keep == nil {
		keep = []byte{}
	}
	tag, err := t.db.Exec(ctx, sqlRevokeOtherAgentSessions, ts(at), agentID, keep)
	return affected(tag, err, "revoke other agent sessions")
}

func (t *txn) RevokeAgentSessionByID(ctx context.Context, agentID, id string, at time.Time) error {
	tag, err := t.db.Exec(ctx, sqlRevokeAgentSessionByID, ts(at), agentID, id)
	return mustChange(tag, err, "revoke agent session by id")
}

func (t *txn) CreateAgentLink(ctx context.Context, l *store.AgentLink) error {
	_, err := t.db.Exec(ctx, sqlInsertAgentLink, l.TokenHash, l.WorkspaceID, l.AgentID, l.Purpose, l.CreatedBy,
		ts(l.CreatedAt), ts(l.ExpiresAt), ts(l.UsedAt))
	if err != nil {
		return writeErr(err, "insert agent link")
	}
	return nil
}

func (t *txn) UseAgentLink(ctx context.Context, hash []byte, at time.Time) (store.AgentLink, error) {
	l, err := scanAgentLink(t.db.QueryRow(ctx, sqlUseAgentLink, ts(at), hash))
	if err != nil {
		return store.AgentLink{}, notFound(err, "use agent link")
	}
	return l, nil
}

func (t *txn) RevokeAgentLinks(ctx context.Context, agentID, purpose string, at time.Time) (int, error) {
	tag, err := t.db.Exec(ctx, sqlRevokeAgentLinks, ts(at), agentID, purpose)
	return affected(tag, err, "revoke agent links")
}

func (t *txn) DeleteAgentLinks(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteAgentLinks, ts(before), limit)
	return affected(tag, err, "delete expired agent links")
}
