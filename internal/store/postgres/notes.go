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
	// sqlUnreadMentions looks at the agent's newest mentions only (mentions_by_agent), each against the
	// agent's read mark of its conversation (agent_reads' primary key).
	sqlUnreadMentions = `SELECT mn.conversation_id FROM (
			SELECT conversation_id, message_seq FROM mentions WHERE agent_id = $1 ORDER BY message_seq DESC LIMIT $2) mn
		LEFT JOIN agent_reads r ON r.agent_id = $1 AND r.conversation_id = mn.conversation_id
		WHERE mn.message_seq > COALESCE(r.seq, 0)
		GROUP BY mn.conversation_id ORDER BY MAX(mn.message_seq) DESC LIMIT $3`
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

func (q queries) UnreadMentions(ctx context.Context, agentID string, recentMentions, limit int) ([]string, error) {
	if recentMentions <= 0 || recentMentions > maxMentionsPerRead {
		recentMentions = maxMentionsPerRead
	}
	return list(ctx, q.db, "unread mentions", func(r pgx.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, sqlUnreadMentions, agentID, recentMentions, limit)
}

func (t *txn) AddMention(ctx context.Context, m *store.Mention) error {
	if _, err := t.db.Exec(ctx, sqlInsertMention, m.MessageSeq, m.AgentID, m.ConversationID, m.AuthorID, ts(m.CreatedAt)); err != nil {
		return writeErr(err, "insert mention")
	}
	return nil
}
