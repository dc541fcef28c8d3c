package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// clock is a test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)} }

func enqueue(t *testing.T, st store.Store, now time.Time, j jobs.Job) store.Job {
	t.Helper()
	var sj store.Job
	if err := st.Update(t.Context(), func(tx store.Tx) error {
		var err error
		sj, _, err = jobs.Enqueue(t.Context(), tx, j, now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return sj
}

func job(t *testing.T, st store.Store, id int64) store.Job {
	t.Helper()
	j, err := st.Job(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// A failing job is retried after Base, 2×Base, 4×Base… (±20 % jitter), capped at Max; it ends dead after
// its last attempt, or at once for a permanent failure. Checked against a test clock with the jitter
// pinned at both ends of its range.
func TestBackoff(t *testing.T) {
	for _, r := range []float64{0, 0.999999} {
		t.Run(fmt.Sprint("jitter ", r), func(t *testing.T) {
			st := dbtest.Open(t)
			c := newClock()
			run := jobs.New(jobs.Config{Store: st, Now: c.Now, Jitter: func() float64 { return r }})
			var calls atomic.Int32
			run.Handle("flaky", jobs.Kind{Backoff: jobs.Backoff{Base: time.Minute, Max: 5 * time.Minute},
				Handler: func(ctx context.Context, j store.Job) error { calls.Add(1); return errors.New("451 try later") }})
			j := enqueue(t, st, c.Now(), jobs.Job{Kind: "flaky", Key: "k", Payload: map[string]int{"n": 1}, MaxAttempts: 5})
			factor := 0.8 + 0.4*r
			for attempt, base := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute} {
				if n, err := run.RunOnce(t.Context()); err != nil || n != 1 {
					t.Fatalf("attempt %d: RunOnce = %d, %v", attempt+1, n, err)
				}
				got := job(t, st, j.ID)
				want := c.Now().Add(time.Duration(float64(base) * factor))
				if got.State != store.JobPending || got.Attempts != attempt+1 || got.RunAt.Sub(want).Abs() > time.Millisecond || got.LastError != "451 try later" {
					t.Fatalf("after attempt %d: %+v; want pending until %v", attempt+1, got, want)
				}
				// Not a moment early.
				c.Advance(got.RunAt.Sub(c.Now()) - time.Second)
				if n, _ := run.RunOnce(t.Context()); n != 0 {
					t.Fatalf("attempt %d ran a second before its time", attempt+2)
				}
				c.Advance(time.Second)
			}
			if n, _ := run.RunOnce(t.Context()); n != 1 {
				t.Fatal("the last attempt did not run")
			}
			if got := job(t, st, j.ID); got.State != store.JobDead || got.Attempts != 5 {
				t.Errorf("after its last attempt: %+v; want dead", got)
			}
			if calls.Load() != 5 {
				t.Errorf("handler called %d times; want 5", calls.Load())
			}
		})
	}
}

func TestPermanentFailureAndSuccess(t *testing.T) {
	st := dbtest.Open(t)
	c := newClock()
	run := jobs.New(jobs.Config{Store: st, Now: c.Now})
	run.Handle("bounce", jobs.Kind{Handler: func(ctx context.Context, j store.Job) error {
		return jobs.Permanent(errors.New("550 no such user"))
	}})
	var payload string
	run.Handle("ok", jobs.Kind{Handler: func(ctx context.Context, j store.Job) error { payload = string(j.Payload); return nil }})
	run.Handle("panics", jobs.Kind{Handler: func(ctx context.Context, j store.Job) error { panic("boom") }})
	b := enqueue(t, st, c.Now(), jobs.Job{Kind: "bounce", Key: "1"})
	o := enqueue(t, st, c.Now(), jobs.Job{Kind: "ok", Key: "1", Payload: map[string]string{"to": "ada@example.com"}})
	p := enqueue(t, st, c.Now(), jobs.Job{Kind: "panics", Key: "1"})
	u := enqueue(t, st, c.Now(), jobs.Job{Kind: "unknown", Key: "1"})
	later := enqueue(t, st, c.Now(), jobs.Job{Kind: "ok", Key: "later", RunAt: c.Now().Add(time.Hour)})
	if n, err := run.RunOnce(t.Context()); n != 4 || err != nil {
		t.Fatalf("RunOnce = %d, %v; want the four due jobs", n, err)
	}
	if got := job(t, st, b.ID); got.State != store.JobDead || got.LastError != "550 no such user" {
		t.Errorf("permanent failure: %+v", got)
	}
	if got := job(t, st, o.ID); got.State != store.JobDone || payload != `{"to":"ada@example.com"}` {
		t.Errorf("success: %+v, payload %q", got, payload)
	}
	if got := job(t, st, p.ID); got.State != store.JobPending || got.LastError != "handler panicked: boom" {
		t.Errorf("a panicking handler: %+v; want a retry", got)
	}
	if got := job(t, st, u.ID); got.State != store.JobPending || got.Attempts != 1 {
		t.Errorf("a kind without handler: %+v; want a retry", got)
	}
	if got := job(t, st, later.ID); got.State != store.JobPending || got.Attempts != 0 {
		t.Errorf("a job not due yet ran: %+v", got)
	}
	// The same key again stores nothing new.
	again := enqueue(t, st, c.Now(), jobs.Job{Kind: "ok", Key: "1"})
	if again.ID != o.ID {
		t.Errorf("enqueuing a done job's key again made job %d", again.ID)
	}
	if n, _ := run.RunOnce(t.Context()); n != 0 {
		t.Errorf("a duplicate enqueue ran again")
	}
}

// Two runners sharing the database (on PostgreSQL two connection pools, as two instances) run 1,000
// jobs, each exactly once.
func TestTwoRunnersRunEachJobOnce(t *testing.T) {
	var a, b store.Store
	if dbtest.UsePostgres() {
		schema := dbtest.SchemaName(t)
		a = dbtest.OpenSchema(t, schema, postgres.Options{})
		b = dbtest.OpenSchema(t, schema, postgres.Options{})
	} else {
		a = dbtest.SQLite(t)
		b = a // SQLite serves one process; two runners in it still must not share a job
	}
	const total = 1000
	var mu sync.Mutex
	ran := map[string]int{}
	byRunner := map[string]int{}
	handler := func(name string) jobs.Handler {
		return func(ctx context.Context, j store.Job) error {
			mu.Lock()
			ran[j.Key]++
			byRunner[name]++
			mu.Unlock()
			return nil
		}
	}
	now := time.Now()
	if err := a.Update(t.Context(), func(tx store.Tx) error {
		for i := range total {
			if _, _, err := jobs.Enqueue(t.Context(), tx, jobs.Job{Kind: "count", Key: fmt.Sprint(i)}, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for name, st := range map[string]store.Store{"a": a, "b": b} {
		r := jobs.New(jobs.Config{Store: st, Instance: name, Poll: 10 * time.Millisecond, Batch: 8, Concurrency: 4})
		r.Handle("count", jobs.Kind{Handler: handler(name)})
		wg.Go(func() { r.Run(ctx) })
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(ran)
		mu.Unlock()
		if n == total || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a job run twice would show up now
	cancel()
	wg.Wait()
	if len(ran) != total {
		t.Fatalf("%d of %d jobs ran", len(ran), total)
	}
	for k, n := range ran {
		if n != 1 {
			t.Errorf("job %s ran %d times", k, n)
		}
	}
	if byRunner["a"] == 0 || byRunner["b"] == 0 {
		t.Errorf("one runner did all the work: %v", byRunner)
	}
	t.Logf("jobs per runner: %v", byRunner)
	pending := dbtest.Count(t, a, "SELECT COUNT(*) FROM jobs WHERE state <> 'done'")
	if pending != 0 {
		t.Errorf("%d jobs not done", pending)
	}
}

// The child process of TestKilledMidJobRunsAgainOnce: it runs the job and hangs in its handler until
// killed.
func TestHelperProcessRunner(t *testing.T) {
	dir := os.Getenv("PARLEY_JOBS_CHILD")
	if dir == "" {
		t.Skip("run by TestKilledMidJobRunsAgainOnce")
	}
	st := openShared(t, dir)
	r := jobs.New(jobs.Config{Store: st, Instance: "child", Lease: time.Minute})
	r.Handle("mail", jobs.Kind{Handler: func(ctx context.Context, j store.Job) error {
		os.WriteFile(filepath.Join(dir, "started-"+j.Key), nil, 0o600)
		<-ctx.Done() // hang: the parent kills this process now
		return ctx.Err()
	}})
	r.RunOnce(context.Background())
}

// openShared opens the store the parent and the child share: an SQLite file in dir, or a PostgreSQL
// schema named in dir/schema.
func openShared(t *testing.T, dir string) store.Store {
	t.Helper()
	if schema, err := os.ReadFile(filepath.Join(dir, "schema")); err == nil {
		return dbtest.OpenSchema(t, string(schema), postgres.Options{})
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "parley.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A runner killed (SIGKILL) in the middle of a job leaves it claimed; once its lease has passed another
// runner runs it again — once — and finishes it. The idempotency key is the same on both runs, so a
// handler can make its effect single.
func TestKilledMidJobRunsAgainOnce(t *testing.T) {
	dir := t.TempDir()
	if dbtest.UsePostgres() {
		schema := dbtest.SchemaName(t)
		os.WriteFile(filepath.Join(dir, "schema"), []byte(schema), 0o600)
	}
	st := openShared(t, dir)
	queued := enqueue(t, st, time.Now(), jobs.Job{Kind: "mail", Key: "reply-42", Payload: "hello"})

	child := exec.Command(os.Args[0], "-test.run=^TestHelperProcessRunner$", "-test.count=1")
	child.Env = append(os.Environ(), "PARLEY_JOBS_CHILD="+dir)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "started-reply-42")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("the child never started the job")
		}
		time.Sleep(20 * time.Millisecond)
	}
	child.Process.Kill()
	child.Wait()

	if got := job(t, st, queued.ID); got.State != store.JobPending || got.Attempts != 1 || got.Lease == "" {
		t.Fatalf("after the kill: %+v; want pending, claimed once", got)
	}
	c := &clock{now: time.Now()}
	var runs []string
	r := jobs.New(jobs.Config{Store: st, Now: c.Now, Instance: "survivor"})
	r.Handle("mail", jobs.Kind{Handler: func(ctx context.Context, j store.Job) error {
		runs = append(runs, j.Key+":"+string(j.Payload))
		return nil
	}})
	if n, _ := r.RunOnce(t.Context()); n != 0 {
		t.Fatal("the job ran again within the dead runner's lease")
	}
	c.Advance(time.Minute + time.Second)
	if n, err := r.RunOnce(t.Context()); n != 1 || err != nil {
		t.Fatalf("after the lease: RunOnce = %d, %v", n, err)
	}
	c.Advance(time.Hour)
	if n, _ := r.RunOnce(t.Context()); n != 0 {
		t.Fatal("a finished job ran again")
	}
	if len(runs) != 1 || runs[0] != `reply-42:"hello"` {
		t.Errorf("runs after the kill = %q; want one, with the same key and payload", runs)
	}
	if got := job(t, st, queued.ID); got.State != store.JobDone || got.Attempts != 2 {
		t.Errorf("at the end: %+v; want done after two attempts", got)
	}
}

// Later postpones a job to the time it names.
func TestLater(t *testing.T) {
	st := dbtest.Open(t)
	c := newClock()
	run := jobs.New(jobs.Config{Store: st, Now: c.Now})
	calls := 0
	run.Handle("wait", jobs.Kind{Handler: func(ctx context.Context, j store.Job) error {
		calls++
		if calls == 1 {
			return jobs.Later(c.Now().Add(42*time.Minute), "too soon after the last email")
		}
		return nil
	}})
	j := enqueue(t, st, c.Now(), jobs.Job{Kind: "wait", Key: "1"})
	run.RunOnce(t.Context())
	got := job(t, st, j.ID)
	if got.State != store.JobPending || !got.RunAt.Equal(c.Now().Add(42*time.Minute)) || got.LastError != "postponed: too soon after the last email" {
		t.Fatalf("postponed job = %+v", got)
	}
	c.Advance(42 * time.Minute)
	if n, _ := run.RunOnce(t.Context()); n != 1 || job(t, st, j.ID).State != store.JobDone {
		t.Errorf("the postponed job did not run at its time")
	}
}
