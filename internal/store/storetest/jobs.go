package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

func enqueue(t *testing.T, s store.Store, kind, key string, runAt time.Time) (store.Job, bool) {
	t.Helper()
	j := store.Job{Kind: kind, Key: key, Payload: []byte(`{"k":"` + key + `"}`), RunAt: runAt, MaxAttempts: 5, CreatedAt: at(0)}
	var fresh bool
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		fresh, err = tx.EnqueueJob(t.Context(), &j)
		return err
	})
	return j, fresh
}

func claim(t *testing.T, s store.Store, now time.Time, lease string, limit int) []store.Job {
	t.Helper()
	var jobs []store.Job
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		jobs, err = tx.ClaimJobs(t.Context(), now, now.Add(time.Minute), lease, limit)
		return err
	})
	return jobs
}

func testJobs(t *testing.T, s store.Store) {
	ctx := t.Context()
	a, fresh := enqueue(t, s, "mail", "a", at(time.Second))
	if !fresh || a.ID == 0 || a.State != store.JobPending {
		t.Fatalf("EnqueueJob = %+v, %t", a, fresh)
	}
	dup, fresh := enqueue(t, s, "mail", "a", at(time.Hour))
	if fresh || dup.ID != a.ID {
		t.Errorf("enqueuing the same key again: %+v, %t; want the first job, not new", dup, fresh)
	}
	if got, _ := s.Job(ctx, a.ID); !sameTime(got.RunAt, at(time.Second)) {
		t.Errorf("a duplicate enqueue changed the job: %+v", got)
	}
	other, fresh := enqueue(t, s, "webhook", "a", at(2*time.Second)) // the key is unique per kind only
	if !fresh || other.ID == a.ID {
		t.Errorf("the same key of another kind: %+v, %t", other, fresh)
	}
	later, _ := enqueue(t, s, "mail", "later", at(time.Hour))
	got, err := s.JobByKey(ctx, "mail", "a")
	if err != nil || got.ID != a.ID || string(got.Payload) != `{"k":"a"}` || got.MaxAttempts != 5 {
		t.Errorf("JobByKey = %+v, %v", got, err)
	}
	if _, err := s.JobByKey(ctx, "mail", "none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("JobByKey(none): %v", err)
	}

	// Nothing is due before its time; then the due ones, oldest first, each once.
	if jobs := claim(t, s, at(0), "L0", 10); len(jobs) != 0 {
		t.Fatalf("claimed %d jobs before any was due", len(jobs))
	}
	jobs := claim(t, s, at(time.Minute), "L1", 10)
	if len(jobs) != 2 || jobs[0].ID != a.ID || jobs[1].ID != other.ID {
		t.Fatalf("claim at 1m = %+v; want a then other", jobs)
	}
	for _, j := range jobs {
		if j.Lease != "L1" || j.Attempts != 1 || !sameTime(j.RunAt, at(2*time.Minute)) {
			t.Errorf("claimed job %+v; want lease L1, attempt 1, run_at at the lease's end", j)
		}
	}
	if again := claim(t, s, at(time.Minute), "L2", 10); len(again) != 0 {
		t.Errorf("leased jobs were claimed again within their lease: %+v", again)
	}

	// Only the lease's holder finishes; a finished job is never claimed again.
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.FinishJob(ctx, a.ID, "L2", at(time.Minute)) })
	wantErr(t, "finishing under another lease", err, store.ErrLeaseLost)
	mustUpdate(t, s, func(tx store.Tx) error { return tx.FinishJob(ctx, a.ID, "L1", at(time.Minute)) })
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.FinishJob(ctx, a.ID, "L1", at(time.Minute)) })
	wantErr(t, "finishing twice", err, store.ErrLeaseLost)
	if got, _ := s.Job(ctx, a.ID); got.State != store.JobDone {
		t.Errorf("finished job state %q", got.State)
	}

	// A lease that ran out lets another runner take the job; the first can no longer finish it.
	jobs = claim(t, s, at(3*time.Minute), "L3", 10)
	if len(jobs) != 1 || jobs[0].ID != other.ID || jobs[0].Attempts != 2 {
		t.Fatalf("claim after the lease ran out = %+v; want other, attempt 2", jobs)
	}
	err = tryUpdate(t, s, func(tx store.Tx) error { return tx.FinishJob(ctx, other.ID, "L1", at(3*time.Minute)) })
	wantErr(t, "finishing under an expired lease", err, store.ErrLeaseLost)

	// Retry reschedules; dead ends it.
	mustUpdate(t, s, func(tx store.Tx) error {
		return tx.RetryJob(ctx, other.ID, "L3", at(10*time.Minute), "smtp: 451 try later", false, at(3*time.Minute))
	})
	got, _ = s.Job(ctx, other.ID)
	if got.State != store.JobPending || !sameTime(got.RunAt, at(10*time.Minute)) || got.LastError != "smtp: 451 try later" || got.Lease != "" {
		t.Errorf("retried job = %+v", got)
	}
	if jobs := claim(t, s, at(9*time.Minute), "L4", 10); len(jobs) != 0 {
		t.Errorf("a retried job ran before its time")
	}
	jobs = claim(t, s, at(10*time.Minute), "L5", 10)
	if len(jobs) != 1 || jobs[0].Attempts != 3 {
		t.Fatalf("claim of the retried job = %+v", jobs)
	}
	mustUpdate(t, s, func(tx store.Tx) error {
		return tx.RetryJob(ctx, other.ID, "L5", at(time.Hour), "smtp: 550 no such user", true, at(10*time.Minute))
	})
	if got, _ := s.Job(ctx, other.ID); got.State != store.JobDead {
		t.Errorf("dead job state %q", got.State)
	}
	if jobs := claim(t, s, at(48*time.Hour), "L6", 10); len(jobs) != 1 || jobs[0].ID != later.ID {
		t.Errorf("claim much later = %+v; want only the pending one", jobs)
	}
	if jobs := claim(t, s, at(48*time.Hour), "L7", 10); len(jobs) != 0 {
		t.Errorf("claimed %+v again", jobs)
	}

	// Cleanup deletes finished jobs by age, never pending ones.
	var n int
	mustUpdate(t, s, func(tx store.Tx) error {
		var err error
		n, err = tx.DeleteFinishedJobs(ctx, at(time.Hour), 10)
		return err
	})
	if n != 2 {
		t.Errorf("DeleteFinishedJobs = %d; want 2 (the done and the dead one)", n)
	}
	if _, err := s.Job(ctx, later.ID); err != nil {
		t.Errorf("a pending job was deleted: %v", err)
	}
}

// testJobsConcurrentClaims: runners claiming at once take every job exactly once.
func testJobsConcurrentClaims(t *testing.T, s store.Store) {
	const total = 300
	for i := range total {
		enqueue(t, s, "k", fmt.Sprint(i), at(0))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			for {
				var jobs []store.Job
				err := s.Update(t.Context(), func(tx store.Tx) error {
					var err error
					jobs, err = tx.ClaimJobs(t.Context(), at(time.Second), at(time.Hour), fmt.Sprint("runner-", r), 7)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					seen[j.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Errorf("%d jobs claimed; want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %d claimed %d times", id, n)
		}
	}
}
