package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Agents' alert preferences (migration 0010).
const (
	sqlAgentPrefs    = `SELECT sound, notifications, email_alerts, updated_at FROM agent_prefs WHERE agent_id = $1`
	sqlSetAgentPrefs = `INSERT INTO agent_prefs (agent_id, sound, notifications, email_alerts, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (agent_id) DO UPDATE SET sound = excluded.sound, notifications = excluded.notifications,
		email_alerts = excluded.email_alerts, updated_at = excluded.updated_at`
)

func (q queries) AgentPrefs(ctx context.Context, agentID string) (store.AgentPrefs, error) {
	p := store.DefaultAgentPrefs(agentID)
	err := q.db.QueryRow(ctx, sqlAgentPrefs, agentID).Scan(&p.Sound, &p.Notifications, &p.EmailAlerts, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.DefaultAgentPrefs(agentID), nil
	}
	if err != nil {
		return store.AgentPrefs{}, fmt.Errorf("store: agent prefs: %w", err)
	}
	p.UpdatedAt = p.UpdatedAt.UTC()
	return p, nil
}

func (t *txn) SetAgentPrefs(ctx context.Context, p *store.AgentPrefs) error {
	if _, err := t.db.Exec(ctx, sqlSetAgentPrefs, p.AgentID, p.Sound, p.Notifications, p.EmailAlerts, p.UpdatedAt); err != nil {
		return writeErr(err, "set agent prefs")
	}
	return nil
}
