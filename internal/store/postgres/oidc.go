package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Single sign-on flows in progress (migration 0016). A flow is taken by deleting it, so that its state
// completes a sign-in at most once, however many callbacks race for it.
const (
	sqlInsertOIDCFlow = `INSERT INTO oidc_flows (state_hash, workspace_id, nonce, verifier, next, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlTakeOIDCFlow = `DELETE FROM oidc_flows WHERE state_hash = $1
		RETURNING workspace_id, nonce, verifier, next, created_at, expires_at`
	sqlDeleteOIDCFlows = `DELETE FROM oidc_flows WHERE state_hash = ANY(ARRAY(
		SELECT state_hash FROM oidc_flows WHERE expires_at <= $1 LIMIT $2))`
)

func (t *txn) CreateOIDCFlow(ctx context.Context, f *store.OIDCFlow) error {
	if _, err := t.db.Exec(ctx, sqlInsertOIDCFlow, f.StateHash, f.WorkspaceID, f.Nonce, f.Verifier, f.Next, f.CreatedAt, f.ExpiresAt); err != nil {
		return writeErr(err, "create oidc flow")
	}
	return nil
}

// TakeOIDCFlow refuses an expired flow like a missing one; the cleanup pass deletes it.
func (t *txn) TakeOIDCFlow(ctx context.Context, stateHash []byte, at time.Time) (store.OIDCFlow, error) {
	f := store.OIDCFlow{StateHash: stateHash}
	err := t.db.QueryRow(ctx, sqlTakeOIDCFlow, stateHash).Scan(&f.WorkspaceID, &f.Nonce, &f.Verifier, &f.Next, &f.CreatedAt, &f.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.OIDCFlow{}, fmt.Errorf("store: take oidc flow: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.OIDCFlow{}, writeErr(err, "take oidc flow")
	}
	f.CreatedAt, f.ExpiresAt = f.CreatedAt.UTC(), f.ExpiresAt.UTC()
	if !at.Before(f.ExpiresAt) {
		return store.OIDCFlow{}, fmt.Errorf("store: take oidc flow: expired: %w", store.ErrNotFound)
	}
	return f, nil
}

func (t *txn) DeleteOIDCFlows(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteOIDCFlows, before, limit)
	return affected(tag, err, "delete oidc flows")
}
