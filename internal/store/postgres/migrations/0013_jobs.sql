-- Jobs: background work (email, later webhooks and retention) kept in the database, so that it survives
-- restarts and several instances share it with nothing more to run (package jobs). A job is due when
-- state is 'pending' and run_at has come; claiming it moves run_at to the end of its lease, so a job
-- whose runner died becomes due again by itself once the lease has passed. lease names the claim: only
-- the runner holding it may finish or reschedule the job.
CREATE TABLE jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL,
    idempotency_key  text NOT NULL,
    payload          bytea NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    run_at           timestamptz NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    lease            text NOT NULL DEFAULT '',
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (kind, idempotency_key)
);
-- Runners find due jobs by time; finished ones never weigh on that search.
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';
-- Cleanup deletes finished jobs by age.
CREATE INDEX jobs_finished ON jobs (updated_at) WHERE state <> 'pending';
