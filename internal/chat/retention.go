package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
)

// Retention: a workspace may keep closed conversations for a number of days only (Settings.RetentionDays).
// Cleanup, which every instance runs, enqueues one retention job per such workspace and day; the job
// runner gives it to one instance, which deletes the conversations in batches of RetentionBatch, one
// transaction each.

// JobPurgeClosed deletes a workspace's closed conversations past its retention.
const JobPurgeClosed = "retention.purge"

// MaxRetentionDays bounds the setting: ten years.
const MaxRetentionDays = 3650

// RetentionBatch is how many conversations one retention transaction deletes at most.
const RetentionBatch = 200

type retentionJob struct {
	WorkspaceID string `json:"workspace_id"`
}

// scheduleRetention enqueues today's retention job of every workspace that has a retention; the key
// names the workspace and the day, so the instances that all run cleanup enqueue it once.
func (s *Service) scheduleRetention(ctx context.Context, workspaces []store.Workspace, now time.Time) (int, error) {
	n := 0
	for _, w := range workspaces {
		if w.Settings.RetentionDays <= 0 {
			continue
		}
		var created bool
		err := s.store.Update(ctx, func(tx store.Tx) error {
			var err error
			_, created, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobPurgeClosed, Key: w.ID + ":" + now.UTC().Format(time.DateOnly),
				Payload: retentionJob{WorkspaceID: w.ID}, MaxAttempts: 5}, now)
			return err
		})
		if err != nil {
			return n, err
		}
		if created {
			n++
		}
	}
	return n, nil
}

// runRetention deletes the workspace's conversations closed more than its retention ago.
func (s *Service) runRetention(ctx context.Context, j store.Job) error {
	var p retentionJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	_, err := s.PurgeClosedConversations(ctx, p.WorkspaceID)
	if err != nil && ctx.Err() != nil {
		return jobs.Later(s.clock(), "deadline reached; the rest next time")
	}
	return err
}

// PurgeClosedConversations deletes, now, the workspace's conversations closed more than its retention
// ago, with the anonymous visitors' sessions and files that go with them, and returns how many
// conversations it deleted. A workspace without a retention keeps everything.
func (s *Service) PurgeClosedConversations(ctx context.Context, workspaceID string) (int, error) {
	w, err := s.store.Workspace(ctx, workspaceID)
	if isNotFound(err) {
		return 0, nil
	}
	if err != nil || w.Settings.RetentionDays <= 0 {
		return 0, err
	}
	before := s.clock().Add(-time.Duration(w.Settings.RetentionDays) * 24 * time.Hour)
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var got store.PurgedConversations
		err := s.update(ctx, func(tx store.Tx, out *outbox) error {
			var err error
			got, err = tx.DeleteClosedConversations(ctx, workspaceID, before, RetentionBatch)
			endSessions(out, got.Sessions, ReasonExpired)
			return err
		})
		if err != nil {
			return total, err
		}
		total += got.Conversations
		for _, key := range got.StorageKeys {
			if err := s.files.Delete(ctx, key); err != nil {
				s.log.Error("retention: delete attachment bytes", "workspace", workspaceID, "err", err)
			}
		}
		if got.Conversations < RetentionBatch {
			return total, nil
		}
	}
}
