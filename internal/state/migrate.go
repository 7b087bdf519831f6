package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The names of the bbolt file (see store.go).
var (
	bucketMeta  = []byte("meta")
	bucketItems = []byte("items")
	bucketRuns  = []byte("runs")

	keyIdentity = []byte("identity")
	keyRun      = []byte("run")
	keyLastRun  = []byte("last_run")
)

// migrate converts the bbolt state file at path (the format before the
// snapshot) in place: identity, run counter and last run are kept, and
// every key, with an unknown value, so that prune and mirror still know
// it. It writes the keys to a journal and replays it as after a kill, so
// a conversion that is killed is simply done again. The caller holds the
// lock.
func migrate(path string, opts Options) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opts.Timeout})
	if err != nil {
		return fmt.Errorf("convert old state file: %w", err)
	}
	defer db.Close()
	var meta snapshotMeta
	var j *journal
	err = db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			if b := m.Get(keyIdentity); b != nil {
				meta.Identity = new(Identity)
				if err := json.Unmarshal(b, meta.Identity); err != nil {
					return err
				}
			}
			if b := m.Get(keyRun); len(b) == 8 {
				meta.Runs = binary.BigEndian.Uint64(b)
			}
			if b := m.Get(keyLastRun); b != nil {
				meta.LastRun = new(RunInfo)
				if err := json.Unmarshal(b, meta.LastRun); err != nil {
					return err
				}
			}
		}
		var err error
		if j, err = createJournal(path, journalHeader{run: meta.Runs, identity: meta.Identity}); err != nil {
			return err
		}
		items := tx.Bucket(bucketItems)
		if items == nil {
			return nil
		}
		return items.ForEach(func(k, _ []byte) error {
			// A confirmation of value 0: the key is known, its value is not.
			return j.add(recConfirm, &entry{key: KeyOf(string(k))}, string(k))
		})
	})
	if err == nil {
		err = j.sync()
	}
	if j != nil {
		if cerr := j.close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("convert old state file: %w", err)
	}
	ji, ok, err := openJournal(path)
	if err != nil {
		return fmt.Errorf("convert old state file: %w", err)
	}
	defer ji.f.Close()
	if !ok {
		return fmt.Errorf("convert old state file: %w: the journal is unreadable", ErrCorrupt)
	}
	f := &File{path: path, opts: opts, snap: emptySnapshot(), meta: meta}
	if err := withJournal(ji, func(ch *changes) error { return f.rewrite(nil, ch, false) }); err != nil {
		return fmt.Errorf("convert old state file: %w", err)
	}
	return removeJournal(path)
}
