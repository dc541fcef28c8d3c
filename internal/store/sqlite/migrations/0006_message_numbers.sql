-- Messages get a number within their conversation (1, 2, 3… in commit order), which their public id
-- carries instead of the installation-wide seq: the gap between two seqs told a visitor how many
-- messages every other workspace had written meanwhile. Existing messages are numbered in seq order,
-- which within a conversation is commit order.
ALTER TABLE messages ADD COLUMN n INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET n = numbered.n
    FROM (SELECT seq, row_number() OVER (PARTITION BY conversation_id ORDER BY seq) AS n FROM messages) AS numbered
    WHERE messages.seq = numbered.seq;
-- Appends take MAX(n) + 1 through it, and ?after= walks it.
CREATE UNIQUE INDEX messages_by_conversation_number ON messages (conversation_id, n);
