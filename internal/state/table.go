package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"os"
)

// table is a snapshot's entries in memory, in Key order: 24 bytes per key,
// and no key strings.
type table struct {
	recs []rec

	// buckets[b] is the first entry whose hash>>shift is b or more, so a
	// lookup searches about eight entries.
	shift   uint
	buckets []uint32
}

// rec is an entry as the table holds it: one cache line or two per key.
type rec struct {
	hash      uint64
	tag, meta uint32
	value     Value
}

func (t *table) len() int { return len(t.recs) }

func (t *table) key(i int) Key { return Key{Hash: t.recs[i].hash, Tag: t.recs[i].tag} }

func (t *table) at(i int) entry {
	r := &t.recs[i]
	return entry{key: Key{Hash: r.hash, Tag: r.tag}, meta: r.meta, value: r.value}
}

func (t *table) append(e entry) {
	t.recs = append(t.recs, rec{hash: e.key.Hash, tag: e.key.Tag, meta: e.meta, value: e.value})
}

// index builds the buckets.
func (t *table) index() {
	n := t.len()
	b := max(bits.Len(uint(n))-3, 1)
	t.shift = 64 - uint(b)
	t.buckets = make([]uint32, 1<<b+1)
	i := 0
	for k := range t.buckets {
		for i < n && t.recs[i].hash>>t.shift < uint64(k) {
			i++
		}
		t.buckets[k] = uint32(i)
	}
}

// lessAt reports whether entry i comes before k.
func (t *table) lessAt(i int, k Key) bool {
	r := &t.recs[i]
	return r.hash < k.Hash || (r.hash == k.Hash && r.tag < k.Tag)
}

// search returns the first index in [lo, hi) whose entry is not before k.
func (t *table) search(lo, hi int, k Key) int {
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.lessAt(m, k) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (t *table) match(i int, k Key) bool {
	return i < t.len() && t.recs[i].hash == k.Hash && t.recs[i].tag == k.Tag
}

// find returns the index of k's entry. It does not change t, so it is
// safe for concurrent use.
func (t *table) find(k Key) (int, bool) {
	if t.len() == 0 {
		return 0, false
	}
	b := k.Hash >> t.shift
	i := t.search(int(t.buckets[b]), int(t.buckets[b+1]), k)
	return i, t.match(i, k)
}

// snapshotMeta is the JSON part of a snapshot.
type snapshotMeta struct {
	Identity *Identity `json:"identity,omitempty"`
	// Runs is the number of the last run begun.
	Runs    uint64   `json:"runs"`
	LastRun *RunInfo `json:"last_run,omitempty"`
}

// snapshot is an open snapshot file: its entries in memory, its strings
// on disk.
type snapshot struct {
	f      *os.File
	h      header
	blocks []block
	meta   snapshotMeta
	t      table
	free   func() // releases t's records (see allocRecs)
}

// bboltMagic is at offset 16 of a bbolt file: the state format of
// talonsync before the snapshot.
const bboltMagic = 0xED0CDAED

// ErrOldFormat: the state file is a bbolt database, the format of earlier
// talonsync versions. Opening it for writing converts it; see Open.
var ErrOldFormat = errors.New("state file is in the old bbolt format")

// readSnapshot opens and loads the snapshot at path. A missing file
// answers an error matching fs.ErrNotExist, an empty one an empty
// snapshot, a bbolt file ErrOldFormat.
func readSnapshot(path string) (*snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &snapshot{f: f}
	if err := s.load(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *snapshot) load() error {
	hb := make([]byte, headerSize)
	n, err := io.ReadFull(s.f, hb)
	switch {
	case n == 0 && err == io.EOF:
		s.t.index()
		return nil // an empty file, as an older Open created: no state yet
	case n >= 20 && binary.LittleEndian.Uint32(hb[16:]) == bboltMagic:
		return ErrOldFormat
	case err != nil && err != io.ErrUnexpectedEOF:
		return fmt.Errorf("read state: %w", err)
	}
	if s.h, err = decodeHeader(hb[:n]); err != nil {
		return err
	}
	idx := make([]byte, int(s.h.blocks)*indexSize)
	meta := make([]byte, s.h.metaLen)
	if err := s.readAt(idx, int64(s.h.indexOff), s.h.indexCRC, "index"); err != nil {
		return err
	}
	if err := s.readAt(meta, int64(s.h.metaOff), s.h.metaCRC, "meta"); err != nil {
		return err
	}
	if err := json.Unmarshal(meta, &s.meta); err != nil {
		return fmt.Errorf("%w: meta: %v", ErrCorrupt, err)
	}
	s.blocks = make([]block, s.h.blocks)
	total := 0
	for i := range s.blocks {
		b := idx[i*indexSize:]
		s.blocks[i] = block{off: int64(binary.LittleEndian.Uint64(b)), n: int(binary.LittleEndian.Uint32(b[8:])),
			strLen: int(binary.LittleEndian.Uint32(b[12:])), entCRC: binary.LittleEndian.Uint32(b[16:]),
			strCRC: binary.LittleEndian.Uint32(b[20:])}
		total += s.blocks[i].n
	}
	if uint64(total) != s.h.count {
		return fmt.Errorf("%w: %d entries in the blocks, %d in the header", ErrCorrupt, total, s.h.count)
	}
	t := &s.t
	t.recs, s.free = allocRecs(total)
	buf := make([]byte, blockEntries*entrySize)
	for i := range s.blocks {
		b := &s.blocks[i]
		ents := buf[:b.n*entrySize]
		if err := s.readAt(ents, b.off, b.entCRC, "entries"); err != nil {
			return err
		}
		for j := 0; j < len(ents); j += entrySize {
			e := getEntry(ents[j:])
			if t.len() > 0 && !t.key(t.len()-1).less(e.key) {
				return fmt.Errorf("%w: entries out of order", ErrCorrupt)
			}
			t.append(e)
		}
	}
	t.index()
	return nil
}

// readAt fills b from off and checks its CRC-32C.
func (s *snapshot) readAt(b []byte, off int64, crc uint32, what string) error {
	if _, err := s.f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %s is cut short", ErrCorrupt, what)
		}
		return fmt.Errorf("read state: %w", err)
	}
	if crc32.Checksum(b, castagnoli) != crc {
		return fmt.Errorf("%w: %s checksum", ErrCorrupt, what)
	}
	return nil
}

// keys calls fn with the key string of every entry, in order. key is
// valid during the call only.
func (s *snapshot) keys(fn func(i int, key []byte) error) error {
	var buf []byte
	i := 0
	for bi := range s.blocks {
		b := &s.blocks[bi]
		if cap(buf) < b.strLen {
			buf = make([]byte, b.strLen)
		}
		strs := buf[:b.strLen]
		if err := s.readAt(strs, b.off+int64(b.n*entrySize), b.strCRC, "key strings"); err != nil {
			return err
		}
		for range b.n {
			l, k := binary.Uvarint(strs)
			if k <= 0 || l > uint64(len(strs)-k) {
				return fmt.Errorf("%w: key strings", ErrCorrupt)
			}
			if err := fn(i, strs[k:k+int(l)]); err != nil {
				return err
			}
			strs = strs[k+int(l):]
			i++
		}
	}
	return nil
}

func (s *snapshot) close() error {
	if s == nil {
		return nil
	}
	if s.free != nil {
		s.t = table{}
		s.free()
		s.free = nil
	}
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
