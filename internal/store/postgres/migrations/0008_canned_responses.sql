-- Canned responses (issue 12): saved replies an agent inserts from the reply box. A shared response
-- (owner_id NULL) belongs to the workspace and only administrators manage it; a personal one belongs to
-- one agent (owner_id), who alone sees and manages it. A shortcut is unique among the shared responses
-- of a workspace, and among the personal responses of an agent; a personal shortcut may equal a shared
-- one (package chat decides which the picker offers).
CREATE TABLE canned_responses (
    id            text PRIMARY KEY,
    workspace_id  text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    owner_id      text REFERENCES agents (id) ON DELETE CASCADE,
    title         text NOT NULL,
    shortcut      text NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX canned_shared_shortcut ON canned_responses (workspace_id, shortcut) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX canned_personal_shortcut ON canned_responses (owner_id, shortcut) WHERE owner_id IS NOT NULL;
