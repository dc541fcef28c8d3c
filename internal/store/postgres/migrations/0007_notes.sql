-- Internal notes: messages agents write for each other, never shown to the customer (package chat,
-- CustomerVisible). They are numbered apart, -1, -2, … within their conversation, so the customer's
-- message numbers (1, 2, 3…, their public ids) stay dense and tell nothing of the notes between them.
ALTER TABLE messages ADD COLUMN internal boolean NOT NULL DEFAULT false;

-- Mentions: an agent named with @ in a note. The mentioned agent's Mentions view reads them newest
-- first (mentions_by_agent).
CREATE TABLE mentions (
    message_seq      bigint NOT NULL REFERENCES messages (seq) ON DELETE CASCADE,
    agent_id         text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    conversation_id  text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id        text NOT NULL,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (message_seq, agent_id)
);
CREATE INDEX mentions_by_agent ON mentions (agent_id, message_seq);
