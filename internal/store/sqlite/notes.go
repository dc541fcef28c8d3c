package sqlite

import (
	"context"
	"database/sql"

	"github.com/parleyhq/parley/internal/store"
)

// Mentions in internal notes (migration 0010).
const (
	sqlMentions = `SELECT mn.message_seq, mn.agent_id, mn.conversation_id, mn.author_id, mn.created_at, m.n, m.body
		FROM mentions mn JOIN messages m ON m.seq = mn.message_seq
		WHERE mn.agent_id = ? ORDER BY mn.message_seq DESC LIMIT ?`
	sqlInsertMention = `INSERT INTO mentions (message_seq, agent_id, conversation_id, author_id, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_seq, agent_id) DO NOTHING`
	// sqlUnreadMentions looks at the agent's newest mentions only (mentions_by_agent), each against the
	// agent's read mark of its conversation (agent_reads' primary key).
	sqlUnreadMentions = `SELECT mn.conversation_id FROM (
			SELECT conversation_id, message_seq FROM mentions WHERE agent_id = ?1 ORDER BY message_seq DESC LIMIT ?2) mn
		LEFT JOIN agent_reads r ON r.agent_id = ?1 AND r.conversation_id = mn.conversation_id
		WHERE mn.message_seq > COALESCE(r.seq, 0)
		GROUP BY mn.conversation_id ORDER BY MAX(mn.message_seq) DESC LIMIT ?3`
	// maxMentionsPerRead caps one read of an agent's mentions.
	maxMentionsPerRead = 1000
)

func noteStatements() []string {
	return []string{sqlMentions, sqlUnreadMentions, sqlInsertMention}
}

func scanMention(s scanner) (store.Mention, error) {
	var m store.Mention
	var created sql.NullInt64
	err := s.Scan(&m.MessageSeq, &m.AgentID, &m.ConversationID, &m.AuthorID, &created, &m.N, &m.Body)
	m.CreatedAt = fromMicros(created)
	return m, err
}

func (q queries) Mentions(ctx context.Context, agentID string, limit int) ([]store.Mention, error) {
	if limit <= 0 || limit > maxMentionsPerRead {
		limit = maxMentionsPerRead
	}
	return list(ctx, q.run, "mentions", scanMention, sqlMentions, agentID, limit)
}

func (q queries) UnreadMentions(ctx context.Context, agentID string, recentMentions, limit int) ([]string, error) {
	if recentMentions <= 0 || recentMentions > maxMentionsPerRead {
		recentMentions = maxMentionsPerRead
	}
	return list(ctx, q.run, "unread mentions", func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, sqlUnreadMentions, agentID, recentMentions, limit)
}

func (t *txn) AddMention(ctx context.Context, m *store.Mention) error {
	if _, err := t.run.exec(ctx, sqlInsertMention, m.MessageSeq, m.AgentID, m.ConversationID, m.AuthorID, micros(m.CreatedAt)); err != nil {
		return writeErr(err, "insert mention")
	}
	return nil
}
