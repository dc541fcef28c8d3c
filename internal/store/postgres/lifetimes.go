package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parleyhq/parley/internal/store"
)

// Session lifetimes and the cleanup of records that only grow. Each statement works on one bounded
// batch and walks an index of its own (migration 0004). Several instances may clean at once: the rows
// a batch changes are picked with FOR UPDATE SKIP LOCKED, so a batch passes over the rows another one
// holds instead of waiting for them; a batch that collides anyway (serializable transactions) is run
// again by Update.
// The statements must pick their index without statistics (autovacuum may be off and nothing may have
// run ANALYZE), so none leaves the planner a join to choose: a batch's rows are picked by a sub-select on
// the rule's index and handed to the outer statement as an array (= ANY(ARRAY(…))), which the planner
// always looks up by primary key (or by ctid for used_jtis, whose key has two columns). The walk over
// ended sessions asks whether a conversation refers to each one through a correlated sub-select kept
// from becoming a join by OFFSET 0, so it is one index probe per session whatever the tables' sizes.
const (
	// The touch finds its row by primary key only. Written plainly (revoked_at IS NULL AND last_seen_at <=
	// $3), the conditions would also match the partial index sessions_live_by_seen, and on tables the
	// planner has no statistics for the two cost the same and it took that one, reading every live
	// session. A CASE is opaque to the planner's index matching, so no partial index qualifies.
	sqlTouchSession = `UPDATE sessions SET last_seen_at = $1 WHERE id = $2
		AND CASE WHEN revoked_at IS NULL THEN last_seen_at <= $3 ELSE false END`
	// Expired live sessions: one statement per rule, each on its index, oldest first.
	sqlExpireBySeen = `UPDATE sessions SET revoked_at = $1, updated_at = $1 WHERE id = ANY(ARRAY(
		SELECT id FROM sessions WHERE workspace_id = $2 AND level = $3 AND revoked_at IS NULL AND last_seen_at <= $4
		ORDER BY workspace_id, level, last_seen_at LIMIT $5 FOR UPDATE SKIP LOCKED))
		AND revoked_at IS NULL RETURNING id`
	sqlExpireByVerified = `UPDATE sessions SET revoked_at = $1, updated_at = $1 WHERE id = ANY(ARRAY(
		SELECT id FROM sessions WHERE workspace_id = $2 AND level = 'verified' AND revoked_at IS NULL AND verified_at <= $3
		ORDER BY workspace_id, verified_at LIMIT $4 FOR UPDATE SKIP LOCKED))
		AND revoked_at IS NULL RETURNING id`
	// Ended sessions are walked in (revoked_at, id) order from a cursor, so those kept for their
	// conversations are looked at once, not on every pass.
	sqlEndedSessions = `SELECT revoked_at, id FROM sessions
		WHERE revoked_at IS NOT NULL AND (revoked_at, id) > ($1, $2) AND revoked_at <= $3
		ORDER BY revoked_at, id LIMIT $4`
	sqlDeleteEndedSessions = `DELETE FROM sessions WHERE id = ANY(ARRAY(
		SELECT s.id FROM sessions s
		WHERE s.revoked_at IS NOT NULL AND (s.revoked_at, s.id) > ($1, $2) AND (s.revoked_at, s.id) <= ($3, $4)
		AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.session_id = s.id OFFSET 0)
		ORDER BY s.revoked_at, s.id FOR UPDATE SKIP LOCKED))`
	sqlDeleteUsedJTIs = `DELETE FROM used_jtis WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM used_jtis WHERE until <= $1 ORDER BY until LIMIT $2 FOR UPDATE SKIP LOCKED))`
	sqlDeleteAgentSessionsExpired = `DELETE FROM agent_sessions WHERE token_hash = ANY(ARRAY(
		SELECT token_hash FROM agent_sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))`
	sqlDeleteAgentSessionsRevoked = `DELETE FROM agent_sessions WHERE token_hash = ANY(ARRAY(
		SELECT token_hash FROM agent_sessions WHERE revoked_at IS NOT NULL AND revoked_at <= $1
		ORDER BY revoked_at LIMIT $2 FOR UPDATE SKIP LOCKED))`
	// Ended blocks, on indexes of their own (migration 0011).
	sqlDeleteLiftedBlocks = `DELETE FROM blocks WHERE id = ANY(ARRAY(
		SELECT id FROM blocks WHERE lifted_at IS NOT NULL AND lifted_at <= $1
		ORDER BY lifted_at LIMIT $2 FOR UPDATE SKIP LOCKED))`
	sqlDeleteExpiredBlocks = `DELETE FROM blocks WHERE id = ANY(ARRAY(
		SELECT id FROM blocks WHERE expires_at IS NOT NULL AND expires_at <= $1
		ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED))`
)

func (t *txn) TouchSession(ctx context.Context, id string, at, staleBefore time.Time) (bool, error) {
	tag, err := t.db.Exec(ctx, sqlTouchSession, at, id, staleBefore)
	if err != nil {
		return false, writeErr(err, "touch session")
	}
	return tag.RowsAffected() > 0, nil
}

func (t *txn) RevokeExpiredSessions(ctx context.Context, e store.SessionExpiry, at time.Time, limit int) ([]string, error) {
	var ids []string
	run := func(q string, args ...any) error {
		rows, err := t.db.Query(ctx, q, args...)
		if err != nil {
			return writeErr(err, "revoke expired sessions")
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return writeErr(err, "revoke expired sessions")
		}
		ids = append(ids, got...)
		return nil
	}
	if !e.VerifiedBefore.IsZero() && len(ids) < limit {
		if err := run(sqlExpireByVerified, at, e.WorkspaceID, e.VerifiedBefore, limit-len(ids)); err != nil {
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
		if err := run(sqlExpireBySeen, at, e.WorkspaceID, r.level, r.before, limit-len(ids)); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

func (t *txn) DeleteEndedSessions(ctx context.Context, after store.SessionCursor, revokedBefore time.Time, limit int) (int, store.SessionCursor, error) {
	from := after.RevokedAt
	if from.IsZero() {
		from = time.Unix(0, 0) // before every session; NULL would compare as unknown
	}
	rows, err := t.db.Query(ctx, sqlEndedSessions, from, after.ID, revokedBefore, limit)
	if err != nil {
		return 0, after, writeErr(err, "list ended sessions")
	}
	last, walked := after, 0
	for rows.Next() {
		if err := rows.Scan(tz(&last.RevokedAt), &last.ID); err != nil {
			rows.Close()
			return 0, after, fmt.Errorf("store: list ended sessions: %w", err)
		}
		walked++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, after, writeErr(err, "list ended sessions")
	}
	if walked == 0 {
		return 0, after, nil
	}
	tag, err := t.db.Exec(ctx, sqlDeleteEndedSessions, from, after.ID, last.RevokedAt, last.ID)
	n, err := affected(tag, err, "delete ended sessions")
	return n, last, err
}

func (t *txn) DeleteUsedJTIs(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteUsedJTIs, before, limit)
	return affected(tag, err, "delete used jtis")
}

func (t *txn) DeleteAgentSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteAgentSessionsExpired, before, limit)
	n, err := affected(tag, err, "delete expired agent sessions")
	if err != nil || n >= limit {
		return n, err
	}
	tag, err = t.db.Exec(ctx, sqlDeleteAgentSessionsRevoked, before, limit-n)
	m, err := affected(tag, err, "delete revoked agent sessions")
	return n + m, err
}

func (t *txn) DeleteEndedBlocks(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteLiftedBlocks, before, limit)
	n, err := affected(tag, err, "delete lifted blocks")
	if err != nil || n >= limit {
		return n, err
	}
	tag, err = t.db.Exec(ctx, sqlDeleteExpiredBlocks, before, limit-n)
	m, err := affected(tag, err, "delete expired blocks")
	return n + m, err
}

// affected returns how many rows a statement changed.
func affected(tag pgconn.CommandTag, err error, what string) (int, error) {
	if err != nil {
		return 0, writeErr(err, what)
	}
	return int(tag.RowsAffected()), nil
}
