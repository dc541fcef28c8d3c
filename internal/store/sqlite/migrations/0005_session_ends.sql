-- Sessions end with what vouched for them: key_source names the stored key whose revocation ends the
-- session (the kid of an HMAC, public or server key; the id of a JWKS source). Sessions verified before
-- this column existed take their kid, which is right for every kind but JWKS.
ALTER TABLE sessions ADD COLUMN key_source TEXT NOT NULL DEFAULT '';
UPDATE sessions SET key_source = key_id WHERE level = 'verified';
CREATE INDEX sessions_live_by_key ON sessions (workspace_id, key_source) WHERE revoked_at IS NULL;

-- A customer's logout from every device: login tokens issued at or before it are refused.
ALTER TABLE customers ADD COLUMN logged_out_at INTEGER;
