package state

import "hash/maphash"

// Bitset is a fixed-size set of keys with false positives and no false
// negatives: Has(k) is true for every k added, and for a few others. Its
// memory does not grow with the keys added. It is not safe for concurrent
// use.
type Bitset struct {
	words []uint64
	mask  uint64
	seed  maphash.Seed
}

// NewBitset returns an empty Bitset of 2^logBits bits (logBits is clamped
// to 6..32): 2^24 bits take 2 MiB and, with 10,000 keys added, answer a
// false true for about one key in 1,700.
func NewBitset(logBits int) *Bitset {
	logBits = min(max(logBits, 6), 32)
	n := uint64(1) << logBits
	return &Bitset{words: make([]uint64, n/64), mask: n - 1, seed: maphash.MakeSeed()}
}

func (b *Bitset) bit(key string) (int, uint64) {
	h := maphash.String(b.seed, key) & b.mask
	return int(h >> 6), 1 << (h & 63)
}

// Add adds key to the set.
func (b *Bitset) Add(key string) {
	w, m := b.bit(key)
	b.words[w] |= m
}

// Has reports whether key may have been added; false means it was not.
func (b *Bitset) Has(key string) bool {
	w, m := b.bit(key)
	return b.words[w]&m != 0
}
