package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

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

// lookup returns the hash recorded for key; ok is false when key is unknown.
func (s *Store) lookup(key string) (h Hash, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		h, _, ok = decodeValue(tx.Bucket(bucketItems).Get([]byte(key)))
		return nil
	})
	return h, ok, err
}

// change is one update of apply.
type change struct {
	Key  string
	Hash Hash
	// Delete removes Key instead of recording Hash.
	Delete bool
	// Clear removes every key (a bulk action touched items the state
	// cannot name); Key and Hash are ignored.
	Clear bool
}

// apply records changes in order in one transaction, with run as their
// last-seen run. It returns once the transaction is durable.
func (s *Store) apply(run uint64, changes []change) error {
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

// markSeen sets the last-seen run of each known key of keys to run, in one
// transaction. Unknown keys are ignored: a key enters the state only when
// the API confirms its item. keys is sorted in place.
func (s *Store) markSeen(run uint64, keys []string) error {
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

// countStale returns how many keys were last seen before run, and how many
// keys there are.
func (s *Store) countStale(run uint64) (stale, total int64, err error) {
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

// stale returns up to limit keys last seen before run, in key order, after
// the key after ("" for the first page). Each call is a short read
// transaction, so writers are never held up by a long iteration.
func (s *Store) stale(run uint64, after string, limit int) ([]string, error) {
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
