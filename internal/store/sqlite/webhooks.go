package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Webhooks (migration 0020).
const (
	webhookColumns = `id, workspace_id, url, events, include_notes, secret, previous_secret, previous_until, created_at, updated_at,
		disabled_at, failing_since`
	sqlWebhookEndpoint  = `SELECT ` + webhookColumns + ` FROM webhook_endpoints WHERE workspace_id = ? AND id = ?`
	sqlWebhookEndpoints = `SELECT ` + webhookColumns + ` FROM webhook_endpoints WHERE workspace_id = ? ORDER BY created_at, id`
	sqlInsertWebhook    = `INSERT INTO webhook_endpoints (` + webhookColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlUpdateWebhook    = `UPDATE webhook_endpoints SET url = ?, events = ?, include_notes = ?, secret = ?, previous_secret = ?,
		previous_until = ?, updated_at = ?, disabled_at = ?, failing_since = ? WHERE workspace_id = ? AND id = ?`
	sqlDeleteWebhook     = `DELETE FROM webhook_endpoints WHERE workspace_id = ? AND id = ?`
	deliveryColumns      = `id, endpoint_id, webhook_id, event_type, attempt, status, duration_us, error, at`
	sqlWebhookDeliveries = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries INDEXED BY webhook_deliveries_recent
		WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?`
	sqlInsertDelivery = `INSERT INTO webhook_deliveries (endpoint_id, webhook_id, event_type, attempt, status, duration_us, error, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	sqlDeleteDeliveries = `DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries INDEXED BY webhook_deliveries_by_age
		WHERE at <= ? LIMIT ?)`
)

func webhookStatements() []string {
	return []string{sqlWebhookEndpoint, sqlWebhookEndpoints, sqlWebhookDeliveries}
}

func scanWebhook(s scanner) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var events string
	var until, created, updated, disabled, failing sql.NullInt64
	err := s.Scan(&e.ID, &e.WorkspaceID, &e.URL, &events, &e.IncludeNotes, &e.Secret, &e.PreviousSecret, &until, &created, &updated,
		&disabled, &failing)
	e.Events = splitEvents(events)
	e.PreviousUntil, e.CreatedAt, e.UpdatedAt = fromMicros(until), fromMicros(created), fromMicros(updated)
	e.DisabledAt, e.FailingSince = fromMicros(disabled), fromMicros(failing)
	return e, err
}

func splitEvents(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (q queries) WebhookEndpoint(ctx context.Context, workspaceID, id string) (store.WebhookEndpoint, error) {
	e, err := scanWebhook(q.run.queryRow(ctx, sqlWebhookEndpoint, workspaceID, id))
	if err != nil {
		return store.WebhookEndpoint{}, notFound(err, "webhook endpoint")
	}
	return e, nil
}

func (q queries) WebhookEndpoints(ctx context.Context, workspaceID string) ([]store.WebhookEndpoint, error) {
	return list(ctx, q.run, "webhook endpoints", scanWebhook, sqlWebhookEndpoints, workspaceID)
}

func scanDelivery(s scanner) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var us int64
	var at sql.NullInt64
	err := s.Scan(&d.ID, &d.EndpointID, &d.WebhookID, &d.EventType, &d.Attempt, &d.Status, &us, &d.Error, &at)
	d.Duration, d.At = time.Duration(us)*time.Microsecond, fromMicros(at)
	return d, err
}

func (q queries) WebhookDeliveries(ctx context.Context, endpointID string, limit int) ([]store.WebhookDelivery, error) {
	return list(ctx, q.run, "webhook deliveries", scanDelivery, sqlWebhookDeliveries, endpointID, limit)
}

// WebhookEndpoints is queries.WebhookEndpoints, without a statement when the transaction has learnt
// already that the workspace has none (txn.noEndpoints).
func (t *txn) WebhookEndpoints(ctx context.Context, workspaceID string) ([]store.WebhookEndpoint, error) {
	if workspaceID != "" && workspaceID == t.noEndpoints {
		return nil, nil
	}
	return t.queries.WebhookEndpoints(ctx, workspaceID)
}

func (t *txn) CreateWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	t.noEndpoints = ""
	_, err := t.run.exec(ctx, sqlInsertWebhook, e.ID, e.WorkspaceID, e.URL, strings.Join(e.Events, ","), e.IncludeNotes, e.Secret,
		e.PreviousSecret, micros(e.PreviousUntil), micros(e.CreatedAt), micros(e.UpdatedAt), micros(e.DisabledAt), micros(e.FailingSince))
	if err != nil {
		return writeErr(err, "insert webhook endpoint")
	}
	return nil
}

func (t *txn) UpdateWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	res, err := t.run.exec(ctx, sqlUpdateWebhook, e.URL, strings.Join(e.Events, ","), e.IncludeNotes, e.Secret, e.PreviousSecret,
		micros(e.PreviousUntil), micros(e.UpdatedAt), micros(e.DisabledAt), micros(e.FailingSince), e.WorkspaceID, e.ID)
	return mustChange(res, err, "update webhook endpoint")
}

func (t *txn) DeleteWebhookEndpoint(ctx context.Context, workspaceID, id string) error {
	res, err := t.run.exec(ctx, sqlDeleteWebhook, workspaceID, id)
	return mustChange(res, err, "delete webhook endpoint")
}

func (t *txn) AddWebhookDelivery(ctx context.Context, d *store.WebhookDelivery) error {
	err := t.run.queryRow(ctx, sqlInsertDelivery, d.EndpointID, d.WebhookID, d.EventType, d.Attempt, d.Status,
		d.Duration.Microseconds(), d.Error, micros(d.At)).Scan(&d.ID)
	return writeErr2(err, "add webhook delivery")
}

func (t *txn) DeleteWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteDeliveries, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete webhook deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
