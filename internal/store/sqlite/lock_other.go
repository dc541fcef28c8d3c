//go:build !unix

package sqlite

// fileLock is a no-op where flock does not exist: there, restore cannot tell whether a server has the
// database open, and docs/deploy.md says to stop it first.
type fileLock struct{}

func lockFile(path string, exclusive bool) (*fileLock, error) { return &fileLock{}, nil }

func (l *fileLock) release() error { return nil }
