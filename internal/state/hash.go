package state

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/talonsync/talonsync/internal/talon"
)

// Hash is the content hash of an API item: the first 16 bytes of the
// SHA-256 of its action type and its JSON. 128 bits leave no practical
// chance that a changed item hashes like the one the state remembers.
type Hash [16]byte

// HashItem returns the content hash of it. The key is not hashed: it is
// the store's key, and it is part of the JSON anyway.
func HashItem(it *talon.Item) Hash {
	h := sha256.New()
	h.Write([]byte(it.Type))
	h.Write([]byte{0})
	h.Write(it.JSON)
	var sum [sha256.Size]byte
	var out Hash
	copy(out[:], h.Sum(sum[:0]))
	return out
}

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }
