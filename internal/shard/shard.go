// Package shard splits one input among N processes by key: `--shard I/N`
// makes a run own the rows whose key hashes to shard I, so each key belongs
// to exactly one shard, and per-key order and "one request per key in
// flight" hold across shards as they do across one run's lanes.
//
// The hash is part of the on-disk contract (a shard's state and checkpoint
// hold only its own keys), so it must agree across processes, machines and
// versions: it is not hash/maphash, whose seed is per process. It is
//
//	shard(key, N) = fmix64(FNV-1a-64(key)) mod N
//
// over the key's UTF-8 bytes, where FNV-1a-64 is the standard one (offset
// basis 0xcbf29ce484222325, prime 0x100000001b3, as in hash/fnv) and fmix64
// is MurmurHash3's 64-bit finalizer (x ^= x>>33; x *= 0xff51afd7ed558ccd;
// x ^= x>>33; x *= 0xc4ceb9fe1a85ec53; x ^= x>>33), which spreads FNV's
// weak low bits before the modulo. The key is the entity key the state uses:
// the SKU, the integrationId, or the audience membership key.
package shard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The environment variables that `auto/N` reads the index from.
const (
	// EnvIndex is set by the caller: the Airflow DAG sets it from
	// {{ ti.map_index }}; anything else that starts N copies may too.
	EnvIndex = "TALONSYNC_SHARD_INDEX"
	// EnvJobCompletionIndex is set by Kubernetes in the pods of an Indexed
	// Job (completionMode: Indexed).
	EnvJobCompletionIndex = "JOB_COMPLETION_INDEX"
)

// Placeholder is replaced by the shard index in paths.
const Placeholder = "{shard}"

// MaxCount bounds N: more shards than this is a typo, not a deployment.
const MaxCount = 10_000

// ErrSpec is matched by every error Parse and CheckPath return.
var ErrSpec = errors.New("bad --shard")

// Spec is shard Index of Count. The zero Spec is an unsharded run: it owns
// every key, and a path keeps any "{shard}" only as an error (CheckPath).
type Spec struct {
	Index int
	Count int
}

// Sharded reports whether s splits the input at all (Count > 1). A 0/1
// shard owns every key, like the zero Spec, but its paths may still hold
// "{shard}".
func (s Spec) Sharded() bool { return s.Count > 1 }

func (s Spec) String() string {
	if s.Count == 0 {
		return "unsharded"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Parse parses "I/N" or "auto/N". For auto, I comes from getenv(EnvIndex)
// and else getenv(EnvJobCompletionIndex); if both are set they must agree.
// getenv is os.Getenv outside tests. An empty string is the zero Spec.
func Parse(s string, getenv func(string) string) (Spec, error) {
	if s == "" {
		return Spec{}, nil
	}
	bad := func(format string, a ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("%w %q: %s", ErrSpec, s, fmt.Sprintf(format, a...))
	}
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return bad("want I/N or auto/N, such as 0/4")
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 || n > MaxCount {
		return bad("the shard count must be a whole number from 1 to %d", MaxCount)
	}
	source := ""
	if is == "auto" {
		own, job := getenv(EnvIndex), getenv(EnvJobCompletionIndex)
		switch {
		case own != "" && job != "" && own != job:
			return bad("$%s is %s but $%s is %s", EnvIndex, own, EnvJobCompletionIndex, job)
		case own != "":
			is, source = own, " (from $"+EnvIndex+")"
		case job != "":
			is, source = job, " (from $"+EnvJobCompletionIndex+")"
		default:
			return bad("auto needs $%s (a Kubernetes Indexed Job sets it) or $%s", EnvJobCompletionIndex, EnvIndex)
		}
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= n {
		return bad("the shard index %q%s must be a whole number from 0 to %d", is, source, n-1)
	}
	return Spec{Index: i, Count: n}, nil
}

// Of returns the shard of n that key belongs to (0 when n ≤ 1). See the
// package comment for the function; it never changes.
func Of(key string, n int) int {
	if n <= 1 {
		return 0
	}
	return int(Hash(key) % uint64(n))
}

// Hash is fmix64(FNV-1a-64(key)), the hash Of reduces.
func Hash(key string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 0x100000001b3
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// Owns reports whether key belongs to s. An unsharded Spec owns every key.
func (s Spec) Owns(key string) bool {
	return !s.Sharded() || Of(key, s.Count) == s.Index
}

// Expand replaces every "{shard}" in path with the shard index, so that N
// shards can share one set of flags. An unsharded Spec leaves path as it is
// (CheckPath refuses the placeholder there).
func (s Spec) Expand(path string) string {
	if s.Count == 0 {
		return path
	}
	return strings.ReplaceAll(path, Placeholder, strconv.Itoa(s.Index))
}

// CheckPath checks a path given to flag before it is expanded: an
// unsharded run may not hold "{shard}" in it, and when shared is true (an
// output that each shard writes: --checkpoint, --state, --rejects,
// --report) a sharded run must, or the shards would fight over one object.
func (s Spec) CheckPath(flag, path string, shared bool) error {
	has := strings.Contains(path, Placeholder)
	switch {
	case has && s.Count == 0:
		return fmt.Errorf("%w: %s %s holds %s, which needs --shard", ErrSpec, flag, path, Placeholder)
	case shared && s.Sharded() && !has:
		return fmt.Errorf("%w: %s %s would be written by all %d shards; put %s in it", ErrSpec, flag, path, s.Count, Placeholder)
	}
	return nil
}

// Rate returns this shard's part of a cap on requests per second meant for
// all shards together: total/N. 0 (no cap) stays 0.
func (s Spec) Rate(total float64) float64 {
	if !s.Sharded() || total <= 0 {
		return total
	}
	return total / float64(s.Count)
}
