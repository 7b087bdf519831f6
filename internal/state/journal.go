package state

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// The journal: what a run changed since the snapshot it started from.
//
//	header   magic, generation of that snapshot u64, run u64,
//	         identity JSON length u32 and bytes, CRC-32C u32 of all before
//	records  payload length u32, CRC-32C u32 of the payload, payload:
//	         kind u8, hash u64, tag u32, meta u32, value u64, key bytes
//
// The header is synced when the run begins. Invalidations are synced
// before the sends they protect; confirmations are buffered, so a kill may
// lose the last of them, which only costs re-sends. Reading stops at the
// first record that is cut short or fails its checksum: records are only
// appended, so everything before it is intact, and everything synced comes
// before it.

const journalMagic = "talonJR\x01"

const (
	recInvalidate    byte = 1 // the key's value is unknown (it is being sent, or was rejected)
	recConfirm       byte = 2 // the API confirmed the value (meta, value)
	recInvalidateAll byte = 3 // every value is unknown: a bulk action touched items by filter
)

const recFixed = 1 + 8 + 4 + 4 + 8

// journalHeader is what a journal applies to.
type journalHeader struct {
	gen      uint64
	run      uint64
	identity *Identity
}

// jrecord is one journal record; key aliases the reader's buffer.
type jrecord struct {
	kind byte
	e    entry
	key  []byte
}

// journal appends records. Its methods are safe for concurrent use.
type journal struct {
	mu  sync.Mutex
	f   *os.File
	w   *bufio.Writer
	n   int64 // records written
	err error // sticky
}

func journalPath(path string) string { return path + ".journal" }

// createJournal creates the journal of a run, replacing any, and makes it
// durable (file and directory) before it returns.
func createJournal(path string, h journalHeader) (*journal, error) {
	f, err := os.OpenFile(journalPath(path), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create state journal: %w", err)
	}
	b := []byte(journalMagic)
	b = binary.LittleEndian.AppendUint64(b, h.gen)
	b = binary.LittleEndian.AppendUint64(b, h.run)
	var id []byte
	if h.identity != nil {
		id, _ = json.Marshal(h.identity)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(id)))
	b = append(b, id...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
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
	return &journal{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// add appends a record to the buffer.
func (j *journal) add(kind byte, e *entry, key string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.addLocked(kind, e, key)
}

func (j *journal) addLocked(kind byte, e *entry, key string) error {
	if j.err != nil {
		return j.err
	}
	var b [8 + recFixed]byte
	p := b[8:]
	p[0] = kind
	binary.LittleEndian.PutUint64(p[1:], e.key.Hash)
	binary.LittleEndian.PutUint32(p[9:], e.key.Tag)
	binary.LittleEndian.PutUint32(p[13:], e.meta)
	binary.LittleEndian.PutUint64(p[17:], uint64(e.value))
	crc := crc32.Update(crc32.Checksum(p, castagnoli), castagnoli, []byte(key))
	binary.LittleEndian.PutUint32(b[0:], uint32(recFixed+len(key)))
	binary.LittleEndian.PutUint32(b[4:], crc)
	if _, err := j.w.Write(b[:]); err != nil {
		j.err = err
		return err
	}
	if _, err := j.w.WriteString(key); err != nil {
		j.err = err
		return err
	}
	j.n++
	return nil
}

// sync writes the buffer and syncs the file.
func (j *journal) sync() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.syncLocked()
}

func (j *journal) syncLocked() error {
	if j.err != nil {
		return j.err
	}
	if err := j.w.Flush(); err != nil {
		j.err = err
		return err
	}
	if err := j.f.Sync(); err != nil {
		j.err = fmt.Errorf("sync state journal: %w", err)
		return j.err
	}
	return nil
}

// flush writes the buffer without syncing.
func (j *journal) flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.w.Flush()
	}
	return j.err
}

func (j *journal) close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.w.Flush()
	}
	err := j.f.Close()
	if j.err != nil {
		return j.err
	}
	return err
}

// journalReader reads a journal's records.
type journalReader struct {
	r   *bufio.Reader
	buf []byte
}

// openJournal opens the journal of path for reading. ok is false when
// there is none, or when its header is cut short or damaged: the header
// is synced before any record that matters, so such a journal holds
// nothing that must be replayed.
func openJournal(path string) (f *os.File, h journalHeader, jr *journalReader, ok bool, err error) {
	f, err = os.Open(journalPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil, h, nil, false, nil
	}
	if err != nil {
		return nil, h, nil, false, fmt.Errorf("open state journal: %w", err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	fixed := make([]byte, 8+8+8+4)
	if _, err := io.ReadFull(r, fixed); err != nil || string(fixed[:8]) != journalMagic {
		return f, h, nil, false, nil
	}
	idLen := binary.LittleEndian.Uint32(fixed[24:])
	if idLen > 1<<20 {
		return f, h, nil, false, nil
	}
	rest := make([]byte, idLen+4)
	if _, err := io.ReadFull(r, rest); err != nil {
		return f, h, nil, false, nil
	}
	crc := crc32.Update(crc32.Checksum(fixed, castagnoli), castagnoli, rest[:idLen])
	if crc != binary.LittleEndian.Uint32(rest[idLen:]) {
		return f, h, nil, false, nil
	}
	h.gen = binary.LittleEndian.Uint64(fixed[8:])
	h.run = binary.LittleEndian.Uint64(fixed[16:])
	if idLen > 0 {
		h.identity = new(Identity)
		if json.Unmarshal(rest[:idLen], h.identity) != nil {
			return f, h, nil, false, nil
		}
	}
	return f, h, &journalReader{r: r}, true, nil
}

// next returns the next intact record; ok is false at the end of the
// intact part.
func (jr *journalReader) next() (rec jrecord, ok bool) {
	var lb [8]byte
	if _, err := io.ReadFull(jr.r, lb[:]); err != nil {
		return rec, false
	}
	n := binary.LittleEndian.Uint32(lb[:])
	if n < recFixed || n > 1<<20 {
		return rec, false
	}
	if cap(jr.buf) < int(n) {
		jr.buf = make([]byte, n)
	}
	p := jr.buf[:n]
	if _, err := io.ReadFull(jr.r, p); err != nil {
		return rec, false
	}
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(lb[4:]) {
		return rec, false
	}
	rec.kind = p[0]
	if rec.kind < recInvalidate || rec.kind > recInvalidateAll {
		return rec, false
	}
	rec.e = entry{
		key:   Key{Hash: binary.LittleEndian.Uint64(p[1:]), Tag: binary.LittleEndian.Uint32(p[9:])},
		meta:  binary.LittleEndian.Uint32(p[13:]),
		value: Value(binary.LittleEndian.Uint64(p[17:])),
	}
	rec.key = p[recFixed:]
	return rec, true
}
