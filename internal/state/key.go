package state

import (
	"encoding/binary"

	"github.com/zeebo/xxh3"

	"github.com/talonsync/talonsync/internal/talon"
)

// Key names an entity key in a state file without its string: Hash orders
// the file (and group.Record.Hash must be this Hash, so that a feed's keys
// and the file's meet in one order), and Tag is more bits of the same
// 128-bit hash, so that two keys count as one only when 96 bits collide
// (about one chance in 10^17 among a million keys). Equal keys always have
// equal Keys.
type Key struct {
	Hash uint64
	Tag  uint32
}

// KeyOf returns the Key of an entity key: xxh3-128 of its bytes.
func KeyOf(key string) Key {
	h := xxh3.HashString128(key)
	return Key{Hash: h.Hi, Tag: uint32(h.Lo)}
}

func (k Key) less(o Key) bool {
	return k.Hash < o.Hash || (k.Hash == o.Hash && k.Tag < o.Tag)
}

// Value is the hash of what a key's net effect sends: a 64-bit xxh3 of the
// key string and of each item's type and JSON. Because it covers the key,
// two keys whose Key collided still have different Values, so a collision
// can never make a changed item look unchanged. Zero is not a Value: it
// marks an entry whose value is unknown.
type Value uint64

// ValueOf returns the Value of key's net effect items, in order: xxh3-64
// of each part (the key, then each item's type and JSON) prefixed by its
// length, so that no two different lists of parts hash the same bytes.
func ValueOf(key string, items ...talon.Item) Value {
	var buf [512]byte // most net effects fit: no allocation
	b := appendPart(buf[:0], key, nil)
	for i := range items {
		b = appendPart(b, string(items[i].Type), nil)
		b = appendPart(b, "", items[i].JSON)
	}
	v := Value(xxh3.Hash(b))
	if v == 0 {
		v = 1
	}
	return v
}

func appendPart(b []byte, s string, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)+len(p)))
	b = append(b, s...)
	return append(b, p...)
}

// KeyHash returns the 64-bit hash that orders a state file: the Hash of
// KeyOf(key). A group pass must use it as group.Record.Hash, so that keys
// come out in the state's order.
func KeyHash(key string) uint64 { return KeyOf(key).Hash }
