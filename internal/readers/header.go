package readers

import (
	"strconv"
	"strings"
	"unicode/utf8"
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
)

// reserved maps each entity's reserved column names, in canonical form (see
// canonical), to their kind.
var reserved = map[Entity]map[string]colKind{
	EntityCatalog: {
		"sku": colSKU, "price": colPrice, "product": colProduct, "action": colAction,
		"replaceifexists": colReplace, "createifnotexists": colCreate,
	},
	EntityProfiles: {"integrationid": colIntegrationID},
	EntityAudiences: {
		"profileintegrationid": colProfileID, "audienceid": colAudienceID, "action": colAction,
	},
}

// keyColumn is each entity's required column.
var keyColumn = map[Entity]string{
	EntityCatalog:   "sku",
	EntityProfiles:  "integrationId",
	EntityAudiences: "profileIntegrationId",
}

// column is one header column, ready for mapping cells.
type column struct {
	kind colKind
	typ  attrType
	key  []byte // for attributes: the encoded `"Name":`
}

// plan is how to map the cells of a record: the header, checked.
type plan struct {
	cols []column
	// Indexes of the reserved columns, -1 when absent.
	key, price, product, action, replace, create, audience int
	attrs                                                  []int // indexes of the attribute columns
}

// canonical folds a reserved column name: lower case, underscores dropped,
// so integration_id, IntegrationId and INTEGRATIONID are one name.
func canonical(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "_", ""))
}

// validName reports whether s is a valid attribute name: ^[A-Za-z]\w*$.
func validName[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c == '_' || (c >= '0' && c <= '9')):
		default:
			return false
		}
	}
	return true
}

// buildPlan checks a CSV header for entity e. A column is a reserved name
// (matched by canonical) or an attribute `Name` or `Name:type`. Names are
// trimmed of surrounding white space.
func buildPlan(e Entity, header []string) (plan, error) {
	p := plan{key: -1, price: -1, product: -1, action: -1, replace: -1, create: -1, audience: -1}
	// A missing key column comes first: a key column spelled in an unknown
	// way (integration-id, customerId) would otherwise be reported as a bad
	// attribute name, which hides what is wrong.
	if !hasKeyColumn(e, header) {
		return p, &headerError{Err: withDetail(errMissingKey, "no "+keyColumn[e]+" column; columns found: "+listColumns(header))}
	}
	p.cols = make([]column, len(header))
	seen := make(map[string]bool, len(header))
	for i, cell := range header {
		bad := func(detail string) error {
			return &headerError{Column: cell, Err: withDetail(errBadColumn, detail)}
		}
		if !utf8.ValidString(cell) {
			return p, bad("invalid UTF-8")
		}
		name := strings.TrimSpace(cell)
		if name == "" {
			// Column is empty, so the detail says which one it is.
			return p, bad("empty column name (column " + strconv.Itoa(i+1) + ")")
		}
		base, suffix, typed := strings.Cut(name, ":")
		base = strings.TrimSpace(base)
		var dup string
		if kind, ok := reserved[e][canonical(base)]; ok {
			if typed {
				return p, bad("a reserved column takes no type")
			}
			p.cols[i].kind = kind
			dup = "\x00" + canonical(base)
			switch kind {
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
			}
		} else {
			if e == EntityAudiences {
				return p, bad("not a column of audiences (profileIntegrationId, audienceId, action)")
			}
			if !validName(base) {
				return p, bad("invalid attribute name (want ^[A-Za-z]\\w*$)")
			}
			typ := attrString
			if typed {
				t, err := parseAttrType(suffix)
				if err != nil {
					return p, &headerError{Column: cell, Err: err}
				}
				typ = t
			}
			k := make([]byte, 0, len(base)+3)
			k = strconv.AppendQuote(k, base) // base is ASCII \w: quoting is JSON-safe
			p.cols[i] = column{kind: colAttr, typ: typ, key: append(k, ':')}
			p.attrs = append(p.attrs, i)
			dup = base
		}
		if seen[dup] {
			return p, &headerError{Column: cell, Err: errDuplicateColumn}
		}
		seen[dup] = true
	}
	return p, nil
}

// hasKeyColumn reports whether header has e's key column.
func hasKeyColumn(e Entity, header []string) bool {
	for _, cell := range header {
		base, _, _ := strings.Cut(strings.TrimSpace(cell), ":")
		switch reserved[e][canonical(strings.TrimSpace(base))] {
		case colSKU, colIntegrationID, colProfileID:
			return true
		}
	}
	return false
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
