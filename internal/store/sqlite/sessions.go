package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Ending many sessions at once: a revoked key, an admin ending every session of a workspace, a customer
// logged out everywhere. Each filter is its own statement so each uses its own index.
const (
	sqlLiveVerifiedSessions = `SELECT s.id, s.customer_id, COALESCE(c.email, '') FROM sessions s JOIN customers c ON c.id = s.customer_id
		WHERE s.workspace_id = ? AND s.revoked_at IS NULL AND s.level = 'verified' ORDER BY s.created_at, s.id`
	sqlRevokeSessionsAll = `UPDATE sessions SET revoked_at = ?, updated_at = ?
		WHERE workspace_id = ? AND revoked_at IS NULL RETURNING id`
	sqlRevokeSessionsByKey = `UPDATE sessions SET revoked_at = ?, updated_at = ?
		WHERE workspace_id = ? AND key_source = ? AND revoked_at IS NULL RETURNING id`
	sqlRevokeSessionsOfCustomer = `UPDATE sessions SET revoked_at = ?, updated_at = ?
		WHERE workspace_id = ? AND customer_id = ? AND revoked_at IS NULL RETURNING id`
)

func (q queries) LiveVerifiedSessions(ctx context.Context, workspaceID string) ([]store.VerifiedSession, error) {
	return list(ctx, q.run, "live verified sessions", func(s scanner) (store.VerifiedSession, error) {
		var v store.VerifiedSession
		err := s.Scan(&v.SessionID, &v.CustomerID, &v.Email)
		return v, err
	}, sqlLiveVerifiedSessions, workspaceID)
}

func (t *txn) RevokeSessions(ctx context.Context, f store.SessionFilter, at time.Time) ([]string, error) {
	var rows *sql.Rows
	var err error
	switch {
	case f.KeySource != "" && f.CustomerID != "":
		return nil, fmt.Errorf("store: revoke sessions: filter by key or by customer, not both")
	case f.KeySource != "":
		rows, err = t.run.query(ctx, sqlRevokeSessionsByKey, micros(at), micros(at), f.WorkspaceID, f.KeySource)
	case f.CustomerID != "":
		rows, err = t.run.query(ctx, sqlRevokeSessionsOfCustomer, micros(at), micros(at), f.WorkspaceID, f.CustomerID)
	default:
		rows, err = t.run.query(ctx, sqlRevokeSessionsAll, micros(at), micros(at), f.WorkspaceID)
	}
	if err != nil {
		return nil, writeErr(err, "revoke sessions")
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: revoke sessions: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: revoke sessions: %w", err)
	}
	return ids, nil
}
