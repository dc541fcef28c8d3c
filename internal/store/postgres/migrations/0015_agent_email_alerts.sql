-- Agents may opt in to an email when a conversation of their inboxes stays unread (off by default).
ALTER TABLE agent_prefs ADD COLUMN email_alerts boolean NOT NULL DEFAULT false;
