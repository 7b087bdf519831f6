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
//	u8     flags         action type code | remove bit | key-in-JSON bit
//	uvarint key length, then
//	  with key-in-JSON:  uvarint offset of the key's bytes in the JSON
//	  else:              the key bytes
//	then the item JSON, to the end
//
// Most items hold their key verbatim (the integrationId, the SKU), so a
// record stores it once: the spool's size is what it costs to write.
const (
	removeFlag    = 0x80
	keyInJSONFlag = 0x40
	typeMask      = 0x3F
)

var typeCodes = []talon.ActionType{"", talon.ActionAdd, talon.ActionPatch, talon.ActionRemove, talon.ActionPatchMany, talon.ActionRemoveMany}

func typeCode(t talon.ActionType) (byte, bool) {
	for i, c := range typeCodes {
		if c == t {
			return byte(i), true
		}
	}
	return 0, false
}

// keyOffset returns where key's bytes appear as a JSON string in the
// first bytes of js, or -1.
func keyOffset(js []byte, key string) int {
	head := js[:min(len(js), 256)]
	for i := 0; i+len(key)+1 < len(head); i++ {
		if head[i] == '"' && head[i+len(key)+1] == '"' && string(head[i+1:i+1+len(key)]) == key {
			return i + 1
		}
	}
	return -1
}

// appendRecord appends the encoding of r to dst and returns it and the
// record's length.
func appendRecord(dst []byte, r *Record, code byte) ([]byte, int) {
	key, js := r.Item.Key, r.Item.JSON
	koff := keyOffset(js, key)
	n := 8 + uvarintLen(uint64(r.Seq)) + uvarintLen(uint64(r.Line)) + 1 + uvarintLen(uint64(len(key))) + len(js)
	if koff >= 0 {
		code |= keyInJSONFlag
		n += uvarintLen(uint64(koff))
	} else {
		n += len(key)
	}
	if r.Item.Remove {
		code |= removeFlag
	}
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = binary.LittleEndian.AppendUint64(dst, r.Hash)
	dst = binary.AppendUvarint(dst, uint64(r.Seq))
	dst = binary.AppendUvarint(dst, uint64(r.Line))
	dst = append(dst, code)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	if koff >= 0 {
		dst = binary.AppendUvarint(dst, uint64(koff))
	} else {
		dst = append(dst, key...)
	}
	dst = append(dst, js...)
	return dst, len(dst) - start
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

// decoded is a record body split into its fields: the key is
// body[k0:k1], the JSON body[j0:].
type decoded struct {
	hash       uint64
	seq, line  int64
	flags      byte
	k0, k1, j0 int
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
	if int(d.flags&typeMask) >= len(typeCodes) {
		return d, errCorrupt
	}
	kl, k := binary.Uvarint(body[i:])
	if k <= 0 || kl > uint64(len(body)) {
		return d, errCorrupt
	}
	i += k
	if d.flags&keyInJSONFlag == 0 {
		if kl > uint64(len(body)-i) {
			return d, errCorrupt
		}
		d.k0, d.k1, d.j0 = i, i+int(kl), i+int(kl)
		return d, nil
	}
	off, k := binary.Uvarint(body[i:])
	if k <= 0 {
		return d, errCorrupt
	}
	d.j0 = i + k
	if off+kl > uint64(len(body)-d.j0) {
		return d, errCorrupt
	}
	d.k0, d.k1 = d.j0+int(off), d.j0+int(off)+int(kl)
	return d, nil
}

func (d *decoded) key(body []byte) []byte  { return body[d.k0:d.k1] }
func (d *decoded) json(body []byte) []byte { return body[d.j0:] }

// hashOf returns the hash of an encoded record body.
func hashOf(body []byte) uint64 { return binary.LittleEndian.Uint64(body) }
