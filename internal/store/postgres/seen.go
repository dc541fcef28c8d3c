package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/store"
)

// Seen and read receipts (migration 0009).
const (
	sqlCustomerSeen = `SELECT n, seen_at FROM customer_seen WHERE conversation_id = $1`
	sqlMarkSeen     = `INSERT INTO customer_seen (conversation_id, n, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (conversation_id) DO UPDATE SET n = excluded.n, seen_at = excluded.seen_at WHERE customer_seen.n < excluded.n`
	// The newest customer message at or before the furthest agent read mark, walking the conversation's
	// messages backwards from there on (conversation_id, seq).
	sqlAgentsReadUpTo = `SELECT n FROM messages WHERE conversation_id = $1 AND sender = 'customer'
		AND seq <= (SELECT MAX(seq) FROM agent_reads WHERE conversation_id = $1) ORDER BY seq DESC LIMIT 1`
)

func (q queries) CustomerSeen(ctx context.Context, conversationID string) (store.Seen, error) {
	var s store.Seen
	err := q.db.QueryRow(ctx, sqlCustomerSeen, conversationID).Scan(&s.N, &s.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Seen{}, nil
	}
	if err != nil {
		return store.Seen{}, fmt.Errorf("store: customer seen: %w", err)
	}
	s.At = s.At.UTC()
	return s, nil
}

func (q queries) AgentsReadUpTo(ctx context.Context, conversationID string) (int64, error) {
	var n int64
	err := q.db.QueryRow(ctx, sqlAgentsReadUpTo, conversationID).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: agents read up to: %w", err)
	}
	return n, nil
}

func (t *txn) MarkCustomerSeen(ctx context.Context, conversationID string, n int64, at time.Time) (bool, error) {
	tag, err := t.db.Exec(ctx, sqlMarkSeen, conversationID, n, at)
	if err != nil {
		return false, writeErr(err, "mark customer seen")
	}
	return tag.RowsAffected() > 0, nil
}
