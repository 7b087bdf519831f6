package batch

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked is matched by the error Lock returns when another run holds the lock.
var ErrLocked = errors.New("checkpoint is in use by another run")

// FileLock is an exclusive advisory lock (flock) on a file beside the
// checkpoint. The kernel releases it when the process dies, so a killed run
// never leaves a stale lock behind.
type FileLock struct {
	f *os.File
}

// Lock takes the lock on path without waiting.
func Lock(path string) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (lock %s)", ErrLocked, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &FileLock{f: f}, nil
}

// Unlock releases the lock.
func (l *FileLock) Unlock() error {
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
