package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Canned responses (migration 0008).
const (
	cannedColumns     = `id, workspace_id, COALESCE(owner_id, ''), title, shortcut, body, created_at, updated_at`
	sqlCannedResponse = `SELECT ` + cannedColumns + ` FROM canned_responses WHERE workspace_id = $1 AND id = $2`
	// Shared responses (owner_id NULL) sort before personal ones at the same shortcut. Shortcuts are
	// ASCII, and COLLATE "C" keeps their order the same on every database.
	sqlCannedResponses = `SELECT ` + cannedColumns + ` FROM canned_responses
		WHERE workspace_id = $1 AND (owner_id IS NULL OR owner_id = $2::text)
		ORDER BY shortcut COLLATE "C", owner_id IS NOT NULL, id COLLATE "C"`
	sqlInsertCanned = `INSERT INTO canned_responses (id, workspace_id, owner_id, title, shortcut, body, created_at, updated_at)
		SELECT $1, $2, $3::text, $4, $5, $6, $7, $8
		WHERE $3::text IS NULL OR EXISTS (SELECT 1 FROM agents WHERE id = $3::text AND workspace_id = $2)`
	sqlUpdateCanned = `UPDATE canned_responses SET title = $1, shortcut = $2, body = $3, updated_at = $4 WHERE workspace_id = $5 AND id = $6`
	sqlDeleteCanned = `DELETE FROM canned_responses WHERE workspace_id = $1 AND id = $2`
)

func scanCanned(row pgx.Row) (store.CannedResponse, error) {
	var c store.CannedResponse
	err := row.Scan(&c.ID, &c.WorkspaceID, &c.OwnerID, &c.Title, &c.Shortcut, &c.Body, tz(&c.CreatedAt), tz(&c.UpdatedAt))
	return c, err
}

func (q queries) CannedResponse(ctx context.Context, workspaceID, id string) (store.CannedResponse, error) {
	c, err := scanCanned(q.db.QueryRow(ctx, sqlCannedResponse, workspaceID, id))
	if err != nil {
		return store.CannedResponse{}, notFound(err, "canned response")
	}
	return c, nil
}

func (q queries) CannedResponses(ctx context.Context, workspaceID, agentID string) ([]store.CannedResponse, error) {
	return list(ctx, q.db, "canned responses", scanCanned, sqlCannedResponses, workspaceID, nullString(agentID))
}

func (t *txn) CreateCannedResponse(ctx context.Context, c *store.CannedResponse) error {
	// An owner of another workspace inserts nothing: the owner is missing there.
	tag, err := t.db.Exec(ctx, sqlInsertCanned, c.ID, c.WorkspaceID, nullString(c.OwnerID), c.Title, c.Shortcut, c.Body,
		ts(c.CreatedAt), ts(c.UpdatedAt))
	return mustChange(tag, err, "insert canned response")
}

func (t *txn) UpdateCannedResponse(ctx context.Context, c *store.CannedResponse) error {
	tag, err := t.db.Exec(ctx, sqlUpdateCanned, c.Title, c.Shortcut, c.Body, ts(c.UpdatedAt), c.WorkspaceID, c.ID)
	return mustChange(tag, err, "update canned response")
}

func (t *txn) DeleteCannedResponse(ctx context.Context, workspaceID, id string) error {
	tag, err := t.db.Exec(ctx, sqlDeleteCanned, workspaceID, id)
	return mustChange(tag, err, "delete canned response")
}
