-- Custom identity provider: keys of every kind, API keys for the customers API, and the audit trail.

-- Signing keys of every kind share one table, so one kid names one key whatever its kind. secret holds
-- a value sealed with the master key (HMAC secrets, the server key's private key), or nothing.
ALTER TABLE signing_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'hmac' CHECK (kind IN ('hmac', 'public', 'jwks', 'server'));
ALTER TABLE signing_keys ADD COLUMN public_key TEXT NOT NULL DEFAULT '';
ALTER TABLE signing_keys ADD COLUMN jwks_url TEXT NOT NULL DEFAULT '';
ALTER TABLE signing_keys ADD COLUMN allow_private INTEGER NOT NULL DEFAULT 0 CHECK (allow_private IN (0, 1));

-- Only the SHA-256 of an API key is stored: keys are 256 random bits, so a slow hash would add nothing.
CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    scopes        TEXT NOT NULL,
    key_hash      BLOB NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    last_used_at  INTEGER
) STRICT;
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at);

CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    target        TEXT NOT NULL DEFAULT '',
    detail        TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_events_by_workspace ON audit_events (workspace_id, seq);
