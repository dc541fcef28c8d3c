-- The authentication epoch: one counter that every change able to alter a widget session's
-- authentication bumps, in the change's own transaction (package chat caches authenticated sessions
-- under it, authcache.go). Triggers do the bumping so that no statement, present or future, and no
-- other process on the file (the CLI while serve runs) can forget to.
--
-- What authentication reads: the session row (every column SessionAndWorkspace returns; not
-- last_seen_at, which a use rewrites about once a minute and which the cache rechecks itself), its
-- workspace row, and, where the workspace allows only some email domains, the customer's email.
-- Inserts need no bump: a new row has a token hash no cached entry can carry.
CREATE TABLE auth_epoch (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    n   INTEGER NOT NULL
) STRICT;
INSERT INTO auth_epoch (id, n) VALUES (1, 1);

CREATE TRIGGER auth_epoch_session_update AFTER UPDATE OF id, workspace_id, token_hash, level, customer_id,
    claimed_name, claimed_email, claimed_phone, key_id, verified_at, created_at, updated_at, revoked_at, key_source ON sessions
BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER auth_epoch_session_delete AFTER DELETE ON sessions
BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;

CREATE TRIGGER auth_epoch_workspace_update AFTER UPDATE ON workspaces
BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER auth_epoch_workspace_delete AFTER DELETE ON workspaces
BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;

-- A login rewrites its customer's row (name, first verified time, …) with the same email: only a
-- changed email counts.
CREATE TRIGGER auth_epoch_customer_email AFTER UPDATE OF email ON customers WHEN OLD.email IS NOT NEW.email
BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER auth_epoch_customer_delete AFTER DELETE ON customers
BEGIN UPDATE auth_epoch SET n = n + 1 WHERE id = 1; END;
