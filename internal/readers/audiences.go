package readers

import (
	"strconv"
	"strings"

	"github.com/talonsync/talonsync/internal/talon"
)

// normAudienceAction maps an audience action to its wire form: "add" or
// "delete" ("remove" means delete; "" means add), case-insensitively.
func normAudienceAction(s string) (string, bool) {
	switch {
	case s == "", strings.EqualFold(s, talon.AudienceAdd):
		return talon.AudienceAdd, true
	case strings.EqualFold(s, talon.AudienceDelete), strings.EqualFold(s, "remove"):
		return talon.AudienceDelete, true
	}
	return "", false
}

// parseAudienceID parses a positive audience id.
func parseAudienceID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// encodeAudience encodes an AudienceAction; idJSON is the profile's
// integrationId as a JSON string.
func encodeAudience(action string, idJSON []byte, audienceID int64) []byte {
	b := make([]byte, 0, len(`{"action":"delete","profileIntegrationId":,"audienceId":}`)+len(idJSON)+20)
	b = append(b, `{"action":"`...)
	b = append(b, action...)
	b = append(b, `","profileIntegrationId":`...)
	b = append(b, idJSON...)
	b = append(b, `,"audienceId":`...)
	b = strconv.AppendInt(b, audienceID, 10)
	return append(b, '}')
}

// audienceCSV maps a CSV record to an audience membership action.
func (r *Reader) audienceCSV(rec []string, line int64) (talon.Item, error) {
	p := &r.plan
	id := rec[p.key]
	if err := checkIntegrationID(id, line, r.header[p.key]); err != nil {
		return talon.Item{}, err
	}
	audience := r.opts.AudienceID
	if p.audience >= 0 {
		if s := trimBlank(rec[p.audience]); s != "" {
			var ok bool
			if audience, ok = parseAudienceID(s); !ok {
				return talon.Item{}, r.rowErr(line, p.audience, badValue(rec[p.audience], "is not a positive integer"))
			}
		}
	}
	if audience == 0 {
		return talon.Item{}, &RowError{Line: line, Column: "audienceId", Err: withDetail(ErrMissingKey, "no audienceId and no default")}
	}
	action := r.audienceAction
	if p.action >= 0 {
		if s := trimBlank(rec[p.action]); s != "" {
			var ok bool
			if action, ok = normAudienceAction(s); !ok {
				return talon.Item{}, r.rowErr(line, p.action, withDetail(ErrUnknownAction, strconv.Quote(s)+" (want add, delete or remove)"))
			}
		}
	}
	idJSON, _ := appendJSONString(r.scratch[:0], id) // checked by checkCell
	r.scratch = idJSON
	return talon.Item{Key: talon.MembershipKey(audience, id), JSON: encodeAudience(action, idJSON, audience)}, nil
}

// audienceJSONL maps a JSONL line {"profileIntegrationId","audienceId","action"}
// to an audience membership action. audienceId may be a number or a string
// of digits.
func (r *Reader) audienceJSONL(b []byte, line int64) (talon.Item, error) {
	var idJSON, audJSON, actJSON []byte
	it := objectIter{b: b}
	if !it.begin() {
		return talon.Item{}, &RowError{Line: line, Err: it.err}
	}
	for it.nextKey() {
		name := it.name()
		var dst *[]byte
		switch string(name) {
		case "profileIntegrationId":
			dst = &idJSON
		case "audienceId":
			dst = &audJSON
		case "action":
			dst = &actJSON
		default:
			return talon.Item{}, &RowError{Line: line, Column: string(name), Err: ErrUnknownField}
		}
		if it.value() && !isNull(it.val) {
			*dst = it.val
		}
	}
	if it.err != nil || !it.end() {
		return talon.Item{}, &RowError{Line: line, Err: it.err}
	}
	if idJSON == nil {
		return talon.Item{}, &RowError{Line: line, Column: "profileIntegrationId", Err: withDetail(ErrMissingKey, "no profileIntegrationId")}
	}
	id, ok := stringValue(idJSON)
	if !ok {
		return talon.Item{}, &RowError{Line: line, Column: "profileIntegrationId", Err: badValue(string(idJSON), "is not a string")}
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
			return talon.Item{}, &RowError{Line: line, Column: "audienceId", Err: badValue(string(audJSON), "is not a positive integer")}
		}
	}
	if audience == 0 {
		return talon.Item{}, &RowError{Line: line, Column: "audienceId", Err: withDetail(ErrMissingKey, "no audienceId and no default")}
	}
	action := r.audienceAction
	if actJSON != nil {
		s, isStr := stringValue(actJSON)
		if !isStr {
			return talon.Item{}, &RowError{Line: line, Column: "action", Err: badValue(string(actJSON), "is not a string")}
		}
		if s != "" {
			if action, ok = normAudienceAction(s); !ok {
				return talon.Item{}, &RowError{Line: line, Column: "action", Err: withDetail(ErrUnknownAction, strconv.Quote(s)+" (want add, delete or remove)")}
			}
		}
	}
	return talon.Item{Key: talon.MembershipKey(audience, id), JSON: encodeAudience(action, idJSON, audience)}, nil
}
