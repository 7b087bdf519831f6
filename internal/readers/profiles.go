package readers

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/talonsync/talonsync/internal/talon"
)

// maxIntegrationID is the API's limit on an integrationId, in characters.
const maxIntegrationID = 1000

// checkIntegrationID checks a profile's integrationId; col names it in the
// error.
func checkIntegrationID(id string, line int64, col string) error {
	if err := integrationIDFault(id, col); err != nil {
		return &rowError{Line: line, Column: col, Err: err}
	}
	return nil
}

// integrationIDFault is what is wrong with an integrationId, or nil.
func integrationIDFault(id, col string) error {
	if id == "" {
		return withDetail(errMissingKey, "empty "+col)
	}
	if len(id) > maxIntegrationID && utf8.RuneCountInString(id) > maxIntegrationID {
		return badValue(id, "is longer than "+strconv.Itoa(maxIntegrationID)+" characters")
	}
	return nil
}

// profileCSV maps a CSV record to a customer profile, recording every bad
// cell (see badCell).
func (r *Reader) profileCSV(rec []string) talon.Item {
	id := rec[r.plan.key]
	if err := integrationIDFault(id, r.header[r.plan.key]); err != nil {
		r.badCell(r.plan.key, err)
	}
	s := r.appendAttrs(r.scratch[:0], rec)
	n := len(s)
	s, _ = talon.AppendString(s, id) // checked by checkCell
	r.scratch = s
	if len(r.bad) > 0 {
		return talon.Item{}
	}
	// The key is copied: a slice of rec would keep the whole record alive
	// as long as the item waits in a batch.
	return talon.Item{Key: strings.Clone(id), JSON: talon.AppendCustomerProfile(nil, s[n:], s[:n])}
}

// profileJSONL maps a JSONL line {"integrationId","attributes"} to a
// customer profile.
func (r *Reader) profileJSONL(b []byte, line int64) (talon.Item, error) {
	var idJSON, attrs []byte
	var seen payloadField
	it := objectIter{b: b}
	if !it.begin() {
		return talon.Item{}, &rowError{Line: line, Err: it.err}
	}
	for it.nextKey() {
		switch name := it.name(); string(name) {
		case "integrationId":
			if seen&pfSKU != 0 {
				return talon.Item{}, twice("integrationId", line)
			}
			seen |= pfSKU
			if !it.value() {
				break
			}
			idJSON = it.val
		case "attributes":
			if seen&pfAttributes != 0 {
				return talon.Item{}, twice("attributes", line)
			}
			seen |= pfAttributes
			end, err := scanAttributes(b, it.i, 2, r.names[:0])
			if err != nil {
				return talon.Item{}, &rowError{Line: line, Column: "attributes", Err: err}
			}
			attrs = b[it.i:end]
			it.i = end
		default:
			return talon.Item{}, &rowError{Line: line, Column: string(name), Err: errUnknownField}
		}
	}
	if it.err != nil || !it.end() {
		return talon.Item{}, &rowError{Line: line, Err: it.err}
	}
	if idJSON == nil || isNull(idJSON) {
		return talon.Item{}, &rowError{Line: line, Column: "integrationId", Err: withDetail(errMissingKey, "no integrationId")}
	}
	id, ok := stringValue(idJSON)
	if !ok {
		return talon.Item{}, &rowError{Line: line, Column: "integrationId", Err: badJSONValue(string(idJSON), "is not a string")}
	}
	if err := checkIntegrationID(id, line, "integrationId"); err != nil {
		return talon.Item{}, err
	}
	if isNull(attrs) || isEmptyContainer(attrs) {
		attrs = nil
	}
	return talon.Item{Key: id, JSON: talon.AppendCustomerProfile(nil, idJSON, attrs)}, nil
}
