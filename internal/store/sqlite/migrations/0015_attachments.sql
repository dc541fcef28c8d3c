-- Attachments: files customers and agents send with messages. The record is written first (state
-- 'uploading'), its bytes next (blob_chunks, in small transactions as the upload streams), and it turns
-- 'ready' in a last transaction once the file was checked whole; only a ready attachment can be bound to
-- a message. A crash mid-upload leaves an uploading record and some chunks, which cleanup deletes; nothing
-- ever refers to bytes that do not exist.
CREATE TABLE attachments (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    session_id       TEXT,
    agent_id         TEXT,
    state            TEXT NOT NULL CHECK (state IN ('uploading', 'ready')),
    storage_key      TEXT NOT NULL,
    conversation_id  TEXT REFERENCES conversations(id) ON DELETE CASCADE,
    message_seq      INTEGER REFERENCES messages(seq) ON DELETE CASCADE,
    position         INTEGER NOT NULL DEFAULT 0,
    internal         INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL DEFAULT '',
    content_type     TEXT NOT NULL DEFAULT '',
    size             INTEGER NOT NULL DEFAULT 0,
    width            INTEGER NOT NULL DEFAULT 0,
    height           INTEGER NOT NULL DEFAULT 0,
    sha256           BLOB,
    created_at       INTEGER NOT NULL
) STRICT;
-- A message's attachments, in order (message reads fill them in).
CREATE INDEX attachments_by_message ON attachments (message_seq, position) WHERE message_seq IS NOT NULL;
-- The customers API lists a conversation's attachments.
CREATE INDEX attachments_by_conversation ON attachments (conversation_id, message_seq) WHERE conversation_id IS NOT NULL;
-- Cleanup finds uploads no message took by age, never by scanning the table.
CREATE INDEX attachments_unbound ON attachments (created_at) WHERE message_seq IS NULL;
-- Settings shows a workspace's stored bytes.
CREATE INDEX attachments_by_workspace ON attachments (workspace_id, size);

-- The bytes of stored objects (package files' database storage), in chunks of a fixed size.
CREATE TABLE blob_chunks (
    blob_key  TEXT NOT NULL,
    n         INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (blob_key, n)
) STRICT;

-- How many attachments a message carries, so that reading messages looks for them only when there are.
ALTER TABLE messages ADD COLUMN attachments INTEGER NOT NULL DEFAULT 0;
