//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLock is an advisory lock (flock) on the database's lock file. The kernel releases it when its
// holder exits, however it exits (SIGKILL and power loss included), so a lock never outlives the process
// that took it and no stale lock needs clearing by hand.
type fileLock struct{ f *os.File }

// lockFile takes the lock on path, creating the file: shared for everyone who uses the database,
// exclusive for whoever replaces it. It does not wait: ErrInUse means someone holds a conflicting lock.
func lockFile(path string, exclusive bool) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open lock file: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("sqlite: lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// release drops the lock; closing the file is what releases a flock. A second call does nothing.
func (l *fileLock) release() error {
	if l == nil {
		return nil
	}
	if err := l.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
