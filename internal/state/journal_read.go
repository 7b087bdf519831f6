package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// chunkRef locates a chunk of a journal being read.
type chunkRef struct {
	off int64 // of the payload
	n   int
	crc uint32
}

// journalIndex is a journal's chunks by partition, found by reading the
// chunk headers; the payloads are read and checked partition by partition.
type journalIndex struct {
	f      *os.File
	h      journalHeader
	parts  [journalParts][]chunkRef
	all    []chunkRef // chunks of recInvalidateAll
	end    int64      // offset past the last chunk read
	chunks int
}

// openJournal opens the journal of path and indexes its chunks. ok is
// false when there is none, or when its header is cut short or damaged:
// the header is synced before any record that matters, so such a journal
// holds nothing that must be replayed. The caller closes ji.f when it is
// not nil.
func openJournal(path string) (ji *journalIndex, ok bool, err error) {
	f, err := os.Open(journalPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("open state journal: %w", err)
	}
	ji = &journalIndex{f: f}
	st, err := f.Stat()
	if err != nil {
		return ji, false, fmt.Errorf("open state journal: %w", err)
	}
	size := st.Size()
	fixed := make([]byte, 8+8+8+4)
	if _, err := f.ReadAt(fixed, 0); err != nil || string(fixed[:8]) != journalMagic {
		return ji, false, nil
	}
	idLen := int64(binary.LittleEndian.Uint32(fixed[24:]))
	if idLen > 1<<20 || 28+idLen+4 > size {
		return ji, false, nil
	}
	rest := make([]byte, idLen+4)
	if _, err := f.ReadAt(rest, 28); err != nil {
		return ji, false, nil
	}
	crc := crc32.Update(crc32.Checksum(fixed, castagnoli), castagnoli, rest[:idLen])
	if crc != binary.LittleEndian.Uint32(rest[idLen:]) {
		return ji, false, nil
	}
	ji.h.gen = binary.LittleEndian.Uint64(fixed[8:])
	ji.h.run = binary.LittleEndian.Uint64(fixed[16:])
	if idLen > 0 {
		ji.h.identity = new(Identity)
		if json.Unmarshal(rest[:idLen], ji.h.identity) != nil {
			return ji, false, nil
		}
	}
	ji.end = 28 + idLen + 4
	ji.index(size, size)
	return ji, true, nil
}

// index reads the chunk headers from ji.end up to limit; a chunk cut
// short ends the journal.
func (ji *journalIndex) index(size, limit int64) {
	var h [chunkHeader]byte
	for ji.end+chunkHeader <= min(size, limit) {
		if _, err := ji.f.ReadAt(h[:], ji.end); err != nil {
			return
		}
		p := int(binary.LittleEndian.Uint16(h[0:]))
		n := int64(binary.LittleEndian.Uint32(h[2:]))
		if n == 0 || n > maxChunk || (p >= journalParts && p != allPart) || ji.end+chunkHeader+n > min(size, limit) {
			return
		}
		c := chunkRef{off: ji.end + chunkHeader, n: int(n), crc: binary.LittleEndian.Uint32(h[6:])}
		if p == allPart {
			ji.all = append(ji.all, c)
		} else {
			ji.parts[p] = append(ji.parts[p], c)
		}
		ji.end = c.off + n
		ji.chunks++
	}
}

// cut drops every chunk at or after off: a chunk there failed its
// checksum, so nothing after it is trusted.
func (ji *journalIndex) cut(off int64) {
	keep := func(cs []chunkRef) []chunkRef {
		out := cs[:0]
		for _, c := range cs {
			if c.off < off {
				out = append(out, c)
			}
		}
		return out
	}
	for p := range ji.parts {
		ji.parts[p] = keep(ji.parts[p])
	}
	ji.all = keep(ji.all)
	ji.end = min(ji.end, off)
}

// errBadChunk says where a chunk failed its checksum.
type errBadChunk struct{ off int64 }

func (e *errBadChunk) Error() string {
	return fmt.Sprintf("state journal chunk at %d is damaged", e.off)
}

// readChunk reads and checks chunk c into buf.
func (ji *journalIndex) readChunk(c chunkRef, buf []byte) ([]byte, error) {
	if cap(buf) < c.n {
		buf = make([]byte, c.n)
	}
	buf = buf[:c.n]
	if _, err := ji.f.ReadAt(buf, c.off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read state journal: %w", err)
	}
	if crc32.Checksum(buf, castagnoli) != c.crc {
		return nil, &errBadChunk{off: c.off - chunkHeader}
	}
	return buf, nil
}

// jrecord is one journal record; key aliases the chunk's buffer.
type jrecord struct {
	kind byte
	e    entry
	seq  int64
	key  []byte
}

// nextRecord parses the record at the start of b.
func nextRecord(b []byte) (rec jrecord, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n < 1+8+4+4+8+1 || n > uint64(len(b)-k) {
		return rec, nil, fmt.Errorf("%w: journal record", ErrCorrupt)
	}
	p, rest := b[k:k+int(n)], b[k+int(n):]
	rec.kind = p[0]
	if rec.kind < recInvalidate || rec.kind > recInvalidateAll {
		return rec, nil, fmt.Errorf("%w: journal record kind %d", ErrCorrupt, rec.kind)
	}
	rec.e = entry{
		key:   Key{Hash: binary.LittleEndian.Uint64(p[1:]), Tag: binary.LittleEndian.Uint32(p[9:])},
		meta:  binary.LittleEndian.Uint32(p[13:]),
		value: Value(binary.LittleEndian.Uint64(p[17:])),
	}
	seq, k := binary.Uvarint(p[25:])
	if k <= 0 {
		return rec, nil, fmt.Errorf("%w: journal record", ErrCorrupt)
	}
	rec.seq, rec.key = int64(seq), p[25+k:]
	return rec, rest, nil
}
