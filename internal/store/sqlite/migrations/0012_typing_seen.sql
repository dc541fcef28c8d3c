-- How far the customer has read each conversation: the number (messages.n) of the newest agent message
-- the widget showed them, and when. Monotonic: a mark never moves back. Typing writes nothing.
CREATE TABLE customer_seen (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    n                INTEGER NOT NULL,
    seen_at          INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
-- The widget's "Read" looks up every agent's read mark of one conversation.
CREATE INDEX agent_reads_by_conversation ON agent_reads (conversation_id);
