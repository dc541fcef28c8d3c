-- How far the customer has read each conversation: the number (messages.n) of the newest agent message
-- the widget showed them, and when. Monotonic: a mark never moves back. Typing writes nothing.
CREATE TABLE customer_seen (
    conversation_id  text PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    n                bigint NOT NULL,
    seen_at          timestamptz NOT NULL
);
