-- Agents sign in like at a bank (issue 15): two-factor codes, sign-in links, single sign-on, console
-- sessions one can see and end, and an audit trail that cannot be rewritten.

-- totp_secret is sealed with the master key; totp_enabled_at is set once a first code confirmed the
-- enrolment; totp_last_step is the time step of the last code accepted, which no later code may reuse.
ALTER TABLE agents ADD COLUMN totp_secret bytea;
ALTER TABLE agents ADD COLUMN totp_enabled_at timestamptz;
ALTER TABLE agents ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN password_changed_at timestamptz;

-- Recovery codes: only their hashes, each usable once.
CREATE TABLE agent_recovery_codes (
    agent_id   text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (agent_id, code_hash)
);

-- Single-use links an admin hands out: an invitation (72 h) or a password reset (1 h).
CREATE TABLE agent_links (
    token_hash   bytea PRIMARY KEY,
    workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    agent_id     text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX agent_links_by_agent ON agent_links (agent_id, purpose);
CREATE INDEX agent_links_expired ON agent_links (expires_at);

-- Console sessions get a public id (to list and end them), a stage (a password accepted but a second
-- factor still owed), how they began, where from, and when last used (the idle timeout).
ALTER TABLE agent_sessions ADD COLUMN id text NOT NULL DEFAULT '';
ALTER TABLE agent_sessions ADD COLUMN stage text NOT NULL DEFAULT '';
ALTER TABLE agent_sessions ADD COLUMN method text NOT NULL DEFAULT 'password';
ALTER TABLE agent_sessions ADD COLUMN user_agent text NOT NULL DEFAULT '';
ALTER TABLE agent_sessions ADD COLUMN addr text NOT NULL DEFAULT '';
ALTER TABLE agent_sessions ADD COLUMN last_seen_at timestamptz;
UPDATE agent_sessions SET id = 'as_' || substr(md5(random()::text || encode(token_hash, 'hex')), 1, 24), last_seen_at = created_at;
CREATE UNIQUE INDEX agent_sessions_by_id ON agent_sessions (id);

-- Single sign-on flows in progress: state, nonce and PKCE verifier, each flow usable once.
CREATE TABLE oidc_flows (
    state_hash   bytea PRIMARY KEY,
    workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    nonce        text NOT NULL,
    verifier     text NOT NULL,
    next         text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX oidc_flows_expired ON oidc_flows (expires_at);

-- The audit trail is append-only: no statement may change or remove a row.
ALTER TABLE audit_events ADD COLUMN addr text NOT NULL DEFAULT '';
CREATE INDEX audit_events_by_action ON audit_events (workspace_id, action, seq);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events are append-only';
END $$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
