package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RunInfo describes one run that used the state file.
type RunInfo struct {
	Run       uint64    `json:"run"`
	Input     string    `json:"input,omitempty"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished,omitzero"`
	Complete  bool      `json:"complete"`
	DryRun    bool      `json:"dry_run,omitempty"`
	Read      int64     `json:"read"`
	Delivered int64     `json:"delivered"`
	Unchanged int64     `json:"unchanged"`
	Rejected  int64     `json:"rejected"`
	Pruned    int64     `json:"pruned"`
	Error     string    `json:"error,omitempty"`
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
