package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// JobQueueStats is the contract of store.JobQueueStatser, which both stores implement beside store.Store
// (only the metrics collector asks): per kind, the jobs due and not held by a runner, and the oldest
// one's run_at. s must be fresh and empty.
func JobQueueStats(t *testing.T, s store.Store) {
	q, ok := s.(store.JobQueueStatser)
	if !ok {
		t.Fatalf("%T does not implement store.JobQueueStatser", s)
	}
	now := at(time.Hour)
	stats := func() []store.JobQueueStat {
		t.Helper()
		got, err := q.JobQueueStats(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			got[i].OldestRunAt = got[i].OldestRunAt.UTC().Truncate(time.Microsecond)
		}
		return got
	}
	if got := stats(); len(got) != 0 {
		t.Errorf("empty queue: %+v", got)
	}
	enqueue(t, s, "mail", "a", at(10*time.Minute))
	enqueue(t, s, "mail", "b", at(20*time.Minute))
	enqueue(t, s, "mail", "later", at(2*time.Hour)) // not due yet
	enqueue(t, s, "webhook", "a", at(30*time.Minute))
	enqueue(t, s, "webhook", "b", at(40*time.Minute))
	want := []store.JobQueueStat{
		{Kind: "mail", Due: 2, OldestRunAt: at(10 * time.Minute)},
		{Kind: "webhook", Due: 2, OldestRunAt: at(30 * time.Minute)},
	}
	if got := stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("JobQueueStats = %+v, want %+v", got, want)
	}

	// A claimed job is being run, not waiting; a finished one is gone from the queue.
	jobs := claim(t, s, now, "runner-1", 1) // the oldest: mail a
	if len(jobs) != 1 || jobs[0].Key != "a" || jobs[0].Kind != "mail" {
		t.Fatalf("claimed %+v", jobs)
	}
	w := claim(t, s, now, "runner-1", 2) // mail b and webhook a
	mustUpdate(t, s, func(tx store.Tx) error { return tx.FinishJob(t.Context(), w[0].ID, "runner-1", now) })
	want = []store.JobQueueStat{{Kind: "webhook", Due: 1, OldestRunAt: at(40 * time.Minute)}}
	if got := stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("after claims: JobQueueStats = %+v, want %+v", got, want)
	}
}
