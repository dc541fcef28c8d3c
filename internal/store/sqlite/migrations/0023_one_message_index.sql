-- A conversation's messages are found through one index, (conversation_id, n), instead of two: every
-- append wrote an entry in each, two pages of the commit that no other message shares. Queries in seq
-- order walk (conversation_id, n) instead: within a conversation, messages (n = 1, 2, …) are numbered
-- in seq order and internal notes (n = -1, -2, …) in reverse seq order, and every index entry carries
-- its row's seq (the rowid), so "after seq X" is "n above the last message at or before X, or below the
-- last note at or before X" (queries.go).
DROP INDEX messages_by_conversation;
