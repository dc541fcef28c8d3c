-- Agents sign in with email and password, so an email names one agent in the whole installation.

CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email          TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    password_hash  TEXT NOT NULL,
    available      INTEGER NOT NULL DEFAULT 1 CHECK (available IN (0, 1)),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    disabled_at    INTEGER
) STRICT;
CREATE UNIQUE INDEX agents_by_email ON agents (email);
CREATE INDEX agents_by_workspace ON agents (workspace_id, created_at);

-- The agent console's cookie sessions: only the token's hash is stored.
CREATE TABLE agent_sessions (
    token_hash  BLOB PRIMARY KEY,
    agent_id    TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX agent_sessions_by_agent ON agent_sessions (agent_id);
