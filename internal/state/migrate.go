package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"

	"github.com/talonsync/talonsync/internal/group"
	"github.com/talonsync/talonsync/internal/talon"
)

// migrate converts the bbolt state file at path (the format before the
// snapshot) in place: identity, run counter and last run are kept, and
// every key, with an unknown value. The caller holds the lock.
func migrate(path string, opts Options) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opts.Timeout})
	if err != nil {
		return fmt.Errorf("convert old state file: %w", err)
	}
	defer db.Close()
	var meta snapshotMeta
	spool, err := group.New(group.Options{Dir: opts.TempDir, Budget: opts.Budget})
	if err != nil {
		return err
	}
	defer spool.Close()
	payload := make([]byte, 17)
	payload[0] = recConfirm // with value 0 and no time: the key, value unknown
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
		items := tx.Bucket(bucketItems)
		if items == nil {
			return nil
		}
		var seq int64
		return items.ForEach(func(k, _ []byte) error {
			key := KeyOf(string(k))
			binary.LittleEndian.PutUint32(payload[1:], key.Tag)
			seq++
			return spool.Add(group.Record{Hash: key.Hash, Seq: seq, Item: talon.Item{Key: string(k), JSON: payload}})
		})
	})
	if err != nil {
		return fmt.Errorf("convert old state file: %w", err)
	}
	g, err := spool.Groups()
	if err != nil {
		return err
	}
	ch := &changes{spool: spool, g: g, clearSeq: -1}
	f := &File{path: path, opts: opts, snap: emptySnapshot(), meta: meta}
	if err := f.rewrite(nil, ch, false); err != nil {
		return fmt.Errorf("convert old state file: %w", err)
	}
	os.Remove(path + ".journal")
	return nil
}
