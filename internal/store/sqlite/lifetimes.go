package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Session lifetimes and the cleanup of records that only grow. Each statement works on one bounded
// batch and walks an index of its own (migration 0007); SQLite has one writer, so batches of several
// instances cannot interleave, let alone block each other.
const (
	sqlTouchSession = `UPDATE sessions SET last_seen_at = ?1 WHERE id = ?2 AND revoked_at IS NULL AND last_seen_at <= ?3`
	// Expired live sessions: one statement per rule, each on its index.
	sqlExpireBySeen = `UPDATE sessions SET revoked_at = ?1, updated_at = ?1 WHERE id IN (
		SELECT id FROM sessions WHERE workspace_id = ?2 AND level = ?3 AND revoked_at IS NULL AND last_seen_at <= ?4 LIMIT ?5)
		RETURNING id`
	sqlExpireByVerified = `UPDATE sessions SET revoked_at = ?1, updated_at = ?1 WHERE id IN (
		SELECT id FROM sessions WHERE workspace_id = ?2 AND level = 'verified' AND revoked_at IS NULL AND verified_at <= ?3 LIMIT ?4)
		RETURNING id`
	// Ended sessions are walked in (revoked_at, id) order from a cursor, so those kept for their
	// conversations are looked at once, not on every pass.
	sqlEndedSessions = `SELECT revoked_at, id FROM sessions
		WHERE revoked_at IS NOT NULL AND (revoked_at, id) > (?1, ?2) AND revoked_at <= ?3
		ORDER BY revoked_at, id LIMIT ?4`
	sqlDeleteEndedSessions = `DELETE FROM sessions
		WHERE revoked_at IS NOT NULL AND (revoked_at, id) > (?1, ?2) AND (revoked_at, id) <= (?3, ?4)
		AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.session_id = sessions.id)`
	sqlDeleteUsedJTIs = `DELETE FROM used_jtis WHERE (workspace_id, jti) IN (
		SELECT workspace_id, jti FROM used_jtis WHERE until <= ?1 LIMIT ?2)`
	sqlDeleteAgentSessionsExpired = `DELETE FROM agent_sessions WHERE token_hash IN (
		SELECT token_hash FROM agent_sessions WHERE expires_at <= ?1 LIMIT ?2)`
	sqlDeleteAgentSessionsRevoked = `DELETE FROM agent_sessions WHERE token_hash IN (
		SELECT token_hash FROM agent_sessions WHERE revoked_at IS NOT NULL AND revoked_at <= ?1 LIMIT ?2)`
	// Ended blocks, on indexes of their own (migration 0014).
	sqlDeleteLiftedBlocks = `DELETE FROM blocks WHERE id IN (
		SELECT id FROM blocks WHERE lifted_at IS NOT NULL AND lifted_at <= ?1 LIMIT ?2)`
	sqlDeleteExpiredBlocks = `DELETE FROM blocks WHERE id IN (
		SELECT id FROM blocks WHERE expires_at IS NOT NULL AND expires_at <= ?1 LIMIT ?2)`
)

// lifetimeStatements are the statements of this file that the writer runs.
func lifetimeStatements() []string {
	return []string{sqlTouchSession, sqlExpireBySeen, sqlExpireByVerified, sqlEndedSessions, sqlDeleteEndedSessions,
		sqlDeleteUsedJTIs, sqlDeleteAgentSessionsExpired, sqlDeleteAgentSessionsRevoked, sqlDeleteLiftedBlocks, sqlDeleteExpiredBlocks}
}

func (t *txn) TouchSession(ctx context.Context, id string, at, staleBefore time.Time) (bool, error) {
	res, err := t.run.exec(ctx, sqlTouchSession, at.UnixMicro(), id, staleBefore.UnixMicro())
	if err != nil {
		return false, writeErr(err, "touch session")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: touch session: %w", err)
	}
	return n > 0, nil
}

func (t *txn) RevokeExpiredSessions(ctx context.Context, e store.SessionExpiry, at time.Time, limit int) ([]string, error) {
	var ids []string
	run := func(q string, args ...any) error {
		rows, err := t.run.query(ctx, q, args...)
		if err != nil {
			return writeErr(err, "revoke expired sessions")
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("store: revoke expired sessions: %w", err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: revoke expired sessions: %w", err)
		}
		return nil
	}
	now := at.UnixMicro()
	if !e.VerifiedBefore.IsZero() && len(ids) < limit {
		if err := run(sqlExpireByVerified, now, e.WorkspaceID, e.VerifiedBefore.UnixMicro(), limit-len(ids)); err != nil {
			return ids, err
		}
	}
	for _, r := range []struct {
		level  string
		before time.Time
	}{
		{store.LevelVerified, e.VerifiedSeenBefore},
		{store.LevelIdentified, e.VisitorSeenBefore},
		{store.LevelAnonymous, e.VisitorSeenBefore},
	} {
		if r.before.IsZero() || len(ids) >= limit {
			continue
		}
		if err := run(sqlExpireBySeen, now, e.WorkspaceID, r.level, r.before.UnixMicro(), limit-len(ids)); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

func (t *txn) DeleteEndedSessions(ctx context.Context, after store.SessionCursor, revokedBefore time.Time, limit int) (int, store.SessionCursor, error) {
	rows, err := t.run.query(ctx, sqlEndedSessions, after.RevokedAt.UnixMicro(), after.ID, revokedBefore.UnixMicro(), limit)
	if err != nil {
		return 0, after, writeErr(err, "list ended sessions")
	}
	last, walked := after, 0
	for rows.Next() {
		var revoked int64
		if err := rows.Scan(&revoked, &last.ID); err != nil {
			rows.Close()
			return 0, after, fmt.Errorf("store: list ended sessions: %w", err)
		}
		last.RevokedAt = time.UnixMicro(revoked).UTC()
		walked++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, after, fmt.Errorf("store: list ended sessions: %w", err)
	}
	if walked == 0 {
		return 0, after, nil
	}
	res, err := t.run.exec(ctx, sqlDeleteEndedSessions, after.RevokedAt.UnixMicro(), after.ID, last.RevokedAt.UnixMicro(), last.ID)
	n, err := affected(res, err, "delete ended sessions")
	return n, last, err
}

func (t *txn) DeleteUsedJTIs(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteUsedJTIs, before.UnixMicro(), limit)
	return affected(res, err, "delete used jtis")
}

func (t *txn) DeleteAgentSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteAgentSessionsExpired, before.UnixMicro(), limit)
	n, err := affected(res, err, "delete expired agent sessions")
	if err != nil || n >= limit {
		return n, err
	}
	res, err = t.run.exec(ctx, sqlDeleteAgentSessionsRevoked, before.UnixMicro(), limit-n)
	m, err := affected(res, err, "delete revoked agent sessions")
	return n + m, err
}

// affected returns how many rows a statement changed.
func affected(res sql.Result, err error, what string) (int, error) {
	if err != nil {
		return 0, writeErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", what, err)
	}
	return int(n), nil
}

func (t *txn) DeleteEndedBlocks(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteLiftedBlocks, before.UnixMicro(), limit)
	n, err := affected(res, err, "delete lifted blocks")
	if err != nil || n >= limit {
		return n, err
	}
	res, err = t.run.exec(ctx, sqlDeleteExpiredBlocks, before.UnixMicro(), limit-n)
	m, err := affected(res, err, "delete expired blocks")
	return n + m, err
}
