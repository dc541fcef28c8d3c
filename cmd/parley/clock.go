package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// clockOffsetEnv names a file holding a Go duration ("36h", "-5m"; empty or missing means 0) that
// `parley serve` adds to the time it reads: end-to-end tests move a running server into the future to
// see sessions expire. Never needed in production.
const clockOffsetEnv = "PARLEY_CLOCK_OFFSET_FILE"

// announceDelayEnv names a duration (at most 1m) by which `parley serve` holds back its announcements of
// committed events to the other instances: end-to-end tests kill a server between a commit and its
// announcement. Never needed in production.
const announceDelayEnv = "PARLEY_TEST_ANNOUNCE_DELAY"

// offsetClock is time.Now plus the duration written in a file, re-read when the file changes. It looks
// at the file at most every statEvery, so a busy server does not stat it on every request.
type offsetClock struct {
	path string
	now  func() time.Time // the real clock

	mu       sync.Mutex
	checked  time.Time // real time of the last stat
	modTime  time.Time
	size     int64
	offset   time.Duration
	lastErr  string
	onChange func(offset time.Duration, err error) // logs changes; may be nil
}

const statEvery = 50 * time.Millisecond

func newOffsetClock(path string, onChange func(time.Duration, error)) *offsetClock {
	c := &offsetClock{path: path, now: time.Now, onChange: onChange}
	c.mu.Lock()
	c.refresh(c.now())
	c.mu.Unlock()
	return c
}

// Now returns the shifted time.
func (c *offsetClock) Now() time.Time {
	real := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if real.Sub(c.checked) >= statEvery || real.Before(c.checked) {
		c.refresh(real)
	}
	return real.Add(c.offset)
}

// refresh re-reads the file when its modification time or size changed. An unreadable or invalid
// file leaves the offset as it was (a file being rewritten may be read half-written); a missing one
// means 0.
func (c *offsetClock) refresh(real time.Time) {
	c.checked = real
	fi, err := os.Stat(c.path)
	if os.IsNotExist(err) {
		c.set(0, nil)
		c.modTime, c.size = time.Time{}, -1
		return
	}
	if err != nil {
		c.report(err)
		return
	}
	// A file rewritten within the file system's timestamp granularity keeps its modification time, so
	// a file changed in the last second is read again regardless.
	if fi.ModTime().Equal(c.modTime) && fi.Size() == c.size && real.Sub(fi.ModTime()) > time.Second {
		return
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		c.report(err)
		return
	}
	d, err := parseOffset(string(data))
	if err != nil {
		c.report(err)
		return
	}
	c.modTime, c.size = fi.ModTime(), fi.Size()
	c.set(d, nil)
}

func (c *offsetClock) set(d time.Duration, err error) {
	if d != c.offset && c.onChange != nil {
		c.onChange(d, err)
	}
	c.offset, c.lastErr = d, ""
}

func (c *offsetClock) report(err error) {
	if err.Error() != c.lastErr && c.onChange != nil {
		c.onChange(c.offset, err)
	}
	c.lastErr = err.Error()
}

// parseOffset reads the file's content: a Go duration, or nothing for 0.
func parseOffset(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a Go duration such as 36h or -5m", clockOffsetEnv, s)
	}
	return d, nil
}
