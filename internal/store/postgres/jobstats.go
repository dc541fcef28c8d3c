package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parleyhq/parley/internal/store"
)

// The partial index jobs_due (run_at WHERE state = 'pending') serves this range.
const sqlJobQueueStats = `SELECT kind, count(*), min(run_at) FROM jobs
	WHERE state = 'pending' AND run_at <= $1 GROUP BY kind ORDER BY kind`

var _ store.JobQueueStatser = (*Store)(nil)

// JobQueueStats implements store.JobQueueStatser.
func (s *Store) JobQueueStats(ctx context.Context, now time.Time) ([]store.JobQueueStat, error) {
	rows, err := s.pool.Query(ctx, sqlJobQueueStats, now)
	if err != nil {
		return nil, fmt.Errorf("store: job queue stats: %w", err)
	}
	defer rows.Close()
	var out []store.JobQueueStat
	for rows.Next() {
		var st store.JobQueueStat
		if err := rows.Scan(&st.Kind, &st.Due, tz(&st.OldestRunAt)); err != nil {
			return nil, fmt.Errorf("store: job queue stats: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: job queue stats: %w", err)
	}
	return out, nil
}

// PoolStat returns the connection pool's statistics (metrics).
func (s *Store) PoolStat() *pgxpool.Stat { return s.pool.Stat() }
