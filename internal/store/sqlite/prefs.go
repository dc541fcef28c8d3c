package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parleyhq/parley/internal/store"
)

// Agents' alert preferences (migration 0013).
const (
	sqlAgentPrefs    = `SELECT sound, notifications, email_alerts, updated_at FROM agent_prefs WHERE agent_id = ?1`
	sqlSetAgentPrefs = `INSERT INTO agent_prefs (agent_id, sound, notifications, email_alerts, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (agent_id) DO UPDATE SET sound = excluded.sound, notifications = excluded.notifications,
		email_alerts = excluded.email_alerts, updated_at = excluded.updated_at`
)

func prefsStatements() []string { return []string{sqlAgentPrefs, sqlSetAgentPrefs} }

func (q queries) AgentPrefs(ctx context.Context, agentID string) (store.AgentPrefs, error) {
	p := store.DefaultAgentPrefs(agentID)
	var updated sql.NullInt64
	err := q.run.queryRow(ctx, sqlAgentPrefs, agentID).Scan(&p.Sound, &p.Notifications, &p.EmailAlerts, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return store.DefaultAgentPrefs(agentID), nil
	}
	if err != nil {
		return store.AgentPrefs{}, fmt.Errorf("store: agent prefs: %w", err)
	}
	p.UpdatedAt = fromMicros(updated)
	return p, nil
}

func (t *txn) SetAgentPrefs(ctx context.Context, p *store.AgentPrefs) error {
	if _, err := t.run.exec(ctx, sqlSetAgentPrefs, p.AgentID, p.Sound, p.Notifications, p.EmailAlerts, p.UpdatedAt.UnixMicro()); err != nil {
		return writeErr(err, "set agent prefs")
	}
	return nil
}
