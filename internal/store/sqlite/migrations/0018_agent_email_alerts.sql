-- Agents may opt in to an email when a conversation of their inboxes stays unread (off by default).
ALTER TABLE agent_prefs ADD COLUMN email_alerts INTEGER NOT NULL DEFAULT 0 CHECK (email_alerts IN (0, 1));
