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
	// maxMentionsPerRead caps one read of an agent's mentions.
	maxMentionsPerRead = 1000
)

func noteStatements() []string {
	return []string{sqlMentions, sqlInsertMention}
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

func (t *txn) AddMention(ctx context.Context, m *store.Mention) error {
	if _, err := t.run.exec(ctx, sqlInsertMention, m.MessageSeq, m.AgentID, m.ConversationID, m.AuthorID, micros(m.CreatedAt)); err != nil {
		return writeErr(err, "insert mention")
	}
	return nil
}
