-- Parley's schema on PostgreSQL: the SQLite store's four migrations in one, as no PostgreSQL database
-- predates this one. Times are timestamptz (microseconds, UTC); NULL means "never". Ids are opaque text
-- chosen by Parley; queries that order by an id add COLLATE "C" so every database sorts them the same.

CREATE TABLE workspaces (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Signing keys of every kind share one table, so one kid names one key whatever its kind. secret holds
-- a value sealed with the master key (HMAC secrets, the server key's private key), or nothing.
CREATE TABLE signing_keys (
    workspace_id   text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    kid            text NOT NULL,
    kind           text NOT NULL DEFAULT 'hmac' CHECK (kind IN ('hmac', 'public', 'jwks', 'server')),
    alg            text NOT NULL,
    secret         bytea NOT NULL,
    public_key     text NOT NULL DEFAULT '',
    jwks_url       text NOT NULL DEFAULT '',
    allow_private  boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    last_used_at   timestamptz,
    PRIMARY KEY (workspace_id, kid)
);

CREATE TABLE customers (
    id            text PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    external_id   text,
    email         text,
    name          text NOT NULL DEFAULT '',
    first_name    text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CHECK (external_id IS NOT NULL OR email IS NOT NULL)
);
-- A customer is keyed by external id when it has one, otherwise by canonical email.
CREATE UNIQUE INDEX customers_by_external_id ON customers (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX customers_by_email_key ON customers (workspace_id, email) WHERE external_id IS NULL;
CREATE INDEX customers_by_email ON customers (workspace_id, email);

CREATE TABLE sessions (
    id             text PRIMARY KEY,
    workspace_id   text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    token_hash     bytea NOT NULL UNIQUE,
    level          text NOT NULL CHECK (level IN ('anonymous', 'identified', 'verified')),
    customer_id    text REFERENCES customers (id),
    claimed_name   text NOT NULL DEFAULT '',
    claimed_email  text NOT NULL DEFAULT '',
    claimed_phone  text NOT NULL DEFAULT '',
    key_id         text NOT NULL DEFAULT '',
    verified_at    timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    CHECK ((level = 'verified') = (customer_id IS NOT NULL))
);
CREATE INDEX sessions_by_customer ON sessions (customer_id) WHERE revoked_at IS NULL;

CREATE TABLE conversations (
    id             text PRIMARY KEY,
    workspace_id   text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    customer_id    text REFERENCES customers (id),
    session_id     text NOT NULL REFERENCES sessions (id),
    status         text NOT NULL CHECK (status IN ('open', 'closed')),
    claimed_name   text NOT NULL DEFAULT '',
    claimed_email  text NOT NULL DEFAULT '',
    assignee_id    text NOT NULL DEFAULT '',
    -- '' while the conversation is in no inbox; deleting an inbox clears it explicitly.
    inbox_id       text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    closed_at      timestamptz,
    -- Breaks ties between conversations created at the same instant, newest inserted first, as SQLite's
    -- rowid does.
    insert_order   bigint GENERATED ALWAYS AS IDENTITY
);
-- A conversation's last message time is read from messages (the newest by seq), not stored here:
-- rewriting the conversation row on every message would add a row version to each append.
CREATE INDEX conversations_by_customer ON conversations (customer_id, created_at DESC, insert_order DESC)
    WHERE customer_id IS NOT NULL;
CREATE INDEX conversations_by_session ON conversations (session_id, created_at DESC, insert_order DESC)
    WHERE customer_id IS NULL;
-- The console lists a workspace's conversations by status and assignee, and routing counts each agent's
-- open ones; the report counts conversations by the day they started.
CREATE INDEX conversations_by_workspace ON conversations (workspace_id, status, assignee_id);
CREATE INDEX conversations_by_workspace_created ON conversations (workspace_id, created_at);

-- seq comes from one sequence for the whole table. Its CACHE must stay 1 (the default): with a larger
-- cache each connection would hand out numbers from its own block, out of time order. Appends lock their
-- conversation's row before taking a number, so within a conversation seq order is commit order.
CREATE TABLE messages (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id  text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender           text NOT NULL CHECK (sender IN ('customer', 'agent', 'system')),
    session_id       text,
    agent_id         text,
    body             text NOT NULL,
    trusted          boolean NOT NULL,
    client_id        text,
    created_at       timestamptz NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
CREATE UNIQUE INDEX messages_by_session_client_id ON messages (session_id, client_id)
    WHERE session_id IS NOT NULL AND client_id IS NOT NULL;
CREATE UNIQUE INDEX messages_by_agent_client_id ON messages (agent_id, client_id)
    WHERE agent_id IS NOT NULL AND client_id IS NOT NULL;

CREATE TABLE events (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id  text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    type             text NOT NULL,
    data             jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL
);
CREATE INDEX events_by_conversation ON events (conversation_id, seq);

CREATE TABLE used_jtis (
    workspace_id  text NOT NULL,
    jti           text NOT NULL,
    until         timestamptz NOT NULL,
    PRIMARY KEY (workspace_id, jti)
);
CREATE INDEX used_jtis_by_until ON used_jtis (until);

-- Agents sign in with email and password, so an email names one agent in the whole installation.
CREATE TABLE agents (
    id             text PRIMARY KEY,
    workspace_id   text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email          text NOT NULL,
    name           text NOT NULL,
    role           text NOT NULL CHECK (role IN ('agent', 'admin')),
    password_hash  text NOT NULL,
    available      boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    disabled_at    timestamptz
);
CREATE UNIQUE INDEX agents_by_email ON agents (email);
CREATE INDEX agents_by_workspace ON agents (workspace_id, created_at);

-- The agent console's cookie sessions: only the token's hash is stored.
CREATE TABLE agent_sessions (
    token_hash  bytea PRIMARY KEY,
    agent_id    text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX agent_sessions_by_agent ON agent_sessions (agent_id);

CREATE TABLE inboxes (
    id            text PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          text NOT NULL,
    created_at    timestamptz NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE inbox_members (
    inbox_id  text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    agent_id  text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, agent_id)
);
CREATE INDEX inbox_members_by_agent ON inbox_members (agent_id);

-- A workspace's rules are tried in position order; positions run 0, 1, 2… as the list was last saved.
CREATE TABLE routing_rules (
    id            text PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    level         text NOT NULL CHECK (level IN ('', 'anonymous', 'identified', 'verified')),
    email_domain  text NOT NULL DEFAULT '',
    inbox_id      text NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX routing_rules_by_position ON routing_rules (workspace_id, position);
CREATE INDEX routing_rules_by_inbox ON routing_rules (inbox_id);

-- The newest message seq each agent has seen of a conversation.
CREATE TABLE agent_reads (
    agent_id         text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    conversation_id  text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              bigint NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
);
CREATE INDEX agent_reads_by_conversation ON agent_reads (conversation_id);

-- Refused widget logins, trimmed to the newest few per workspace; never the token itself.
CREATE TABLE login_failures (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    code          text NOT NULL,
    message       text NOT NULL,
    key_id        text NOT NULL DEFAULT '',
    alg           text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL
);
CREATE INDEX login_failures_by_workspace ON login_failures (workspace_id, seq);

-- Only the SHA-256 of an API key is stored: keys are 256 random bits, so a slow hash would add nothing.
CREATE TABLE api_keys (
    id            text PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          text NOT NULL DEFAULT '',
    scopes        text[] NOT NULL,
    key_hash      bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at);

CREATE TABLE audit_events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL,
    actor         text NOT NULL,
    action        text NOT NULL,
    target        text NOT NULL DEFAULT '',
    detail        text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_workspace ON audit_events (workspace_id, seq);
