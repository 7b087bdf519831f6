package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
)

// The journal: what a run changed since the snapshot it started from.
//
//	header   magic, generation of that snapshot u64, run u64,
//	         identity JSON length u32 and bytes, CRC-32C u32 of all before
//	chunks   partition u16, payload length u32, CRC-32C u32 of the
//	         payload, payload: records of that partition, each
//	         uvarint length, kind u8, hash u64, tag u32, meta u32,
//	         value u64, uvarint seq, key bytes
//
// Records are buffered per partition (the top bits of the key hash) and a
// full buffer is written as one chunk, so that Commit reads each partition
// back, sorts it in memory and merges it with the snapshot in one pass,
// with no second copy of the journal. seq orders records across
// partitions.
//
// The header is synced when the run begins. Invalidations are synced,
// with every buffer, before the sends they protect; confirmations are
// buffered, so a kill may lose the last of them, which only costs
// re-sends. Chunks are only appended: reading stops at the first one that
// is cut short or fails its checksum, and everything synced comes before
// it.

const journalMagic = "talonJR\x02"

const (
	recInvalidate    byte = 1 // the key's value is unknown (it is being sent, or was rejected)
	recConfirm       byte = 2 // the API confirmed the value (meta, value); value 0: a known key, value unknown
	recInvalidateAll byte = 3 // every value is unknown: a bulk action touched items by filter
)

const (
	journalParts = 256
	partBits     = 8
	chunkHeader  = 2 + 4 + 4
	chunkBuffer  = 8 << 10
	allPart      = 0xFFFF // the partition of recInvalidateAll
	maxChunk     = 64 << 20
)

func partOf(h uint64) int { return int(h >> (64 - partBits)) }

// journalHeader is what a journal applies to.
type journalHeader struct {
	gen      uint64
	run      uint64
	identity *Identity
}

// journal appends records. Its methods are safe for concurrent use.
type journal struct {
	mu    sync.Mutex
	f     *os.File
	off   int64 // end of the file
	parts [journalParts][]byte
	dirty []int // partitions with buffered records
	seq   int64
	n     int64 // records added
	err   error // sticky
}

func journalPath(path string) string { return path + ".journal" }

func encodeJournalHeader(h journalHeader) []byte {
	b := []byte(journalMagic)
	b = binary.LittleEndian.AppendUint64(b, h.gen)
	b = binary.LittleEndian.AppendUint64(b, h.run)
	var id []byte
	if h.identity != nil {
		id, _ = json.Marshal(h.identity)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(id)))
	b = append(b, id...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// createJournal creates the journal of a run, replacing any, and makes it
// durable (file and directory) before it returns.
func createJournal(path string, h journalHeader) (*journal, error) {
	f, err := os.OpenFile(journalPath(path), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create state journal: %w", err)
	}
	b := encodeJournalHeader(h)
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("create state journal: %w", err)
	}
	return &journal{f: f, off: int64(len(b))}, nil
}

// add buffers a record.
func (j *journal) add(kind byte, e *entry, key string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.addLocked(kind, e, key)
}

func (j *journal) addLocked(kind byte, e *entry, key string) error {
	if j.err != nil {
		return j.err
	}
	p := allPart
	if kind != recInvalidateAll {
		p = partOf(e.key.Hash)
	}
	bi := p
	if p == allPart {
		bi = 0 // buffered nowhere: written at once below
	}
	var b []byte
	if p != allPart {
		b = j.parts[bi]
		if len(b) == 0 {
			j.dirty = append(j.dirty, bi)
		}
	}
	n := 1 + 8 + 4 + 4 + 8 + uvarintLen(uint64(j.seq)) + len(key)
	b = binary.AppendUvarint(b, uint64(n))
	b = append(b, kind)
	b = binary.LittleEndian.AppendUint64(b, e.key.Hash)
	b = binary.LittleEndian.AppendUint32(b, e.key.Tag)
	b = binary.LittleEndian.AppendUint32(b, e.meta)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.value))
	b = binary.AppendUvarint(b, uint64(j.seq))
	b = append(b, key...)
	j.seq++
	j.n++
	if p == allPart {
		return j.writeChunk(allPart, b)
	}
	j.parts[bi] = b
	if len(b) >= chunkBuffer {
		return j.flushPart(bi)
	}
	return nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func (j *journal) flushPart(p int) error {
	if len(j.parts[p]) == 0 {
		return nil
	}
	err := j.writeChunk(p, j.parts[p])
	j.parts[p] = j.parts[p][:0]
	return err
}

func (j *journal) writeChunk(p int, payload []byte) error {
	var h [chunkHeader]byte
	binary.LittleEndian.PutUint16(h[0:], uint16(p))
	binary.LittleEndian.PutUint32(h[2:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[6:], crc32.Checksum(payload, castagnoli))
	if _, err := j.f.WriteAt(h[:], j.off); err != nil {
		j.err = fmt.Errorf("write state journal: %w", err)
		return j.err
	}
	if _, err := j.f.WriteAt(payload, j.off+chunkHeader); err != nil {
		j.err = fmt.Errorf("write state journal: %w", err)
		return j.err
	}
	j.off += int64(chunkHeader + len(payload))
	return nil
}

// flushLocked writes every buffered record.
func (j *journal) flushLocked() error {
	if j.err != nil {
		return j.err
	}
	for _, p := range j.dirty {
		if err := j.flushPart(p); err != nil {
			return err
		}
	}
	j.dirty = j.dirty[:0]
	return nil
}

// sync writes every buffered record and syncs the file.
func (j *journal) sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.syncLocked()
}

func (j *journal) syncLocked() error {
	if err := j.flushLocked(); err != nil {
		return err
	}
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("sync state journal: %w", err)
		return j.err
	}
	return nil
}

// flush writes every buffered record without syncing.
func (j *journal) flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.flushLocked()
}

func (j *journal) close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	ferr := j.flushLocked()
	err := j.f.Close()
	if ferr != nil {
		return ferr
	}
	return err
}
