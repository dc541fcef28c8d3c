package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Seen and read receipts (migration 0012).
const (
	sqlCustomerSeen = `SELECT n, seen_at FROM customer_seen WHERE conversation_id = ?1`
	sqlMarkSeen     = `INSERT INTO customer_seen (conversation_id, n, seen_at) VALUES (?1, ?2, ?3)
		ON CONFLICT (conversation_id) DO UPDATE SET n = excluded.n, seen_at = excluded.seen_at WHERE customer_seen.n < excluded.n`
	// The newest customer message at or before the furthest agent read mark, walking the conversation's
	// messages (n > 0, numbered in seq order) backwards from the newest on (conversation_id, n).
	sqlAgentsReadUpTo = `SELECT n FROM messages WHERE conversation_id = ?1 AND n > 0 AND sender = 'customer'
		AND seq <= (SELECT MAX(seq) FROM agent_reads WHERE conversation_id = ?1) ORDER BY n DESC LIMIT 1`
)

func seenStatements() []string {
	return []string{sqlCustomerSeen, sqlMarkSeen, sqlAgentsReadUpTo}
}

func (q queries) CustomerSeen(ctx context.Context, conversationID string) (store.Seen, error) {
	var n, at int64
	err := q.run.queryRow(ctx, sqlCustomerSeen, conversationID).Scan(&n, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Seen{}, nil
	}
	if err != nil {
		return store.Seen{}, fmt.Errorf("store: customer seen: %w", err)
	}
	return store.Seen{N: n, At: time.UnixMicro(at).UTC()}, nil
}

func (q queries) AgentsReadUpTo(ctx context.Context, conversationID string) (int64, error) {
	var n int64
	err := q.run.queryRow(ctx, sqlAgentsReadUpTo, conversationID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: agents read up to: %w", err)
	}
	return n, nil
}

func (t *txn) MarkCustomerSeen(ctx context.Context, conversationID string, n int64, at time.Time) (bool, error) {
	res, err := t.run.exec(ctx, sqlMarkSeen, conversationID, n, at.UnixMicro())
	if err != nil {
		return false, writeErr(err, "mark customer seen")
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: mark customer seen: %w", err)
	}
	return rows > 0, nil
}
