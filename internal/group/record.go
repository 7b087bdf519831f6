package group

import (
	"encoding/binary"
	"errors"

	"github.com/talonsync/talonsync/internal/talon"
)

// Record is one input row of a key.
type Record struct {
	// Hash is the key's 64-bit hash, computed by the caller (state.KeyHash
	// in talonsync). Keys come out in ascending Hash order, so that they
	// meet a state sorted the same way in one forward pass.
	Hash uint64
	// Seq is the row's position in the input. A key's records come out in
	// ascending Seq order.
	Seq int64
	// Line is the row's line in the input, carried for the caller.
	Line int64
	// Item is the row's API item. Item.Key must not be empty.
	Item talon.Item
}

// ErrNoKey: a record without a key (a PATCH_MANY or REMOVE_MANY row) was
// added; such rows do not belong to any key's group.
var ErrNoKey = errors.New("group: record has no key")

var errCorrupt = errors.New("group: spill data is corrupt")

// Record layout in a chunk:
//
//	uvarint n            length of the rest
//	u64    hash          little-endian
//	uvarint seq, line
//	u8     flags         action type code | remove bit
//	uvarint key length, key bytes, then the item JSON to the end
const removeFlag = 0x80

var typeCodes = []talon.ActionType{"", talon.ActionAdd, talon.ActionPatch, talon.ActionRemove, talon.ActionPatchMany, talon.ActionRemoveMany}

func typeCode(t talon.ActionType) (byte, bool) {
	for i, c := range typeCodes {
		if c == t {
			return byte(i), true
		}
	}
	return 0, false
}

// appendRecord appends the encoding of r to dst.
func appendRecord(dst []byte, r *Record, code byte) []byte {
	n := 8 + uvarintLen(uint64(r.Seq)) + uvarintLen(uint64(r.Line)) + 1 +
		uvarintLen(uint64(len(r.Item.Key))) + len(r.Item.Key) + len(r.Item.JSON)
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = binary.LittleEndian.AppendUint64(dst, r.Hash)
	dst = binary.AppendUvarint(dst, uint64(r.Seq))
	dst = binary.AppendUvarint(dst, uint64(r.Line))
	if r.Item.Remove {
		code |= removeFlag
	}
	dst = append(dst, code)
	dst = binary.AppendUvarint(dst, uint64(len(r.Item.Key)))
	dst = append(dst, r.Item.Key...)
	return append(dst, r.Item.JSON...)
}

func recordLen(r *Record) int {
	n := 8 + uvarintLen(uint64(r.Seq)) + uvarintLen(uint64(r.Line)) + 1 +
		uvarintLen(uint64(len(r.Item.Key))) + len(r.Item.Key) + len(r.Item.JSON)
	return uvarintLen(uint64(n)) + n
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// nextRecord splits the record at the start of b: its body and the rest.
func nextRecord(b []byte) (body, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) || n < 8+4 {
		return nil, nil, errCorrupt
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// decoded is a record body split into its fields; key and json alias the
// body.
type decoded struct {
	hash      uint64
	seq, line int64
	flags     byte
	key, json []byte
}

func decode(body []byte) (decoded, error) {
	var d decoded
	d.hash = binary.LittleEndian.Uint64(body)
	i := 8
	seq, k := binary.Uvarint(body[i:])
	if k <= 0 {
		return d, errCorrupt
	}
	i += k
	line, k := binary.Uvarint(body[i:])
	if k <= 0 || i+k >= len(body) {
		return d, errCorrupt
	}
	i += k
	d.seq, d.line, d.flags = int64(seq), int64(line), body[i]
	i++
	kl, k := binary.Uvarint(body[i:])
	if k <= 0 || kl > uint64(len(body)-i-k) {
		return d, errCorrupt
	}
	i += k
	d.key, d.json = body[i:i+int(kl)], body[i+int(kl):]
	if int(d.flags&^removeFlag) >= len(typeCodes) {
		return d, errCorrupt
	}
	return d, nil
}

// hashOf returns the hash of an encoded record body.
func hashOf(body []byte) uint64 { return binary.LittleEndian.Uint64(body) }
