package ratelimit

import (
	"math"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/problem"
)

// Failures counts failed attempts per key — sign-in failures per account, per client address, per
// device — so that only failures use up a budget: a success takes its attempt back.
//
// Each key has a level that an attempt raises by one and that drains by one per Rate.Every; a key whose
// level has reached Rate.Burst is refused until it drains. An attempt is counted when it starts (Take),
// not when it is known to have failed, so that a burst of concurrent guesses cannot all pass the check
// before the first one fails; Refund takes it back when it turns out to be a success. A nil Failures, or
// one whose Rate.Every is zero, counts nothing and refuses nothing.
type Failures struct {
	rate Rate
	now  func() time.Time

	mu        sync.Mutex
	levels    map[string]*failureLevel
	lastSweep time.Time
}

type failureLevel struct {
	n  float64   // attempts not yet drained, as of at
	at time.Time // when n was last brought up to date
}

// NewFailures returns a Failures allowing r.Burst failures per key, and one more per r.Every; now reads
// the clock (nil means time.Now).
func NewFailures(r Rate, now func() time.Time) *Failures {
	if now == nil {
		now = time.Now
	}
	return &Failures{rate: r, now: now, levels: make(map[string]*failureLevel)}
}

func (f *Failures) disabled() bool { return f == nil || f.rate.Every <= 0 }

// drain brings l up to date at now. f.mu is held.
func (f *Failures) drain(l *failureLevel, now time.Time) {
	if d := now.Sub(l.at); d > 0 {
		l.n = math.Max(0, l.n-float64(d)/float64(f.rate.Every))
		l.at = now
	}
}

// Take counts an attempt for key, or returns a 429 problem saying when to retry when key has reached its
// limit (and then counts nothing).
func (f *Failures) Take(key string) error {
	if f.disabled() {
		return nil
	}
	now := f.now()
	burst := float64(max(1, f.rate.Burst))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)
	l := f.levels[key]
	if l == nil {
		l = &failureLevel{at: now}
		f.levels[key] = l
	}
	f.drain(l, now)
	if l.n+1 > burst {
		// The level must drain to burst-1 before one more attempt fits.
		wait := time.Duration((l.n - (burst - 1)) * float64(f.rate.Every))
		return problem.RateLimited(max(wait, time.Second))
	}
	l.n++
	return nil
}

// Refund takes back an attempt Take counted for key, because it succeeded.
func (f *Failures) Refund(key string) {
	if f.disabled() {
		return
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if l := f.levels[key]; l != nil {
		f.drain(l, now)
		l.n = math.Max(0, l.n-1)
	}
}

// sweep forgets the keys that have drained completely, at most once a minute, so memory is bounded by
// recent failures rather than by everyone who ever tried. f.mu is held.
func (f *Failures) sweep(now time.Time) {
	if now.Sub(f.lastSweep) < time.Minute {
		return
	}
	f.lastSweep = now
	for k, l := range f.levels {
		f.drain(l, now)
		if l.n == 0 {
			delete(f.levels, k)
		}
	}
}
