-- Canned responses (issue 12): saved replies an agent inserts from the reply box. A shared response
-- (owner_id NULL) belongs to the workspace and only administrators manage it; a personal one belongs to
-- one agent (owner_id), who alone sees and manages it. A shortcut is unique among the shared responses
-- of a workspace, and among the personal responses of an agent; a personal shortcut may equal a shared
-- one (package chat decides which the picker offers).
CREATE TABLE canned_responses (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    owner_id      TEXT REFERENCES agents(id) ON DELETE CASCADE,
    title         TEXT NOT NULL,
    shortcut      TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX canned_shared_shortcut ON canned_responses (workspace_id, shortcut) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX canned_personal_shortcut ON canned_responses (owner_id, shortcut) WHERE owner_id IS NOT NULL;
