package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parleyhq/parley/internal/store"
)

// Jobs. Runners on several instances claim with FOR UPDATE SKIP LOCKED: a due job another runner is
// claiming is passed over, never waited for and never taken twice.

const (
	jobColumns   = `id, kind, idempotency_key, payload, state, run_at, attempts, max_attempts, lease, last_error, created_at, updated_at`
	sqlJob       = `SELECT ` + jobColumns + ` FROM jobs WHERE id = $1`
	sqlJobByKey  = `SELECT ` + jobColumns + ` FROM jobs WHERE kind = $1 AND idempotency_key = $2`
	sqlInsertJob = `INSERT INTO jobs (kind, idempotency_key, payload, state, run_at, attempts, max_attempts, created_at, updated_at)
		VALUES ($1, $2, $3, 'pending', $4, 0, $5, $6, $6) ON CONFLICT (kind, idempotency_key) DO NOTHING RETURNING id`
	// The claimed ids are read in a subquery turned into an array, so the update itself goes through the
	// primary key whatever the planner knows of the table.
	sqlClaimJobs = `UPDATE jobs SET run_at = $2, lease = $3, attempts = attempts + 1, updated_at = $1
		WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE state = 'pending' AND run_at <= $1 ORDER BY run_at, id LIMIT $4
			FOR UPDATE SKIP LOCKED))
		RETURNING ` + jobColumns
	sqlFinishJob = `UPDATE jobs SET state = 'done', lease = '', updated_at = $1 WHERE id = $2 AND lease = $3 AND state = 'pending'`
	sqlRetryJob  = `UPDATE jobs SET state = $1, run_at = $2, last_error = $3, lease = '', updated_at = $4
		WHERE id = $5 AND lease = $6 AND state = 'pending'`
	sqlDeleteFinishedJobs = `DELETE FROM jobs WHERE id = ANY(ARRAY(SELECT id FROM jobs
		WHERE state <> 'pending' AND updated_at <= $1 ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED))`
)

func scanJob(row pgx.Row) (store.Job, error) {
	var j store.Job
	err := row.Scan(&j.ID, &j.Kind, &j.Key, &j.Payload, &j.State, tz(&j.RunAt), &j.Attempts, &j.MaxAttempts, &j.Lease, &j.LastError,
		tz(&j.CreatedAt), tz(&j.UpdatedAt))
	return j, err
}

func (q queries) Job(ctx context.Context, id int64) (store.Job, error) {
	j, err := scanJob(q.db.QueryRow(ctx, sqlJob, id))
	if err != nil {
		return j, notFound(err, "job")
	}
	return j, nil
}

func (q queries) JobByKey(ctx context.Context, kind, key string) (store.Job, error) {
	j, err := scanJob(q.db.QueryRow(ctx, sqlJobByKey, kind, key))
	if err != nil {
		return j, notFound(err, "job by key")
	}
	return j, nil
}

func (t *txn) EnqueueJob(ctx context.Context, j *store.Job) (bool, error) {
	payload := j.Payload
	if payload == nil {
		payload = []byte{}
	}
	err := t.db.QueryRow(ctx, sqlInsertJob, j.Kind, j.Key, payload, ts(j.RunAt), j.MaxAttempts, ts(j.CreatedAt)).Scan(&j.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		old, err := t.JobByKey(ctx, j.Kind, j.Key)
		if err != nil {
			return false, err
		}
		j.ID = old.ID
		return false, nil
	}
	if err != nil {
		return false, writeErr(err, "enqueue job")
	}
	j.State, j.Attempts, j.UpdatedAt = store.JobPending, 0, j.CreatedAt
	return true, nil
}

func (t *txn) ClaimJobs(ctx context.Context, now, leaseUntil time.Time, lease string, limit int) ([]store.Job, error) {
	jobs, err := list(ctx, t.db, "claim jobs", scanJob, sqlClaimJobs, ts(now), ts(leaseUntil), lease, limit)
	if err != nil {
		return nil, err
	}
	// The update returns rows in no particular order: give them back in the order they were due. (Their
	// RunAt is now the lease's end, the same for all, so the id stands in for it.)
	slices.SortFunc(jobs, func(a, b store.Job) int { return cmp.Compare(a.ID, b.ID) })
	return jobs, nil
}

func (t *txn) FinishJob(ctx context.Context, id int64, lease string, at time.Time) error {
	tag, err := t.db.Exec(ctx, sqlFinishJob, ts(at), id, lease)
	return leaseHeld(tag, err, "finish job")
}

func (t *txn) RetryJob(ctx context.Context, id int64, lease string, runAt time.Time, lastError string, dead bool, at time.Time) error {
	state := store.JobPending
	if dead {
		state = store.JobDead
	}
	tag, err := t.db.Exec(ctx, sqlRetryJob, state, ts(runAt), lastError, ts(at), id, lease)
	return leaseHeld(tag, err, "retry job")
}

func (t *txn) DeleteFinishedJobs(ctx context.Context, before time.Time, limit int) (int, error) {
	tag, err := t.db.Exec(ctx, sqlDeleteFinishedJobs, ts(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete finished jobs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// leaseHeld turns an update that matched no job under the lease into ErrLeaseLost.
func leaseHeld(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return writeErr(err, what)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: %s: %w", what, store.ErrLeaseLost)
	}
	return nil
}
