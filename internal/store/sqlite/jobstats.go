package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

const sqlJobQueueStats = `SELECT kind, count(*), min(run_at) FROM jobs INDEXED BY jobs_due
	WHERE state = 'pending' AND run_at <= ? GROUP BY kind ORDER BY kind`

var _ store.JobQueueStatser = (*DB)(nil)

// JobQueueStats implements store.JobQueueStatser.
func (d *DB) JobQueueStats(ctx context.Context, now time.Time) ([]store.JobQueueStat, error) {
	rows, err := d.run.query(ctx, sqlJobQueueStats, micros(now))
	if err != nil {
		return nil, fmt.Errorf("store: job queue stats: %w", err)
	}
	defer rows.Close()
	var out []store.JobQueueStat
	for rows.Next() {
		var s store.JobQueueStat
		var oldest sql.NullInt64
		if err := rows.Scan(&s.Kind, &s.Due, &oldest); err != nil {
			return nil, fmt.Errorf("store: job queue stats: %w", err)
		}
		s.OldestRunAt = fromMicros(oldest)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: job queue stats: %w", err)
	}
	return out, nil
}

// Pools returns the database handles, named, for their connection statistics (metrics): one writer
// connection and a pool of readers.
func (d *DB) Pools() map[string]*sql.DB {
	return map[string]*sql.DB{"writer": d.writer, "reader": d.reader}
}
