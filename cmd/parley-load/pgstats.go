package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgStatsSettle is how long the tool waits before each reading of pg_stat_database. PostgreSQL 15
// backends publish their counters at most once a second while busy and within ten seconds once idle
// (PGSTAT_MIN_INTERVAL, PGSTAT_IDLE_INTERVAL); waiting a little longer than that lets every server
// connection publish the setup's reads before the first reading and the run's before the second.
const pgStatsSettle = 11 * time.Second

// dbReads is one reading of the database's row counters.
type dbReads struct {
	returned int64 // tup_returned: rows read by sequential scans plus index entries returned by index scans
	fetched  int64 // tup_fetched: live rows fetched by index scans
	// tables: rows of Parley's own tables read (pg_stat_user_tables: seq_tup_read + idx_tup_fetch), each
	// row once whether a scan or an index found it; the database-wide counters above also count the
	// system catalogs' rows that PostgreSQL reads for itself (connections, cache refills).
	tables int64
}

// readPGStats reads the counters of the database the URL names (the servers' database: the statistics
// count every connection to it, the tool's own reading included, which adds a handful of rows).
func readPGStats(ctx context.Context, url string) (dbReads, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return dbReads{}, fmt.Errorf("pg-stats: %w", err)
	}
	defer conn.Close(ctx)
	var r dbReads
	// pg_stat_clear_snapshot: a fresh view of the counters, not the transaction's cached one.
	if _, err := conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		return dbReads{}, fmt.Errorf("pg-stats: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT tup_returned, tup_fetched FROM pg_stat_database WHERE datname = current_database()`).
		Scan(&r.returned, &r.fetched)
	if err != nil {
		return dbReads{}, fmt.Errorf("pg-stats: %w", err)
	}
	err = conn.QueryRow(ctx, `SELECT COALESCE(SUM(COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)), 0)::bigint FROM pg_stat_user_tables`).
		Scan(&r.tables)
	if err != nil {
		return dbReads{}, fmt.Errorf("pg-stats: %w", err)
	}
	return r, nil
}

// pgStats measures rows read in the servers' database over the run, when -pg-stats names it.
type pgStats struct {
	url    string
	settle time.Duration
	before dbReads
}

// start takes the reading before the run, once the setup's counters are published.
func (p *pgStats) start(ctx context.Context) error {
	if p.url == "" {
		return nil
	}
	time.Sleep(p.settle)
	var err error
	p.before, err = readPGStats(ctx, p.url)
	return err
}

// report takes the reading after the run and prints the rows read per delivered message.
func (p *pgStats) report(ctx context.Context, out io.Writer, delivered int) error {
	if p.url == "" {
		return nil
	}
	time.Sleep(p.settle)
	after, err := readPGStats(ctx, p.url)
	if err != nil {
		return err
	}
	returned, fetched := after.returned-p.before.returned, after.fetched-p.before.fetched
	tables := after.tables - p.before.tables
	per := func(n int64) float64 { return float64(n) / float64(delivered) }
	fmt.Fprintf(out, "database rows read (pg_stat_database): tup_returned %d, tup_fetched %d; per delivered message: %.1f returned + %.1f fetched = %.1f\n",
		returned, fetched, per(returned), per(fetched), per(returned+fetched))
	fmt.Fprintf(out, "rows of Parley's tables read (pg_stat_user_tables seq_tup_read + idx_tup_fetch): %d; per delivered message: %.1f\n",
		tables, per(tables))
	return nil
}
