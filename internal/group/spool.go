// Package group is a streaming external group-by for the rows of an input:
// records go in in file order, and come out key by key, in ascending key
// hash, each key's records in file order, with memory bounded by a budget
// whatever the number of keys or rows.
//
// Records are appended to hash partitions (the top bits of the key hash).
// Full partition buffers are held in memory up to half the budget, then
// spilled to one temporary file, which is unlinked as soon as it is created
// where the system allows, so that no crash leaves it behind. A partition is
// read back whole when it fits in the budget, and otherwise split again by
// the next bits of the hash; a partition whose records all share one hash
// (one hot key) is streamed from the file instead. So the spool is also the
// copy of the input that a second pass needs: a stdin input needs no
// separate spool.
package group

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
)

// Options configures a Spool. The zero value is usable.
type Options struct {
	// Dir is where the temporary file goes; default os.TempDir().
	Dir string
	// Budget bounds the memory of records held at once: buffers and held
	// chunks while adding, one partition and its index while reading.
	// Default DefaultBudget; at least 64 KiB.
	Budget int
	// Partitions is the fan-out of each split, a power of two from 2 to
	// 4096; default 64.
	Partitions int
}

// DefaultBudget is the default Options.Budget.
const DefaultBudget = 8 << 20

// chunk is a sealed run of encoded records of one partition, in memory
// (mem) or in the file at off.
type chunk struct {
	off int64
	n   int
	mem []byte
}

// partition is the records of one hash range.
type partition struct {
	depth   int // how many splits made it: its index is hash bits [depth*bits, (depth+1)*bits)
	buf     []byte
	chunks  []chunk
	bytes   int64
	records int64
	uniform bool // every record has the hash of the first; splitting cannot help
}

// Spool groups records by key. Add records, then call Groups once to read
// them back; Close releases the file. It is not safe for concurrent use.
type Spool struct {
	opts      Options
	bits      uint
	chunkSize int
	f         *os.File // nil until the first spill
	removed   bool     // f is unlinked already
	size      int64    // length of f
	parts     []partition
	held      int // bytes of sealed chunks held in memory
	free      [][]byte
	records   int64
	spilled   int64
	splits    int
	streamed  int
	reading   bool
	err       error // sticky
}

// New returns an empty Spool.
func New(opts Options) (*Spool, error) {
	if opts.Budget == 0 {
		opts.Budget = DefaultBudget
	}
	if opts.Budget < 64<<10 {
		return nil, fmt.Errorf("group: budget %d is below 64 KiB", opts.Budget)
	}
	if opts.Partitions == 0 {
		opts.Partitions = 64
	}
	if p := opts.Partitions; p < 2 || p > 4096 || p&(p-1) != 0 {
		return nil, fmt.Errorf("group: partitions %d is not a power of two from 2 to 4096", p)
	}
	if opts.Dir == "" {
		opts.Dir = os.TempDir()
	}
	s := &Spool{opts: opts, bits: uint(bits.TrailingZeros(uint(opts.Partitions)))}
	// Write buffers take at most a quarter of the budget.
	s.chunkSize = min(max(opts.Budget/(4*opts.Partitions), 4<<10), 256<<10)
	s.parts = make([]partition, opts.Partitions)
	return s, nil
}

// index returns the partition index of hash h at depth d.
func (s *Spool) index(h uint64, d int) int {
	shift := uint(d) * s.bits
	if shift >= 64 {
		return 0
	}
	return int((h << shift) >> (64 - s.bits))
}

// Add appends a record. It copies r's memory. It fails with ErrNoKey for
// a record without a key and, after Groups was called, with an error.
// After a write error every later call returns it.
func (s *Spool) Add(r Record) error {
	if s.err != nil {
		return s.err
	}
	if s.reading {
		return errors.New("group: add after Groups")
	}
	if r.Item.Key == "" {
		return ErrNoKey
	}
	code, ok := typeCode(r.Item.Type)
	if !ok {
		return fmt.Errorf("group: unknown action type %q", r.Item.Type)
	}
	p := &s.parts[s.index(r.Hash, 0)]
	if p.buf == nil {
		p.buf = s.newBuf()
	}
	var n int
	p.buf, n = appendRecord(p.buf, &r, code)
	p.bytes += int64(n)
	p.records++
	s.records++
	if len(p.buf) >= s.chunkSize {
		return s.seal(p)
	}
	return nil
}

func (s *Spool) newBuf() []byte {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, s.chunkSize+s.chunkSize/4)
}

// seal moves p's buffer to its chunks and spills the held chunks when they
// pass half the budget.
func (s *Spool) seal(p *partition) error {
	if len(p.buf) == 0 {
		return nil
	}
	p.chunks = append(p.chunks, chunk{n: len(p.buf), mem: p.buf})
	s.held += len(p.buf)
	p.buf = nil
	if s.held > s.opts.Budget/2 {
		return s.spillAll()
	}
	return nil
}

// spillAll writes every chunk held in memory to the file.
func (s *Spool) spillAll() error {
	for i := range s.parts {
		if err := s.spill(&s.parts[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Spool) spill(p *partition) error {
	for i := range p.chunks {
		c := &p.chunks[i]
		if c.mem == nil {
			continue
		}
		off, err := s.write(c.mem)
		if err != nil {
			return err
		}
		s.held -= len(c.mem)
		if cap(c.mem) <= s.chunkSize*2 {
			s.free = append(s.free, c.mem)
		}
		c.off, c.mem = off, nil
	}
	return nil
}

// write appends b to the file and returns its offset.
func (s *Spool) write(b []byte) (int64, error) {
	if s.f == nil {
		f, err := os.CreateTemp(s.opts.Dir, "talonsync-group-*")
		if err != nil {
			s.err = fmt.Errorf("group: spill: %w", err)
			return 0, s.err
		}
		// Unlinked now, the file goes away with the process whatever
		// happens. Systems that refuse (Windows) get it removed by Close.
		if os.Remove(f.Name()) == nil {
			s.removed = true
		}
		s.f = f
	}
	off := s.size
	if _, err := s.f.WriteAt(b, off); err != nil {
		s.err = fmt.Errorf("group: spill: %w", err)
		return 0, s.err
	}
	s.size += int64(len(b))
	s.spilled += int64(len(b))
	return off, nil
}

// read returns the bytes of chunk c, reading a file chunk into buf.
func (s *Spool) read(c *chunk, buf []byte) ([]byte, error) {
	if c.mem != nil {
		return c.mem, nil
	}
	if cap(buf) < c.n {
		buf = make([]byte, c.n)
	}
	buf = buf[:c.n]
	if _, err := s.f.ReadAt(buf, c.off); err != nil {
		return nil, fmt.Errorf("group: read spill: %w", err)
	}
	return buf, nil
}

// Stats describes a Spool's work so far.
type Stats struct {
	Records      int64 // records added
	SpilledBytes int64 // bytes written to the temporary file, splits included
	Splits       int   // partitions split because they exceeded the budget
	Streamed     int   // partitions of one hash beyond the budget, read chunk by chunk
}

// Stats returns the Spool's counters.
func (s *Spool) Stats() Stats {
	return Stats{Records: s.records, SpilledBytes: s.spilled, Splits: s.splits, Streamed: s.streamed}
}

// Close releases the temporary file. The Groups of s must not be used
// after Close.
func (s *Spool) Close() error {
	if s.f == nil {
		return nil
	}
	name := s.f.Name()
	err := s.f.Close()
	if !s.removed {
		if rerr := os.Remove(name); err == nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}
	s.f = nil
	return err
}
