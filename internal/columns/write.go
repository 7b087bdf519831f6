package columns

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileHelp heads every file WriteYAML writes.
const fileHelp = `talonsync column mapping: for each input column, its target (a reserved
field or an attribute name), or ignore. Long form:
  {target: Name, type: string|number|boolean|time|list, layout: "02.01.2006",
   decimalComma: true, separator: ",", optional: true}
unmapped: keep (other columns by today's header rule), ignore, or error.
constants: attributes set on every row, e.g. Source: crm-export`

// WriteYAML writes m as a YAML mapping file that Parse reads back to the
// same mapping, with Mapping.Comment and each Column.Comment as comments.
func (m *Mapping) WriteYAML(w io.Writer) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	head := fileHelp
	if m.Comment != "" {
		head = m.Comment + "\n\n" + head
	}
	root.HeadComment = head
	add := func(parent *yaml.Node, key string, value *yaml.Node) *yaml.Node {
		k := str(key)
		parent.Content = append(parent.Content, k, value)
		return k
	}
	if m.Entity != "" {
		add(root, "entity", str(string(m.Entity)))
	}
	add(root, "unmapped", str(m.Unmapped.String()))
	if len(m.Columns) > 0 {
		cols := &yaml.Node{Kind: yaml.MappingNode}
		for _, c := range m.Columns {
			k := add(cols, c.Source, columnNode(c))
			k.HeadComment = c.Comment
		}
		add(root, "columns", cols)
	}
	if len(m.Constants) > 0 {
		cons := &yaml.Node{Kind: yaml.MappingNode}
		for _, c := range m.Constants {
			v, err := constantNode(c)
			if err != nil {
				return err
			}
			add(cons, c.Name, v)
		}
		add(root, "constants", cons)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("write mapping: %w", err)
	}
	return enc.Close()
}

func str(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	return n
}

func quoted(s string) *yaml.Node {
	n := str(s)
	n.Style = yaml.DoubleQuotedStyle
	return n
}

// columnNode is the short form where it says all, else a flow mapping.
func columnNode(c Column) *yaml.Node {
	switch {
	case c.Kind == KindIgnore:
		return str("ignore")
	case c.Kind == KindField && !c.DecimalComma && !c.Optional:
		return str(c.Field)
	case c.Kind == KindAttribute && c.Type == TypeString && !c.Optional:
		return str(c.Attribute)
	}
	n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	kv := func(k string, v *yaml.Node) { n.Content = append(n.Content, str(k), v) }
	if c.Kind == KindField {
		kv("target", str(c.Field))
	} else {
		kv("target", str(c.Attribute))
		kv("type", str(c.Type.String()))
	}
	if c.Layout != "" {
		kv("layout", quoted(c.Layout))
	}
	if c.DecimalComma {
		kv("decimalComma", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	if c.Separator != "" {
		kv("separator", quoted(c.Separator))
	}
	if c.Optional {
		kv("optional", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	return n
}

// constantNode writes a constant as {type, value}, which reads back the
// same for every type.
func constantNode(c Constant) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	n.Content = append(n.Content, str("type"), str(c.Type.String()), str("value"))
	var v any
	if err := json.Unmarshal(c.JSON, &v); err != nil {
		return nil, fmt.Errorf("write mapping: constant %s: %w", c.Name, err)
	}
	switch v := v.(type) {
	case []any:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, it := range v {
			seq.Content = append(seq.Content, quoted(fmt.Sprint(it)))
		}
		n.Content = append(n.Content, seq)
	case string:
		n.Content = append(n.Content, quoted(v))
	default:
		n.Content = append(n.Content, quoted(strings.TrimSpace(string(c.JSON))))
	}
	return n, nil
}
