-- Session lifetimes (issue 11). last_seen_at is a session's last recorded activity, for its idle timeout;
-- it is rewritten at most about once a minute. Existing sessions were last active when last updated.
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz;
UPDATE sessions SET last_seen_at = updated_at;
ALTER TABLE sessions ALTER COLUMN last_seen_at SET NOT NULL;

-- Cleanup finds a workspace's expired live sessions by level and last activity, verified ones also by
-- the time of their login (absolute lifetime); then it walks ended sessions in the order they ended.
CREATE INDEX sessions_live_by_seen ON sessions (workspace_id, level, last_seen_at) WHERE revoked_at IS NULL;
CREATE INDEX sessions_live_by_verified ON sessions (workspace_id, verified_at)
    WHERE revoked_at IS NULL AND level = 'verified';
CREATE INDEX sessions_ended ON sessions (revoked_at, id) WHERE revoked_at IS NOT NULL;
-- Whether any conversation references a session, adopted or not (conversations_by_session only holds
-- those no customer owns); deleting a session also checks its foreign key through this.
CREATE INDEX conversations_by_session_id ON conversations (session_id);

-- Agent sessions that expired or were revoked long enough ago are deleted.
CREATE INDEX agent_sessions_by_expiry ON agent_sessions (expires_at);
CREATE INDEX agent_sessions_ended ON agent_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
