package templates

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/connectplus/connectplus/dataflow"
)

// paramKey marks a config value to be replaced: {$param: name}.
const paramKey = "$param"

// inlineRE finds {{name}} inside a string value (a JSLT script, an
// endpoint): the parameter's text is spliced in.
var inlineRE = regexp.MustCompile(`\{\{([A-Za-z][A-Za-z0-9_]*)\}\}`)

// walkParams calls fn with the name of every {$param: name} under n and of
// every {{name}} inside its strings.
func walkParams(n *yaml.Node, fn func(string)) {
	if name, ok := paramRef(n); ok {
		fn(name)
		return
	}
	if n.Kind == yaml.ScalarNode {
		for _, m := range inlineRE.FindAllStringSubmatch(n.Value, -1) {
			fn(m[1])
		}
	}
	for _, c := range n.Content {
		walkParams(c, fn)
	}
}

// paramRef reports whether n is {$param: name}.
func paramRef(n *yaml.Node) (string, bool) {
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == paramKey && n.Content[1].Kind == yaml.ScalarNode {
		return n.Content[1].Value, true
	}
	return "", false
}

// check validates one value against the parameter's type.
func (p Parameter) check(v string) error {
	switch p.Type {
	case ParamInteger:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
	case ParamBoolean:
		if v != "true" && v != "false" {
			return fmt.Errorf("%q is not true or false", v)
		}
	case ParamEnum:
		for _, o := range p.Options {
			if o == v {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(p.Options, ", "))
	}
	if p.Secret && strings.TrimSpace(v) == "" {
		return errors.New("the name of an Extension Configuration is required")
	}
	return nil
}

// Values resolves the values of t's parameters: given ones first, else the
// default. Unknown names, values of the wrong type and required parameters
// without a value are errors, all reported at once.
func (t *Template) Values(given map[string]string) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	known := map[string]bool{}
	for _, p := range t.Parameters {
		known[p.Name] = true
		v, ok := given[p.Name]
		if !ok || v == "" {
			v = p.Default
		}
		if v == "" {
			if p.Required {
				errs = append(errs, fmt.Errorf("parameter %s (%s) is required", p.Name, p.Label))
			}
			out[p.Name] = ""
			continue
		}
		if err := p.check(v); err != nil {
			errs = append(errs, fmt.Errorf("parameter %s: %w", p.Name, err))
		}
		out[p.Name] = v
	}
	var unknown []string
	for k := range given {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, fmt.Errorf("template %s has no parameter %q (it has: %s)", t.Name, k, strings.Join(t.paramNames(), ", ")))
	}
	return out, errors.Join(errs...)
}

func (t *Template) paramNames() []string {
	out := make([]string, len(t.Parameters))
	for i, p := range t.Parameters {
		out[i] = p.Name
	}
	return out
}

// Source returns the template's flow as YAML, parameters still in place
// ({$param: name}).
func (t *Template) Source() ([]byte, error) {
	return yaml.Marshal(t.flow)
}

// Instantiate returns the dataflow document t describes with the given
// parameter values (defaults for the rest), named name (default: the
// template's name). The document is parsed, not validated: callers
// validate it against their block registry (dataflow.ValidateWith).
func (t *Template) Instantiate(name string, given map[string]string) (*dataflow.Document, error) {
	vals, err := t.Values(given)
	if err != nil {
		return nil, err
	}
	b, err := t.Render(name, vals)
	if err != nil {
		return nil, err
	}
	doc, err := dataflow.Parse(b, t.Name+".yaml")
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	return doc, nil
}

// Render substitutes resolved values (see Values) into the flow and returns
// the document's YAML.
func (t *Template) Render(name string, vals map[string]string) ([]byte, error) {
	params := map[string]Parameter{}
	for _, p := range t.Parameters {
		params[p.Name] = p
	}
	flow := cloneNode(t.flow)
	var errs []error
	var subst func(n *yaml.Node)
	subst = func(n *yaml.Node) {
		for i, c := range n.Content {
			pn, ok := paramRef(c)
			if !ok {
				if c.Kind == yaml.ScalarNode && inlineRE.MatchString(c.Value) {
					c.Value = inlineRE.ReplaceAllStringFunc(c.Value, func(m string) string {
						name := m[2 : len(m)-2]
						if params[name].Secret {
							errs = append(errs, fmt.Errorf("template %s: secret parameter %s cannot be spliced into text", t.Name, name))
							return m
						}
						return vals[name]
					})
				}
				subst(c)
				continue
			}
			p := params[pn]
			n.Content[i] = valueNode(p, vals[pn])
		}
	}
	subst(flow)
	if name == "" {
		name = t.Name
	}
	setName(flow, name)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(flow)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	return b, nil
}

// valueNode is the YAML a parameter value becomes: a typed scalar, null for
// an optional parameter left empty, {$config: name} for a secret.
func valueNode(p Parameter, v string) *yaml.Node {
	if v == "" {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	if p.Secret {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "$config"},
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: v},
		}}
	}
	switch p.Type {
	case ParamInteger:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: v}
	case ParamBoolean:
		// Connect+ stores booleans as the strings "true"/"false".
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	if strings.Contains(v, "\n") {
		n.Style = yaml.LiteralStyle
	}
	return n
}

func setName(flow *yaml.Node, name string) {
	if n := mapValue(flow, "name"); n != nil {
		n.Kind, n.Tag, n.Value, n.Style, n.Content = yaml.ScalarNode, "!!str", name, 0, nil
		return
	}
	flow.Content = append([]*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "name"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: name},
	}, flow.Content...)
}

func cloneNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = cloneNode(k)
	}
	if n.Alias != nil {
		c.Alias = cloneNode(n.Alias)
	}
	return &c
}
