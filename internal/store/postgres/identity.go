package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// The custom identity provider's queries: sealed secrets, API keys and the audit trail.

const (
	apiKeyColumns = `id, workspace_id, name, scopes, key_hash, created_at, revoked_at, last_used_at`

	sqlSetKeySecret     = `UPDATE signing_keys SET secret = $1 WHERE workspace_id = $2 AND kid = $3`
	sqlAPIKeyByHash     = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE key_hash = $1`
	sqlAPIKeys          = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE workspace_id = $1 ORDER BY created_at, id COLLATE "C"`
	sqlInsertAPIKey     = `INSERT INTO api_keys (` + apiKeyColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	sqlRevokeAPIKey     = `UPDATE api_keys SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL`
	sqlTouchAPIKey      = `UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`
	sqlAuditEvents      = `SELECT seq, workspace_id, at, actor, action, target, detail, addr FROM audit_events WHERE workspace_id = $1 ORDER BY seq DESC LIMIT $2`
	sqlInsertAuditEvent = `INSERT INTO audit_events (workspace_id, at, actor, action, target, detail, addr) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`
)

func scanAPIKey(row pgx.Row) (store.APIKey, error) {
	var k store.APIKey
	err := row.Scan(&k.ID, &k.WorkspaceID, &k.Name, &k.Scopes, &k.KeyHash, tz(&k.CreatedAt), tz(&k.RevokedAt), tz(&k.LastUsedAt))
	return k, err
}

func (q queries) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	k, err := scanAPIKey(q.db.QueryRow(ctx, sqlAPIKeyByHash, hash))
	if err != nil {
		return k, notFound(err, "api key")
	}
	return k, nil
}

func (q queries) APIKeys(ctx context.Context, workspaceID string) ([]store.APIKey, error) {
	return list(ctx, q.db, "api keys", scanAPIKey, sqlAPIKeys, workspaceID)
}

func scanAuditEvent(row pgx.Row) (store.AuditEvent, error) {
	var e store.AuditEvent
	err := row.Scan(&e.Seq, &e.WorkspaceID, tz(&e.At), &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Addr)
	return e, err
}

// AuditEvents returns at most limit events; a limit below 0 means all of them, as on SQLite.
func (q queries) AuditEvents(ctx context.Context, workspaceID string, limit int) ([]store.AuditEvent, error) {
	var bound any = limit
	if limit < 0 {
		bound = nil // LIMIT NULL is no limit
	}
	return list(ctx, q.db, "audit events", scanAuditEvent, sqlAuditEvents, workspaceID, bound)
}

func (t *txn) SetSigningKeySecret(ctx context.Context, workspaceID, id string, secret []byte) error {
	if secret == nil {
		secret = []byte{}
	}
	tag, err := t.db.Exec(ctx, sqlSetKeySecret, secret, workspaceID, id)
	return mustChange(tag, err, "set signing key secret")
}

func (t *txn) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	// The SQLite store keeps scopes space-separated; refusing what it cannot store keeps both alike.
	for _, s := range k.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n") {
			return fmt.Errorf("store: insert api key: scope %q cannot be stored", s)
		}
	}
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{} // the column is NOT NULL
	}
	_, err := t.db.Exec(ctx, sqlInsertAPIKey, k.ID, k.WorkspaceID, k.Name, scopes, k.KeyHash,
		ts(k.CreatedAt), ts(k.RevokedAt), ts(k.LastUsedAt))
	if err != nil {
		return writeErr(err, "insert api key")
	}
	return nil
}

func (t *txn) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) error {
	tag, err := t.db.Exec(ctx, sqlRevokeAPIKey, ts(at), workspaceID, id)
	return mustChange(tag, err, "revoke api key")
}

func (t *txn) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	// As with signing keys, minute precision is what admins read, and it spares most calls a write.
	_, err := t.db.Exec(ctx, sqlTouchAPIKey, ts(at), id, at.Add(-touchKeyGranularity))
	if err != nil {
		return writeErr(err, "touch api key")
	}
	return nil
}

func (t *txn) AddAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	err := t.db.QueryRow(ctx, sqlInsertAuditEvent, e.WorkspaceID, ts(e.At), e.Actor, e.Action, e.Target, e.Detail, e.Addr).Scan(&e.Seq)
	if err != nil {
		return writeErr(err, "insert audit event")
	}
	return nil
}
