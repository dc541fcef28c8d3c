-- The authentication epoch, as SQLite's migration 0024 describes: one counter that every change able to
-- alter a widget session's authentication bumps, in the change's own transaction, by trigger.
CREATE TABLE auth_epoch (
    id  int PRIMARY KEY CHECK (id = 1),
    n   bigint NOT NULL
);
INSERT INTO auth_epoch (id, n) VALUES (1, 1);

CREATE FUNCTION auth_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_epoch SET n = n + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER auth_epoch_session_update AFTER UPDATE OF id, workspace_id, token_hash, level, customer_id,
    claimed_name, claimed_email, claimed_phone, key_id, verified_at, created_at, updated_at, revoked_at, key_source ON sessions
    FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_session_delete AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_workspace_update AFTER UPDATE OR DELETE ON workspaces
    FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_customer_email AFTER UPDATE OF email ON customers
    FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION auth_epoch_bump();
CREATE TRIGGER auth_epoch_customer_delete AFTER DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION auth_epoch_bump();
