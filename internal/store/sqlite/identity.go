package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// The custom identity provider's queries: sealed secrets, API keys and the audit trail.

const (
	apiKeyColumns = `id, workspace_id, name, scopes, key_hash, created_at, revoked_at, last_used_at`

	sqlSetKeySecret     = `UPDATE signing_keys SET secret = ? WHERE workspace_id = ? AND kid = ?`
	sqlAPIKeyByHash     = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE key_hash = ?`
	sqlAPIKeys          = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE workspace_id = ? ORDER BY created_at, id`
	sqlInsertAPIKey     = `INSERT INTO api_keys (` + apiKeyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	sqlRevokeAPIKey     = `UPDATE api_keys SET revoked_at = ? WHERE workspace_id = ? AND id = ? AND revoked_at IS NULL`
	sqlTouchAPIKey      = `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`
	sqlAuditEvents      = `SELECT seq, workspace_id, at, actor, action, target, detail, addr FROM audit_events WHERE workspace_id = ? ORDER BY seq DESC LIMIT ?`
	sqlInsertAuditEvent = `INSERT INTO audit_events (workspace_id, at, actor, action, target, detail, addr) VALUES (?, ?, ?, ?, ?, ?, ?)`
)

// Scopes are stored space-separated, as OAuth writes them; a scope never contains a space.

func scanAPIKey(s scanner) (store.APIKey, error) {
	var k store.APIKey
	var scopes string
	var created, revoked, used sql.NullInt64
	err := s.Scan(&k.ID, &k.WorkspaceID, &k.Name, &scopes, &k.KeyHash, &created, &revoked, &used)
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.RevokedAt, k.LastUsedAt = fromMicros(created), fromMicros(revoked), fromMicros(used)
	return k, err
}

func (q queries) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	k, err := scanAPIKey(q.run.queryRow(ctx, sqlAPIKeyByHash, hash))
	if err != nil {
		return k, notFound(err, "api key")
	}
	return k, nil
}

func (q queries) APIKeys(ctx context.Context, workspaceID string) ([]store.APIKey, error) {
	return list(ctx, q.run, "api keys", scanAPIKey, sqlAPIKeys, workspaceID)
}

func scanAuditEvent(s scanner) (store.AuditEvent, error) {
	var e store.AuditEvent
	var at sql.NullInt64
	err := s.Scan(&e.Seq, &e.WorkspaceID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Addr)
	e.At = fromMicros(at)
	return e, err
}

func (q queries) AuditEvents(ctx context.Context, workspaceID string, limit int) ([]store.AuditEvent, error) {
	return list(ctx, q.run, "audit events", scanAuditEvent, sqlAuditEvents, workspaceID, limit)
}

func (t *txn) SetSigningKeySecret(ctx context.Context, workspaceID, id string, secret []byte) error {
	res, err := t.run.exec(ctx, sqlSetKeySecret, secret, workspaceID, id)
	return mustChange(res, err, "set signing key secret")
}

func (t *txn) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	for _, s := range k.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n") {
			return fmt.Errorf("store: insert api key: scope %q cannot be stored", s)
		}
	}
	_, err := t.run.exec(ctx, sqlInsertAPIKey, k.ID, k.WorkspaceID, k.Name, strings.Join(k.Scopes, " "), k.KeyHash,
		micros(k.CreatedAt), micros(k.RevokedAt), micros(k.LastUsedAt))
	if err != nil {
		return writeErr(err, "insert api key")
	}
	return nil
}

func (t *txn) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) error {
	res, err := t.run.exec(ctx, sqlRevokeAPIKey, micros(at), workspaceID, id)
	return mustChange(res, err, "revoke api key")
}

func (t *txn) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	// As with signing keys, minute precision is what admins read, and it spares most calls a write.
	_, err := t.run.exec(ctx, sqlTouchAPIKey, micros(at), id, at.Add(-touchKeyGranularity).UnixMicro())
	if err != nil {
		return writeErr(err, "touch api key")
	}
	return nil
}

func (t *txn) AddAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	res, err := t.run.exec(ctx, sqlInsertAuditEvent, e.WorkspaceID, micros(e.At), e.Actor, e.Action, e.Target, e.Detail, e.Addr)
	if err != nil {
		return writeErr(err, "insert audit event")
	}
	if e.Seq, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("store: insert audit event: %w", err)
	}
	return nil
}

// Notify does nothing: an SQLite database serves one process, whose events travel in memory.
func (t *txn) Notify(ctx context.Context, channel string, payload []byte) error { return nil }
