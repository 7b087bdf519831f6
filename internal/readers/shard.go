package readers

import (
	"bytes"
	"errors"

	"github.com/talonsync/talonsync/internal/talon"
)

// A sharded run (Options.Owns) reads every row and keeps the rows whose key
// it owns. The key is found before anything else of the row is converted,
// so a row of another shard costs its CSV split or one validating scan of
// its JSONL line, and nothing more. The key found here is the row's
// talon.Item.Key whenever the row converts; a row that cannot have a key
// (a malformed line, a missing or invalid key, a bad audienceId) is owned
// by the shard that owns the key "", so that exactly one shard rejects it.

// errNotOwned is what nextCSV and nextJSONL return for a row of another
// shard; Next skips it.
var errNotOwned = errors.New("row of another shard")

// errBulkSharded: a PATCH_MANY or REMOVE_MANY action in a sharded run. It
// matches errBulkRefused.
var errBulkSharded = errors.New("touches the items of every shard; run it without --shard")

// owns reports whether this run owns the row whose key is key.
func (r *Reader) owns(key string) bool { return r.opts.Owns == nil || r.opts.Owns(key) }

// csvKey is the key of a CSV record that has the header's fields.
func (r *Reader) csvKey(rec []string) string {
	p := &r.plan
	id := rec[p.key]
	if r.opts.Entity != EntityAudiences {
		return id
	}
	audience := r.opts.AudienceID
	if p.audience >= 0 {
		if s := trimBlank(rec[p.audience]); s != "" {
			var ok bool
			if audience, ok = parseAudienceID(s); !ok {
				return ""
			}
		}
	}
	if audience == 0 || id == "" {
		return ""
	}
	return talon.MembershipKey(audience, id)
}

// jsonlKey is the key of a JSONL line, as the entity's converter would find
// it: the last "sku" of a catalog line (flat, or in a raw action's
// payload), the "integrationId" of a profile, the "profileIntegrationId"
// and audience of a membership. It is "" when the line has no valid key or
// is not valid JSON.
func (r *Reader) jsonlKey(b []byte) string {
	it := objectIter{b: b}
	if !it.begin() {
		return ""
	}
	var key string
	var idJSON, audJSON []byte
	for it.nextKey() {
		name := it.name()
		want := false
		switch r.opts.Entity {
		case EntityCatalog:
			if string(name) == "payload" && isObjectStart(b, it.i) {
				if it.i = r.payloadSKU(b, it.i, &key); it.i < 0 {
					return ""
				}
				continue
			}
			want = string(name) == "sku"
		case EntityProfiles:
			want = string(name) == "integrationId"
		case EntityAudiences:
			want = string(name) == "profileIntegrationId" || string(name) == "audienceId"
		}
		if !want {
			if it.i = skipValue(b, it.i); it.i < 0 {
				return ""
			}
			continue
		}
		if !it.value() {
			return ""
		}
		switch {
		case r.opts.Entity == EntityCatalog:
			if s, ok := stringValue(it.val); ok {
				key = s
			}
		case r.opts.Entity == EntityProfiles:
			idJSON = it.val
		case isNull(it.val):
		case string(name) == "audienceId":
			audJSON = it.val
		default:
			idJSON = it.val
		}
	}
	if it.err != nil || !it.end() {
		return ""
	}
	switch r.opts.Entity {
	case EntityProfiles:
		key, _ = stringValue(idJSON)
	case EntityAudiences:
		key = r.membershipKey(idJSON, audJSON)
	}
	return key
}

// payloadSKU reads the members of a raw catalog action's payload object at
// b[i], sets *key to the last string "sku" among them, and returns the
// index just past the object, or -1.
func (r *Reader) payloadSKU(b []byte, i int, key *string) int {
	pit := objectIter{b: b, i: i, depth: 2}
	pit.begin()
	for pit.nextKey() {
		if string(pit.name()) != "sku" {
			if pit.i = skipValue(b, pit.i); pit.i < 0 {
				return -1
			}
			continue
		}
		if !pit.value() {
			return -1
		}
		if s, ok := stringValue(pit.val); ok {
			*key = s
		}
	}
	if pit.err != nil {
		return -1
	}
	return pit.i
}

// skipValue returns the index just past the JSON value at b[i], or -1. It
// follows only the structure (strings, brackets, the extent of a scalar)
// and validates nothing else, which is what makes a row of another shard
// cheap: for valid JSON it ends where scanValue does, so the key it leads to
// is the converter's, and for invalid JSON any answer is consistent, since
// only one shard gets the row either way.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; c {
		case '"':
			if i = skipString(b, i); i < 0 || depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return -1
			}
			if depth--; depth == 0 {
				return i + 1
			}
		default:
			if depth == 0 {
				j := i
				for j < len(b) && !isDelimiter(b[j]) {
					j++
				}
				if j == i {
					return -1
				}
				return j
			}
		}
		i++
	}
	return -1
}

func isDelimiter(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ':' || isSpace(c)
}

// skipString returns the index just past the string whose opening quote is
// at b[i], or -1.
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		n := 0 // backslashes right before the quote
		for n < j-i-1 && b[j-1-n] == '\\' {
			n++
		}
		j++
		if n%2 == 0 {
			return j
		}
	}
}

// membershipKey is the key of an audience line from its raw
// profileIntegrationId and audienceId values, or "".
func (r *Reader) membershipKey(idJSON, audJSON []byte) string {
	id, ok := stringValue(idJSON)
	if !ok || id == "" {
		return ""
	}
	audience := r.opts.AudienceID
	if audJSON != nil {
		s := string(audJSON)
		if q, isStr := stringValue(audJSON); isStr {
			s = q
		}
		if audience, ok = parseAudienceID(s); !ok {
			return ""
		}
	}
	if audience == 0 {
		return ""
	}
	return talon.MembershipKey(audience, id)
}

// OtherShards is the number of rows of other shards skipped before the
// read position, counted from the start of the input: a Reader started at
// a Row's Resume continues the count that Resume.Other holds. It is 0
// without Options.Owns, and safe to call from any goroutine.
func (r *Reader) OtherShards() int64 { return r.other.Load() }
