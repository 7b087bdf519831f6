package readers

import (
	"strconv"
	"strings"

	"github.com/talonsync/talonsync/internal/talon"
)

// parseAudienceAction parses an audience action, case-insensitively:
// "add" (or "") adds, "delete" or "remove" removes.
func parseAudienceAction(s string) (remove, ok bool) {
	switch {
	case s == "", strings.EqualFold(s, talon.AudienceAdd):
		return false, true
	case strings.EqualFold(s, talon.AudienceDelete), strings.EqualFold(s, "remove"):
		return true, true
	}
	return false, false
}

// parseAudienceID parses a positive audience id.
func parseAudienceID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// audienceItem encodes an AudienceAction; idJSON is the profile's
// integrationId as a JSON string.
func audienceItem(id string, idJSON []byte, audienceID int64, remove bool) talon.Item {
	return talon.Item{
		Key:    talon.MembershipKey(audienceID, id),
		Remove: remove,
		JSON:   talon.AppendAudienceAction(nil, idJSON, audienceID, remove),
	}
}

// audienceCSV maps a CSV record to an audience membership action,
// recording every bad cell (see badCell).
func (r *Reader) audienceCSV(rec []string) talon.Item {
	p := &r.plan
	id := rec[p.key]
	if err := integrationIDFault(id, r.header[p.key]); err != nil {
		r.badCell(p.key, err)
	}
	audience := r.opts.AudienceID
	if p.audience >= 0 {
		if s := trimBlank(rec[p.audience]); s != "" {
			var ok bool
			if audience, ok = parseAudienceID(s); !ok {
				r.badCell(p.audience, badValue(rec[p.audience], "is not a positive integer"))
				audience = -1
			}
		}
	}
	if audience == 0 {
		col := p.audience
		if col < 0 {
			col = len(r.header) // no such column: named, and last
		}
		r.bad = append(r.bad, cellError{col: col, name: "audienceId", err: noAudience})
	}
	remove := r.audienceRemove
	if p.action >= 0 {
		if s := trimBlank(rec[p.action]); s != "" {
			var ok bool
			if remove, ok = parseAudienceAction(s); !ok {
				r.badCell(p.action, withDetail(errUnknownAction, strconv.Quote(s)+" (want add, delete or remove)"))
			}
		}
	}
	if len(r.bad) > 0 {
		return talon.Item{}
	}
	idJSON, _ := talon.AppendString(r.scratch[:0], id) // checked by checkCell
	r.scratch = idJSON
	return audienceItem(id, idJSON, audience, remove)
}

// noAudience is a row without an audienceId and no default.
var noAudience = withDetail(errMissingKey, "no audienceId and no default")

// audienceJSONL maps a JSONL line {"profileIntegrationId","audienceId","action"}
// to an audience membership action. audienceId may be a number or a string
// of digits.
func (r *Reader) audienceJSONL(b []byte, line int64) (talon.Item, error) {
	var idJSON, audJSON, actJSON []byte
	it := objectIter{b: b}
	if !it.begin() {
		return talon.Item{}, &rowError{Line: line, Err: it.err}
	}
	var seen payloadField
	for it.nextKey() {
		name := it.name()
		var dst *[]byte
		var bit payloadField
		switch string(name) {
		case "profileIntegrationId":
			dst, bit = &idJSON, pfSKU
		case "audienceId":
			dst, bit = &audJSON, pfPrice
		case "action":
			dst, bit = &actJSON, pfAction
		default:
			return talon.Item{}, &rowError{Line: line, Column: string(name), Err: errUnknownField}
		}
		if err := once(&seen, bit, string(name), line); err != nil {
			return talon.Item{}, err
		}
		if it.value() && !isNull(it.val) {
			*dst = it.val
		}
	}
	if it.err != nil || !it.end() {
		return talon.Item{}, &rowError{Line: line, Err: it.err}
	}
	if idJSON == nil {
		return talon.Item{}, &rowError{Line: line, Column: "profileIntegrationId", Err: withDetail(errMissingKey, "no profileIntegrationId")}
	}
	id, ok := stringValue(idJSON)
	if !ok {
		return talon.Item{}, &rowError{Line: line, Column: "profileIntegrationId", Err: badJSONValue(string(idJSON), "is not a string")}
	}
	if err := checkIntegrationID(id, line, "profileIntegrationId"); err != nil {
		return talon.Item{}, err
	}
	audience := r.opts.AudienceID
	if audJSON != nil {
		s := string(audJSON)
		if q, isStr := stringValue(audJSON); isStr {
			s = q
		}
		if audience, ok = parseAudienceID(s); !ok {
			return talon.Item{}, &rowError{Line: line, Column: "audienceId", Err: badJSONValue(string(audJSON), "is not a positive integer")}
		}
	}
	if audience == 0 {
		return talon.Item{}, &rowError{Line: line, Column: "audienceId", Err: withDetail(errMissingKey, "no audienceId and no default")}
	}
	remove := r.audienceRemove
	if actJSON != nil {
		s, isStr := stringValue(actJSON)
		if !isStr {
			return talon.Item{}, &rowError{Line: line, Column: "action", Err: badJSONValue(string(actJSON), "is not a string")}
		}
		if s != "" {
			if remove, ok = parseAudienceAction(s); !ok {
				return talon.Item{}, &rowError{Line: line, Column: "action", Err: withDetail(errUnknownAction, strconv.Quote(s)+" (want add, delete or remove)")}
			}
		}
	}
	return audienceItem(id, idJSON, audience, remove), nil
}
