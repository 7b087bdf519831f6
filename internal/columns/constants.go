package columns

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// constants parses the constants section: attribute name → value, or →
// {type, value}.
func (p *parser) constants(n *yaml.Node, m *Mapping) error {
	if n.Kind != yaml.MappingNode {
		return p.fail(n, "", withDetail(ErrShape, "constants must map attribute names to values"))
	}
	for _, kv := range pairs(n) {
		k, v := kv[0], kv[1]
		name := strings.TrimSpace(k.Value)
		bad := func(node *yaml.Node, msg string) error {
			return p.fail(node, name, withDetail(ErrConstant, msg))
		}
		switch {
		case p.e == EntityAudiences:
			return bad(k, "audiences have no attributes, so no constants")
		case !ValidAttribute(name):
			return bad(k, strconv.Quote(name)+" is not a valid attribute name (^[A-Za-z]\\w*$)")
		}
		if f, ok := Field(p.e, name); ok {
			return bad(k, strconv.Quote(name)+" is the reserved field "+f+", not an attribute")
		}
		for _, c := range m.Columns {
			if c.Kind == KindAttribute && c.Attribute == name {
				return p.fail(k, name, withDetail(ErrDuplicate, "column "+strconv.Quote(c.Source)+" (line "+strconv.Itoa(c.Line)+") has the same target"))
			}
		}
		c := Constant{Name: name, Line: k.Line}
		var err error
		if v.Kind == yaml.MappingNode {
			c.Type, c.JSON, err = p.typedConstant(name, v)
		} else {
			c.Type, c.JSON, err = p.plainConstant(name, v)
		}
		if err != nil {
			return err
		}
		m.Constants = append(m.Constants, c)
	}
	return nil
}

// plainConstant encodes a value written without a type: its YAML type
// decides (a string, a number, true/false, or a list of strings).
func (p *parser) plainConstant(name string, v *yaml.Node) (Type, []byte, error) {
	bad := func(msg string) error { return p.fail(v, name, withDetail(ErrConstant, msg)) }
	switch v.Kind {
	case yaml.ScalarNode:
		switch v.Tag {
		case "!!null":
			return 0, nil, bad("a constant needs a value")
		case "!!bool":
			b, err := encodeValue(TypeBoolean, v.Value)
			if err != nil {
				return 0, nil, bad(err.Error())
			}
			return TypeBoolean, b, nil
		case "!!int", "!!float":
			var f float64
			if err := v.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return 0, nil, bad(strconv.Quote(v.Value) + " is not a finite number")
			}
			return TypeNumber, strconv.AppendFloat(nil, f, 'g', -1, 64), nil
		}
		if _, err := strconv.ParseFloat(v.Value, 64); v.Style == 0 && errors.Is(err, strconv.ErrRange) {
			// YAML makes 1e400 a string; it was meant as a number.
			return 0, nil, bad(strconv.Quote(v.Value) + " is not a finite number (quote it for a string)")
		}
		b, err := encodeValue(TypeString, v.Value)
		if err != nil {
			return 0, nil, bad(err.Error())
		}
		return TypeString, b, nil
	case yaml.SequenceNode:
		b, err := p.list(name, v)
		return TypeList, b, err
	}
	return 0, nil, bad("a constant is a string, number, boolean, list of strings, or {type, value}")
}

func (p *parser) list(name string, v *yaml.Node) ([]byte, error) {
	items := make([]string, 0, len(v.Content))
	for _, it := range v.Content {
		if it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			return nil, p.fail(it, name, withDetail(ErrConstant, "a list constant holds strings only"))
		}
		items = append(items, it.Value)
	}
	b, err := json.Marshal(items)
	if err != nil {
		return nil, p.fail(v, name, withDetail(ErrConstant, err.Error()))
	}
	return b, nil
}

// typedConstant encodes {type: T, value: V}.
func (p *parser) typedConstant(name string, v *yaml.Node) (Type, []byte, error) {
	var typ, val *yaml.Node
	for _, kv := range pairs(v) {
		switch kv[0].Value {
		case "type":
			typ = kv[1]
		case "value":
			val = kv[1]
		default:
			return 0, nil, p.fail(kv[0], name, withDetail(ErrShape, "unknown key "+strconv.Quote(kv[0].Value)+" (want type, value)"))
		}
	}
	if typ == nil || val == nil {
		return 0, nil, p.fail(v, name, withDetail(ErrConstant, "a typed constant needs type and value"))
	}
	t, ok := ParseType(typ.Value)
	if typ.Kind != yaml.ScalarNode || !ok {
		return 0, nil, p.fail(typ, name, withDetail(ErrType, "unknown type "+strconv.Quote(typ.Value)+" (want string, number, boolean, time, list)"))
	}
	if t == TypeList && val.Kind == yaml.SequenceNode {
		b, err := p.list(name, val)
		return t, b, err
	}
	if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
		return 0, nil, p.fail(val, name, withDetail(ErrConstant, "the value must be a scalar"))
	}
	b, err := encodeValue(t, val.Value)
	if err != nil {
		return 0, nil, p.fail(val, name, withDetail(ErrConstant, err.Error()))
	}
	return t, b, nil
}

// encodeValue encodes s as a value of type t by the rules of the CSV
// header types.
func encodeValue(t Type, s string) ([]byte, error) {
	switch t {
	case TypeString:
		return json.Marshal(s)
	case TypeNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("%q is not a finite number", s)
		}
		return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
	case TypeBoolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes":
			return []byte("true"), nil
		case "false", "0", "no":
			return []byte("false"), nil
		}
		return nil, fmt.Errorf("%q is not a boolean (true/false, 1/0, yes/no)", s)
	case TypeTime:
		s = strings.TrimSpace(s)
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			return json.Marshal(d.Format(time.RFC3339))
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
		}
		return json.Marshal(tm.Format(time.RFC3339Nano))
	case TypeList:
		var parts []string
		for part := range strings.SplitSeq(s, DefaultSeparator) {
			if part != "" {
				parts = append(parts, part)
			}
		}
		if parts == nil {
			parts = []string{}
		}
		return json.Marshal(parts)
	}
	return nil, fmt.Errorf("unknown type %v", t)
}
