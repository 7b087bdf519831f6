package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The snapshot file. Little-endian throughout:
//
//	header    headerSize bytes (layout in header)
//	blocks    per block of up to blockEntries entries, sorted by Key:
//	            entries  n × entrySize: hash u64, tag u32, meta u32, value u64
//	            strings  n × (uvarint length, key bytes), in entry order
//	index     per block: offset u64, n u32, strings length u32,
//	          CRC-32C of the entries u32, of the strings u32
//	meta      JSON (snapshotMeta)
//
// Opening reads the header, the index, the meta and every block's entries;
// the strings are read only to list keys (prune, mirror, export) and to
// write the next snapshot. Every part is checksummed. The file is written
// under a temporary name, synced and renamed over the old one, and the
// directory is synced: a reader sees the old file or the new one, whole.

const (
	snapMagic    = "talonST\x01"
	headerSize   = 80
	entrySize    = 24
	indexSize    = 24
	blockEntries = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt: the state file or its journal fails a checksum or is not
// the shape it must be.
var ErrCorrupt = errors.New("state file is corrupt")

// header is the fixed start of a snapshot.
type header struct {
	gen       uint64 // generation: +1 at each rewrite
	count     uint64
	blocks    uint32
	indexOff  uint64
	metaOff   uint64
	metaLen   uint32
	indexCRC  uint32
	metaCRC   uint32
	headerCRC uint32
}

func (h *header) encode() []byte {
	b := make([]byte, headerSize)
	copy(b, snapMagic)
	binary.LittleEndian.PutUint32(b[8:], 1) // format version
	binary.LittleEndian.PutUint64(b[16:], h.gen)
	binary.LittleEndian.PutUint64(b[24:], h.count)
	binary.LittleEndian.PutUint32(b[32:], h.blocks)
	binary.LittleEndian.PutUint32(b[36:], blockEntries)
	binary.LittleEndian.PutUint64(b[40:], h.indexOff)
	binary.LittleEndian.PutUint64(b[48:], h.metaOff)
	binary.LittleEndian.PutUint32(b[56:], h.metaLen)
	binary.LittleEndian.PutUint32(b[60:], h.indexCRC)
	binary.LittleEndian.PutUint32(b[64:], h.metaCRC)
	binary.LittleEndian.PutUint32(b[76:], crc32.Checksum(b[:76], castagnoli))
	return b
}

func decodeHeader(b []byte) (header, error) {
	var h header
	if len(b) < headerSize || string(b[:8]) != snapMagic {
		return h, fmt.Errorf("%w: not a talonsync state file", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != 1 {
		return h, fmt.Errorf("%w: format version %d is not known to this talonsync", ErrCorrupt, v)
	}
	if crc32.Checksum(b[:76], castagnoli) != binary.LittleEndian.Uint32(b[76:]) {
		return h, fmt.Errorf("%w: header checksum", ErrCorrupt)
	}
	h.gen = binary.LittleEndian.Uint64(b[16:])
	h.count = binary.LittleEndian.Uint64(b[24:])
	h.blocks = binary.LittleEndian.Uint32(b[32:])
	if binary.LittleEndian.Uint32(b[36:]) != blockEntries {
		return h, fmt.Errorf("%w: block size", ErrCorrupt)
	}
	h.indexOff = binary.LittleEndian.Uint64(b[40:])
	h.metaOff = binary.LittleEndian.Uint64(b[48:])
	h.metaLen = binary.LittleEndian.Uint32(b[56:])
	h.indexCRC = binary.LittleEndian.Uint32(b[60:])
	h.metaCRC = binary.LittleEndian.Uint32(b[64:])
	return h, nil
}

// block locates one block of a snapshot.
type block struct {
	off            int64
	n              int
	strLen         int
	entCRC, strCRC uint32
}

// entry is one key of a state file, without its string.
type entry struct {
	key   Key
	meta  uint32 // absentBit | minutes since the Unix epoch of the confirmation
	value Value  // 0: unknown
}

const (
	absentBit   = 1 << 31
	minutesMask = absentBit - 1
)

func putEntry(b []byte, e *entry) {
	binary.LittleEndian.PutUint64(b, e.key.Hash)
	binary.LittleEndian.PutUint32(b[8:], e.key.Tag)
	binary.LittleEndian.PutUint32(b[12:], e.meta)
	binary.LittleEndian.PutUint64(b[16:], uint64(e.value))
}

func getEntry(b []byte) entry {
	return entry{
		key:   Key{Hash: binary.LittleEndian.Uint64(b), Tag: binary.LittleEndian.Uint32(b[8:])},
		meta:  binary.LittleEndian.Uint32(b[12:]),
		value: Value(binary.LittleEndian.Uint64(b[16:])),
	}
}

// snapWriter writes a snapshot under a temporary name; entries must be
// added in Key order.
type snapWriter struct {
	path string // the final name
	f    *os.File
	w    *bufio.Writer
	off  int64
	idx  []block
	ents []byte // the current block's entries
	strs []byte // and strings
	n    int
	last Key
	any  bool
	err  error
}

func newSnapWriter(path string) (*snapWriter, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write state: %w", err)
	}
	w := &snapWriter{path: path, f: f, w: bufio.NewWriterSize(f, 256<<10), off: headerSize}
	if _, err := w.w.Write(make([]byte, headerSize)); err != nil {
		w.abort()
		return nil, err
	}
	return w, nil
}

// add appends an entry and its key string.
func (w *snapWriter) add(e *entry, key []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.any && !w.last.less(e.key) {
		w.err = fmt.Errorf("state: entries out of order (%x after %x)", e.key, w.last)
		return w.err
	}
	w.last, w.any = e.key, true
	var b [entrySize]byte
	putEntry(b[:], e)
	w.ents = append(w.ents, b[:]...)
	w.strs = binary.AppendUvarint(w.strs, uint64(len(key)))
	w.strs = append(w.strs, key...)
	w.n++
	if w.n == blockEntries {
		return w.flushBlock()
	}
	return nil
}

func (w *snapWriter) flushBlock() error {
	if w.n == 0 {
		return nil
	}
	w.idx = append(w.idx, block{off: w.off, n: w.n, strLen: len(w.strs),
		entCRC: crc32.Checksum(w.ents, castagnoli), strCRC: crc32.Checksum(w.strs, castagnoli)})
	if _, err := w.w.Write(w.ents); err != nil {
		w.err = err
		return err
	}
	if _, err := w.w.Write(w.strs); err != nil {
		w.err = err
		return err
	}
	w.off += int64(len(w.ents) + len(w.strs))
	w.ents, w.strs, w.n = w.ents[:0], w.strs[:0], 0
	return nil
}

// finish writes the index, meta and header, syncs the file, renames it
// over the final name and syncs the directory.
func (w *snapWriter) finish(gen uint64, count uint64, meta []byte) error {
	if err := w.flushBlock(); err != nil {
		w.abort()
		return err
	}
	if w.err != nil {
		w.abort()
		return w.err
	}
	index := make([]byte, 0, len(w.idx)*indexSize)
	for _, b := range w.idx {
		index = binary.LittleEndian.AppendUint64(index, uint64(b.off))
		index = binary.LittleEndian.AppendUint32(index, uint32(b.n))
		index = binary.LittleEndian.AppendUint32(index, uint32(b.strLen))
		index = binary.LittleEndian.AppendUint32(index, b.entCRC)
		index = binary.LittleEndian.AppendUint32(index, b.strCRC)
	}
	h := header{gen: gen, count: count, blocks: uint32(len(w.idx)), indexOff: uint64(w.off),
		metaOff: uint64(w.off) + uint64(len(index)), metaLen: uint32(len(meta)),
		indexCRC: crc32.Checksum(index, castagnoli), metaCRC: crc32.Checksum(meta, castagnoli)}
	err := writeAll(w.w, index, meta)
	if err == nil {
		err = w.w.Flush()
	}
	if err == nil {
		_, err = w.f.WriteAt(h.encode(), 0)
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.path)
	}
	if err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("write state: %w", err)
	}
	return syncDir(filepath.Dir(w.path))
}

func (w *snapWriter) abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
