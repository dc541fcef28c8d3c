-- Agents sign in like at a bank (issue 15): two-factor codes, sign-in links, single sign-on, console
-- sessions one can see and end, and an audit trail that cannot be rewritten.

-- totp_secret is sealed with the master key; totp_enabled_at is set once a first code confirmed the
-- enrolment; totp_last_step is the time step of the last code accepted, which no later code may reuse.
ALTER TABLE agents ADD COLUMN totp_secret BLOB;
ALTER TABLE agents ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE agents ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN password_changed_at INTEGER;

-- Recovery codes: only their hashes, each usable once.
CREATE TABLE agent_recovery_codes (
    agent_id   TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (agent_id, code_hash)
) STRICT, WITHOUT ROWID;

-- Single-use links an admin hands out: an invitation (72 h) or a password reset (1 h).
CREATE TABLE agent_links (
    token_hash   BLOB PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    agent_id     TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    purpose      TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX agent_links_by_agent ON agent_links (agent_id, purpose);
CREATE INDEX agent_links_expired ON agent_links (expires_at);

-- Console sessions get a public id (to list and end them), a stage (a password accepted but a second
-- factor still owed), how they began, where from, and when last used (the idle timeout).
ALTER TABLE agent_sessions ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_sessions ADD COLUMN stage TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
ALTER TABLE agent_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_sessions ADD COLUMN addr TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_sessions ADD COLUMN last_seen_at INTEGER;
UPDATE agent_sessions SET id = 'as_' || lower(hex(randomblob(12))), last_seen_at = created_at;
CREATE UNIQUE INDEX agent_sessions_by_id ON agent_sessions (id);

-- Single sign-on flows in progress: state, nonce and PKCE verifier, each flow usable once.
CREATE TABLE oidc_flows (
    state_hash   BLOB PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    next         TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX oidc_flows_expired ON oidc_flows (expires_at);

-- The audit trail is append-only: no statement may change or remove a row.
ALTER TABLE audit_events ADD COLUMN addr TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_by_action ON audit_events (workspace_id, action, seq);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events are append-only'); END;
