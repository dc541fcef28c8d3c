-- Each agent's alert preferences, kept on the server so they follow the agent to every browser. An
-- agent without a row has both on. A transfer needs no table: it is a timeline event.
CREATE TABLE agent_prefs (
    agent_id       text PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    sound          boolean NOT NULL,
    notifications  boolean NOT NULL,
    updated_at     timestamptz NOT NULL
);
