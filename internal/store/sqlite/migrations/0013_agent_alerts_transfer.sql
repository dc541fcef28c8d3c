-- Each agent's alert preferences, kept on the server so they follow the agent to every browser. An
-- agent without a row has both on. A transfer needs no table: it is a timeline event.
CREATE TABLE agent_prefs (
    agent_id       TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
    sound          INTEGER NOT NULL CHECK (sound IN (0, 1)),
    notifications  INTEGER NOT NULL CHECK (notifications IN (0, 1)),
    updated_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
