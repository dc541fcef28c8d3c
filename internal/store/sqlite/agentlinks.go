package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Agent links (invitations, password resets) and the console sessions an agent lists and ends.

const (
	agentLinkColumns = `token_hash, workspace_id, agent_id, purpose, created_by, created_at, expires_at, used_at`

	sqlAgentSessionsLive = `SELECT ` + agentSessionColumns + ` FROM agent_sessions
		WHERE agent_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id DESC`
	sqlRevokeOtherAgentSessions = `UPDATE agent_sessions SET revoked_at = ? WHERE agent_id = ? AND token_hash <> ? AND revoked_at IS NULL`
	sqlRevokeAgentSessionByID   = `UPDATE agent_sessions SET revoked_at = ? WHERE agent_id = ? AND id = ? AND revoked_at IS NULL`
	sqlAgentLink                = `SELECT ` + agentLinkColumns + ` FROM agent_links WHERE token_hash = ?`
	sqlInsertAgentLink          = `INSERT INTO agent_links (` + agentLinkColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	// The condition makes a link single-use: of two concurrent uses, one finds it used.
	sqlUseAgentLink = `UPDATE agent_links SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
		RETURNING ` + agentLinkColumns
	sqlRevokeAgentLinks = `UPDATE agent_links SET used_at = ? WHERE agent_id = ? AND purpose = ? AND used_at IS NULL`
	sqlDeleteAgentLinks = `DELETE FROM agent_links WHERE token_hash IN (
		SELECT token_hash FROM agent_links WHERE expires_at <= ?1 LIMIT ?2)`
)

type agentLinkRow struct {
	l                      store.AgentLink
	created, expires, used sql.NullInt64
}

func scanAgentLink(s scanner) (store.AgentLink, error) {
	var r agentLinkRow
	l := &r.l
	err := s.Scan(&l.TokenHash, &l.WorkspaceID, &l.AgentID, &l.Purpose, &l.CreatedBy, &r.created, &r.expires, &r.used)
	r.l.CreatedAt, r.l.ExpiresAt, r.l.UsedAt = fromMicros(r.created), fromMicros(r.expires), fromMicros(r.used)
	return r.l, err
}

func (q queries) AgentSessions(ctx context.Context, agentID string, now time.Time) ([]store.AgentSession, error) {
	return list(ctx, q.run, "agent sessions", scanAgentSession, sqlAgentSessionsLive, agentID, micros(now))
}

func (q queries) AgentLink(ctx context.Context, hash []byte) (store.AgentLink, error) {
	l, err := scanAgentLink(q.run.queryRow(ctx, sqlAgentLink, hash))
	if err != nil {
		return l, notFound(err, "agent link")
	}
	return l, nil
}

func (t *txn) RevokeOtherAgentSessions(ctx context.Context, agentID string, keep []byte, at time.Time) (int, error) {
	if keep == nil {
		keep = []byte{}
	}
	res, err := t.run.exec(ctx, sqlRevokeOtherAgentSessions, micros(at), agentID, keep)
	return affected(res, err, "revoke other agent sessions")
}

func (t *txn) RevokeAgentSessionByID(ctx context.Context, agentID, id string, at time.Time) error {
	res, err := t.run.exec(ctx, sqlRevokeAgentSessionByID, micros(at), agentID, id)
	return mustChange(res, err, "revoke agent session by id")
}

func (t *txn) CreateAgentLink(ctx context.Context, l *store.AgentLink) error {
	_, err := t.run.exec(ctx, sqlInsertAgentLink, l.TokenHash, l.WorkspaceID, l.AgentID, l.Purpose, l.CreatedBy,
		micros(l.CreatedAt), micros(l.ExpiresAt), micros(l.UsedAt))
	if err != nil {
		return writeErr(err, "insert agent link")
	}
	return nil
}

func (t *txn) UseAgentLink(ctx context.Context, hash []byte, at time.Time) (store.AgentLink, error) {
	l, err := scanAgentLink(t.run.queryRow(ctx, sqlUseAgentLink, micros(at), hash))
	if err != nil {
		return store.AgentLink{}, notFound(err, "use agent link")
	}
	return l, nil
}

func (t *txn) RevokeAgentLinks(ctx context.Context, agentID, purpose string, at time.Time) (int, error) {
	res, err := t.run.exec(ctx, sqlRevokeAgentLinks, micros(at), agentID, purpose)
	return affected(res, err, "revoke agent links")
}

func (t *txn) DeleteAgentLinks(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteAgentLinks, before.UnixMicro(), limit)
	return affected(res, err, "delete expired agent links")
}
