package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/parleyhq/parley/internal/store"
)

// WatchStore registers what st can tell at scrape time: the job queue (store.JobQueueStatser) and its
// connections (PoolStat for PostgreSQL's pgx pool, Pools for database/sql handles, which the SQLite
// store has). now reads the clock the job runner uses; nil means time.Now.
func (m *Metrics) WatchStore(st any, now func() time.Time, log *slog.Logger) {
	if q, ok := st.(store.JobQueueStatser); ok {
		m.WatchJobs(q, now, log)
	}
	if p, ok := st.(interface{ PoolStat() *pgxpool.Stat }); ok {
		m.WatchPgxPool(p.PoolStat)
	}
	if p, ok := st.(interface{ Pools() map[string]*sql.DB }); ok {
		m.WatchSQLPools(p.Pools())
	}
}

// scrapeTimeout bounds the database query a scrape makes.
const scrapeTimeout = 5 * time.Second

// jobQueue reports the jobs due and waiting, per kind, asking the store at scrape time: the queue is
// shared by every instance, so each reports the same numbers (aggregate with max, not sum).
type jobQueue struct {
	store store.JobQueueStatser
	now   func() time.Time
	log   *slog.Logger

	queued *prometheus.Desc
	age    *prometheus.Desc
	up     *prometheus.Desc
}

// WatchJobs registers the job queue's depth and age, read from st at every scrape. now reads the
// clock the runner uses.
func (m *Metrics) WatchJobs(st store.JobQueueStatser, now func() time.Time, log *slog.Logger) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.reg.MustRegister(&jobQueue{
		store: st, now: now, log: log,
		queued: prometheus.NewDesc("parley_jobs_queued", "Background jobs due and waiting for a runner, by kind (the queue is shared: every instance reports it).", []string{"kind"}, nil),
		age:    prometheus.NewDesc("parley_jobs_oldest_age_seconds", "How long the oldest due job of each kind has waited past its run time.", []string{"kind"}, nil),
		up:     prometheus.NewDesc("parley_jobs_queue_scrape_ok", "1 if the job queue could be read at this scrape, else 0.", nil, nil),
	})
}

func (j *jobQueue) Describe(ch chan<- *prometheus.Desc) {
	ch <- j.queued
	ch <- j.age
	ch <- j.up
}

func (j *jobQueue) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	now := j.now()
	stats, err := j.store.JobQueueStats(ctx, now)
	if err != nil {
		j.log.Warn("metrics: cannot read the job queue", "err", err)
		ch <- prometheus.MustNewConstMetric(j.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(j.up, prometheus.GaugeValue, 1)
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(j.queued, prometheus.GaugeValue, float64(s.Due), s.Kind)
		ch <- prometheus.MustNewConstMetric(j.age, prometheus.GaugeValue, max(now.Sub(s.OldestRunAt), 0).Seconds(), s.Kind)
	}
}

// WatchSQLPools registers database/sql's connection statistics of each named handle (the SQLite
// store's writer and readers), labelled db_name.
func (m *Metrics) WatchSQLPools(pools map[string]*sql.DB) {
	for name, db := range pools {
		m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
}

// pgPool reports a pgx connection pool's use.
type pgPool struct {
	stat                              func() *pgxpool.Stat
	acquired, idle, total, max        *prometheus.Desc
	acquires, emptyAcquires, waitTime *prometheus.Desc
}

// WatchPgxPool registers the PostgreSQL store's connection pool statistics.
func (m *Metrics) WatchPgxPool(stat func() *pgxpool.Stat) {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	m.reg.MustRegister(&pgPool{
		stat:          stat,
		acquired:      d("parley_db_pool_acquired_connections", "PostgreSQL pool connections in use."),
		idle:          d("parley_db_pool_idle_connections", "PostgreSQL pool connections idle."),
		total:         d("parley_db_pool_connections", "PostgreSQL pool connections open (acquired, idle and being opened)."),
		max:           d("parley_db_pool_max_connections", "The PostgreSQL pool's size limit."),
		waitTime:      d("parley_db_pool_empty_acquire_wait_seconds_total", "Time spent waiting for a PostgreSQL pool connection when none was idle."),
		acquires:      d("parley_db_pool_acquires_total", "Connections acquired from the PostgreSQL pool."),
		emptyAcquires: d("parley_db_pool_empty_acquires_total", "Acquisitions that had to wait because no connection was idle."),
	})
}

func (p *pgPool) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.acquired, p.idle, p.total, p.max, p.acquires, p.emptyAcquires, p.waitTime} {
		ch <- d
	}
}

func (p *pgPool) Collect(ch chan<- prometheus.Metric) {
	s := p.stat()
	gauge := func(d *prometheus.Desc, v int32) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	gauge(p.acquired, s.AcquiredConns())
	gauge(p.idle, s.IdleConns())
	gauge(p.total, s.TotalConns())
	gauge(p.max, s.MaxConns())
	ch <- prometheus.MustNewConstMetric(p.acquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(p.emptyAcquires, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(p.waitTime, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds())
}
