package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Ending many sessions at once: a revoked key, an admin ending every session of a workspace, a customer
// logged out everywhere. Each filter is its own statement so each uses its own index.
const (
	sqlLiveVerifiedSessions = `SELECT s.id, s.customer_id, COALESCE(c.email, '') FROM sessions s JOIN customers c ON c.id = s.customer_id
		WHERE s.workspace_id = $1 AND s.revoked_at IS NULL AND s.level = 'verified' ORDER BY s.created_at, s.id COLLATE "C"`
	sqlRevokeSessionsAll = `UPDATE sessions SET revoked_at = $1, updated_at = $1
		WHERE workspace_id = $2 AND revoked_at IS NULL RETURNING id`
	sqlRevokeSessionsByKey = `UPDATE sessions SET revoked_at = $1, updated_at = $1
		WHERE workspace_id = $2 AND key_source = $3 AND revoked_at IS NULL RETURNING id`
	sqlRevokeSessionsOfCustomer = `UPDATE sessions SET revoked_at = $1, updated_at = $1
		WHERE workspace_id = $2 AND customer_id = $3 AND revoked_at IS NULL RETURNING id`
)

func (q queries) LiveVerifiedSessions(ctx context.Context, workspaceID string) ([]store.VerifiedSession, error) {
	return list(ctx, q.db, "live verified sessions", func(row pgx.Row) (store.VerifiedSession, error) {
		var v store.VerifiedSession
		err := row.Scan(&v.SessionID, &v.CustomerID, &v.Email)
		return v, err
	}, sqlLiveVerifiedSessions, workspaceID)
}

func (t *txn) RevokeSessions(ctx context.Context, f store.SessionFilter, at time.Time) ([]string, error) {
	var rows pgx.Rows
	var err error
	switch {
	case f.KeySource != "" && f.CustomerID != "":
		return nil, fmt.Errorf("store: revoke sessions: filter by key or by customer, not both")
	case f.KeySource != "":
		rows, err = t.db.Query(ctx, sqlRevokeSessionsByKey, ts(at), f.WorkspaceID, f.KeySource)
	case f.CustomerID != "":
		rows, err = t.db.Query(ctx, sqlRevokeSessionsOfCustomer, ts(at), f.WorkspaceID, f.CustomerID)
	default:
		rows, err = t.db.Query(ctx, sqlRevokeSessionsAll, ts(at), f.WorkspaceID)
	}
	if err != nil {
		return nil, writeErr(err, "revoke sessions")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, writeErr(err, "revoke sessions")
	}
	return ids, nil
}
