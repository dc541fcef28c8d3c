package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Single sign-on flows in progress (migration 0019). A flow is taken by deleting it, so that its state
// completes a sign-in at most once.
const (
	sqlInsertOIDCFlow = `INSERT INTO oidc_flows (state_hash, workspace_id, nonce, verifier, next, created_at, expires_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`
	sqlTakeOIDCFlow = `DELETE FROM oidc_flows WHERE state_hash = ?1
		RETURNING workspace_id, nonce, verifier, next, created_at, expires_at`
	sqlDeleteOIDCFlows = `DELETE FROM oidc_flows WHERE state_hash IN (
		SELECT state_hash FROM oidc_flows WHERE expires_at <= ?1 LIMIT ?2)`
)

func oidcStatements() []string {
	return []string{sqlInsertOIDCFlow, sqlTakeOIDCFlow, sqlDeleteOIDCFlows}
}

func (t *txn) CreateOIDCFlow(ctx context.Context, f *store.OIDCFlow) error {
	_, err := t.run.exec(ctx, sqlInsertOIDCFlow, f.StateHash, f.WorkspaceID, f.Nonce, f.Verifier, f.Next,
		f.CreatedAt.UnixMicro(), f.ExpiresAt.UnixMicro())
	return writeErr2(err, "create oidc flow")
}

// TakeOIDCFlow refuses an expired flow like a missing one; the cleanup pass deletes it.
func (t *txn) TakeOIDCFlow(ctx context.Context, stateHash []byte, at time.Time) (store.OIDCFlow, error) {
	f := store.OIDCFlow{StateHash: stateHash}
	var created, expires int64
	err := t.run.queryRow(ctx, sqlTakeOIDCFlow, stateHash).Scan(&f.WorkspaceID, &f.Nonce, &f.Verifier, &f.Next, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.OIDCFlow{}, fmt.Errorf("store: take oidc flow: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.OIDCFlow{}, writeErr(err, "take oidc flow")
	}
	f.CreatedAt, f.ExpiresAt = time.UnixMicro(created).UTC(), time.UnixMicro(expires).UTC()
	if !at.Before(f.ExpiresAt) {
		return store.OIDCFlow{}, fmt.Errorf("store: take oidc flow: expired: %w", store.ErrNotFound)
	}
	return f, nil
}

func (t *txn) DeleteOIDCFlows(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteOIDCFlows, before.UnixMicro(), limit)
	if err != nil {
		return 0, writeErr(err, "delete oidc flows")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete oidc flows: %w", err)
	}
	return int(n), nil
}
