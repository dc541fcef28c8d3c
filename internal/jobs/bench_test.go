package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/dbtest"
)

// BenchmarkRunner measures the runner's overhead per job: b.N jobs enqueued, then claimed in batches and
// finished one by one (a no-op handler). BenchmarkFloor does the same database work without the runner:
// the same jobs claimed with the same store call and finished with the same store call, serially. The
// ratio is the runner's cost (concurrency, bookkeeping) over the bare statements.
func BenchmarkRunner(b *testing.B) {
	st := dbtest.Open(b)
	enqueueN(b, st, b.N)
	r := jobs.New(jobs.Config{Store: st, Batch: 16, Concurrency: 4})
	r.Handle("bench", jobs.Kind{Handler: func(context.Context, store.Job) error { return nil }})
	b.ResetTimer()
	done := 0
	for done < b.N {
		n, err := r.RunOnce(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

func BenchmarkFloor(b *testing.B) {
	st := dbtest.Open(b)
	enqueueN(b, st, b.N)
	b.ResetTimer()
	done := 0
	for done < b.N {
		now := time.Now()
		var claimed []store.Job
		if err := st.Update(b.Context(), func(tx store.Tx) error {
			var err error
			claimed, err = tx.ClaimJobs(b.Context(), now, now.Add(time.Minute), "floor", 16)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		for _, j := range claimed {
			if err := st.Update(b.Context(), func(tx store.Tx) error { return tx.FinishJob(b.Context(), j.ID, j.Lease, now) }); err != nil {
				b.Fatal(err)
			}
		}
		done += len(claimed)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}

func enqueueN(b *testing.B, st store.Store, n int) {
	b.Helper()
	now := time.Now().Add(-time.Second)
	for i := 0; i < n; i += 500 {
		if err := st.Update(b.Context(), func(tx store.Tx) error {
			for k := i; k < min(i+500, n); k++ {
				if _, _, err := jobs.Enqueue(b.Context(), tx, jobs.Job{Kind: "bench", Key: fmt.Sprint(k)}, now); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
