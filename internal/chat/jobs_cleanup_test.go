package chat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/chat"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
)

// Finished jobs are deleted JobRetention after they finished; a pending one never.
func TestCleanupJobs(t *testing.T) {
	e := newLifeEnv(t)
	ctx := t.Context()
	var ids []int64
	for _, key := range []string{"done", "pending"} {
		runAt := e.clock.Now()
		if key == "pending" {
			runAt = runAt.Add(365 * 24 * time.Hour)
		}
		if err := e.st.Update(ctx, func(tx store.Tx) error {
			j, _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: "mail", Key: key, RunAt: runAt}, e.clock.Now())
			ids = append(ids, j.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := jobs.New(jobs.Config{Store: e.st, Now: e.clock.Now})
	r.Handle("mail", jobs.Kind{Handler: func(context.Context, store.Job) error { return nil }})
	if n, err := r.RunOnce(ctx); n != 1 || err != nil {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	e.clock.Advance(chat.JobRetention - time.Minute)
	if c := e.cleanup(t); c.Jobs != 0 {
		t.Errorf("a job was deleted before its week: %d", c.Jobs)
	}
	e.clock.Advance(2 * time.Minute)
	if c := e.cleanup(t); c.Jobs != 1 {
		t.Errorf("after the week: %d jobs deleted; want the finished one", c.Jobs)
	}
	if _, err := e.st.Job(ctx, ids[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the finished job is still there: %v", err)
	}
	if _, err := e.st.Job(ctx, ids[1]); err != nil {
		t.Errorf("the pending job was deleted: %v", err)
	}
}
