package ratelimit

import (
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/problem"
)

func TestFailures(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	f := NewFailures(Rate{Every: time.Minute, Burst: 3}, func() time.Time { return now })
	// Successes take their attempt back: any number of them use nothing up.
	for i := 0; i < 10; i++ {
		if err := f.Take("a"); err != nil {
			t.Fatalf("success %d: %v", i, err)
		}
		f.Refund("a")
	}
	for i := 0; i < 3; i++ {
		if err := f.Take("a"); err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	p, ok := problem.As(f.Take("a"))
	if !ok || p.Status != 429 || p.RetryAfter != time.Minute {
		t.Fatalf("fourth: %+v", p)
	}
	if err := f.Take("b"); err != nil {
		t.Fatalf("another key: %v", err)
	}
	// One failure drains per minute.
	now = now.Add(30 * time.Second)
	if p, ok := problem.As(f.Take("a")); !ok || p.RetryAfter != 30*time.Second {
		t.Fatalf("after 30s: %+v", p)
	}
	now = now.Add(30 * time.Second)
	if err := f.Take("a"); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
	if f.Take("a") == nil {
		t.Fatal("a second attempt after one minute")
	}
	// Drained keys are forgotten.
	now = now.Add(time.Hour)
	_ = f.Take("c")
	if n := len(f.levels); n != 1 {
		t.Fatalf("%d levels kept", n)
	}
	var nilFailures *Failures
	if nilFailures.Take("x") != nil || NewFailures(Rate{}, nil).Take("x") != nil {
		t.Fatal("a disabled counter refused")
	}
	nilFailures.Refund("x")
}

// Attempts are counted when they start: of many concurrent ones, only Burst get through, whatever
// their outcome turns out to be.
func TestFailuresConcurrent(t *testing.T) {
	f := NewFailures(Rate{Every: time.Hour, Burst: 5}, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for range 50 {
		wg.Go(func() {
			if f.Take("k") == nil {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if passed != 5 {
		t.Fatalf("%d attempts passed, want 5", passed)
	}
}
