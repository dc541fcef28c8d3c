-- Attachments: files customers and agents send with messages. The record is written first (state
-- 'uploading'), its bytes next (blob_chunks, in small transactions as the upload streams), and it turns
-- 'ready' in a last transaction once the file was checked whole; only a ready attachment can be bound to
-- a message. A crash mid-upload leaves an uploading record and some chunks, which cleanup deletes; nothing
-- ever refers to bytes that do not exist.
CREATE TABLE attachments (
    id               text PRIMARY KEY,
    workspace_id     text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    session_id       text,
    agent_id         text,
    state            text NOT NULL CHECK (state IN ('uploading', 'ready')),
    storage_key      text NOT NULL,
    conversation_id  text REFERENCES conversations (id) ON DELETE CASCADE,
    message_seq      bigint REFERENCES messages (seq) ON DELETE CASCADE,
    position         integer NOT NULL DEFAULT 0,
    internal         boolean NOT NULL DEFAULT false,
    name             text NOT NULL,
    kind             text NOT NULL DEFAULT '',
    content_type     text NOT NULL DEFAULT '',
    size             bigint NOT NULL DEFAULT 0,
    width            integer NOT NULL DEFAULT 0,
    height           integer NOT NULL DEFAULT 0,
    sha256           bytea,
    created_at       timestamptz NOT NULL
);
-- A message's attachments, in order (message reads fill them in).
CREATE INDEX attachments_by_message ON attachments (message_seq, position) WHERE message_seq IS NOT NULL;
-- The customers API lists a conversation's attachments.
CREATE INDEX attachments_by_conversation ON attachments (conversation_id, message_seq) WHERE conversation_id IS NOT NULL;
-- Cleanup finds uploads no message took by age, never by scanning the table.
CREATE INDEX attachments_unbound ON attachments (created_at) WHERE message_seq IS NULL;
-- Settings shows a workspace's stored bytes.
CREATE INDEX attachments_by_workspace ON attachments (workspace_id) INCLUDE (size, state);

-- The bytes of stored objects (package files' database storage), in chunks of a fixed size.
CREATE TABLE blob_chunks (
    blob_key  text NOT NULL,
    n         integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (blob_key, n)
);

-- How many attachments a message carries, so that reading messages looks for them only when there are.
ALTER TABLE messages ADD COLUMN attachments integer NOT NULL DEFAULT 0;
-- Chunks are mostly compressed already (images, PDF, Office files): storing them uncompressed spares
-- PostgreSQL a compression attempt on every write.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
