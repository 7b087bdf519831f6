package state

import (
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sentinel errors callers match with errors.Is.
var (
	// ErrMismatch: the state file belongs to another base URL, entity,
	// catalog or audience.
	ErrMismatch = errors.New("state file belongs to another target")
	// ErrLocked: another process has the state file open for writing.
	ErrLocked = errors.New("state file is in use by another run")
)

var (
	bucketMeta  = []byte("meta")
	bucketItems = []byte("items")
	bucketRuns  = []byte("runs")

	keyIdentity = []byte("identity")
	keyRun      = []byte("run")
	keyLastRun  = []byte("last_run")
)

// Options configures Open.
type Options struct {
	// ReadOnly opens the file for reading only; other readers may share it.
	ReadOnly bool

	// timeout bounds the wait for another process's lock; 0 means 1s.
	// Tests set it lower.
	timeout time.Duration
}

// Store is an open state file. Its methods are safe for concurrent use;
// bbolt runs one writing transaction at a time.
type Store struct {
	db *bolt.DB
}

// Open opens the state file at path, creating it (mode 0600) unless
// opts.ReadOnly. A file another process holds for writing answers ErrLocked
// after a second; a missing file opened read-only answers an error matching
// fs.ErrNotExist. The caller closes the Store.
func Open(path string, opts Options) (*Store, error) {
	if opts.timeout <= 0 {
		opts.timeout = time.Second
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open state: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.timeout, ReadOnly: opts.ReadOnly})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open state %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	s := &Store{db: db}
	if !opts.ReadOnly {
		if err := s.init(); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketItems, bucketRuns} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("init state: %w", err)
			}
		}
		return nil
	})
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Reset deletes everything: keys, runs and identity. The file can then be
// bound to another target.
func (s *Store) Reset() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketItems, bucketRuns} {
			if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reset state: %w", err)
	}
	return nil
}
