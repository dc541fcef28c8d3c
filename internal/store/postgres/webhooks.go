package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Webhooks (migration 0017).
const (
	webhookColumns = `id, workspace_id, url, events, include_notes, secret, previous_secret, previous_until, created_at, updated_at,
		disabled_at, failing_since`
	sqlWebhookEndpoint  = `SELECT ` + webhookColumns + ` FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2`
	sqlWebhookEndpoints = `SELECT ` + webhookColumns + ` FROM webhook_endpoints WHERE workspace_id = $1 ORDER BY created_at, id COLLATE "C"`
	sqlInsertWebhook    = `INSERT INTO webhook_endpoints (` + webhookColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	sqlUpdateWebhook    = `UPDATE webhook_endpoints SET url = $1, events = $2, include_notes = $3, secret = $4, previous_secret = $5,
		previous_until = $6, updated_at = $7, disabled_at = $8, failing_since = $9 WHERE workspace_id = $10 AND id = $11`
	sqlDeleteWebhook     = `DELETE FROM webhook_endpoints WHERE workspace_id = $1 AND id = $2`
	deliveryColumns      = `id, endpoint_id, webhook_id, event_type, attempt, status, duration_us, error, at`
	sqlWebhookDeliveries = `SELECT ` + deliveryColumns + ` FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2`
	sqlInsertDelivery    = `INSERT INTO webhook_deliveries (endpoint_id, webhook_id, event_type, attempt, status, duration_us, error, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`
	sqlDeleteDeliveries = `DELETE FROM webhook_deliveries WHERE id = ANY(ARRAY(SELECT id FROM webhook_deliveries WHERE at <= $1 ORDER BY at
		LIMIT $2 FOR UPDATE SKIP LOCKED))`
)

func scanWebhook(row pgx.Row) (store.WebhookEndpoint, error) {
	var e store.WebhookEndpoint
	var events string
	err := row.Scan(&e.ID, &e.WorkspaceID, &e.URL, &events, &e.IncludeNotes, &e.Secret, &e.PreviousSecret, tz(&e.PreviousUntil),
		tz(&e.CreatedAt), tz(&e.UpdatedAt), tz(&e.DisabledAt), tz(&e.FailingSince))
	if events != "" {
		e.Events = strings.Split(events, ",")
	}
	return e, err
}

func (q queries) WebhookEndpoint(ctx context.Context, workspaceID, id string) (store.WebhookEndpoint, error) {
	e, err := scanWebhook(q.db.QueryRow(ctx, sqlWebhookEndpoint, workspaceID, id))
	if err != nil {
		return store.WebhookEndpoint{}, notFound(err, "webhook endpoint")
	}
	return e, nil
}

func (q queries) WebhookEndpoints(ctx context.Context, workspaceID string) ([]store.WebhookEndpoint, error) {
	return list(ctx, q.db, "webhook endpoints", scanWebhook, sqlWebhookEndpoints, workspaceID)
}

func scanDelivery(row pgx.Row) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var us int64
	err := row.Scan(&d.ID, &d.EndpointID, &d.WebhookID, &d.EventType, &d.Attempt, &d.Status, &us, &d.Error, tz(&d.At))
	d.Duration = time.Duration(us) * time.Microsecond
	return d, err
}

func (q queries) WebhookDeliveries(ctx context.Context, endpointID string, limit int) ([]store.WebhookDelivery, error) {
	return list(ctx, q.db, "webhook deliveries", scanDelivery, sqlWebhookDeliveries, endpointID, limit)
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
	if _, err := t.db.Exec(ctx, sqlInsertWebhook, e.ID, e.WorkspaceID, e.URL, strings.Join(e.Events, ","), e.IncludeNotes, e.Secret,
		e.PreviousSecret, ts(e.PreviousUntil), ts(e.CreatedAt), ts(e.UpdatedAt), ts(e.DisabledAt), ts(e.FailingSince)); err != nil {
		return writeErr(err, "insert webhook endpoint")
	}
	return nil
}

func (t *txn) UpdateWebhookEndpoint(ctx context.Context, e *store.WebhookEndpoint) error {
	tag, err := t.db.Exec(ctx, sqlUpdateWebhook, e.URL, strings.Join(e.Events, ","), e.IncludeNotes, e.Secret, e.PreviousSecret,
		ts(e.PreviousUntil), ts(e.UpdatedAt), ts(e.DisabledAt), ts(e.FailingSince), e.WorkspaceID, e.ID)
	return mustChange(tag, err, "update webhook endpoint")
}

func (t *txn) DeleteWebhookEndpoint(ctx context.Context, workspaceID, id string) error {
	tag, err := t.db.Exec(ctx, sqlDeleteWebhook, workspaceID, id)
	return mustChange(tag, err, "delete webhook endpoint")
}

func (t *txn) AddWebhookDelivery(ctx context.Context, d *store.WebhookDelivery) error {
	if err := t.db.QueryRow(ctx, sqlInsertDelivery, d.EndpointID, d.WebhookID, d.EventType, d.Attempt, d.Status,
		d.Duration.Microseconds(), d.Error, ts(d.At)).Scan(&d.ID); err != nil {
		return writeErr(err, "add webhook delivery")
	}
	return nil
}

func (t *txn) DeleteWebhookDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteDeliveries, ts(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete webhook deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
