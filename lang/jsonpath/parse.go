package jsonpath

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Error is a compile error. Pos is the byte offset in the source where the
// problem was found, so a configuration UI can point at it.
type Error struct {
	Src string
	Pos int
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("jsonpath %q: at offset %d: %s", e.Src, e.Pos, e.Msg)
}

// Path is a compiled JSONPath (or, from CompileMulti, a list of them).
type Path struct {
	src     string
	queries []*query

	maxSteps int // work budget per evaluation; 0 means MaxSteps
}

// String returns the source text the path was compiled from.
func (p *Path) String() string { return p.src }

// IsSingular reports whether the path can select at most one node (only
// child segments with a single name or index selector). Set needs one.
func (p *Path) IsSingular() bool {
	return len(p.queries) == 1 && p.queries[0].singular
}

// maxDepth bounds the nesting of filters and parentheses so hostile input
// cannot exhaust the stack of the recursive-descent parser.
const maxDepth = 64

// maxSafeInt is the I-JSON integer limit RFC 9535 imposes on indices and
// slice bounds (2^53 - 1).
const maxSafeInt = 1<<53 - 1

type parser struct {
	src    string
	pos    int
	compat bool
	depth  int
}

// Compile parses a JSONPath, accepting RFC 9535 plus the Connect+ forms
// listed in the package documentation.
func Compile(src string) (*Path, error) { return compile(src, true) }

// CompileStrict parses exactly RFC 9535 syntax.
func CompileStrict(src string) (*Path, error) { return compile(src, false) }

// MustCompile is Compile that panics on error; for tests and constants.
func MustCompile(src string) *Path {
	p, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return p
}

func compile(src string, compat bool) (path *Path, err error) {
	defer func() {
		if r := recover(); r != nil {
			path, err = nil, &Error{Src: src, Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	q, err := parseOne(src, compat)
	if err != nil {
		return nil, err
	}
	return &Path{src: src, queries: []*query{q}}, nil
}

func parseOne(src string, compat bool) (*query, error) {
	p := &parser{src: src, compat: compat}
	if !utf8.ValidString(src) {
		return nil, p.errAt(firstInvalidUTF8(src), "invalid UTF-8")
	}
	if p.eof() || p.peek() != '$' {
		what := "a JSONPath must start with '$'"
		if !p.eof() && isBlank(p.peek()) {
			what = "leading whitespace is not allowed; " + what
		}
		return nil, p.errf("%s", what)
	}
	p.pos++
	q, err := p.segments(false)
	if err != nil {
		return nil, err
	}
	if !p.eof() {
		c := p.peek()
		switch {
		case isBlank(c):
			return nil, p.errf("trailing whitespace is not allowed")
		case c == ',':
			return nil, p.errf("unexpected ','; comma-separated paths need CompileMulti")
		default:
			return nil, p.errf("unexpected %s; expected '.', '..' or '['", p.describe())
		}
	}
	return q, nil
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(s)
}

func (p *parser) errAt(pos int, msg string) error {
	return &Error{Src: p.src, Pos: pos, Msg: msg}
}

func (p *parser) errf(format string, args ...any) error {
	return p.errAt(p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() byte { return p.src[p.pos] }

func (p *parser) peekAt(off int) byte {
	if p.pos+off < len(p.src) {
		return p.src[p.pos+off]
	}
	return 0
}

// describe names the character at the current position for error messages.
func (p *parser) describe() string {
	if p.eof() {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) skipBlank() {
	for !p.eof() && isBlank(p.peek()) {
		p.pos++
	}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errf("expression nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// segments parses *(S segment) after the root or current-node identifier.
// Whitespace is only consumed when a segment follows it, so that a filter
// like "@.a == 1" leaves the blank before "==" to the caller.
func (p *parser) segments(relative bool) (*query, error) {
	q := &query{relative: relative, singular: true}
	for {
		save := p.pos
		p.skipBlank()
		if p.eof() || (p.peek() != '.' && p.peek() != '[') {
			p.pos = save
			break
		}
		seg, err := p.segment()
		if err != nil {
			return nil, err
		}
		if seg.desc || len(seg.sels) != 1 || (seg.sels[0].kind != selName && seg.sels[0].kind != selIndex) {
			q.singular = false
		}
		q.segs = append(q.segs, seg)
	}
	return q, nil
}

func (p *parser) segment() (segment, error) {
	if p.peek() == '[' {
		sels, err := p.bracketed()
		return segment{sels: sels}, err
	}
	// p.peek() == '.'
	p.pos++
	desc := false
	if !p.eof() && p.peek() == '.' {
		desc = true
		p.pos++
	}
	if p.eof() {
		return segment{}, p.errf("expected a member name, '*' or '[' after '.'")
	}
	switch c := p.peek(); {
	case c == '*':
		p.pos++
		return segment{desc: desc, sels: []selector{{kind: selWildcard}}}, nil
	case c == '[' && (desc || p.compat):
		sels, err := p.bracketed()
		return segment{desc: desc, sels: sels}, err
	}
	name, ok := p.memberName()
	if !ok {
		if p.peek() == '[' {
			return segment{}, p.errf("'.[' is not RFC 9535 syntax; write '[' without the dot")
		}
		return segment{}, p.errf("expected a member name, '*' or '[' after '.', found %s", p.describe())
	}
	return segment{desc: desc, sels: []selector{{kind: selName, name: name}}}, nil
}

// memberName parses member-name-shorthand: name-first *name-char.
func (p *parser) memberName() (string, bool) {
	start := p.pos
	for !p.eof() {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		first := p.pos == start
		if isNameFirst(r) || (!first && (r >= '0' && r <= '9' || p.compat && r == '-')) {
			p.pos += n
			continue
		}
		break
	}
	return p.src[start:p.pos], p.pos > start
}

func isNameFirst(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' ||
		r >= 0x80 && r <= 0xD7FF || r >= 0xE000 && r <= 0x10FFFF
}

// bracketed parses "[" S selector *(S "," S selector) S "]".
func (p *parser) bracketed() ([]selector, error) {
	open := p.pos
	p.pos++ // '['
	var sels []selector
	for {
		p.skipBlank()
		if p.eof() {
			return nil, p.errAt(open, "unclosed '['")
		}
		if p.peek() == ']' {
			if len(sels) == 0 {
				return nil, p.errf("empty '[]'; expected a selector")
			}
			return nil, p.errf("expected a selector after ','")
		}
		sel, err := p.selector()
		if err != nil {
			return nil, err
		}
		sels = append(sels, sel)
		p.skipBlank()
		if p.eof() {
			return nil, p.errAt(open, "unclosed '['")
		}
		switch p.peek() {
		case ']':
			p.pos++
			return sels, nil
		case ',':
			p.pos++
		default:
			return nil, p.errf("unexpected %s; expected ',' or ']'", p.describe())
		}
	}
}

func (p *parser) selector() (selector, error) {
	switch c := p.peek(); {
	case c == '\'' || c == '"':
		s, err := p.stringLit()
		return selector{kind: selName, name: s}, err
	case c == '*':
		p.pos++
		return selector{kind: selWildcard}, nil
	case c == '?':
		p.pos++
		p.skipBlank()
		if err := p.enter(); err != nil {
			return selector{}, err
		}
		defer p.leave()
		f, err := p.logicalOr()
		return selector{kind: selFilter, filter: f}, err
	case c == '-' || c >= '0' && c <= '9' || c == ':':
		return p.indexOrSlice()
	}
	return selector{}, p.errf("unexpected %s; expected a name, index, slice, '*' or '?' filter", p.describe())
}

func (p *parser) indexOrSlice() (selector, error) {
	var sl sliceSel
	if p.peek() != ':' {
		v, err := p.integer()
		if err != nil {
			return selector{}, err
		}
		save := p.pos
		p.skipBlank()
		if p.eof() || p.peek() != ':' {
			p.pos = save
			return selector{kind: selIndex, index: v}, nil
		}
		sl.start, sl.hasStart = v, true
	}
	p.pos++ // first ':'
	p.skipBlank()
	if !p.eof() && (p.peek() == '-' || p.peek() >= '0' && p.peek() <= '9') {
		v, err := p.integer()
		if err != nil {
			return selector{}, err
		}
		sl.end, sl.hasEnd = v, true
		p.skipBlank()
	}
	if !p.eof() && p.peek() == ':' {
		p.pos++
		p.skipBlank()
		if !p.eof() && (p.peek() == '-' || p.peek() >= '0' && p.peek() <= '9') {
			v, err := p.integer()
			if err != nil {
				return selector{}, err
			}
			sl.step, sl.hasStep = v, true
		}
	}
	return selector{kind: selSlice, slice: sl}, nil
}

// integer parses an RFC 9535 int: "0" / ["-"] DIGIT1 *DIGIT, within ±(2^53-1).
func (p *parser) integer() (int64, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	if p.eof() || p.peek() < '0' || p.peek() > '9' {
		return 0, p.errf("expected a digit, found %s", p.describe())
	}
	if p.peek() == '0' {
		p.pos++
		if p.src[start] == '-' {
			return 0, p.errAt(start, "-0 is not a valid index")
		}
		if !p.eof() && p.peek() >= '0' && p.peek() <= '9' {
			return 0, p.errAt(start, "leading zeros are not allowed in an integer")
		}
		return 0, nil
	}
	for !p.eof() && p.peek() >= '0' && p.peek() <= '9' {
		p.pos++
	}
	v, err := strconv.ParseInt(p.src[start:p.pos], 10, 64)
	if err != nil || v > maxSafeInt || v < -maxSafeInt {
		return 0, p.errAt(start, "integer out of range (must be within ±(2^53-1))")
	}
	return v, nil
}

// stringLit parses a single- or double-quoted string literal with the
// RFC 9535 escapes.
func (p *parser) stringLit() (string, error) {
	open := p.pos
	quote := p.peek()
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errAt(open, "unterminated string literal")
		}
		c := p.peek()
		switch {
		case c == quote:
			p.pos++
			return b.String(), nil
		case c < 0x20:
			return "", p.errf("control character %U must be escaped in a string literal", rune(c))
		case c == '\\':
			r, err := p.escape(quote)
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
		default:
			_, n := utf8.DecodeRuneInString(p.src[p.pos:])
			b.WriteString(p.src[p.pos : p.pos+n])
			p.pos += n
		}
	}
}

func (p *parser) escape(quote byte) (rune, error) {
	start := p.pos
	p.pos++ // '\'
	if p.eof() {
		return 0, p.errAt(start, "incomplete escape sequence")
	}
	c := p.peek()
	p.pos++
	switch c {
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case '/':
		return '/', nil
	case '\\':
		return '\\', nil
	case 'u':
		r, err := p.hex4(start)
		if err != nil {
			return 0, err
		}
		switch {
		case utf16.IsSurrogate(r) && r < 0xDC00:
			if p.peekAt(0) != '\\' || p.peekAt(1) != 'u' {
				return 0, p.errAt(start, "high surrogate escape must be followed by a low surrogate \\u escape")
			}
			p.pos += 2
			lo, err := p.hex4(start)
			if err != nil {
				return 0, err
			}
			if lo < 0xDC00 || lo > 0xDFFF {
				return 0, p.errAt(start, "high surrogate escape must be followed by a low surrogate")
			}
			return utf16.DecodeRune(r, lo), nil
		case utf16.IsSurrogate(r):
			return 0, p.errAt(start, "lone low surrogate escape")
		}
		return r, nil
	}
	if c == quote {
		return rune(c), nil
	}
	return 0, p.errAt(start, fmt.Sprintf("invalid escape sequence \\%c", c))
}

func (p *parser) hex4(start int) (rune, error) {
	if p.pos+4 > len(p.src) {
		return 0, p.errAt(start, "\\u escape needs four hex digits")
	}
	v, err := strconv.ParseUint(p.src[p.pos:p.pos+4], 16, 32)
	if err != nil || strings.ContainsAny(p.src[p.pos:p.pos+4], "+-") {
		return 0, p.errAt(start, "\\u escape needs four hex digits")
	}
	p.pos += 4
	return rune(v), nil
}

// ---- filter expressions ----

func (p *parser) logicalOr() (logicalExpr, error) {
	first, err := p.logicalAnd()
	if err != nil {
		return nil, err
	}
	return p.orRest(first)
}

// orRest continues a logical-or-expr whose first operand is parsed.
func (p *parser) orRest(first logicalExpr) (logicalExpr, error) {
	list, err := p.operands("||", first, p.logicalAnd)
	if err != nil {
		return nil, err
	}
	if len(list) == 1 {
		return first, nil
	}
	return orExpr(list), nil
}

// operands reads the operands that follow first in a chain joined by op
// ("||" or "&&"), each parsed by next; blanks may surround op, and those
// after the last operand are left unread.
func (p *parser) operands(op string, first logicalExpr, next func() (logicalExpr, error)) ([]logicalExpr, error) {
	list := []logicalExpr{first}
	for {
		save := p.pos
		p.skipBlank()
		if !strings.HasPrefix(p.src[p.pos:], op) {
			p.pos = save
			return list, nil
		}
		p.pos += len(op)
		p.skipBlank()
		e, err := next()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
}

func (p *parser) logicalAnd() (logicalExpr, error) {
	first, err := p.basic()
	if err != nil {
		return nil, err
	}
	return p.andRest(first)
}

// andRest continues a logical-and-expr whose first operand is parsed.
func (p *parser) andRest(first logicalExpr) (logicalExpr, error) {
	list, err := p.operands("&&", first, p.basic)
	if err != nil {
		return nil, err
	}
	if len(list) == 1 {
		return first, nil
	}
	return andExpr(list), nil
}

func (p *parser) basic() (logicalExpr, error) {
	if p.eof() {
		return nil, p.errf("unexpected end of input; expected a filter expression")
	}
	switch p.peek() {
	case '!':
		p.pos++
		p.skipBlank()
		if !p.eof() && p.peek() == '(' {
			x, err := p.paren()
			if err != nil {
				return nil, err
			}
			return notExpr{x}, nil
		}
		start := p.pos
		op, err := p.operand()
		if err != nil {
			return nil, err
		}
		t, err := p.asTest(op, start)
		if err != nil {
			return nil, err
		}
		return notExpr{t}, nil
	case '(':
		return p.paren()
	}
	start := p.pos
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	return p.basicFrom(left, start)
}

// basicFrom finishes a basic-expr whose first operand is parsed: a
// comparison if an operator follows, otherwise a test.
func (p *parser) basicFrom(left operand, start int) (logicalExpr, error) {
	save := p.pos
	p.skipBlank()
	op, ok := p.cmpOperator()
	if !ok {
		p.pos = save
		return p.asTest(left, start)
	}
	l, err := p.asComparable(left, start, "left")
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	rstart := p.pos
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	r, err := p.asComparable(right, rstart, "right")
	if err != nil {
		return nil, err
	}
	return cmpExpr{op: op, l: l, r: r}, nil
}

func (p *parser) paren() (logicalExpr, error) {
	open := p.pos
	p.pos++ // '('
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.skipBlank()
	x, err := p.logicalOr()
	if err != nil {
		return nil, err
	}
	p.skipBlank()
	if p.eof() || p.peek() != ')' {
		if p.eof() {
			return nil, p.errAt(open, "unclosed '('")
		}
		return nil, p.errf("unexpected %s; expected ')'", p.describe())
	}
	p.pos++
	return x, nil
}

func (p *parser) cmpOperator() (cmpOp, bool) {
	rest := p.src[p.pos:]
	for _, o := range []struct {
		s  string
		op cmpOp
	}{{"==", opEq}, {"!=", opNe}, {"<=", opLe}, {">=", opGe}, {"<", opLt}, {">", opGt}} {
		if strings.HasPrefix(rest, o.s) {
			p.pos += len(o.s)
			return o.op, true
		}
	}
	return 0, false
}

// operand is a parsed literal, filter query or function call, before it is
// known whether it is compared or used as a test.
type operand struct {
	lit *literal
	q   *query
	fn  *funcCall
}

func (p *parser) operand() (operand, error) {
	if p.eof() {
		return operand{}, p.errf("unexpected end of input; expected a literal, query or function")
	}
	switch c := p.peek(); {
	case c == '@' || c == '$':
		p.pos++
		if err := p.enter(); err != nil {
			return operand{}, err
		}
		defer p.leave()
		q, err := p.segments(c == '@')
		return operand{q: q}, err
	case c == '\'' || c == '"':
		s, err := p.stringLit()
		return operand{lit: &literal{s}}, err
	case c == '-' || c >= '0' && c <= '9':
		v, err := p.number()
		return operand{lit: &literal{v}}, err
	case c >= 'a' && c <= 'z':
		start := p.pos
		for !p.eof() && (p.peek() >= 'a' && p.peek() <= 'z' || p.peek() >= '0' && p.peek() <= '9' || p.peek() == '_') {
			p.pos++
		}
		word := p.src[start:p.pos]
		if !p.eof() && p.peek() == '(' {
			return p.call(word, start)
		}
		switch word {
		case "true":
			return operand{lit: &literal{true}}, nil
		case "false":
			return operand{lit: &literal{false}}, nil
		case "null":
			return operand{lit: &literal{nil}}, nil
		}
		if _, ok := funcDefs[word]; ok {
			return operand{}, p.errAt(start, fmt.Sprintf("function %s must be followed directly by '('", word))
		}
		return operand{}, p.errAt(start, fmt.Sprintf("unknown word %q; expected true, false, null or a function call", word))
	}
	return operand{}, p.errf("unexpected %s; expected a literal, '@', '$' or a function call", p.describe())
}

// number parses a JSON-style number literal; integers stay int64 so they
// compare exactly with document integers.
func (p *parser) number() (any, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	digits := p.pos
	for !p.eof() && p.peek() >= '0' && p.peek() <= '9' {
		p.pos++
	}
	if p.pos == digits {
		return nil, p.errf("expected a digit, found %s", p.describe())
	}
	if p.src[digits] == '0' && p.pos-digits > 1 {
		return nil, p.errAt(start, "leading zeros are not allowed in a number")
	}
	isFloat := false
	if !p.eof() && p.peek() == '.' {
		p.pos++
		fd := p.pos
		for !p.eof() && p.peek() >= '0' && p.peek() <= '9' {
			p.pos++
		}
		if p.pos == fd {
			return nil, p.errf("expected a digit after '.'")
		}
		isFloat = true
	}
	if !p.eof() && (p.peek() == 'e' || p.peek() == 'E') {
		p.pos++
		if !p.eof() && (p.peek() == '+' || p.peek() == '-') {
			p.pos++
		}
		ed := p.pos
		for !p.eof() && p.peek() >= '0' && p.peek() <= '9' {
			p.pos++
		}
		if p.pos == ed {
			return nil, p.errf("expected a digit in the exponent")
		}
		isFloat = true
	}
	text := p.src[start:p.pos]
	if !isFloat {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			return v, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, p.errAt(start, fmt.Sprintf("number %s out of range", text))
	}
	return f, nil
}

func (p *parser) call(name string, start int) (operand, error) {
	def, ok := funcDefs[name]
	if !ok {
		return operand{}, p.errAt(start, fmt.Sprintf("unknown function %s(); known: count, length, match, search, value", name))
	}
	if err := p.enter(); err != nil {
		return operand{}, err
	}
	defer p.leave()
	p.pos++ // '('
	fc := &funcCall{name: name, def: def}
	p.skipBlank()
	if !p.eof() && p.peek() == ')' {
		p.pos++
	} else {
		for {
			a, err := p.argument(def, len(fc.args), name)
			if err != nil {
				return operand{}, err
			}
			fc.args = append(fc.args, a)
			p.skipBlank()
			if p.eof() {
				return operand{}, p.errAt(start, fmt.Sprintf("unclosed '(' of %s()", name))
			}
			if p.peek() == ')' {
				p.pos++
				break
			}
			if p.peek() != ',' {
				return operand{}, p.errf("unexpected %s in %s(); expected ',' or ')'", p.describe(), name)
			}
			p.pos++
			p.skipBlank()
		}
	}
	if len(fc.args) != len(def.params) {
		return operand{}, p.errAt(start, fmt.Sprintf("%s() takes %d argument(s), got %d", name, len(def.params), len(fc.args)))
	}
	if (def.id == fnMatch || def.id == fnSearch) && fc.args[1].val != nil {
		if lit, ok := fc.args[1].val.(*literal); ok {
			if s, ok := lit.v.(string); ok {
				re, err := compileIRegexp(s, def.id == fnMatch)
				fc.re, fc.reBad = re, err != nil
			} else {
				fc.reBad = true
			}
		}
	}
	return operand{fn: fc}, nil
}

// argument parses one function argument and converts it to the declared
// parameter type following RFC 9535 §2.4.3.
func (p *parser) argument(def funcDef, i int, name string) (funcArg, error) {
	if i >= len(def.params) {
		return funcArg{}, p.errf("too many arguments to %s(): it takes %d", name, len(def.params))
	}
	want := def.params[i]
	start := p.pos
	// An argument is a bare literal, query or function, or a logical
	// expression. Parse the leading operand once and continue it as a
	// logical expression if an operator follows: re-parsing from the start
	// would be exponential in the nesting depth of function calls.
	var x logicalExpr
	var op operand
	if !p.eof() && (p.peek() == '!' || p.peek() == '(') {
		var err error
		if x, err = p.logicalOr(); err != nil {
			return funcArg{}, err
		}
	} else {
		var err error
		if op, err = p.operand(); err != nil {
			return funcArg{}, err
		}
		save := p.pos
		p.skipBlank()
		bare := !p.eof() && (p.peek() == ',' || p.peek() == ')')
		p.pos = save
		if !bare {
			b, err := p.basicFrom(op, start)
			if err != nil {
				return funcArg{}, err
			}
			if b, err = p.andRest(b); err != nil {
				return funcArg{}, err
			}
			if x, err = p.orRest(b); err != nil {
				return funcArg{}, err
			}
		}
	}
	if x != nil {
		if want != typeLogical {
			return funcArg{}, p.errAt(start, fmt.Sprintf("argument %d of %s() must be %s, not a logical expression", i+1, name, want))
		}
		return funcArg{typ: typeLogical, logical: x}, nil
	}
	switch want {
	case typeValue:
		switch {
		case op.lit != nil:
			return funcArg{typ: typeValue, val: op.lit}, nil
		case op.q != nil && op.q.singular:
			return funcArg{typ: typeValue, val: singularQuery{op.q}}, nil
		case op.q != nil:
			return funcArg{}, p.errAt(start, fmt.Sprintf("argument %d of %s() must be a singular query (ValueType); this query can select several nodes", i+1, name))
		case op.fn.def.result == typeValue:
			return funcArg{typ: typeValue, val: op.fn}, nil
		}
		return funcArg{}, p.errAt(start, fmt.Sprintf("argument %d of %s() must be ValueType, but %s() returns %s", i+1, name, op.fn.name, op.fn.def.result))
	case typeNodes:
		if op.q != nil {
			return funcArg{typ: typeNodes, nodes: op.q}, nil
		}
		return funcArg{}, p.errAt(start, fmt.Sprintf("argument %d of %s() must be a query (NodesType)", i+1, name))
	default: // typeLogical
		switch {
		case op.q != nil:
			return funcArg{typ: typeLogical, logical: existExpr{op.q}}, nil
		case op.fn != nil && op.fn.def.result != typeValue:
			return funcArg{typ: typeLogical, logical: funcTest{op.fn}}, nil
		}
		return funcArg{}, p.errAt(start, fmt.Sprintf("argument %d of %s() must be LogicalType", i+1, name))
	}
}

func (p *parser) asTest(op operand, start int) (logicalExpr, error) {
	switch {
	case op.q != nil:
		return existExpr{op.q}, nil
	case op.fn != nil && op.fn.def.result != typeValue:
		return funcTest{op.fn}, nil
	case op.fn != nil:
		return nil, p.errAt(start, fmt.Sprintf("the result of %s() must be compared; it is not a test", op.fn.name))
	}
	return nil, p.errAt(start, "a literal cannot be used as a test; compare it with ==, !=, <, <=, > or >=")
}

func (p *parser) asComparable(op operand, start int, side string) (comparable, error) {
	switch {
	case op.lit != nil:
		return op.lit, nil
	case op.q != nil && op.q.singular:
		return singularQuery{op.q}, nil
	case op.q != nil:
		return nil, p.errAt(start, fmt.Sprintf("the %s side of a comparison must be a singular query (names and indices only)", side))
	case op.fn.def.result == typeValue:
		return op.fn, nil
	}
	return nil, p.errAt(start, fmt.Sprintf("%s() returns %s and cannot be compared", op.fn.name, op.fn.def.result))
}
