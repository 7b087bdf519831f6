package state

import (
	"hash/maphash"
	"math/bits"
)

// probes is how many bits a key sets: with one, a run that passes on a few
// hundred keys still answered a false "passed" for about one key in three
// runs of a 20,000-row feed; with three it is about 10^-13 per lookup.
const probes = 3

// bloom is a Bloom filter, a fixed-size set of keys with false positives
// and no false negatives: has(k) is true for every k added, and for a
// few others. Its memory does not grow with the keys added. It is not safe
// for concurrent use.
type bloom struct {
	words []uint64
	mask  uint64
	seed  maphash.Seed
}

// newBloom returns an empty filter of 2^logBits bits (logBits is clamped
// to 6..32). 2^24 bits take 2 MiB and, with 10,000 keys added, answer a
// false true for about one key in 175 million; with 1,000,000 added, for
// about one in 230.
func newBloom(logBits int) *bloom {
	logBits = min(max(logBits, 6), 32)
	n := uint64(1) << logBits
	return &bloom{words: make([]uint64, n/64), mask: n - 1, seed: maphash.MakeSeed()}
}

// positions returns the key's bit positions, by double hashing one 64-bit
// hash (h1 + i*h2).
func (b *bloom) positions(key string) [probes]uint64 {
	h := maphash.String(b.seed, key)
	h2 := bits.RotateLeft64(h, 32) | 1
	var p [probes]uint64
	for i := range p {
		p[i] = (h + uint64(i)*h2) & b.mask
	}
	return p
}

// add adds key to the set.
func (b *bloom) add(key string) {
	for _, p := range b.positions(key) {
		b.words[p>>6] |= 1 << (p & 63)
	}
}

// has reports whether key may have been added; false means it was not.
func (b *bloom) has(key string) bool {
	for _, p := range b.positions(key) {
		if b.words[p>>6]&(1<<(p&63)) == 0 {
			return false
		}
	}
	return true
}
