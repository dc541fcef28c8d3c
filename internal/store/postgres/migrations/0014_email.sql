-- Email for customers who left (package chat decides who may receive what; package jobs sends).
-- customer_email: a verified customer's email state — unsubscribed (one click, RFC 8058) and when the
-- last email went, for the per-customer spacing. conversation_emailed: the newest message number of a
-- conversation already emailed, so that the next email carries only newer replies.
CREATE TABLE customer_email (
    customer_id      text PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    opted_out_at     timestamptz,
    last_emailed_at  timestamptz
);
CREATE TABLE conversation_emailed (
    conversation_id  text PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    n                bigint NOT NULL,
    at               timestamptz NOT NULL
);
-- The delivery log: one row per email (per job), updated on every attempt. Admins read a workspace's
-- newest rows.
CREATE TABLE email_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    job_key       text NOT NULL UNIQUE,
    kind          text NOT NULL,
    recipient     text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    state         text NOT NULL CHECK (state IN ('sent', 'retrying', 'failed', 'skipped')),
    attempts      integer NOT NULL DEFAULT 0,
    reply         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX email_log_recent ON email_log (workspace_id, id);
CREATE INDEX email_log_by_age ON email_log (updated_at);
