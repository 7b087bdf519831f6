package columns

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileBytes bounds a mapping file; a real one is a few KiB.
const MaxFileBytes = 1 << 20

// Load reads and parses the mapping file at path for entity e (see Parse).
// An unreadable file is an *Error too.
func Load(path string, e Entity) (*Mapping, error) {
	fi, err := os.Stat(path)
	if err == nil && fi.Size() > MaxFileBytes {
		err = fmt.Errorf("larger than %d bytes", MaxFileBytes)
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, &Error{File: path, Err: fmt.Errorf("%w: %w", errUnreadable, err)}
	}
	return Parse(path, data, e)
}

// Parse parses a mapping for entity e from data, JSON or YAML, and
// validates it. file names the mapping in errors. The error is an *Error
// naming the file, the line and the column, wrapping one of the sentinels.
//
// The format, in YAML (JSON has the same structure):
//
//	entity: profiles           # optional; must match e
//	unmapped: keep             # keep (default), ignore or error
//	columns:
//	  Kundennummer: integrationId      # a reserved field or an attribute name
//	  Interne Notiz: ignore
//	  Alter: {target: Age, type: number, decimalComma: true}
//	  Geburtsdatum: {target: Birthday, type: time, layout: "02.01.2006"}
//	  Interessen: {target: Interests, type: list, separator: ","}
//	  Filiale: {target: Branch, optional: true}  # may be absent from the header
//	constants:                 # attributes set on every row
//	  Source: crm-export       # a string, number, boolean or list of strings
//	  Tier: {type: number, value: "3"}
func Parse(file string, data []byte, e Entity) (*Mapping, error) {
	if !e.Valid() {
		return nil, &Error{File: file, Err: fmt.Errorf("unknown entity %q", e)}
	}
	p := parser{file: file, e: e}
	root, err := p.document(data)
	if err != nil {
		return nil, err
	}
	m := &Mapping{File: file, Entity: e}
	if err := p.mapping(root, m); err != nil {
		return nil, err
	}
	return m, nil
}

type parser struct {
	file string
	e    Entity
}

func (p *parser) fail(n *yaml.Node, column string, err error) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &Error{File: p.file, Line: line, Column: column, Err: err}
}

// document parses data into the root mapping node.
func (p *parser) document(data []byte) (*yaml.Node, error) {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(data, new(any)); err != nil {
			line := 0
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = 1 + bytes.Count(data[:se.Offset], []byte("\n"))
			}
			return nil, &Error{File: p.file, Line: line, Err: withDetail(ErrSyntax, "JSON: "+err.Error())}
		}
		// Valid JSON holds tabs only between tokens, where they mean what a
		// space means; YAML refuses some of them. Same length, same lines.
		data = bytes.ReplaceAll(data, []byte("\t"), []byte(" "))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErrorLine(err.Error())
		return nil, &Error{File: p.file, Line: line, Err: withDetail(ErrSyntax, msg)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: p.file, Err: withDetail(ErrShape, "the mapping is empty")}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.fail(root, "", withDetail(ErrShape, "the mapping must be an object with columns"))
	}
	return root, nil
}

// yamlErrorLine takes "yaml: line 3: did not find expected key" apart.
func yamlErrorLine(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, tail, ok := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			return n, tail
		}
	}
	return 0, msg
}

// pairs returns a mapping node's keys and values.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

func (p *parser) mapping(root *yaml.Node, m *Mapping) error {
	var columns, constants *yaml.Node
	for _, kv := range pairs(root) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "entity":
			if v.Kind != yaml.ScalarNode {
				return p.fail(v, "", withDetail(ErrShape, "entity must be catalog, profiles or audiences"))
			}
			ent := Entity(strings.ToLower(strings.TrimSpace(v.Value)))
			if !ent.Valid() {
				return p.fail(v, "", withDetail(ErrShape, "unknown entity "+strconv.Quote(v.Value)+" (want catalog, profiles or audiences)"))
			}
			if ent != p.e {
				return p.fail(v, "", withDetail(ErrEntity, "the mapping is for "+string(ent)+", the command loads "+string(p.e)))
			}
		case "unmapped":
			u, ok := parseUnmapped(v)
			if !ok {
				return p.fail(v, "", withDetail(ErrShape, "unmapped must be keep, ignore or error, not "+strconv.Quote(v.Value)))
			}
			m.Unmapped = u
		case "columns":
			columns = v
		case "constants":
			constants = v
		default:
			return p.fail(k, "", withDetail(ErrShape, "unknown key "+strconv.Quote(k.Value)+" (want entity, unmapped, columns, constants)"))
		}
	}
	if columns == nil && constants == nil {
		return p.fail(root, "", withDetail(ErrShape, "the mapping has no columns and no constants"))
	}
	if columns != nil {
		if err := p.columns(columns, m); err != nil {
			return err
		}
	}
	if constants != nil {
		if err := p.constants(constants, m); err != nil {
			return err
		}
	}
	return nil
}

func parseUnmapped(v *yaml.Node) (Unmapped, bool) {
	if v.Kind != yaml.ScalarNode {
		return 0, false
	}
	for i, n := range unmappedNames {
		if strings.EqualFold(strings.TrimSpace(v.Value), n) {
			return Unmapped(i), true
		}
	}
	return 0, false
}

func (p *parser) columns(n *yaml.Node, m *Mapping) error {
	if n.Kind != yaml.MappingNode {
		return p.fail(n, "", withDetail(ErrShape, "columns must map each input column to its target"))
	}
	seen := map[string]int{}       // folded source → line
	targets := map[string]string{} // target → source
	for _, kv := range pairs(n) {
		k, v := kv[0], kv[1]
		src := strings.TrimSpace(k.Value)
		if src == "" {
			return p.fail(k, "", withDetail(ErrShape, "a column name is empty"))
		}
		if line, dup := seen[strings.ToLower(src)]; dup {
			return p.fail(k, src, withDetail(ErrDuplicate, "the column is mapped twice (first on line "+strconv.Itoa(line)+"); header names match case-insensitively"))
		}
		seen[strings.ToLower(src)] = k.Line
		c, err := p.column(src, k, v)
		if err != nil {
			return err
		}
		if t := c.target(); t != "" {
			if other, dup := targets[t]; dup {
				return p.fail(k, src, withDetail(ErrDuplicate, "column "+strconv.Quote(other)+" has the same target "+strconv.Quote(c.Field+c.Attribute)))
			}
			targets[t] = src
		}
		m.Columns = append(m.Columns, c)
	}
	return nil
}

// target is the name a column writes to: "field:sku" or "attr:Age"; ""
// when it writes nothing.
func (c *Column) target() string {
	switch c.Kind {
	case KindField:
		return "field:" + c.Field
	case KindAttribute:
		return "attr:" + c.Attribute
	}
	return ""
}
