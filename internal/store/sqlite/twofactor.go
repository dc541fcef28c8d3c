package sqlite

import (
	"context"
	"fmt"
	"time"
)

// Two-factor sign-in (migration 0019): the last TOTP step accepted, and recovery codes.
const (
	sqlUseTOTPStep         = `UPDATE agents SET totp_last_step = ?1 WHERE id = ?2 AND totp_last_step < ?1`
	sqlDeleteRecoveryCodes = `DELETE FROM agent_recovery_codes WHERE agent_id = ?1`
	sqlInsertRecoveryCode  = `INSERT INTO agent_recovery_codes (agent_id, code_hash, created_at) VALUES (?1, ?2, ?3)`
	sqlUseRecoveryCode     = `UPDATE agent_recovery_codes SET used_at = ?1 WHERE agent_id = ?2 AND code_hash = ?3 AND used_at IS NULL`
	sqlRecoveryCodesLeft   = `SELECT count(*) FROM agent_recovery_codes WHERE agent_id = ?1 AND used_at IS NULL`
)

func twoFactorStatements() []string {
	return []string{sqlUseTOTPStep, sqlDeleteRecoveryCodes, sqlInsertRecoveryCode, sqlUseRecoveryCode, sqlRecoveryCodesLeft}
}

func (q queries) RecoveryCodesLeft(ctx context.Context, agentID string) (int, error) {
	var n int
	if err := q.run.queryRow(ctx, sqlRecoveryCodesLeft, agentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: recovery codes left: %w", err)
	}
	return n, nil
}

func (t *txn) UseTOTPStep(ctx context.Context, agentID string, step int64) (bool, error) {
	res, err := t.run.exec(ctx, sqlUseTOTPStep, step, agentID)
	if err != nil {
		return false, writeErr(err, "use totp step")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: use totp step: %w", err)
	}
	return n == 1, nil
}

func (t *txn) ReplaceRecoveryCodes(ctx context.Context, agentID string, hashes [][]byte, at time.Time) error {
	if _, err := t.run.exec(ctx, sqlDeleteRecoveryCodes, agentID); err != nil {
		return writeErr(err, "delete recovery codes")
	}
	for _, h := range hashes {
		if _, err := t.run.exec(ctx, sqlInsertRecoveryCode, agentID, h, micros(at)); err != nil {
			return writeErr(err, "insert recovery code")
		}
	}
	return nil
}

func (t *txn) UseRecoveryCode(ctx context.Context, agentID string, hash []byte, at time.Time) (bool, error) {
	res, err := t.run.exec(ctx, sqlUseRecoveryCode, micros(at), agentID, hash)
	if err != nil {
		return false, writeErr(err, "use recovery code")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: use recovery code: %w", err)
	}
	return n == 1, nil
}
