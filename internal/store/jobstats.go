package store

import (
	"context"
	"time"
)

// JobQueueStat describes the jobs of one kind that are due and waiting for a runner, for monitoring.
type JobQueueStat struct {
	Kind string
	// Due counts the pending jobs whose run_at has come and that no runner holds (a claim moves run_at
	// to the end of its lease, so jobs being run are not due).
	Due int
	// OldestRunAt is the earliest run_at among them: how long the oldest has waited.
	OldestRunAt time.Time
}

// JobQueueStatser is implemented by both stores. It is not part of Reader: only the metrics collector
// asks, at scrape time, and it declares the interface it needs where it uses it.
type JobQueueStatser interface {
	// JobQueueStats returns, per kind with at least one due job, how many jobs are due at now and the
	// oldest run_at among them, ordered by kind. It reads the jobs_due index only: its cost grows with
	// the backlog, never with finished jobs.
	JobQueueStats(ctx context.Context, now time.Time) ([]JobQueueStat, error)
}
