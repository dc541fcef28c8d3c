package sqlite

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/store"
)

// auditEventsSQL builds the query of AuditEventsFiltered. Every variant walks an index of the workspace's
// events by seq, newest first: audit_events_by_action for one action, audit_events_by_workspace
// otherwise; the other conditions filter the rows it walks, and LIMIT stops the walk.
func auditEventsSQL(workspaceID string, f store.AuditFilter) (string, []any) {
	var b strings.Builder
	args := []any{workspaceID}
	b.WriteString(`SELECT seq, workspace_id, at, actor, action, target, detail, addr FROM audit_events WHERE workspace_id = ?`)
	switch {
	case strings.HasSuffix(f.Action, "."):
		// substr compares exactly (LIKE would fold case); it counts characters, hence the rune count.
		b.WriteString(` AND substr(action, 1, ?) = ?`)
		args = append(args, utf8.RuneCountInString(f.Action), f.Action)
	case f.Action != "":
		b.WriteString(` AND action = ?`)
		args = append(args, f.Action)
	}
	if f.BeforeSeq > 0 {
		b.WriteString(` AND seq < ?`)
		args = append(args, f.BeforeSeq)
	}
	if !f.From.IsZero() {
		b.WriteString(` AND at >= ?`)
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		b.WriteString(` AND at < ?`)
		args = append(args, micros(f.To))
	}
	if f.Actor != "" {
		// LIKE folds ASCII case only; the actor's own wildcards are escaped so they match themselves.
		b.WriteString(` AND actor LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(f.Actor)+"%")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	b.WriteString(` ORDER BY seq DESC LIMIT ?`)
	args = append(args, limit)
	return b.String(), args
}

func (q queries) AuditEventsFiltered(ctx context.Context, workspaceID string, f store.AuditFilter) ([]store.AuditEvent, error) {
	query, args := auditEventsSQL(workspaceID, f)
	return list(ctx, q.run, "audit events", scanAuditEvent, query, args...)
}
