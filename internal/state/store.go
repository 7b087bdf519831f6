// The bbolt Store and its Tracker are the state of talonsync before the
// snapshot File (file.go); cmd/talonsync still uses them, and OpenFile
// converts their files. Delete this file and tracker.go once it does not.

package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Entry is one key of the state, as Each yields it.
type Entry struct {
	Key  string
	Hash Hash
	// Seen is the last run that confirmed the key's item or, with --prune
	// or --mirror, whose feed held the key.
	Seen uint64
}

// Store is an open state file. Its methods are safe for concurrent use;
// bbolt runs one writing transaction at a time.
type Store struct {
	db *bolt.DB
}

// Open opens the state file at path, creating it (mode 0600) unless
// opts.ReadOnly. A file another process holds for writing answers ErrLocked;
// a missing file opened read-only answers an error matching fs.ErrNotExist.
// The caller closes the Store.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open state: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, ReadOnly: opts.ReadOnly})
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

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

// Bind records id as the file's identity when it has none, and otherwise
// checks that it is the same; a different one is an error wrapping
// ErrMismatch that says what differs.
func (s *Store) Bind(id Identity) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return fmt.Errorf("bind state: %w", bolt.ErrBucketNotFound)
		}
		if b := m.Get(keyIdentity); b != nil {
			var have Identity
			if err := json.Unmarshal(b, &have); err != nil {
				return fmt.Errorf("read state identity: %w", err)
			}
			return have.check(id)
		}
		b, err := json.Marshal(id)
		if err != nil {
			return err
		}
		return m.Put(keyIdentity, b)
	})
}

// Identity returns the file's identity; ok is false when it has none yet.
func (s *Store) Identity() (id Identity, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return nil
		}
		b := m.Get(keyIdentity)
		if b == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(b, &id)
	})
	return id, ok, err
}

// BeginRun allocates the next run number and records when it started.
func (s *Store) BeginRun(started time.Time) (uint64, error) {
	var run uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if b := m.Get(keyRun); len(b) == 8 {
			run = binary.BigEndian.Uint64(b)
		}
		run++
		if err := m.Put(keyRun, binary.BigEndian.AppendUint64(nil, run)); err != nil {
			return err
		}
		t, _ := started.UTC().MarshalText()
		return tx.Bucket(bucketRuns).Put(binary.BigEndian.AppendUint64(nil, run), t)
	})
	if err != nil {
		return 0, fmt.Errorf("begin run: %w", err)
	}
	return run, nil
}

// FinishRun records info as the last run.
func (s *Store) FinishRun(info RunInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyLastRun, b) })
	if err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	return nil
}

// LastRun returns the last run recorded by FinishRun; ok is false if none.
func (s *Store) LastRun() (info RunInfo, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return nil
		}
		b := m.Get(keyLastRun)
		if b == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(b, &info)
	})
	return info, ok, err
}

// RunStarted returns when run started; ok is false if it is not recorded.
func (s *Store) RunStarted(run uint64) (t time.Time, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		r := tx.Bucket(bucketRuns)
		if r == nil {
			return nil
		}
		b := r.Get(binary.BigEndian.AppendUint64(nil, run))
		if b == nil {
			return nil
		}
		ok = true
		return t.UnmarshalText(b)
	})
	return t, ok, err
}

// value layout: the 16-byte hash, then the last-seen run as a big-endian uint64.
const valueLen = len(Hash{}) + 8

func encodeValue(h Hash, seen uint64) []byte {
	v := make([]byte, 0, valueLen)
	v = append(v, h[:]...)
	return binary.BigEndian.AppendUint64(v, seen)
}

func decodeValue(v []byte) (Hash, uint64, bool) {
	var h Hash
	if len(v) != valueLen {
		return h, 0, false
	}
	copy(h[:], v)
	return h, binary.BigEndian.Uint64(v[len(h):]), true
}

// Lookup returns the hash recorded for key; ok is false when key is unknown.
func (s *Store) Lookup(key string) (h Hash, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		h, _, ok = decodeValue(tx.Bucket(bucketItems).Get([]byte(key)))
		return nil
	})
	return h, ok, err
}

// Change is one update of Apply.
type Change struct {
	Key  string
	Hash Hash
	// Delete removes Key instead of recording Hash.
	Delete bool
	// Clear removes every key (a bulk action touched items the state
	// cannot name); Key and Hash are ignored.
	Clear bool
}

// Apply records changes in order in one transaction, with run as their
// last-seen run. It returns once the transaction is durable.
func (s *Store) Apply(run uint64, changes []Change) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		for _, c := range changes {
			var err error
			switch {
			case c.Clear:
				if err = tx.DeleteBucket(bucketItems); err == nil {
					b, err = tx.CreateBucket(bucketItems)
				}
			case c.Delete:
				err = b.Delete([]byte(c.Key))
			default:
				err = b.Put([]byte(c.Key), encodeValue(c.Hash, run))
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record delivered items: %w", err)
	}
	return nil
}

// MarkSeen sets the last-seen run of each known key of keys to run, in one
// transaction. Unknown keys are ignored: a key enters the state only when
// the API confirms its item. keys is sorted in place.
func (s *Store) MarkSeen(run uint64, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	// Sorted keys touch each B+tree page once per transaction.
	slices.Sort(keys)
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		c := b.Cursor()
		for _, k := range keys {
			kb := []byte(k)
			ck, v := c.Seek(kb)
			if !bytes.Equal(ck, kb) {
				continue
			}
			h, seen, ok := decodeValue(v)
			if !ok || seen == run {
				continue
			}
			if err := b.Put(kb, encodeValue(h, run)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark seen keys: %w", err)
	}
	return nil
}

// CountStale returns how many keys were last seen before run, and how many
// keys there are.
func (s *Store) CountStale(run uint64) (stale, total int64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketItems).ForEach(func(_, v []byte) error {
			total++
			if _, seen, _ := decodeValue(v); seen < run {
				stale++
			}
			return nil
		})
	})
	return stale, total, err
}

// Stale returns up to limit keys last seen before run, in key order, after
// the key after ("" for the first page). Each call is a short read
// transaction, so writers are never held up by a long iteration.
func (s *Store) Stale(run uint64, after string, limit int) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketItems).Cursor()
		k, v := c.Seek([]byte(after))
		if after != "" && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < limit; k, v = c.Next() {
			if _, seen, _ := decodeValue(v); seen < run {
				out = append(out, string(k))
			}
		}
		return nil
	})
	return out, err
}

// Each calls fn for every key in key order, in one read transaction; fn
// must not write to the store. It stops at fn's first error.
func (s *Store) Each(fn func(Entry) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketItems)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			h, seen, _ := decodeValue(v)
			return fn(Entry{Key: string(k), Hash: h, Seen: seen})
		})
	})
}

// Count returns the number of keys.
func (s *Store) Count() (n int64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketItems); b != nil {
			n = int64(b.Stats().KeyN)
		}
		return nil
	})
	return n, err
}

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
