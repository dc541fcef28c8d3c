-- The agent console: inboxes and the routing rules that fill them, agents' read marks, and the
-- identity log of refused widget logins.

-- '' while the conversation is in no inbox. Not a foreign key: deleting an inbox clears it explicitly,
-- and SQLite cannot add a column that references another table with a non-NULL default.
ALTER TABLE conversations ADD COLUMN inbox_id TEXT NOT NULL DEFAULT '';
-- The console lists a workspace's conversations by status and assignee, and routing counts each
-- agent's open ones: this index serves both, and replaces the (workspace_id, status) one it extends.
DROP INDEX conversations_by_workspace;
CREATE INDEX conversations_by_workspace ON conversations (workspace_id, status, assignee_id);
-- The report counts conversations by the day they started.
CREATE INDEX conversations_by_workspace_created ON conversations (workspace_id, created_at);

CREATE TABLE inboxes (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
) STRICT;

CREATE TABLE inbox_members (
    inbox_id  TEXT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    agent_id  TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (inbox_id, agent_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX inbox_members_by_agent ON inbox_members (agent_id);

-- A workspace's rules are tried in position order; positions run 0, 1, 2… as the list was last saved.
CREATE TABLE routing_rules (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    level         TEXT NOT NULL CHECK (level IN ('', 'anonymous', 'identified', 'verified')),
    email_domain  TEXT NOT NULL DEFAULT '',
    inbox_id      TEXT NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX routing_rules_by_position ON routing_rules (workspace_id, position);
CREATE INDEX routing_rules_by_inbox ON routing_rules (inbox_id);

-- The newest message seq each agent has seen of a conversation.
CREATE TABLE agent_reads (
    agent_id         TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
) STRICT, WITHOUT ROWID;

-- Refused widget logins, trimmed to the newest few per workspace; never the token itself.
CREATE TABLE login_failures (
    seq           INTEGER PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    code          TEXT NOT NULL,
    message       TEXT NOT NULL,
    key_id        TEXT NOT NULL DEFAULT '',
    alg           TEXT NOT NULL DEFAULT '',
    at            INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_by_workspace ON login_failures (workspace_id, seq);
