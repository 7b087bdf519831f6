package columns

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Infer proposes a mapping for entity e from a header and sample rows (a
// row shorter than the header lacks the last cells). Each named column
// gets a Column in header order: a reserved field where the header spells
// one, else an attribute named after the header (made a valid name) with a
// type inferred from the sample's non-empty cells:
//
//   - boolean: every value is true/false or yes/no (0/1 stays a number);
//   - number: JSON-style numbers, or all with a decimal comma ("1.234,5"),
//     then DecimalComma is set; a value with a leading zero ("01234", a
//     postal code) keeps the column a string;
//   - time: RFC 3339 or YYYY-MM-DD, or one layout that reads every value
//     (02.01.2006, 01/02/2006, 2006/01/02, with or without a time of day);
//   - list: some value holds '|';
//   - string otherwise.
//
// Column.Comment says what was inferred from, and where a guess is
// ambiguous. The mapping says "unmapped: error", so that a column the
// export gains later is not sent unseen. Infer never fails; a header cell
// that is empty (a spreadsheet's trailing column) is noted in
// Mapping.Comment and left out.
func Infer(header []string, sample [][]string, e Entity) *Mapping {
	m := &Mapping{Entity: e, Unmapped: UnmappedError}
	var notes []string
	names := map[string]bool{}
	for i, cell := range header {
		src := strings.TrimSpace(strings.TrimPrefix(cell, "\ufeff"))
		if src == "" {
			notes = append(notes, "column "+strconv.Itoa(i+1)+" has no header: not read; a value in it is warned about, and not sent")
			continue
		}
		var values []string
		for _, row := range sample {
			if i < len(row) {
				if v := strings.TrimSpace(row[i]); v != "" {
					values = append(values, v)
				}
			}
		}
		c := Column{Source: src, Index: -1}
		base, suffix, typed := strings.Cut(src, ":")
		base = strings.TrimSpace(base)
		f, ok := Field(e, base)
		if !ok && e != EntityAudiences {
			// "integration id" becomes integration_id, which spells the field.
			f, ok = Field(e, attributeName(base, i, map[string]bool{}))
		}
		if ok {
			c.Kind, c.Field, c.Type = KindField, f, fieldType(f)
			if f == "price" {
				if g := guess(values); g.typ == TypeNumber && g.comma {
					c.DecimalComma, c.Comment = true, g.note
				}
			}
			m.Columns = append(m.Columns, c)
			continue
		}
		if e == EntityAudiences {
			c.Kind, c.Comment = KindIgnore, "not a field of audiences (profileIntegrationId, audienceId, action)"
			m.Columns = append(m.Columns, c)
			continue
		}
		c.Kind, c.Attribute = KindAttribute, attributeName(base, i, names)
		if t, ok := ParseType(suffix); typed && ok {
			c.Type, c.Comment = t, "type from the header"
		} else {
			g := guess(values)
			c.Type, c.Layout, c.DecimalComma, c.Comment = g.typ, g.layout, g.comma, g.note
		}
		m.Columns = append(m.Columns, c)
	}
	if key := reserved[e]; len(key) > 0 {
		found := false
		for _, c := range m.Columns {
			found = found || (c.Kind == KindField && c.Field == key[0])
		}
		if !found {
			notes = append(notes, "no column is "+key[0]+", which every row needs: make it the target of the column that holds it")
		}
	}
	m.Comment = strings.Join(notes, "\n")
	return m
}

// attributeName makes a valid, unused attribute name from a header: ASCII
// letters and digits kept, German umlauts and ß spelled out, anything else
// turned into '_'.
func attributeName(header string, index int, used map[string]bool) string {
	var b strings.Builder
	for _, r := range header {
		switch {
		case r < utf8.RuneSelf && (r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		case strings.ContainsRune("äöüÄÖÜß", r):
			b.WriteString(map[rune]string{'ä': "ae", 'ö': "oe", 'ü': "ue", 'Ä': "Ae", 'Ö': "Oe", 'Ü': "Ue", 'ß': "ss"}[r])
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), "_")
	for strings.Contains(name, "__") {
		name = strings.ReplaceAll(name, "__", "_")
	}
	switch {
	case name == "":
		name = "Column" + strconv.Itoa(index+1)
	case name[0] >= '0' && name[0] <= '9':
		name = "Col" + name
	}
	out := name
	for n := 2; used[out]; n++ {
		out = name + "_" + strconv.Itoa(n)
	}
	used[out] = true
	return out
}

// guessed is an inferred type with its options and a note.
type guessed struct {
	typ    Type
	layout string
	comma  bool
	note   string
}

// inferLayouts are tried in order for a time column. Each padded layout
// comes before its unpadded form, which reads the padded values too.
var inferLayouts = []string{
	"02.01.2006", "2.1.2006", "02.01.2006 15:04", "02.01.2006 15:04:05", "2.1.2006 15:04",
	"01/02/2006", "1/2/2006", "01/02/2006 15:04", "1/2/2006 15:04",
	"02/01/2006", "2/1/2006", "02/01/2006 15:04",
	"2006/01/02", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05",
}

func guess(values []string) guessed {
	if len(values) == 0 {
		return guessed{typ: TypeString, note: "no values in the sample: string assumed"}
	}
	eg := "e.g. " + strconv.Quote(clip(values[0]))
	if all(values, isBoolWord) {
		return guessed{typ: TypeBoolean, note: eg}
	}
	if all(values, isPlainNumber) {
		return guessed{typ: TypeNumber, note: eg}
	}
	if all(values, isCommaNumber) {
		return guessed{typ: TypeNumber, comma: true, note: eg + ", decimal comma"}
	}
	if all(values, isDefaultTime) {
		return guessed{typ: TypeTime, note: eg}
	}
	for _, l := range inferLayouts {
		if !all(values, func(v string) bool { _, err := time.Parse(l, v); return err == nil }) {
			continue
		}
		note := eg
		if swapped := swapDayMonth(l); swapped != l && all(values, func(v string) bool { _, err := time.Parse(swapped, v); return err == nil }) {
			note += "; ambiguous: every value also reads as " + swapped + " (day and month swapped)"
		}
		return guessed{typ: TypeTime, layout: l, note: note}
	}
	for _, v := range values {
		if strings.Contains(v, DefaultSeparator) {
			return guessed{typ: TypeList, note: eg + ", values separated by |"}
		}
	}
	return guessed{typ: TypeString}
}

func all(values []string, f func(string) bool) bool {
	for _, v := range values {
		if !f(v) {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func isBoolWord(v string) bool {
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no":
		return true
	}
	return false
}

// isPlainNumber reports a JSON number without a leading zero ("0.5" is
// one, "0123" is not).
func isPlainNumber(v string) bool {
	s := strings.TrimPrefix(v, "-")
	if s == "" || s[0] < '0' || s[0] > '9' || (len(s) > 1 && s[0] == '0' && s[1] != '.' && s[1] != 'e' && s[1] != 'E') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

// isCommaNumber reports a number with a decimal comma or thousands groups,
// without a leading zero in the integer part.
func isCommaNumber(v string) bool {
	s := strings.TrimLeft(v, "+-")
	if len(s) > 1 && s[0] == '0' && s[1] != ',' {
		return false
	}
	_, ok := appendCommaNumber(nil, v)
	return ok
}

func isDefaultTime(v string) bool {
	if _, err := time.Parse(time.DateOnly, v); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339Nano, v)
	return err == nil
}

// swapDayMonth swaps the day and month of a slash layout, to tell whether
// values are ambiguous; other layouts come back unchanged.
func swapDayMonth(l string) string {
	for _, p := range [][2]string{{"01/02/", "02/01/"}, {"1/2/", "2/1/"}} {
		if strings.HasPrefix(l, p[0]) {
			return p[1] + l[len(p[0]):]
		}
		if strings.HasPrefix(l, p[1]) {
			return p[0] + l[len(p[1]):]
		}
	}
	return l
}
