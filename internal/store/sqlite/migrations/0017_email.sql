-- Email for customers who left (package chat decides who may receive what; package jobs sends).
-- customer_email: a verified customer's email state — unsubscribed (one click, RFC 8058) and when the
-- last email went, for the per-customer spacing. conversation_emailed: the newest message number of a
-- conversation already emailed, so that the next email carries only newer replies.
CREATE TABLE customer_email (
    customer_id      TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    opted_out_at     INTEGER,
    last_emailed_at  INTEGER
) STRICT;
CREATE TABLE conversation_emailed (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    n                INTEGER NOT NULL,
    at               INTEGER NOT NULL
) STRICT;
-- The delivery log: one row per email (per job), updated on every attempt. Admins read a workspace's
-- newest rows.
CREATE TABLE email_log (
    id            INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    job_key       TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    subject       TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL CHECK (state IN ('sent', 'retrying', 'failed', 'skipped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    reply         TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX email_log_recent ON email_log (workspace_id, id);
CREATE INDEX email_log_by_age ON email_log (updated_at);
