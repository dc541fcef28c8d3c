package postgres

import (
	"context"
	"fmt"
	"time"
)

// Two-factor sign-in (migration 0016): the last TOTP step accepted, and recovery codes.
const (
	sqlUseTOTPStep         = `UPDATE agents SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`
	sqlDeleteRecoveryCodes = `DELETE FROM agent_recovery_codes WHERE agent_id = $1`
	sqlInsertRecoveryCode  = `INSERT INTO agent_recovery_codes (agent_id, code_hash, created_at) VALUES ($1, $2, $3)`
	sqlUseRecoveryCode     = `UPDATE agent_recovery_codes SET used_at = $1 WHERE agent_id = $2 AND code_hash = $3 AND used_at IS NULL`
	sqlRecoveryCodesLeft   = `SELECT count(*) FROM agent_recovery_codes WHERE agent_id = $1 AND used_at IS NULL`
)

func (q queries) RecoveryCodesLeft(ctx context.Context, agentID string) (int, error) {
	var n int
	if err := q.db.QueryRow(ctx, sqlRecoveryCodesLeft, agentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: recovery codes left: %w", err)
	}
	return n, nil
}

func (t *txn) UseTOTPStep(ctx context.Context, agentID string, step int64) (bool, error) {
	tag, err := t.db.Exec(ctx, sqlUseTOTPStep, step, agentID)
	if err != nil {
		return false, writeErr(err, "use totp step")
	}
	return tag.RowsAffected() == 1, nil
}

func (t *txn) ReplaceRecoveryCodes(ctx context.Context, agentID string, hashes [][]byte, at time.Time) error {
	if _, err := t.db.Exec(ctx, sqlDeleteRecoveryCodes, agentID); err != nil {
		return writeErr(err, "delete recovery codes")
	}
	for _, h := range hashes {
		if _, err := t.db.Exec(ctx, sqlInsertRecoveryCode, agentID, h, at); err != nil {
			return writeErr(err, "insert recovery code")
		}
	}
	return nil
}

func (t *txn) UseRecoveryCode(ctx context.Context, agentID string, hash []byte, at time.Time) (bool, error) {
	tag, err := t.db.Exec(ctx, sqlUseRecoveryCode, at, agentID, hash)
	if err != nil {
		return false, writeErr(err, "use recovery code")
	}
	return tag.RowsAffected() == 1, nil
}
