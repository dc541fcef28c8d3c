package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Mentions in internal notes (migration 0007).
const (
	sqlMentions = `SELECT mn.message_seq, mn.agent_id, mn.conversation_id, mn.author_id, mn.created_at, m.n, m.body
		FROM mentions mn JOIN messages m ON m.seq = mn.message_seq
		WHERE mn.agent_id = $1 ORDER BY mn.message_seq DESC LIMIT $2`
	sqlInsertMention = `INSERT INTO mentions (message_seq, agent_id, conversation_id, author_id, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_seq, agent_id) DO NOTHING`
	// maxMentionsPerRead caps one read of an agent's mentions.
	maxMentionsPerRead = 1000
)

func scanMention(row pgx.Row) (store.Mention, error) {
	var m store.Mention
	err := row.Scan(&m.MessageSeq, &m.AgentID, &m.ConversationID, &m.AuthorID, tz(&m.CreatedAt), &m.N, &m.Body)
	return m, err
}

func (q queries) Mentions(ctx context.Context, agentID string, limit int) ([]store.Mention, error) {
	if limit <= 0 || limit > maxMentionsPerRead {
		limit = maxMentionsPerRead
	}
	return list(ctx, q.db, "mentions", scanMention, sqlMentions, agentID, limit)
}

func (t *txn) AddMention(ctx context.Context, m *store.Mention) error {
	if _, err := t.db.Exec(ctx, sqlInsertMention, m.MessageSeq, m.AgentID, m.ConversationID, m.AuthorID, ts(m.CreatedAt)); err != nil {
		return writeErr(err, "insert mention")
	}
	return nil
}
