package state

import (
	"encoding/binary"
	"sync"

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

var hashers = sync.Pool{New: func() any { return xxh3.New() }}

// ValueOf returns the Value of key's net effect items, in order.
func ValueOf(key string, items ...talon.Item) Value {
	h := hashers.Get().(*xxh3.Hasher)
	h.Reset()
	var n [binary.MaxVarintLen64]byte
	field := func(s string, b []byte) {
		h.Write(binary.AppendUvarint(n[:0], uint64(len(s)+len(b))))
		h.WriteString(s)
		h.Write(b)
	}
	field(key, nil)
	for i := range items {
		field(string(items[i].Type), nil)
		field("", items[i].JSON)
	}
	v := Value(h.Sum64())
	hashers.Put(h)
	if v == 0 {
		v = 1
	}
	return v
}
