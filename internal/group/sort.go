package group

import "math/bits"

// sortRefs sorts refs, which are in seq order and share the top known
// bits of their hash, by (hash, seq): a stable counting sort on the next
// bits of the hash puts about one ref in each bucket, and an insertion
// sort (stable, so seq order holds) finishes each bucket. It returns the
// sorted slice and the other buffer.
func sortRefs(refs, spare []ref, known uint) (sorted, other []ref) {
	n := len(refs)
	if n < 2 {
		return refs, spare
	}
	if known >= 64 {
		known = 63
	}
	b := min(uint(bits.Len(uint(n))), 16, 64-known)
	shift := 64 - known - b
	mask := uint64(1)<<b - 1
	counts := make([]int32, 1<<b+1)
	for i := range refs {
		counts[(refs[i].hash>>shift)&mask+1]++
	}
	for i := 1; i <= 1<<b; i++ {
		counts[i] += counts[i-1]
	}
	if cap(spare) < n {
		spare = make([]ref, n)
	}
	out := spare[:n]
	for i := range refs {
		k := (refs[i].hash >> shift) & mask
		out[counts[k]] = refs[i]
		counts[k]++
	}
	// Each bucket [start, counts[k]) is now contiguous; finish with
	// insertion sort on the whole, which costs about one step per ref.
	for i := 1; i < n; i++ {
		r := out[i]
		j := i
		for j > 0 && (out[j-1].hash > r.hash || (out[j-1].hash == r.hash && out[j-1].seq > r.seq)) {
			out[j] = out[j-1]
			j--
		}
		out[j] = r
	}
	return out, refs[:0]
}
