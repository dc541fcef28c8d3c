package chat

import (
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Cleanup keeps the tables that only grow bounded: widget sessions (every first-time visitor adds one),
// the used token ids of single-use login tokens, and agent sessions. It works in small batches, one
// transaction each, so it never holds the database for long; several instances may run it at once.
const (
	// CleanupBatch is how many rows one cleanup transaction changes at most.
	CleanupBatch = 500
	// endedSessionGrace is how long an ended session is kept before it is deleted, so that a request
	// that authenticated just before the end finishes with its row in place.
	endedSessionGrace = time.Hour
	// agentSessionRetention is how long an expired or revoked agent session is kept.
	agentSessionRetention = 24 * time.Hour
	// BlockRetention is how long the console keeps listing a block after it was lifted or expired; the
	// audit trail keeps block.created and block.lifted for good.
	BlockRetention = 90 * 24 * time.Hour
	// fullSweepEvery is how often the walk over ended sessions starts again from the beginning, in case
	// a session ended with a clock behind this instance's (see cleanupCursor).
	fullSweepEvery = 24 * time.Hour
)

// CleanupCounts say what one Cleanup pass did.
type CleanupCounts struct {
	ExpiredSessions int // live sessions that had expired and were ended (their sockets were told)
	DeletedSessions int // ended sessions deleted; those that started a conversation stay as its participant
	UsedJTIs        int // used token ids deleted once their tokens had expired
	AgentSessions   int // agent sessions deleted a day after they expired or were revoked
	AgentLinks      int // invitation and reset links deleted once expired (used or not)
	OIDCFlows       int // single sign-on flows deleted once expired (never completed)
	Blocks          int // blocks deleted BlockRetention after they were lifted or expired
	Attachments     int // uploads no message took, deleted with their bytes (see cleanupAttachments)
	Jobs            int // background jobs deleted JobRetention after they finished (done or dead)
	// WebhookDeliveries are delivery log rows deleted WebhookDeliveryRetention after their attempt.
	WebhookDeliveries int
	// RetentionJobs are the retention jobs this pass enqueued (one per workspace with a retention and
	// day, whichever instance comes first; see retention.go).
	RetentionJobs int
}

// JobRetention is how long a finished background job is kept: long enough for the console's delivery
// logs to show what happened, bounded so that the jobs table does not grow with every email.
const JobRetention = 7 * 24 * time.Hour

// cleanupCursor remembers how far the walk over ended sessions got, so that sessions kept for their
// conversations are looked at once rather than on every pass. It lives in memory: every instance walks
// everything once after it starts, then only what ended since.
type cleanupCursor struct {
	mu    sync.Mutex
	at    store.SessionCursor
	swept time.Time // when the walk last started from the beginning
}

// Cleanup runs one full pass: it ends expired sessions, deletes ended sessions nothing refers to, used
// token ids past their expiry, old agent sessions and blocks long over. It returns what it did, also when it stops early
// on an error or a cancelled ctx.
func (s *Service) Cleanup(ctx context.Context) (CleanupCounts, error) {
	var c CleanupCounts
	now := s.clock()
	workspaces, err := s.store.Workspaces(ctx)
	if err != nil {
		return c, err
	}
	for _, w := range workspaces {
		n, err := s.expireSessions(ctx, w, now)
		c.ExpiredSessions += n
		if err != nil {
			return c, err
		}
	}
	if c.RetentionJobs, err = s.scheduleRetention(ctx, workspaces, now); err != nil {
		return c, err
	}
	if c.DeletedSessions, err = s.deleteEndedSessions(ctx, now); err != nil {
		return c, err
	}
	if c.UsedJTIs, err = s.batches(ctx, func(tx store.Tx) (int, error) { return tx.DeleteUsedJTIs(ctx, now, CleanupBatch) }); err != nil {
		return c, err
	}
	if c.AgentSessions, err = s.batches(ctx, func(tx store.Tx) (int, error) {
		return tx.DeleteAgentSessions(ctx, now.Add(-agentSessionRetention), CleanupBatch)
	}); err != nil {
		return c, err
	}
	if c.OIDCFlows, err = s.batches(ctx, func(tx store.Tx) (int, error) { return tx.DeleteOIDCFlows(ctx, now, CleanupBatch) }); err != nil {
		return c, err
	}
	if c.AgentLinks, err = s.batches(ctx, func(tx store.Tx) (int, error) { return tx.DeleteAgentLinks(ctx, now, CleanupBatch) }); err != nil {
		return c, err
	}
	if c.Blocks, err = s.batches(ctx, func(tx store.Tx) (int, error) {
		return tx.DeleteEndedBlocks(ctx, now.Add(-BlockRetention), CleanupBatch)
	}); err != nil {
		return c, err
	}
	if c.Attachments, err = s.cleanupAttachments(ctx, now, CleanupBatch); err != nil {
		return c, err
	}
	if c.Jobs, err = s.batches(ctx, func(tx store.Tx) (int, error) {
		return tx.DeleteFinishedJobs(ctx, now.Add(-JobRetention), CleanupBatch)
	}); err != nil {
		return c, err
	}
	c.WebhookDeliveries, err = s.batches(ctx, func(tx store.Tx) (int, error) {
		return tx.DeleteWebhookDeliveries(ctx, now.Add(-WebhookDeliveryRetention), CleanupBatch)
	})
	return c, err
}

// expireSessions ends a workspace's expired live sessions, telling their sockets.
func (s *Service) expireSessions(ctx context.Context, w store.Workspace, now time.Time) (int, error) {
	st := w.Settings
	e := store.SessionExpiry{
		WorkspaceID:        w.ID,
		VerifiedSeenBefore: now.Add(-VerifiedIdleTimeout(st)),
		VerifiedBefore:     now.Add(-VerifiedLifetime(st)),
		VisitorSeenBefore:  now.Add(-VisitorIdleTimeout(st)),
	}
	total := 0
	for {
		var ids []string
		err := s.update(ctx, func(tx store.Tx, out *outbox) error {
			var err error
			if ids, err = tx.RevokeExpiredSessions(ctx, e, now, CleanupBatch); err != nil {
				return err
			}
			endSessions(out, ids, ReasonExpired)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(ids)
		if len(ids) < CleanupBatch {
			return total, nil
		}
	}
}

// deleteEndedSessions walks the sessions that ended at least endedSessionGrace ago, from where the
// previous pass stopped, deleting those no conversation refers to.
func (s *Service) deleteEndedSessions(ctx context.Context, now time.Time) (int, error) {
	cur := s.cursor
	cur.mu.Lock()
	defer cur.mu.Unlock()
	before := now.Add(-endedSessionGrace)
	// Start from the beginning now and then, and whenever the clock went back past the cursor: a
	// session that ended by a clock behind this one would otherwise sit before the cursor forever.
	if now.Sub(cur.swept) >= fullSweepEvery || cur.at.RevokedAt.After(before) {
		cur.at, cur.swept = store.SessionCursor{}, now
	}
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int
		var next store.SessionCursor
		err := s.store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, next, err = tx.DeleteEndedSessions(ctx, cur.at, before, CleanupBatch)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if next.ID == cur.at.ID && next.RevokedAt.Equal(cur.at.RevokedAt) {
			return total, nil
		}
		cur.at = next
	}
}

// batches runs a deleting batch until one deletes fewer rows than a full batch.
func (s *Service) batches(ctx context.Context, batch func(tx store.Tx) (int, error)) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int
		err := s.store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = batch(tx)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < CleanupBatch {
			return total, nil
		}
	}
}
