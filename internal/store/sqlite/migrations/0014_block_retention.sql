-- Cleanup deletes blocks some time after they were lifted or expired (the audit trail keeps the record);
-- it finds them by when they ended, never by scanning the table.
CREATE INDEX blocks_lifted ON blocks (lifted_at) WHERE lifted_at IS NOT NULL;
CREATE INDEX blocks_by_expiry ON blocks (expires_at) WHERE expires_at IS NOT NULL;
