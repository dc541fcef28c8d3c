package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/store"
)

// auditEventsSQL builds the query of AuditEventsFiltered. Every variant walks an index of the workspace's
// events by seq, newest first: audit_events_by_action for one action, audit_events_by_workspace
// otherwise; the other conditions filter the rows it walks, and LIMIT stops the walk.
func auditEventsSQL(workspaceID string, f store.AuditFilter) (string, []any) {
	var b strings.Builder
	args := []any{workspaceID}
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	b.WriteString(`SELECT seq, workspace_id, at, actor, action, target, detail, addr FROM audit_events WHERE workspace_id = $1`)
	switch {
	case strings.HasSuffix(f.Action, "."):
		// starts_with compares exactly, whatever the database's collation (a range on action would
		// follow the locale's order, which may skip punctuation).
		b.WriteString(` AND starts_with(action, ` + param(f.Action) + `)`)
	case f.Action != "":
		b.WriteString(` AND action = ` + param(f.Action))
	}
	if f.BeforeSeq > 0 {
		b.WriteString(` AND seq < ` + param(f.BeforeSeq))
	}
	if !f.From.IsZero() {
		b.WriteString(` AND at >= ` + param(ts(f.From)))
	}
	if !f.To.IsZero() {
		b.WriteString(` AND at < ` + param(ts(f.To)))
	}
	if f.Actor != "" {
		// ILIKE folds case by the database's locale (at least ASCII); the actor's own wildcards are
		// escaped so they match themselves.
		b.WriteString(` AND actor ILIKE ` + param("%"+likeEscaper.Replace(f.Actor)+"%") + ` ESCAPE '\'`)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	b.WriteString(` ORDER BY seq DESC LIMIT ` + param(limit))
	return b.String(), args
}

func (q queries) AuditEventsFiltered(ctx context.Context, workspaceID string, f store.AuditFilter) ([]store.AuditEvent, error) {
	query, args := auditEventsSQL(workspaceID, f)
	return list(ctx, q.db, "audit events", scanAuditEvent, query, args...)
}
