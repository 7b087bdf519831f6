package columns

import (
	"strconv"
	"strings"
)

// Resolve applies the mapping to a file's header and returns one Column
// per header cell, with Index set: a mapped column as the file says, an
// empty header cell as KindUnnamed, and any other column as the Unmapped
// policy says (KindDefault for keep, KindIgnore for ignore). Header cells
// match mapped columns trimmed and case-insensitively.
//
// The error is an *Error naming the column: ErrUnmapped for a column under
// "unmapped: error" (all such columns are listed), ErrMissing for a mapped
// column, not optional, that the header lacks, ErrDuplicate for a header
// that has a mapped column twice, or a kept column or constant that writes
// to the same target as a mapped column. Resolve is safe for concurrent
// use; the result is the caller's.
func (m *Mapping) Resolve(header []string) ([]Column, error) {
	byName := make(map[string]int, len(m.Columns))
	for i := range m.Columns {
		byName[strings.ToLower(m.Columns[i].Source)] = i
	}
	out := make([]Column, len(header))
	used := make([]int, len(m.Columns)) // header index + 1 of each mapped column
	var unmapped []string
	for i, cell := range header {
		name := strings.TrimSpace(strings.TrimPrefix(cell, "\ufeff"))
		if name == "" {
			out[i] = Column{Source: "", Index: i, Kind: KindUnnamed}
			continue
		}
		j, ok := byName[strings.ToLower(name)]
		if !ok {
			kind := KindDefault
			switch m.Unmapped {
			case UnmappedIgnore:
				kind = KindIgnore
			case UnmappedError:
				unmapped = append(unmapped, strconv.Quote(name))
			}
			out[i] = Column{Source: name, Index: i, Kind: kind}
			continue
		}
		if used[j] != 0 {
			return nil, &Error{File: m.File, Line: m.Columns[j].Line, Column: m.Columns[j].Source,
				Err: withDetail(ErrDuplicate, "the header has this column twice (columns "+strconv.Itoa(used[j])+" and "+strconv.Itoa(i+1)+")")}
		}
		used[j] = i + 1
		out[i] = m.Columns[j]
		out[i].Index = i
	}
	if len(unmapped) > 0 {
		return nil, &Error{File: m.File, Column: strings.Trim(unmapped[0], `"`), Err: withDetail(ErrUnmapped,
			"the mapping says unmapped: error, and it does not name "+strings.Join(unmapped, ", "))}
	}
	for j, c := range m.Columns {
		if used[j] == 0 && !c.Optional && c.Kind != KindIgnore {
			return nil, &Error{File: m.File, Line: c.Line, Column: c.Source,
				Err: withDetail(ErrMissing, "the header has no such column (say optional: true if it may be absent)")}
		}
	}
	return out, m.checkKept(out)
}

// checkKept refuses a kept column (today's header rule) that names the
// same reserved field or attribute as a mapped column or a constant.
func (m *Mapping) checkKept(cols []Column) error {
	fields := map[string]string{}
	attrs := map[string]string{}
	for _, c := range cols {
		switch c.Kind {
		case KindField:
			fields[c.Field] = c.Source
		case KindAttribute:
			attrs[c.Attribute] = c.Source
		}
	}
	for _, k := range m.Constants {
		attrs[k.Name] = "constant " + k.Name
	}
	for _, c := range cols {
		if c.Kind != KindDefault {
			continue
		}
		base, _, _ := strings.Cut(c.Source, ":")
		base = strings.TrimSpace(base)
		var other string
		if f, ok := Field(m.Entity, base); ok {
			other = fields[f]
		} else {
			other = attrs[base]
		}
		if other != "" {
			return &Error{File: m.File, Column: c.Source, Err: withDetail(ErrDuplicate,
				"this unmapped column is kept as "+strconv.Quote(base)+", which "+describe(other)+" already writes; map or ignore one of them")}
		}
	}
	return nil
}

func describe(source string) string {
	if strings.HasPrefix(source, "constant ") {
		return "the " + source
	}
	return "column " + strconv.Quote(source)
}
