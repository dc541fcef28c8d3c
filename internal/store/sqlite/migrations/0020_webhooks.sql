-- Webhooks (issue 16): endpoints a workspace's admins register, and the log of each delivery attempt.
-- secret and previous_secret are sealed with the master key; previous_secret is kept until
-- previous_until after a rotation, and deliveries are signed with both meanwhile. events is a
-- comma-separated list of event types ('' for every type).
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    events          TEXT NOT NULL DEFAULT '',
    include_notes   INTEGER NOT NULL DEFAULT 0,
    secret          BLOB NOT NULL,
    previous_secret BLOB,
    previous_until  INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    disabled_at     INTEGER,
    failing_since   INTEGER
) STRICT;
CREATE INDEX webhook_endpoints_workspace ON webhook_endpoints (workspace_id, created_at);

-- One row per delivery attempt; rows older than the retention are deleted by the cleanup.
CREATE TABLE webhook_deliveries (
    id            INTEGER PRIMARY KEY,
    endpoint_id   TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    webhook_id    TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    duration_us   INTEGER NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    at            INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (at);
