package postgres

import (
	"context"
	"fmt"
)

// sqlAuthEpoch reads the counter the triggers of migration 0021 bump: one primary-key row.
const sqlAuthEpoch = `SELECT n FROM auth_epoch WHERE id = 1`

func (q queries) AuthEpoch(ctx context.Context) (int64, error) {
	var n int64
	if err := q.db.QueryRow(ctx, sqlAuthEpoch).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: read auth epoch: %w", err)
	}
	return n, nil
}
