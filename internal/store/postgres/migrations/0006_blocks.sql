-- Blocking abusers (issue 11). A session remembers the client address its messages last came from,
-- written with the message itself, so that an agent can block an unverified visitor by address too.
ALTER TABLE sessions ADD COLUMN client_addr text NOT NULL DEFAULT '';

-- A block stops a verified customer (customer_id), or an unverified visitor by session (session_id) and
-- client address (addr: an IPv4 address or an IPv6 /64). No foreign keys but the workspace's: a block
-- outlives the session it names, and its address block matters most after that session is gone.
CREATE TABLE blocks (
    id               text PRIMARY KEY,
    workspace_id     text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    customer_id      text,
    session_id       text,
    addr             text,
    conversation_id  text NOT NULL DEFAULT '',
    reason           text NOT NULL DEFAULT '',
    created_by       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz,
    lifted_at        timestamptz,
    lifted_by        text NOT NULL DEFAULT '',
    insert_order     bigint GENERATED ALWAYS AS IDENTITY,
    CHECK (customer_id IS NOT NULL OR session_id IS NOT NULL OR addr IS NOT NULL)
);
-- Every widget message looks its sender up in these: only blocks not lifted are indexed.
CREATE INDEX blocks_live_by_customer ON blocks (workspace_id, customer_id, created_at) WHERE lifted_at IS NULL;
CREATE INDEX blocks_live_by_session ON blocks (workspace_id, session_id, created_at) WHERE lifted_at IS NULL;
CREATE INDEX blocks_live_by_addr ON blocks (workspace_id, addr, created_at) WHERE lifted_at IS NULL;
CREATE INDEX blocks_by_workspace ON blocks (workspace_id, created_at);
