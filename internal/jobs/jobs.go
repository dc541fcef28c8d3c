// Package jobs runs background work — email now, webhooks and retention later — from a table in
// Parley's own database, so that it survives restarts and several instances share it with nothing more
// to operate.
//
// Work is enqueued inside the transaction that causes it (Enqueue takes a store.Tx), so a job exists
// exactly when its cause committed. A Runner claims due jobs under a lease: the claim moves the job's
// run-at time to the lease's end, so the job of a runner that died (a crash, SIGKILL) becomes due again
// by itself once the lease has passed, and another runner takes it. Delivery is therefore at least once;
// each job carries an idempotency key, unique per kind, which the enqueuer derives from the effect it
// wants (the reply an email is about, the event a webhook carries), so enqueuing twice stores one job,
// and a handler that re-runs after a crash can make its effect single (the same Message-ID, the same
// webhook-id, a row keyed by it).
//
// A failing job is retried with exponential backoff and jitter, up to its kind's attempts; a handler
// returns Permanent(err) for failures that retrying cannot fix.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Defaults.
const (
	DefaultLease       = 5 * time.Minute
	DefaultPoll        = time.Second
	DefaultBatch       = 16
	DefaultConcurrency = 4
	DefaultMaxAttempts = 10
	// leaseMargin is kept between a handler's deadline and its lease's end, so that a handler that runs
	// out of time is stopped before another runner may take its job.
	leaseMargin = 10 * time.Second
	maxErrorLen = 1000
)

// Handler carries out one job. It must respect ctx (its deadline ends before the lease does). Returning
// nil finishes the job; an error retries it later, unless it is Permanent.
type Handler func(ctx context.Context, j store.Job) error

// Backoff spaces a kind's retries: Base before the second attempt, doubling each time, at most Max,
// each delay varied by ±20 % so that failures spread out instead of retrying in step.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// DefaultBackoff retries after 30 s, 1 min, 2 min, … up to an hour.
var defaultBackoff = Backoff{Base: 30 * time.Second, Max: time.Hour}

// Delay is the wait before the attempt after attempt (1 for the first), for a jitter draw r in [0, 1).
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	if b.Base <= 0 {
		b = defaultBackoff
	}
	d := float64(b.Base) * math.Pow(2, float64(max(attempt-1, 0)))
	if b.Max > 0 && d > float64(b.Max) {
		d = float64(b.Max)
	}
	return time.Duration(d * (0.8 + 0.4*r))
}

// Kind is how one kind of job runs.
type Kind struct {
	Handler Handler
	Backoff Backoff
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks a failure that retrying cannot fix (a recipient the mail server refuses, a payload that
// no longer makes sense): the job ends dead at once.
func Permanent(err error) error { return permanent{err} }

type later struct {
	at     time.Time
	reason string
}

func (l later) Error() string { return "postponed: " + l.reason }

// Later postpones a job to at without counting it as a failure (it still counts as an attempt): for work
// that must wait, such as an email that may not follow the previous one so soon.
func Later(at time.Time, reason string) error { return later{at, reason} }

// Job describes work to enqueue.
type Job struct {
	Kind string
	// Key is the idempotency key, unique within Kind: a second Enqueue with the same one changes nothing.
	Key string
	// Payload is marshalled to JSON.
	Payload any
	// RunAt is when the job becomes due; zero means now (the transaction's clock, as given).
	RunAt time.Time
	// MaxAttempts bounds the claims; zero means DefaultMaxAttempts.
	MaxAttempts int
}

// Enqueue stores a job inside the transaction that causes it, at now unless j.RunAt says later. It
// reports whether the job is new (false: one with the same kind and key exists, and is returned).
func Enqueue(ctx context.Context, tx store.Tx, j Job, now time.Time) (store.Job, bool, error) {
	if j.Kind == "" || j.Key == "" {
		return store.Job{}, false, errors.New("jobs: a job needs a kind and a key")
	}
	payload, err := json.Marshal(j.Payload)
	if err != nil {
		return store.Job{}, false, fmt.Errorf("jobs: encode %s payload: %w", j.Kind, err)
	}
	runAt := j.RunAt
	if runAt.IsZero() {
		runAt = now
	}
	attempts := j.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	sj := store.Job{Kind: j.Kind, Key: j.Key, Payload: payload, RunAt: runAt, MaxAttempts: attempts, CreatedAt: now}
	fresh, err := tx.EnqueueJob(ctx, &sj)
	return sj, fresh, err
}

// Config wires a Runner.
type Config struct {
	Store store.Store
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// Lease is how long a claimed job is the runner's; zero means DefaultLease. A handler gets until
	// shortly before its end.
	Lease time.Duration
	// Poll is how long the runner waits when nothing was due; zero means DefaultPoll.
	Poll time.Duration
	// Batch is how many jobs one claim takes; Concurrency how many run at once.
	Batch       int
	Concurrency int
	// Instance names the runner in leases and logs; empty means a random one.
	Instance string
	Logger   *slog.Logger
	// Jitter draws from [0, 1) for the backoff; nil means math/rand.
	Jitter func() float64
}

// Runner claims due jobs and runs them with their kind's handler.
type Runner struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.RWMutex
	kinds map[string]Kind
	wake  chan struct{}
}

// New returns a Runner; register kinds with Handle before Run.
func New(cfg Config) *Runner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Instance == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Instance = hex.EncodeToString(b)
	}
	if cfg.Jitter == nil {
		cfg.Jitter = mrand.Float64
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{cfg: cfg, log: log, kinds: map[string]Kind{}, wake: make(chan struct{}, 1)}
}

// Handle registers how jobs of a kind run.
func (r *Runner) Handle(kind string, k Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds[kind] = k
}

// Wake makes a waiting Run look for due jobs now rather than at its next poll (after enqueuing work that
// is due at once).
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run claims and runs due jobs until ctx ends. A full batch is followed at once by the next claim; an
// empty or partial one waits for the poll interval (or Wake).
func (r *Runner) Run(ctx context.Context) {
	for {
		n, err := r.RunOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.log.Warn("jobs: claiming failed; retrying", "err", err)
		}
		if n == r.cfg.Batch && err == nil {
			continue
		}
		t := time.NewTimer(r.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce claims one batch of due jobs, runs them (Concurrency at a time) and returns how many it ran.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	now := r.cfg.Now()
	lease := r.cfg.Instance + "-" + randomHex(6)
	var claimed []store.Job
	err := r.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var err error
		claimed, err = tx.ClaimJobs(ctx, now, now.Add(r.cfg.Lease), lease, r.cfg.Batch)
		return err
	})
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, j := range claimed {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r.run(ctx, j)
		})
	}
	wg.Wait()
	return len(claimed), nil
}

// run carries out one claimed job and records how it went.
func (r *Runner) run(ctx context.Context, j store.Job) {
	r.mu.RLock()
	k, ok := r.kinds[j.Kind]
	r.mu.RUnlock()
	var err error
	if !ok {
		// Perhaps an instance of a newer version enqueued it: retried like a failure, so that such an
		// instance can take it, and dead once out of attempts.
		err = fmt.Errorf("no handler for job kind %q on this instance", j.Kind)
	} else {
		// Measured on the real clock: the configured one may be a test's, far from now.
		hctx, cancel := context.WithTimeout(ctx, r.cfg.Lease-leaseMargin)
		err = safely(hctx, k.Handler, j)
		cancel()
	}
	if ctx.Err() != nil && err != nil {
		// The runner is stopping: leave the job to its lease, which makes it due again.
		return
	}
	// The outcome is written even if ctx ends now: a finished job must not run again.
	wctx := context.WithoutCancel(ctx)
	now := r.cfg.Now()
	if err == nil {
		if ferr := r.cfg.Store.Update(wctx, func(tx store.Tx) error { return tx.FinishJob(wctx, j.ID, j.Lease, now) }); ferr != nil {
			r.log.Warn("jobs: finished a job whose lease was lost (it may run again)", "kind", j.Kind, "key", j.Key, "err", ferr)
		}
		return
	}
	var perm permanent
	dead := errors.As(err, &perm) || j.Attempts >= j.MaxAttempts
	runAt := now.Add(k.Backoff.Delay(j.Attempts, r.cfg.Jitter()))
	var post later
	if errors.As(err, &post) {
		runAt, dead = post.at, j.Attempts >= j.MaxAttempts
	}
	msg := err.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen]
	}
	level := slog.LevelInfo
	if dead {
		level = slog.LevelWarn
	}
	r.log.Log(ctx, level, "jobs: a job failed", "kind", j.Kind, "key", j.Key, "attempt", j.Attempts, "dead", dead, "retry_at", runAt, "err", msg)
	if rerr := r.cfg.Store.Update(wctx, func(tx store.Tx) error {
		return tx.RetryJob(wctx, j.ID, j.Lease, runAt, msg, dead, now)
	}); rerr != nil {
		r.log.Warn("jobs: could not record a failure", "kind", j.Kind, "key", j.Key, "err", rerr)
	}
}

// safely runs a handler, turning a panic into an error so that one bad job cannot stop the runner.
func safely(ctx context.Context, h Handler, j store.Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return h(ctx, j)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
