package sqlite

import (
	"context"
	"database/sql"

	"github.com/parleyhq/parley/internal/store"
)

// Canned responses (migration 0011).
const (
	cannedColumns     = `id, workspace_id, COALESCE(owner_id, ''), title, shortcut, body, created_at, updated_at`
	sqlCannedResponse = `SELECT ` + cannedColumns + ` FROM canned_responses WHERE workspace_id = ? AND id = ?`
	// Shared responses (owner_id NULL) sort before personal ones at the same shortcut.
	sqlCannedResponses = `SELECT ` + cannedColumns + ` FROM canned_responses
		WHERE workspace_id = ?1 AND (owner_id IS NULL OR owner_id = ?2)
		ORDER BY shortcut, owner_id IS NOT NULL, id`
	sqlInsertCanned = `INSERT INTO canned_responses (id, workspace_id, owner_id, title, shortcut, body, created_at, updated_at)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
		WHERE ?3 IS NULL OR EXISTS (SELECT 1 FROM agents WHERE id = ?3 AND workspace_id = ?2)`
	sqlUpdateCanned = `UPDATE canned_responses SET title = ?, shortcut = ?, body = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`
	sqlDeleteCanned = `DELETE FROM canned_responses WHERE workspace_id = ? AND id = ?`
)

func cannedStatements() []string {
	return []string{sqlCannedResponse, sqlCannedResponses, sqlInsertCanned, sqlUpdateCanned, sqlDeleteCanned}
}

func scanCanned(s scanner) (store.CannedResponse, error) {
	var c store.CannedResponse
	var created, updated sql.NullInt64
	err := s.Scan(&c.ID, &c.WorkspaceID, &c.OwnerID, &c.Title, &c.Shortcut, &c.Body, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, err
}

func (q queries) CannedResponse(ctx context.Context, workspaceID, id string) (store.CannedResponse, error) {
	c, err := scanCanned(q.run.queryRow(ctx, sqlCannedResponse, workspaceID, id))
	if err != nil {
		return store.CannedResponse{}, notFound(err, "canned response")
	}
	return c, nil
}

func (q queries) CannedResponses(ctx context.Context, workspaceID, agentID string) ([]store.CannedResponse, error) {
	return list(ctx, q.run, "canned responses", scanCanned, sqlCannedResponses, workspaceID, nullString(agentID))
}

func (t *txn) CreateCannedResponse(ctx context.Context, c *store.CannedResponse) error {
	// An owner of another workspace inserts nothing: the owner is missing there.
	res, err := t.run.exec(ctx, sqlInsertCanned, c.ID, c.WorkspaceID, nullString(c.OwnerID), c.Title, c.Shortcut, c.Body,
		micros(c.CreatedAt), micros(c.UpdatedAt))
	return mustChange(res, err, "insert canned response")
}

func (t *txn) UpdateCannedResponse(ctx context.Context, c *store.CannedResponse) error {
	res, err := t.run.exec(ctx, sqlUpdateCanned, c.Title, c.Shortcut, c.Body, micros(c.UpdatedAt), c.WorkspaceID, c.ID)
	return mustChange(res, err, "update canned response")
}

func (t *txn) DeleteCannedResponse(ctx context.Context, workspaceID, id string) error {
	res, err := t.run.exec(ctx, sqlDeleteCanned, workspaceID, id)
	return mustChange(res, err, "delete canned response")
}
