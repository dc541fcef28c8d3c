-- A workspace's retention setting deletes closed conversations some days after they closed; the job
-- finds them by when they closed, never by scanning the workspace's conversations.
CREATE INDEX conversations_closed ON conversations (workspace_id, closed_at) WHERE status = 'closed';
