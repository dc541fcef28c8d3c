-- Times are INTEGER microseconds since the Unix epoch (UTC); NULL means "never".

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kid           TEXT NOT NULL,
    alg           TEXT NOT NULL,
    secret        BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    last_used_at  INTEGER,
    PRIMARY KEY (workspace_id, kid)
) STRICT;

CREATE TABLE customers (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    external_id   TEXT,
    email         TEXT,
    name          TEXT NOT NULL DEFAULT '',
    first_name    TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CHECK (external_id IS NOT NULL OR email IS NOT NULL)
) STRICT;
-- A customer is keyed by external id when it has one, otherwise by canonical email.
CREATE UNIQUE INDEX customers_by_external_id ON customers (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX customers_by_email_key ON customers (workspace_id, email) WHERE external_id IS NULL;
CREATE INDEX customers_by_email ON customers (workspace_id, email);

CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    token_hash     BLOB NOT NULL UNIQUE,
    level          TEXT NOT NULL CHECK (level IN ('anonymous', 'identified', 'verified')),
    customer_id    TEXT REFERENCES customers(id),
    claimed_name   TEXT NOT NULL DEFAULT '',
    claimed_email  TEXT NOT NULL DEFAULT '',
    claimed_phone  TEXT NOT NULL DEFAULT '',
    key_id         TEXT NOT NULL DEFAULT '',
    verified_at    INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    revoked_at     INTEGER,
    CHECK ((level = 'verified') = (customer_id IS NOT NULL))
) STRICT;
CREATE INDEX sessions_by_customer ON sessions (customer_id) WHERE revoked_at IS NULL;

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    customer_id      TEXT REFERENCES customers(id),
    session_id       TEXT NOT NULL REFERENCES sessions(id),
    status           TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    claimed_name     TEXT NOT NULL DEFAULT '',
    claimed_email    TEXT NOT NULL DEFAULT '',
    assignee_id      TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    closed_at        INTEGER
) STRICT;
-- A conversation's last message time is read from messages (the newest by seq), not stored here:
-- rewriting the conversation row on every message would add a page write to each append.
CREATE INDEX conversations_by_customer ON conversations (customer_id, created_at) WHERE customer_id IS NOT NULL;
CREATE INDEX conversations_by_session ON conversations (session_id, created_at) WHERE customer_id IS NULL;
CREATE INDEX conversations_by_workspace ON conversations (workspace_id, status);

CREATE TABLE messages (
    seq              INTEGER PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    sender           TEXT NOT NULL CHECK (sender IN ('customer', 'agent', 'system')),
    session_id       TEXT,
    agent_id         TEXT,
    body             TEXT NOT NULL,
    trusted          INTEGER NOT NULL CHECK (trusted IN (0, 1)),
    client_id        TEXT,
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
CREATE UNIQUE INDEX messages_by_session_client_id ON messages (session_id, client_id)
    WHERE session_id IS NOT NULL AND client_id IS NOT NULL;
CREATE UNIQUE INDEX messages_by_agent_client_id ON messages (agent_id, client_id)
    WHERE agent_id IS NOT NULL AND client_id IS NOT NULL;

CREATE TABLE events (
    seq              INTEGER PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    type             TEXT NOT NULL,
    data             TEXT NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX events_by_conversation ON events (conversation_id, seq);

CREATE TABLE used_jtis (
    workspace_id  TEXT NOT NULL,
    jti           TEXT NOT NULL,
    until         INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, jti)
) STRICT, WITHOUT ROWID;
CREATE INDEX used_jtis_by_until ON used_jtis (until);
