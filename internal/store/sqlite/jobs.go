package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Jobs. SQLite has one writer, so a claim (select then update, in the writer's transaction) can never
// race another: a runner in this process is the only one.

const (
	jobColumns   = `id, kind, idempotency_key, payload, state, run_at, attempts, max_attempts, lease, last_error, created_at, updated_at`
	sqlJob       = `SELECT ` + jobColumns + ` FROM jobs WHERE id = ?`
	sqlJobByKey  = `SELECT ` + jobColumns + ` FROM jobs WHERE kind = ? AND idempotency_key = ?`
	sqlInsertJob = `INSERT INTO jobs (kind, idempotency_key, payload, state, run_at, attempts, max_attempts, created_at, updated_at)
		VALUES (?, ?, ?, 'pending', ?, 0, ?, ?, ?) ON CONFLICT (kind, idempotency_key) DO NOTHING RETURNING id`
	sqlDueJobs  = `SELECT id FROM jobs INDEXED BY jobs_due WHERE state = 'pending' AND run_at <= ? ORDER BY run_at, id LIMIT ?`
	sqlClaimJob = `UPDATE jobs SET run_at = ?, lease = ?, attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = 'pending'
		RETURNING ` + jobColumns
	sqlFinishJob = `UPDATE jobs SET state = 'done', lease = '', updated_at = ? WHERE id = ? AND lease = ? AND state = 'pending'`
	sqlRetryJob  = `UPDATE jobs SET state = ?, run_at = ?, last_error = ?, lease = '', updated_at = ?
		WHERE id = ? AND lease = ? AND state = 'pending'`
	sqlDeleteFinishedJobs = `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_finished
		WHERE state <> 'pending' AND updated_at <= ? LIMIT ?)`
)

func jobStatements() []string { return []string{sqlJob, sqlJobByKey} }

func scanJob(s scanner) (store.Job, error) {
	var j store.Job
	var runAt, created, updated sql.NullInt64
	err := s.Scan(&j.ID, &j.Kind, &j.Key, &j.Payload, &j.State, &runAt, &j.Attempts, &j.MaxAttempts, &j.Lease, &j.LastError, &created, &updated)
	j.RunAt, j.CreatedAt, j.UpdatedAt = fromMicros(runAt), fromMicros(created), fromMicros(updated)
	return j, err
}

func (q queries) Job(ctx context.Context, id int64) (store.Job, error) {
	j, err := scanJob(q.run.queryRow(ctx, sqlJob, id))
	if err != nil {
		return j, notFound(err, "job")
	}
	return j, nil
}

func (q queries) JobByKey(ctx context.Context, kind, key string) (store.Job, error) {
	j, err := scanJob(q.run.queryRow(ctx, sqlJobByKey, kind, key))
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
	err := t.run.queryRow(ctx, sqlInsertJob, j.Kind, j.Key, payload, micros(j.RunAt), j.MaxAttempts, micros(j.CreatedAt), micros(j.CreatedAt)).Scan(&j.ID)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := t.run.query(ctx, sqlDueJobs, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due jobs: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: due jobs: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: due jobs: %w", err)
	}
	jobs := make([]store.Job, 0, len(ids))
	for _, id := range ids {
		j, err := scanJob(t.run.queryRow(ctx, sqlClaimJob, micros(leaseUntil), lease, micros(now), id))
		if err != nil {
			return nil, writeErr(err, "claim job")
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func (t *txn) FinishJob(ctx context.Context, id int64, lease string, at time.Time) error {
	res, err := t.run.exec(ctx, sqlFinishJob, micros(at), id, lease)
	return leaseHeld(res, err, "finish job")
}

func (t *txn) RetryJob(ctx context.Context, id int64, lease string, runAt time.Time, lastError string, dead bool, at time.Time) error {
	state := store.JobPending
	if dead {
		state = store.JobDead
	}
	res, err := t.run.exec(ctx, sqlRetryJob, state, micros(runAt), lastError, micros(at), id, lease)
	return leaseHeld(res, err, "retry job")
}

func (t *txn) DeleteFinishedJobs(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.run.exec(ctx, sqlDeleteFinishedJobs, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete finished jobs: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// leaseHeld turns an update that matched no job under the lease into ErrLeaseLost.
func leaseHeld(res sql.Result, err error, what string) error {
	if err != nil {
		return writeErr(err, what)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	} else if n == 0 {
		return fmt.Errorf("store: %s: %w", what, store.ErrLeaseLost)
	}
	return nil
}
