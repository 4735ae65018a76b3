package spel

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// maxDepth bounds expression nesting so hostile mappings cannot exhaust the
// stack of the recursive-descent parser or evaluator.
const maxDepth = 100

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
	cols  []string
	seen  map[string]bool
	agg   bool
}

func (p *parser) tok() token { return p.toks[p.i] }

func (p *parser) advance() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) errAt(pos int, format string, args ...any) error {
	return &Error{Src: p.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// describe names a token for error messages.
func (p *parser) describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of mapping"
	case tStr:
		return "a string literal"
	case tNum:
		return "number " + t.text
	case tCol:
		return "column reference"
	}
	return strconv.Quote(p.src[t.pos:t.end])
}

func (p *parser) isOp(s string) bool {
	t := p.tok()
	return t.kind == tOp && t.text == s
}

// isWord matches a textual operator (and, or, not, eq, …); SpEL treats
// them case-insensitively.
func (p *parser) isWord(w string) bool {
	t := p.tok()
	return t.kind == tIdent && strings.EqualFold(t.text, w)
}

func (p *parser) expectOp(s, context string) (token, error) {
	if !p.isOp(s) {
		return token{}, p.errAt(p.tok().pos, "expected '%s' %s, found %s", s, context, p.describe(p.tok()))
	}
	return p.advance(), nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(pos, "expression nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}

func (p *parser) addCol(name string) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if !p.seen[name] {
		p.seen[name] = true
		p.cols = append(p.cols, name)
	}
}

func (p *parser) expr() (node, error) {
	if err := p.enter(p.tok().pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	return p.assign()
}

// assign handles MVEL-style "name = value" (and SpEL "#name = value"): the
// value is stored in the Env and is also the result of the expression.
func (p *parser) assign() (node, error) {
	lhs, err := p.ternary()
	if err != nil {
		return nil, err
	}
	if !p.isOp("=") {
		return lhs, nil
	}
	eq := p.advance()
	v, ok := lhs.(*varNode)
	if !ok {
		return nil, p.errAt(eq.pos, "only a variable can be assigned; use == to compare")
	}
	rhs, err := p.expr()
	if err != nil {
		return nil, err
	}
	return &assignNode{name: v.name, x: rhs, p: eq.pos}, nil
}

func (p *parser) ternary() (node, error) {
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	switch {
	case p.isOp("?:"):
		t := p.advance()
		b, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &elvisNode{a: c, b: b, p: t.pos}, nil
	case p.isOp("?"):
		t := p.advance()
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectOp(":", "in the conditional expression (cond ? a : b)"); err != nil {
			return nil, err
		}
		b, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &ternaryNode{c: c, a: a, b: b, p: t.pos}, nil
	}
	return c, nil
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isOp("||") || p.isWord("or") {
		t := p.advance()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &logicNode{and: false, l: l, r: r, p: t.pos}
	}
	return l, nil
}

func (p *parser) and() (node, error) {
	l, err := p.rel()
	if err != nil {
		return nil, err
	}
	for p.isOp("&&") || p.isWord("and") {
		t := p.advance()
		r, err := p.rel()
		if err != nil {
			return nil, err
		}
		l = &logicNode{and: true, l: l, r: r, p: t.pos}
	}
	return l, nil
}

var relOps = map[string]string{
	"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
	"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "matches": "matches",
}

func (p *parser) relOp() (string, bool) {
	t := p.tok()
	if t.kind == tOp || t.kind == tIdent {
		// Operator tokens are symbols and identifiers are words, so a hit
		// in the table is unambiguous.
		if op, ok := relOps[strings.ToLower(t.text)]; ok {
			return op, true
		}
	}
	return "", false
}

func (p *parser) rel() (node, error) {
	l, err := p.add()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.relOp()
		if !ok {
			return l, nil
		}
		t := p.advance()
		r, err := p.add()
		if err != nil {
			return nil, err
		}
		if op == "matches" {
			m := &matchNode{l: l, r: r, p: t.pos}
			if lit, ok := r.(*litNode); ok && lit.v.k == kString {
				re, err := regexp.Compile(`^(?:` + lit.v.s + `)$`)
				if err != nil {
					return nil, p.errAt(r.pos(), "invalid regular expression: %v", err)
				}
				m.re = re
			}
			l = m
			continue
		}
		l = &binNode{op: op, l: l, r: r, p: t.pos}
	}
}

func (p *parser) add() (node, error) {
	l, err := p.mul()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		t := p.advance()
		r, err := p.mul()
		if err != nil {
			return nil, err
		}
		l = &binNode{op: t.text, l: l, r: r, p: t.pos}
	}
	return l, nil
}

func (p *parser) mul() (node, error) {
	l, err := p.pow()
	if err != nil {
		return nil, err
	}
	for {
		var op string
		switch {
		case p.isOp("*"), p.isOp("/"), p.isOp("%"):
			op = p.tok().text
		case p.isWord("div"):
			op = "/"
		case p.isWord("mod"):
			op = "%"
		default:
			return l, nil
		}
		t := p.advance()
		r, err := p.pow()
		if err != nil {
			return nil, err
		}
		l = &binNode{op: op, l: l, r: r, p: t.pos}
	}
}

func (p *parser) pow() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	if p.isOp("^") {
		t := p.advance()
		r, err := p.pow()
		if err != nil {
			return nil, err
		}
		return &binNode{op: "^", l: l, r: r, p: t.pos}, nil
	}
	return l, nil
}

func (p *parser) unary() (node, error) {
	if p.isOp("!") || p.isWord("not") || p.isOp("-") || p.isOp("+") {
		t := p.advance()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		// The most negative int and long are only expressible negated.
		if n := p.tok(); t.text == "-" && n.kind == tNum {
			switch n.text {
			case "2147483648":
				p.advance()
				return &litNode{v: intVal(math.MinInt32), p: t.pos}, nil
			case "9223372036854775808", "9223372036854775808L", "9223372036854775808l":
				p.advance()
				return &litNode{v: longVal(math.MinInt64), p: t.pos}, nil
			}
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		op := t.text
		if strings.EqualFold(op, "not") {
			op = "!"
		}
		// Fold negative literals so that -2147483648 is an int, as in Java.
		if lit, ok := x.(*litNode); ok && op == "-" && lit.v.isNumber() {
			return &litNode{v: negate(lit.v), p: t.pos}, nil
		}
		return &unaryNode{op: op, x: x, p: t.pos}, nil
	}
	return p.postfix()
}

func negate(v val) val {
	switch v.k {
	case kInt:
		return intVal(int32(-v.i)) // wraps like Java
	case kLong:
		return longVal(-v.i)
	}
	return doubleVal(-v.f)
}

func (p *parser) postfix() (node, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isOp(".") || p.isOp("?."):
			dot := p.advance()
			name := p.tok()
			if name.kind != tIdent {
				return nil, p.errAt(name.pos, "expected a method name after '%s', found %s", dot.text, p.describe(name))
			}
			p.advance()
			if !p.isOp("(") {
				return nil, p.errAt(name.pos, "property access .%s is not supported; call a method such as .%s()", name.text, name.text)
			}
			if !knownMethods[name.text] {
				return nil, p.errAt(name.pos, "unknown method %s()", name.text)
			}
			args, err := p.args()
			if err != nil {
				return nil, err
			}
			x = &methodNode{recv: x, name: name.text, args: args, safe: dot.text == "?.", p: name.pos}
		case p.isOp("["):
			open := p.advance()
			idx, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp("]", fmt.Sprintf("to close the '[' at offset %d", open.pos)); err != nil {
				return nil, err
			}
			x = &indexNode{x: x, idx: idx, p: open.pos}
		default:
			return x, nil
		}
	}
}

func (p *parser) args() ([]node, error) {
	open := p.advance() // '('
	var args []node
	if p.isOp(")") {
		p.advance()
		return args, nil
	}
	for {
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.isOp(",") {
			p.advance()
			continue
		}
		if _, err := p.expectOp(")", fmt.Sprintf("to close the '(' at offset %d", open.pos)); err != nil {
			return nil, err
		}
		return args, nil
	}
}

// typeNames maps the type names accepted in T(...) and as bare qualifiers
// (Integer.parseInt, as the Connect+ docs write it) to a canonical name.
var typeNames = map[string]string{
	"Math": "Math", "java.lang.Math": "Math",
	"Integer": "Integer", "java.lang.Integer": "Integer",
	"Long": "Long", "java.lang.Long": "Long",
	"Double": "Double", "java.lang.Double": "Double",
	"String": "String", "java.lang.String": "String",
	"Boolean": "Boolean", "java.lang.Boolean": "Boolean",
}

func (p *parser) primary() (node, error) {
	t := p.tok()
	switch t.kind {
	case tEOF:
		return nil, p.errAt(t.pos, "unexpected end of mapping; expected a value")
	case tNum:
		p.advance()
		v, err := numberLiteral(t.text)
		if err != nil {
			return nil, p.errAt(t.pos, "%v", err)
		}
		return &litNode{v: v, p: t.pos}, nil
	case tStr:
		p.advance()
		if len(t.parts) == 1 && !t.parts[0].col {
			return &litNode{v: strVal(t.parts[0].text), p: t.pos}, nil
		}
		for _, part := range t.parts {
			if part.col {
				p.addCol(part.text)
			}
		}
		return &tmplNode{parts: t.parts, p: t.pos}, nil
	case tCol:
		p.advance()
		p.addCol(t.text)
		return &colNode{name: t.text, p: t.pos}, nil
	case tVar:
		p.advance()
		return &varNode{name: t.text, hash: true, p: t.pos}, nil
	case tConst:
		p.advance()
		return &litNode{v: strVal(t.text), p: t.pos}, nil
	case tWrap:
		p.advance()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		x, err := p.expr()
		if err != nil {
			return nil, err
		}
		if !p.isOp("}") {
			return nil, p.errAt(p.tok().pos, "expected '}' to close the %s{ at offset %d, found %s", t.text, t.pos, p.describe(p.tok()))
		}
		p.advance()
		switch t.text {
		case "sum":
			p.agg = true
			return &sumNode{x: x, p: t.pos}, nil
		case "base64":
			return &base64Node{x: x, p: t.pos}, nil
		}
		return x, nil
	case tOp:
		switch t.text {
		case "(":
			p.advance()
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectOp(")", fmt.Sprintf("to close the '(' at offset %d", t.pos)); err != nil {
				return nil, err
			}
			return x, nil
		case "{":
			return p.inlineList()
		}
		return nil, p.errAt(t.pos, "unexpected %s; expected a value", p.describe(t))
	}
	// tIdent
	word := t.text
	switch strings.ToLower(word) {
	case "true", "false":
		p.advance()
		return &litNode{v: boolVal(strings.EqualFold(word, "true")), p: t.pos}, nil
	case "null":
		p.advance()
		return &litNode{v: nullVal, p: t.pos}, nil
	}
	if word == "T" && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].text == "(" {
		return p.typeRef()
	}
	p.advance()
	if _, ok := typeNames[word]; ok && p.isOp(".") {
		return p.staticCall(typeNames[word], t.pos)
	}
	if p.isOp("(") {
		if !knownMethods[word] {
			return nil, p.errAt(t.pos, "unknown function %s()", word)
		}
		args, err := p.args()
		if err != nil {
			return nil, err
		}
		if len(args) == 0 {
			return nil, p.errAt(t.pos, "%s() needs the value to work on as its first argument, e.g. %s('text')", word, word)
		}
		// MVEL-style bare call: toUpperCase('hello') is 'hello'.toUpperCase().
		return &methodNode{recv: args[0], name: word, args: args[1:], p: t.pos}, nil
	}
	if _, reserved := relOps[strings.ToLower(word)]; reserved || isReservedWord(word) {
		return nil, p.errAt(t.pos, "unexpected operator %q; expected a value", word)
	}
	return &varNode{name: word, p: t.pos}, nil
}

func isReservedWord(w string) bool {
	switch strings.ToLower(w) {
	case "and", "or", "not", "div", "mod":
		return true
	}
	return false
}

func (p *parser) typeRef() (node, error) {
	start := p.advance() // T
	p.advance()          // (
	var name strings.Builder
	for !p.isOp(")") {
		t := p.tok()
		if t.kind != tIdent && !(t.kind == tOp && t.text == ".") {
			return nil, p.errAt(t.pos, "expected a type name inside T(...), found %s", p.describe(t))
		}
		name.WriteString(t.text)
		p.advance()
	}
	p.advance() // )
	canon, ok := typeNames[name.String()]
	if !ok {
		return nil, p.errAt(start.pos, "unsupported type T(%s); supported: Math, Integer, Long, Double, String, Boolean", name.String())
	}
	if !p.isOp(".") {
		return nil, p.errAt(p.tok().pos, "expected '.method(...)' after T(%s)", name.String())
	}
	return p.staticCall(canon, start.pos)
}

func (p *parser) staticCall(typ string, pos int) (node, error) {
	p.advance() // .
	name := p.tok()
	if name.kind != tIdent {
		return nil, p.errAt(name.pos, "expected a method name after %s., found %s", typ, p.describe(name))
	}
	p.advance()
	want, ok := staticMethods[typ+"."+name.text]
	if !ok {
		return nil, p.errAt(name.pos, "unknown method %s.%s()", typ, name.text)
	}
	if !p.isOp("(") {
		return nil, p.errAt(p.tok().pos, "expected '(' after %s.%s", typ, name.text)
	}
	args, err := p.args()
	if err != nil {
		return nil, err
	}
	if len(args) < want.min || len(args) > want.max {
		return nil, p.errAt(name.pos, "%s.%s() takes %s argument(s), got %d", typ, name.text, want.arity(), len(args))
	}
	return &staticNode{fn: typ + "." + name.text, args: args, p: name.pos}, nil
}

func (p *parser) inlineList() (node, error) {
	open := p.advance() // {
	l := &listNode{p: open.pos}
	if p.isOp("}") {
		p.advance()
		return l, nil
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.isOp(":") {
			return nil, p.errAt(p.tok().pos, "inline maps {key:value} are not supported; use an inline list {a, b}")
		}
		l.elems = append(l.elems, e)
		if p.isOp(",") {
			p.advance()
			continue
		}
		if _, err := p.expectOp("}", fmt.Sprintf("to close the inline list '{' at offset %d", open.pos)); err != nil {
			return nil, err
		}
		return l, nil
	}
}

// numberLiteral applies Java's literal typing: an integer is an int, or a
// long with an L suffix (or when it does not fit an int, which Java would
// reject but users write for phone numbers); a decimal is a double.
func numberLiteral(text string) (val, error) {
	suffix := byte(0)
	if c := text[len(text)-1]; strings.IndexByte("lLdDfF", c) >= 0 {
		suffix, text = c|0x20, text[:len(text)-1]
	}
	isInt := !strings.ContainsAny(text, ".eE")
	if isInt && suffix != 'd' && suffix != 'f' {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return val{}, fmt.Errorf("integer literal %s is out of range", text)
		}
		if suffix == 'l' || n > math.MaxInt32 {
			return longVal(n), nil
		}
		return intVal(int32(n)), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return val{}, fmt.Errorf("malformed number literal %s", text)
	}
	return doubleVal(f), nil
}
