package nifiel

import (
	"sort"
	"strings"
)

// Parameter is one value of a parameter context, what NiFi's #{name}
// references resolve to. A sensitive parameter (a secret) resolves only in a
// property value that is nothing but parameter references and text: inside
// an expression, or in text that also holds an expression, it is null, as
// in NiFi, so that no function can transform a secret into something that
// is logged or sent elsewhere.
type Parameter struct {
	Value     string
	Sensitive bool
}

// ParameterLookup resolves parameter names (NiFi's ParameterLookup). A
// Lookup passed to Evaluate that also implements ParameterLookup is the
// parameter context of that evaluation; otherwise the one given with
// WithParameters is used. A missing parameter is null.
type ParameterLookup interface {
	Parameter(name string) (Parameter, bool)
}

// Parameters is a ParameterLookup over a map.
type Parameters map[string]Parameter

// Parameter returns the named parameter.
func (p Parameters) Parameter(name string) (Parameter, bool) {
	v, ok := p[name]
	return v, ok
}

// ValueParameters is a ParameterLookup of non-sensitive values.
type ValueParameters map[string]string

// Parameter returns the named parameter.
func (p ValueParameters) Parameter(name string) (Parameter, bool) {
	v, ok := p[name]
	return Parameter{Value: v}, ok
}

// WithParameters sets the parameter context #{name} references resolve
// from when the evaluation's Lookup carries none. Without either, every
// parameter reference is null.
func WithParameters(p ParameterLookup) Option { return func(c *config) { c.params = p } }

// WithParameterContext returns a Lookup of attrs that also carries params
// as the parameter context of the evaluations it is passed to. It keeps
// attrs' ability to list attribute names (Ranger).
func WithParameterContext(attrs Lookup, params ParameterLookup) Lookup {
	if attrs == nil {
		attrs = MapLookup(nil)
	}
	if r, ok := attrs.(Ranger); ok {
		return rangingParamLookup{paramLookup{attrs, params}, r}
	}
	return paramLookup{attrs, params}
}

type paramLookup struct {
	Lookup
	params ParameterLookup
}

func (l paramLookup) Parameter(name string) (Parameter, bool) {
	if l.params == nil {
		return Parameter{}, false
	}
	return l.params.Parameter(name)
}

type rangingParamLookup struct {
	paramLookup
	r Ranger
}

func (l rangingParamLookup) Range(fn func(name, value string) bool) { l.r.Range(fn) }

// paramNode is a #{name} reference (NiFi's ParameterExpression and
// ParameterEvaluator).
type paramNode struct {
	name      string
	sensitive bool            // a sensitive parameter resolves (text-only values)
	disabled  bool            // inside evaluateELString: parameters are blocked
	params    ParameterLookup // from WithParameters
}

func (n *paramNode) kind() Type                { return TypeString }
func (n *paramNode) eval(e env) (Value, error) { return strValue(n.str(e)) }
func (n *paramNode) str(e env) (string, bool, error) {
	if n.disabled {
		return "", false, nil
	}
	pl := n.params
	if l, ok := e.attrs.(ParameterLookup); ok {
		pl = l
	}
	if pl == nil {
		return "", false, nil
	}
	p, ok := pl.Parameter(n.name)
	if !ok || (p.Sensitive && !n.sensitive) {
		return "", false, nil
	}
	return p.Value, true, nil
}

func (c *compiler) paramRef(name string, sensitive bool) *paramNode {
	if c.refs != nil {
		c.refs[name] = true
	}
	return &paramNode{name: name, sensitive: sensitive, disabled: c.cfg.noParams, params: c.cfg.params}
}

// Parameters returns the names of the parameters the value references,
// sorted, so that a caller can check them against its parameter context as
// NiFi validates a property.
func (x *Expr) Parameters() []string {
	names := make([]string, 0, len(x.refs))
	for n := range x.refs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// splitParams splits literal text of a property value into text and
// parameter references, as NiFi's ExpressionLanguageAwareParameterParser
// tokenizes it: #{name} is a reference (#{'name'} with the quotes dropped);
// ## before #{ is one literal #, so ##{name} is the text #{name}; a #{ inside
// a ${ (an escaped expression, already unescaped here) is left alone.
// Unlike NiFi, text before an escaped reference is kept (NiFi's
// Query.addLiteralsAndParameters drops it).
func (c *compiler) splitParams(text string, sensitive bool) []part {
	if !strings.Contains(text, "#{") {
		return []part{{lit: true, text: text}}
	}
	var parts []part
	var lit strings.Builder
	index := 0 // text before index is in parts or lit
	addText := func(upTo int) {
		if upTo > index {
			lit.WriteString(text[index:upTo])
		}
	}
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, part{lit: true, text: lit.String()})
			lit.Reset()
		}
	}
	seqTags := 0
	oddDollars := false
	var last byte
	embedded := 0
	exprStart := -1
	for i := 0; i < len(text); i++ {
		ch := text[i]
		switch ch {
		case '#':
			seqTags++
		case '{':
			if oddDollars && last == '$' && embedded == 0 {
				exprStart = i - 1
			}
			if exprStart > -1 {
				embedded++
				continue
			}
			if seqTags > 0 {
				end := strings.IndexByte(text[i:], '}')
				if end < 0 {
					break
				}
				end += i
				startChar := i - seqTags
				escapes := (seqTags - 1) / 2
				addText(startChar)
				for k := 0; k < escapes; k++ {
					lit.WriteByte('#')
				}
				index = startChar + escapes*2
				if seqTags%2 == 0 {
					// An escaped reference: its text with ## as #.
					lit.WriteString(strings.ReplaceAll(text[index:end+1], "##", "#"))
					index = end + 1
					i = end
					break
				}
				name := text[i+1 : end]
				if strings.Contains(name, "'") {
					if len(name) < 2 || name[0] != '\'' || name[len(name)-1] != '\'' || strings.Contains(name[1:len(name)-1], "'") {
						break // not a reference: the text stays as it is
					}
					name = name[1 : len(name)-1]
				}
				flush()
				parts = append(parts, part{n: c.paramRef(name, sensitive)})
				index = end + 1
				i = end
			}
		case '}':
			if embedded <= 0 {
				continue
			}
			embedded--
			if embedded == 0 {
				exprStart = -1
				oddDollars = false
			}
		case '$':
			oddDollars = !oddDollars
		}
		if ch != '#' {
			seqTags = 0
		}
		last = ch
	}
	addText(len(text))
	flush()
	return parts
}

// paramInExpr parses a #{name} reference inside an expression, where p.pos
// is at the '#': NiFi's PARAMETER_REFERENCE token, everything up to the
// first '}', with one pair of surrounding quotes removed.
func (p *exprParser) paramInExpr() (node, error) {
	start := p.pos
	end := strings.IndexByte(p.s[p.pos+2:], '}')
	if end < 0 {
		return nil, p.errf("parameter reference '#{' has no closing '}'")
	}
	name := p.s[p.pos+2 : p.pos+2+end]
	if name == "" {
		return nil, p.errAt(start, "empty parameter reference '#{}'")
	}
	if len(name) >= 2 && (name[0] == '\'' && name[len(name)-1] == '\'' || name[0] == '"' && name[len(name)-1] == '"') {
		name = name[1 : len(name)-1]
	}
	p.pos += 2 + end + 1
	// Inside an expression a sensitive parameter is null.
	return p.c.paramRef(name, false), nil
}

func isParamStart(s string, i int) bool {
	return i+1 < len(s) && s[i] == '#' && s[i+1] == '{'
}
