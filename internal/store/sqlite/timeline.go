package sqlite

import (
	"context"
	"math"

	"github.com/parleyhq/parley/internal/store"
)

// A conversation's timeline read a page at a time, from either end: the console shows the newest page
// of a long conversation and loads older ones on request. Each query walks a conversation's index from
// its bound and stops after limit rows.

const (
	// Messages before a seq walk (conversation_id, n) from the newest entries down (messages) and from
	// the newest notes up, skipping the entries at or after the bound inside the index: an earlier page
	// reads the entries after it too, in the index only (each entry carries its seq).
	sqlMessagesBefore = `SELECT ` + messageColumns + ` FROM (
		SELECT ` + messageColumns + ` FROM (SELECT ` + messageColumns + ` FROM messages
			WHERE conversation_id = ?1 AND n > 0 AND seq < ?2 ORDER BY n DESC LIMIT ?3)
		UNION ALL
		SELECT ` + messageColumns + ` FROM (SELECT ` + messageColumns + ` FROM messages
			WHERE conversation_id = ?1 AND n < 0 AND seq < ?2 ORDER BY n LIMIT ?3)
		ORDER BY seq DESC LIMIT ?3) ORDER BY seq`
	eventColumns    = `seq, conversation_id, type, data, created_at`
	sqlEventsAfter  = `SELECT ` + eventColumns + ` FROM events WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`
	sqlEventsBefore = `SELECT ` + eventColumns + ` FROM (SELECT ` + eventColumns + ` FROM events
		WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`
)

// beforeBound reads the "no bound" of a before query (0) as the highest seq.
func beforeBound(seq int64) int64 {
	if seq <= 0 {
		return math.MaxInt64
	}
	return seq
}

func pageLimit(limit int) int {
	if limit <= 0 || limit > maxMessagesPerRead {
		return maxMessagesPerRead
	}
	return limit
}

func (q queries) MessagesBefore(ctx context.Context, conversationID string, beforeSeq int64, limit int) ([]store.Message, error) {
	return q.withAttachments(ctx)(list(ctx, q.run, "messages before", scanMessage, sqlMessagesBefore, conversationID, beforeBound(beforeSeq), pageLimit(limit)))
}

func (q queries) EventsAfter(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]store.Event, error) {
	return list(ctx, q.run, "events after", scanEvent, sqlEventsAfter, conversationID, afterSeq, pageLimit(limit))
}

func (q queries) EventsBefore(ctx context.Context, conversationID string, beforeSeq int64, limit int) ([]store.Event, error) {
	return list(ctx, q.run, "events before", scanEvent, sqlEventsBefore, conversationID, beforeBound(beforeSeq), pageLimit(limit))
}
