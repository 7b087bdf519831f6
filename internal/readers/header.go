package readers

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/talonsync/talonsync/internal/columns"
)

// colKind is what a CSV column holds.
type colKind uint8

const (
	colAttr colKind = iota
	colSKU
	colPrice
	colProduct
	colAction
	colReplace
	colCreate
	colIntegrationID
	colProfileID
	colAudienceID
	colSkip    // not read: ignored by the mapping
	colUnnamed // not read: the header cell is empty; a value in it is warned about
)

// fieldKinds maps each reserved field, as package columns spells it, to
// its kind. columns.ReservedFields is the one list of reserved names; a
// test checks that every one of them is here.
var fieldKinds = map[string]colKind{
	"sku": colSKU, "price": colPrice, "product": colProduct, "action": colAction,
	"replaceIfExists": colReplace, "createIfNotExists": colCreate,
	"integrationId": colIntegrationID, "profileIntegrationId": colProfileID, "audienceId": colAudienceID,
}

// mappingEntity is e as package columns names it.
func (e Entity) mappingEntity() columns.Entity {
	return columns.Entity(e.String())
}

// reservedKind returns e's reserved field that name spells
// (case-insensitively, underscores ignored: see columns.Field), and its
// kind.
func reservedKind(e Entity, name string) (colKind, string, bool) {
	f, ok := columns.Field(e.mappingEntity(), name)
	if !ok {
		return 0, "", false
	}
	return fieldKinds[f], f, true
}

// keyFields is each entity's required field: the first of its reserved
// fields.
var keyFields = map[Entity]string{
	EntityCatalog:   columns.ReservedFields(columns.EntityCatalog)[0],
	EntityProfiles:  columns.ReservedFields(columns.EntityProfiles)[0],
	EntityAudiences: columns.ReservedFields(columns.EntityAudiences)[0],
}

func keyField(e Entity) string { return keyFields[e] }

// column is one header column, ready for mapping cells.
type column struct {
	kind colKind
	typ  attrType
	key  []byte // for attributes: the encoded `"Name":`
	// conv, when set, rewrites a number cell written with a decimal comma
	// (1.234,5) or a time cell in a layout of its own; see appendCell.
	conv *columns.Column
	// sep separates the values of an attrList cell; "" for "|".
	sep string
}

// commaNumbers converts numbers written with a decimal comma.
var commaNumbers = &columns.Column{Type: columns.TypeNumber, DecimalComma: true}

// plan is how to map the cells of a record: the header, checked.
type plan struct {
	cols []column
	// Indexes of the reserved columns, -1 when absent.
	key, price, product, action, replace, create, audience int
	attrs                                                  []int // indexes of the attribute columns
	unnamed                                                []int // indexes of the colUnnamed columns
	// minFields is the fewest fields a record may have: a record may lack
	// the unnamed columns at the end of the header.
	minFields int
	// consts are the mapping's constant attributes, encoded as object
	// members: `"Source":"crm","Tier":3`.
	consts []byte
	// mapping names the mapping file in messages; "" without one.
	mapping string
}

// buildPlan checks a CSV header against o.Entity and o.Columns. Without a
// mapping, a column is a reserved name (see reservedKind), an attribute
// `Name` or `Name:type`, or, when its header cell is empty, unnamed; names
// are trimmed of surrounding white space. A mapping decides for the
// columns it names (see columns.Mapping.Resolve) and its errors are
// *columns.Error.
func buildPlan(o *Options, header []string) (plan, error) {
	e := o.Entity
	p := plan{key: -1, price: -1, product: -1, action: -1, replace: -1, create: -1, audience: -1}
	var mapped []columns.Column
	if m := o.Columns; m != nil {
		p.mapping = m.File
		var err error
		if mapped, err = m.Resolve(header); err != nil {
			return p, err
		}
	}
	// A missing key column comes first: a key column spelled in an unknown
	// way (integration-id, customerId) would otherwise be reported as a bad
	// attribute name, which hides what is wrong.
	if !hasKeyColumn(e, header, mapped) {
		return p, &headerError{Err: withDetail(errMissingKey, p.missingKey(e, header, o.Delimiter))}
	}
	p.cols = make([]column, len(header))
	seen := make(map[string]string, len(header)) // target → header cell
	for i, cell := range header {
		mc := columns.Column{Kind: columns.KindDefault}
		if mapped != nil {
			mc = mapped[i]
		}
		var col column
		var target string
		var err error
		switch mc.Kind {
		case columns.KindIgnore:
			col.kind = colSkip
		case columns.KindUnnamed:
			col.kind = colUnnamed
		case columns.KindField:
			col.kind = fieldKinds[mc.Field]
			if col.kind == colPrice && (mc.DecimalComma || o.DecimalComma) {
				col.conv = commaNumbers
			}
			target = "\x00" + mc.Field
		case columns.KindAttribute:
			col = attrColumn(mc.Attribute, attrTypes[mc.Type])
			if mc.Type == columns.TypeNumber && o.DecimalComma {
				mc.DecimalComma = true
			}
			if mc.DecimalComma || mc.Layout != "" {
				conv := mc
				col.conv = &conv
			}
			if mc.Separator != columns.DefaultSeparator {
				col.sep = mc.Separator
			}
			target = mc.Attribute
		default:
			col, target, err = defaultColumn(e, cell)
			if err != nil {
				return p, err
			}
			if o.DecimalComma && (col.kind == colPrice || (col.kind == colAttr && col.typ == attrNumber)) {
				col.conv = commaNumbers
			}
		}
		if target != "" {
			if first, dup := seen[target]; dup {
				return p, &headerError{Column: cell, Err: withDetail(errDuplicateColumn, "column "+strconv.Quote(first)+" sets "+strconv.Quote(target)+" too")}
			}
			seen[target] = cell
		}
		p.cols[i] = col
		p.place(i, col.kind)
	}
	if m := o.Columns; m != nil {
		for _, c := range m.Constants {
			if len(p.consts) > 0 {
				p.consts = append(p.consts, ',')
			}
			p.consts = strconv.AppendQuote(p.consts, c.Name) // c.Name is ASCII \w
			p.consts = append(p.consts, ':')
			p.consts = append(p.consts, c.JSON...)
		}
	}
	return p, nil
}

// attrTypes maps a mapping's types to the header types.
var attrTypes = map[columns.Type]attrType{
	columns.TypeString: attrString, columns.TypeNumber: attrNumber, columns.TypeBoolean: attrBoolean,
	columns.TypeTime: attrTime, columns.TypeList: attrList,
}

func attrColumn(name string, typ attrType) column {
	k := make([]byte, 0, len(name)+3)
	k = strconv.AppendQuote(k, name) // name is ASCII \w: quoting is JSON-safe
	return column{kind: colAttr, typ: typ, key: append(k, ':')}
}

// defaultColumn applies the header rule to a header cell: a reserved
// name, an attribute Name or Name:type, or an unnamed column. target is
// what the column writes to, for finding duplicates.
func defaultColumn(e Entity, cell string) (col column, target string, err error) {
	bad := func(detail string) error {
		return &headerError{Column: cell, Err: withDetail(errBadColumn, detail)}
	}
	if !utf8.ValidString(cell) {
		return col, "", bad("invalid UTF-8")
	}
	name := strings.TrimSpace(cell)
	if name == "" {
		return column{kind: colUnnamed}, "", nil
	}
	base, suffix, typed := strings.Cut(name, ":")
	base = strings.TrimSpace(base)
	if kind, f, ok := reservedKind(e, base); ok {
		if typed {
			return col, "", bad("a reserved column takes no type")
		}
		return column{kind: kind}, "\x00" + f, nil
	}
	if e == EntityAudiences {
		return col, "", bad("not a column of audiences (profileIntegrationId, audienceId, action)")
	}
	if !columns.ValidAttribute(base) {
		return col, "", bad("invalid attribute name (want ^[A-Za-z]\\w*$)")
	}
	typ := attrString
	if typed {
		if typ, err = parseAttrType(suffix); err != nil {
			return col, "", &headerError{Column: cell, Err: err}
		}
	}
	return attrColumn(base, typ), base, nil
}

// place records the index of column i of kind k in the plan.
func (p *plan) place(i int, k colKind) {
	switch k {
	case colSKU, colIntegrationID, colProfileID:
		p.key = i
	case colPrice:
		p.price = i
	case colProduct:
		p.product = i
	case colAction:
		p.action = i
	case colReplace:
		p.replace = i
	case colCreate:
		p.create = i
	case colAudienceID:
		p.audience = i
	case colAttr:
		p.attrs = append(p.attrs, i)
	case colUnnamed:
		p.unnamed = append(p.unnamed, i)
		return
	}
	p.minFields = i + 1
}

// hasKeyColumn reports whether header has e's key column, under the
// mapping's columns when there is one.
func hasKeyColumn(e Entity, header []string, mapped []columns.Column) bool {
	key := keyField(e)
	for i, cell := range header {
		if mapped != nil && mapped[i].Kind != columns.KindDefault {
			if mapped[i].Kind == columns.KindField && mapped[i].Field == key {
				return true
			}
			continue
		}
		base, _, _ := strings.Cut(strings.TrimSpace(cell), ":")
		if _, f, ok := reservedKind(e, strings.TrimSpace(base)); ok && f == key {
			return true
		}
	}
	return false
}

// missingKey says that the header lacks e's key column, lists what it has,
// and, when the header is one column that holds another delimiter, names
// the --delimiter to give.
func (p *plan) missingKey(e Entity, header []string, delim rune) string {
	msg := "no " + keyField(e) + " column"
	if p.mapping != "" {
		msg += " (and the mapping " + p.mapping + " maps no column to " + keyField(e) + ")"
	}
	msg += "; columns found: " + listColumns(header)
	if len(header) == 1 {
		if d, ok := otherDelimiter(header[0], delim); ok {
			msg += "; the header holds " + strconv.QuoteRune(d) + " but no " + strconv.QuoteRune(delim) +
				": for a file separated by " + delimiterName(d) + ", give --delimiter " + delimiterFlag(d)
		}
	}
	return msg
}

// otherDelimiter returns the likeliest delimiter of a header that is one
// field: the candidate it holds most often, other than the one in use.
func otherDelimiter(h string, delim rune) (rune, bool) {
	best, n := rune(0), 0
	for _, d := range []rune{';', '\t', ',', '|'} {
		if d == delim {
			continue
		}
		if c := strings.Count(h, string(d)); c > n {
			best, n = d, c
		}
	}
	return best, n > 0
}

func delimiterName(d rune) string {
	switch d {
	case ';':
		return "semicolons"
	case '\t':
		return "tabs"
	case ',':
		return "commas"
	}
	return strconv.QuoteRune(d)
}

// delimiterFlag is d as a --delimiter value, quoted for a shell.
func delimiterFlag(d rune) string {
	switch d {
	case '\t':
		return "tab"
	case ',':
		return ","
	}
	return "'" + string(d) + "'"
}

// listColumns quotes the first header cells for a message, so that a user
// who spelled the key column differently sees what was read.
func listColumns(header []string) string {
	const show = 20
	var b strings.Builder
	for i, h := range header[:min(len(header), show)] {
		if i > 0 {
			b.WriteString(", ")
		}
		if len(h) > 64 {
			h = h[:64] + "..."
		}
		b.WriteString(strconv.Quote(h))
	}
	if len(header) > show {
		b.WriteString(", and " + strconv.Itoa(len(header)-show) + " more")
	}
	return b.String()
}
