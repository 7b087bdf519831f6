package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// writeOldFormat writes a state file as talonsync before the snapshot
// did: bbolt, with the meta, items and runs buckets, each item's value a
// 16-byte hash and the big-endian last-seen run.
func writeOldFormat(t *testing.T, path string, id *Identity, run uint64, last *RunInfo, keys int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		require.NoError(t, err)
		items, err := tx.CreateBucket(bucketItems)
		require.NoError(t, err)
		_, err = tx.CreateBucket([]byte("runs"))
		require.NoError(t, err)
		if id != nil {
			b, _ := json.Marshal(id)
			require.NoError(t, meta.Put(keyIdentity, b))
		}
		require.NoError(t, meta.Put(keyRun, binary.BigEndian.AppendUint64(nil, run)))
		if last != nil {
			b, _ := json.Marshal(last)
			require.NoError(t, meta.Put(keyLastRun, b))
		}
		for i := range keys {
			v := binary.BigEndian.AppendUint64(make([]byte, 16), run)
			require.NoError(t, items.Put(fmt.Appendf(nil, "SKU-%d", i), v))
		}
		return nil
	}))
}

func TestOldFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	const run uint64 = 4
	writeOldFormat(t, path, &testID, run, &RunInfo{Run: run, Read: 3000, Complete: true}, 3000)

	_, err := OpenFile(path, Options{ReadOnly: true})
	require.ErrorIs(t, err, ErrOldFormat)
	assert.Contains(t, err.Error(), "talonsync state reset --state "+path)

	f, err := OpenFile(path, Options{})
	require.NoError(t, err)
	defer f.Close()
	assert.True(t, f.Migrated())
	assert.Equal(t, 3000, f.Len())
	id, ok := f.Identity()
	require.True(t, ok)
	assert.Equal(t, testID, id)
	info, ok := f.LastRun()
	require.True(t, ok)
	assert.Equal(t, int64(3000), info.Read)
	next, err := f.Begin()
	require.NoError(t, err)
	assert.Equal(t, run+1, next, "the run counter carries over")
	assert.Equal(t, KeyChanged, f.Compare("SKU-7", val("SKU-7", "x"), time.Time{}), "old hashes are not Values: each key is sent once")
	stale, total := f.CountStale()
	assert.Equal(t, 2999, stale, "but every key is known, for prune and mirror")
	assert.Equal(t, 3000, total)
}

func TestReset(t *testing.T) {
	dir := t.TempDir()
	oldPath := filepath.Join(dir, "old.db")
	writeOldFormat(t, oldPath, &testID, 1, nil, 10)

	newPath := filepath.Join(dir, "new")
	f := openW(t, newPath, &clock{t: time.Now()})
	require.NoError(t, f.Bind(testID))
	_, err := f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("A", 1, false))
	require.NoError(t, f.Commit(RunInfo{Read: 1}, true))
	_, err = f.Begin()
	require.NoError(t, err)
	require.NoError(t, f.Confirm("B", 1, false))
	require.NoError(t, f.Close()) // leaves a journal

	for _, p := range []string{oldPath, newPath} {
		require.NoError(t, Reset(p, Options{}))
		r, err := OpenFile(p, Options{ReadOnly: true})
		require.NoError(t, err)
		_, ok := r.Identity()
		assert.False(t, ok, "%s: no identity after reset", p)
		_, ok = r.LastRun()
		assert.False(t, ok)
		assert.Empty(t, dump(t, r))
		require.NoError(t, r.Close())
		_, err = os.Stat(journalPath(p))
		assert.ErrorIs(t, err, os.ErrNotExist)
	}
}

func TestCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	f := openW(t, path, &clock{t: time.Now()})
	require.NoError(t, f.Bind(testID))
	_, err := f.Begin()
	require.NoError(t, err)
	for i := range 5000 {
		require.NoError(t, f.Confirm(fmt.Sprint(i), 7, false))
	}
	require.NoError(t, f.Commit(RunInfo{}, true))
	require.NoError(t, f.Close())
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	tests := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"header", func(b []byte) []byte { b[20] ^= 1; return b }},
		{"entries", func(b []byte) []byte { b[headerSize+100] ^= 1; return b }},
		{"index", func(b []byte) []byte { b[len(b)-60] ^= 1; return b }},
		{"cut short", func(b []byte) []byte { return b[:len(b)/2] }},
		{"not a state file", func([]byte) []byte {
			return []byte("hello, world, this is not a state file at all...........................")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, tc.mutate(append([]byte(nil), good...)), 0o600))
			for _, ro := range []bool{true, false} {
				_, err := OpenFile(path, Options{ReadOnly: ro})
				assert.ErrorIs(t, err, ErrCorrupt, "read-only %v", ro)
			}
		})
	}
	// Key strings are checked when they are read.
	b := append([]byte(nil), good...)
	b[headerSize+blockEntries*entrySize+3] ^= 1
	require.NoError(t, os.WriteFile(path, b, 0o600))
	r, err := OpenFile(path, Options{ReadOnly: true})
	require.NoError(t, err)
	defer r.Close()
	assert.ErrorIs(t, r.Each(func(KeyInfo) error { return nil }), ErrCorrupt)
}

// TestMergeModel drives runs of random changes (thousands of keys, so
// every journal partition has records and several snapshot blocks are
// written) and checks every snapshot against a map.
func TestMergeModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f, err := OpenFile(path, Options{Now: c.now})
	require.NoError(t, err)
	defer f.Close()
	type mEntry struct {
		v      Value
		absent bool
	}
	model := map[string]mEntry{}
	rng := rand.New(rand.NewPCG(4, 4))
	for run := range 6 {
		c.t = c.t.Add(time.Hour)
		_, err := f.Begin()
		require.NoError(t, err)
		seen := map[string]bool{}
		type send struct {
			key string
			v   Value
		}
		var sends []send
		var keys []string
		for range 4000 {
			key := fmt.Sprintf("key-%d", rng.IntN(6000))
			if seen[key] {
				continue
			}
			seen[key] = true
			v := val(key, fmt.Sprint(rng.IntN(3)))
			switch verdict := f.Compare(key, v, time.Time{}); verdict {
			case KeyUnchanged:
				require.Equal(t, v, model[key].v)
				continue
			case KeyNew, KeyChanged:
				_, known := model[key]
				require.Equal(t, verdict == KeyChanged, known, "%s: %v", key, verdict)
			}
			sends = append(sends, send{key, v})
			keys = append(keys, key)
		}
		require.NoError(t, f.Invalidate(keys...)) // before the sends
		for _, s := range sends {
			key, v := s.key, s.v
			switch rng.IntN(4) {
			case 0: // sent, not confirmed (lost, or rejected)
				if _, ok := model[key]; ok {
					model[key] = mEntry{}
				}
			default:
				absent := rng.IntN(5) == 0
				model[key] = mEntry{v: v, absent: absent}
				require.NoError(t, f.Confirm(key, v, absent))
			}
		}
		complete := run%2 == 0
		if complete {
			for k, e := range model {
				if !seen[k] && e.absent && e.v != 0 {
					delete(model, k)
				}
			}
		}
		require.NoError(t, f.Commit(RunInfo{}, complete))
		got := map[string]mEntry{}
		require.NoError(t, f.Each(func(ki KeyInfo) error {
			got[ki.Key] = mEntry{v: ki.Value, absent: ki.Absent && ki.Value != 0}
			return nil
		}))
		for k, e := range model {
			if e.v == 0 {
				e.absent = false
				model[k] = e
			}
		}
		require.Equal(t, len(model), len(got), "run %d", run)
		for _, k := range slices.Sorted(maps.Keys(model)) {
			require.Equal(t, model[k], got[k], "run %d key %s", run, k)
		}
	}
}

// TestChangesCollisions feeds the journal records whose 64-bit hashes
// collide, and records of one 96-bit Key under two strings.
func TestChangesCollisions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state")
	j, err := createJournal(path, journalHeader{})
	require.NoError(t, err)
	recs := []struct {
		kind byte
		key  string
		k    Key
		v    Value
	}{
		{recConfirm, "b", Key{Hash: 5, Tag: 2}, 1},
		{recConfirm, "a", Key{Hash: 5, Tag: 1}, 2},
		{recConfirm, "c", Key{Hash: 5, Tag: 3}, 3},
		{recInvalidate, "a", Key{Hash: 5, Tag: 1}, 0},
		{recConfirm, "z", Key{Hash: 1, Tag: 9}, 4},
		{recConfirm, "y1", Key{Hash: 9, Tag: 1}, 5},
		{recConfirm, "y2", Key{Hash: 9, Tag: 1}, 6}, // same Key: the later wins
		{recConfirm, "top", Key{Hash: 1 << 63, Tag: 1}, 7},
	}
	for _, r := range recs {
		require.NoError(t, j.add(r.kind, &entry{key: r.k, value: r.v}, r.key))
	}
	require.NoError(t, j.close())
	ji, ok, err := openJournal(path)
	require.NoError(t, err)
	require.True(t, ok)
	defer ji.f.Close()
	ch, err := newChanges(ji)
	require.NoError(t, err)
	var got []string
	for {
		c, ok, err := ch.next()
		require.NoError(t, err)
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%s %d/%d %d %d", c.key, c.e.key.Hash, c.e.key.Tag, c.kind, c.e.value))
	}
	assert.Equal(t, []string{"z 1/9 2 4", "a 5/1 1 0", "b 5/2 2 1", "c 5/3 2 3", "y2 9/1 2 6", "top 9223372036854775808/1 2 7"}, got)
}

// TestTornJournal cuts a journal short at every length and damages chunks:
// what is read is always a prefix of what was written.
func TestTornJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	j, err := createJournal(path, journalHeader{gen: 3, run: 4})
	require.NoError(t, err)
	for i := range 40 {
		require.NoError(t, j.add(recConfirm, &entry{key: Key{Hash: uint64(i) << 58}, value: 1}, fmt.Sprint(i)))
		if i%4 == 3 {
			require.NoError(t, j.sync()) // a chunk per partition so far
		}
	}
	require.NoError(t, j.close())
	full, err := os.ReadFile(journalPath(path))
	require.NoError(t, err)
	// read returns the seqs read, or nil when the journal is not usable.
	read := func() []int64 {
		ji, ok, err := openJournal(path)
		require.NoError(t, err)
		defer ji.f.Close()
		if !ok {
			return nil
		}
		assert.Equal(t, uint64(3), ji.h.gen)
		var seqs []int64
		err = withJournal(ji, func(ch *changes) error {
			seqs = seqs[:0]
			for {
				c, ok, err := ch.next()
				if err != nil || !ok {
					return err
				}
				seqs = append(seqs, c.seq)
			}
		})
		require.NoError(t, err)
		slices.Sort(seqs)
		return seqs
	}
	all := read()
	require.Len(t, all, 40)
	prefix := func(seqs []int64) bool {
		for i, s := range seqs {
			if s != int64(i) {
				return false
			}
		}
		return true
	}
	for cut := len(full) - 1; cut > 0; cut-- {
		require.NoError(t, os.WriteFile(journalPath(path), full[:cut], 0o600))
		seqs := read()
		assert.True(t, len(seqs) < 40 && prefix(seqs), "cut at %d: %v", cut, seqs)
	}
	for off := 40; off < len(full); off += 13 {
		bad := append([]byte(nil), full...)
		bad[off] ^= 0x40
		require.NoError(t, os.WriteFile(journalPath(path), bad, 0o600))
		seqs := read()
		assert.True(t, prefix(seqs), "damage at %d: %v", off, seqs)
	}
}

func TestTableFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 1, 2, 9, 1000, 50000} {
		var tb table
		keys := make([]Key, 0, n)
		for range n {
			keys = append(keys, Key{Hash: rng.Uint64() & ^uint64(0xF), Tag: rng.Uint32() % 3})
		}
		slices.SortFunc(keys, func(a, b Key) int {
			if a.less(b) {
				return -1
			}
			if b.less(a) {
				return 1
			}
			return 0
		})
		keys = slices.Compact(keys)
		for _, k := range keys {
			tb.append(entry{key: k})
		}
		tb.index()
		probe := func(k Key) {
			wantI, wantOK := slices.BinarySearchFunc(keys, k, func(a, b Key) int {
				if a.less(b) {
					return -1
				}
				if b.less(a) {
					return 1
				}
				return 0
			})
			for _, fn := range []func(Key) (int, bool){tb.find} {
				i, ok := fn(k)
				require.Equal(t, wantOK, ok, "n=%d %v", n, k)
				if ok {
					require.Equal(t, wantI, i)
				}
			}
		}
		for _, k := range keys {
			probe(k)
			probe(Key{Hash: k.Hash + 1, Tag: k.Tag})
		}
		for range 2000 {
			if len(keys) > 0 && rng.IntN(2) == 0 {
				probe(keys[rng.IntN(len(keys))])
			} else {
				probe(Key{Hash: rng.Uint64(), Tag: rng.Uint32() % 3})
			}
		}
	}
}
