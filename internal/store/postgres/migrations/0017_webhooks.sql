-- Webhooks (issue 16): endpoints a workspace's admins register, and the log of each delivery attempt.
-- secret and previous_secret are sealed with the master key; previous_secret is kept until
-- previous_until after a rotation, and deliveries are signed with both meanwhile. events is a
-- comma-separated list of event types ('' for every type).
CREATE TABLE webhook_endpoints (
    id              text PRIMARY KEY,
    workspace_id    text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    url             text NOT NULL,
    events          text NOT NULL DEFAULT '',
    include_notes   boolean NOT NULL DEFAULT false,
    secret          bytea NOT NULL,
    previous_secret bytea,
    previous_until  timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    disabled_at     timestamptz,
    failing_since   timestamptz
);
CREATE INDEX webhook_endpoints_workspace ON webhook_endpoints (workspace_id, created_at);

-- One row per delivery attempt; rows older than the retention are deleted by the cleanup.
CREATE TABLE webhook_deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id   text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    webhook_id    text NOT NULL,
    event_type    text NOT NULL,
    attempt       integer NOT NULL,
    status        integer NOT NULL DEFAULT 0,
    duration_us   bigint NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries (at);
