package columns

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// columnKeys are the keys of a column's long form.
const columnKeys = "target, type, layout, decimalComma, separator, ignore, optional"

// column parses one entry of columns: a scalar (a target, or ignore) or a
// mapping of columnKeys.
func (p *parser) column(src string, k, v *yaml.Node) (Column, error) {
	c := Column{Source: src, Index: -1, Line: k.Line}
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return c, p.fail(v, src, withDetail(ErrTarget, "no target: name a reserved field or an attribute, or write ignore"))
		}
		if strings.TrimSpace(v.Value) == "ignore" {
			c.Kind = KindIgnore
			return c, nil
		}
		return c, p.target(&c, v)
	case yaml.MappingNode:
	default:
		return c, p.fail(v, src, withDetail(ErrShape, "a column maps to a target name, ignore, or an object of "+columnKeys))
	}
	var target, typ, layout, sep *yaml.Node
	var ignore, comma bool
	var ignoreNode, commaNode *yaml.Node
	for _, kv := range pairs(v) {
		key, val := kv[0], kv[1]
		var err error
		switch key.Value {
		case "target":
			target = val
		case "type":
			typ = val
		case "layout":
			layout = val
		case "separator":
			sep = val
		case "decimalComma":
			comma, err = p.boolean(val, src, key.Value)
			commaNode = val
		case "ignore":
			ignore, err = p.boolean(val, src, key.Value)
			ignoreNode = val
		case "optional":
			c.Optional, err = p.boolean(val, src, key.Value)
		default:
			err = p.fail(key, src, withDetail(ErrShape, "unknown key "+strconv.Quote(key.Value)+" (want "+columnKeys+")"))
		}
		if err != nil {
			return c, err
		}
	}
	if ignore {
		for _, n := range []*yaml.Node{target, typ, layout, sep, commaNode} {
			if n != nil {
				return c, p.fail(n, src, withDetail(ErrType, "an ignored column takes no target, type or options"))
			}
		}
		c.Kind = KindIgnore
		return c, nil
	}
	if target == nil {
		n := v
		if ignoreNode != nil {
			n = ignoreNode
		}
		return c, p.fail(n, src, withDetail(ErrTarget, "no target: name a reserved field or an attribute, or set ignore: true"))
	}
	if err := p.target(&c, target); err != nil {
		return c, err
	}
	if typ != nil {
		if c.Kind == KindField {
			return c, p.fail(typ, src, withDetail(ErrType, "the reserved field "+c.Field+" has a fixed type ("+c.Type.String()+")"))
		}
		t, ok := ParseType(typ.Value)
		if typ.Kind != yaml.ScalarNode || !ok {
			return c, p.fail(typ, src, withDetail(ErrType, "unknown type "+strconv.Quote(typ.Value)+" (want string, number, boolean, time, list)"))
		}
		c.Type = t
	}
	if layout != nil {
		if c.Type != TypeTime {
			return c, p.fail(layout, src, withDetail(ErrType, "layout applies to type time, not "+c.Type.String()))
		}
		if err := CheckLayout(layout.Value); layout.Kind != yaml.ScalarNode || err != nil {
			if err == nil {
				err = withDetail(ErrLayout, "layout must be a string like \"02.01.2006\"")
			}
			return c, p.fail(layout, src, err)
		}
		c.Layout = layout.Value
	}
	if comma {
		if c.Field == "audienceId" {
			return c, p.fail(commaNode, src, withDetail(ErrType, "decimalComma applies to price and number attributes; audienceId is an integer"))
		}
		if c.Type != TypeNumber {
			return c, p.fail(commaNode, src, withDetail(ErrType, "decimalComma applies to numbers, not "+c.Type.String()))
		}
		c.DecimalComma = true
	}
	if sep != nil {
		if c.Type != TypeList {
			return c, p.fail(sep, src, withDetail(ErrType, "separator applies to type list, not "+c.Type.String()))
		}
		if sep.Kind != yaml.ScalarNode || sep.Value == "" {
			return c, p.fail(sep, src, withDetail(ErrType, "separator must be a non-empty string"))
		}
		c.Separator = sep.Value
	}
	return c, nil
}

// target sets c's kind and target from a target name: a reserved field of
// the entity, else an attribute name.
func (p *parser) target(c *Column, n *yaml.Node) error {
	name := strings.TrimSpace(n.Value)
	if n.Kind != yaml.ScalarNode || name == "" {
		return p.fail(n, c.Source, withDetail(ErrTarget, "the target must be a reserved field or an attribute name"))
	}
	if f, ok := Field(p.e, name); ok {
		c.Kind, c.Field, c.Type = KindField, f, fieldType(f)
		return nil
	}
	if p.e == EntityAudiences {
		return p.fail(n, c.Source, withDetail(ErrTarget, strconv.Quote(name)+" is not a field of audiences (profileIntegrationId, audienceId, action); audiences have no attributes"))
	}
	if !ValidAttribute(name) {
		return p.fail(n, c.Source, withDetail(ErrTarget, strconv.Quote(name)+" is neither a reserved field ("+
			strings.Join(reserved[p.e], ", ")+") nor a valid attribute name (^[A-Za-z]\\w*$)"))
	}
	c.Kind, c.Attribute = KindAttribute, name
	return nil
}

func (p *parser) boolean(n *yaml.Node, src, key string) (bool, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, nil
		}
	}
	return false, p.fail(n, src, withDetail(ErrShape, key+" must be true or false, not "+strconv.Quote(n.Value)))
}
