package nifiel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// compiler parses a property value and builds its node tree.
type compiler struct {
	src   string
	cfg   *config
	seq   *atomic.Int64
	depth int
	refs  map[string]bool // parameter names referenced, for Expr.Parameters
}

// part is a piece of a template: literal text or an expression.
type part struct {
	lit  bool
	text string
	n    node
}

func (c *compiler) errAt(off int, format string, args ...any) error {
	if off > len(c.src) {
		off = len(c.src)
	}
	if off < 0 {
		off = 0
	}
	line, col := position(c.src, off)
	return &Error{Offset: off, Line: line, Column: col, Msg: fmt.Sprintf(format, args...), Source: c.src}
}

// template splits text (found at offset base of the source) into literal
// parts and expressions, applying NiFi's $ escaping: before a complete
// ${...}, each pair of $ is one literal $, and an even count escapes the
// expression itself. A ${ without its closing brace is plain text, as in
// NiFi, unless RejectUnterminated is set: then it is a syntax error.
func (c *compiler) template(text string, base int) ([]part, error) {
	var parts []part
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, part{lit: true, text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(text); {
		if text[i] != '$' {
			j := strings.IndexByte(text[i:], '$')
			if j < 0 {
				j = len(text) - i
			}
			lit.WriteString(text[i : i+j])
			i += j
			continue
		}
		j := i
		for j < len(text) && text[j] == '$' {
			j++
		}
		dollars := j - i
		if j < len(text) && text[j] == '{' {
			if end := matchBrace(text, j); end >= 0 {
				lit.WriteString(strings.Repeat("$", dollars/2))
				if dollars%2 == 0 {
					lit.WriteString(text[j : end+1])
				} else {
					flush()
					n, err := c.parseExprAt(text[j-1:end+1], base+j-1)
					if err != nil {
						return nil, err
					}
					parts = append(parts, part{n: n})
				}
				i = end + 1
				continue
			}
		}
		if c.cfg.strictBraces && dollars%2 == 1 && j < len(text) && text[j] == '{' {
			return nil, c.unterminated(text[j-1:], base+j-1)
		}
		lit.WriteString(text[i:j])
		i = j
	}
	flush()
	return parts, nil
}

// unterminated explains why the ${ at base has no closing brace: the
// parser, run over the rest of the value, stops where the expression goes
// wrong (an unterminated string, a missing '}').
func (c *compiler) unterminated(rest string, base int) error {
	if _, err := c.parseExprAt(rest, base); err != nil {
		return err
	}
	return c.errAt(base, "'${' has no closing '}'")
}

// matchBrace returns the index of the '}' closing the '{' at open, skipping
// quoted strings and comments, or -1.
func matchBrace(s string, open int) int {
	depth := 0
	prev := byte('{')
	for k := open; k < len(s); k++ {
		ch := s[k]
		switch {
		case ch == '\'' || ch == '"':
			k = skipQuoted(s, k)
			if k < 0 {
				return -1
			}
		case ch == '#' && isCommentStart(prev) && !isParamStart(s, k):
			nl := strings.IndexByte(s[k:], '\n')
			if nl < 0 {
				return -1
			}
			k += nl
		case ch == '{':
			depth++
		case ch == '}':
			depth--
			if depth == 0 {
				return k
			}
		}
		prev = s[k]
	}
	return -1
}

// isCommentStart reports whether '#' after prev starts a comment rather than
// continuing an attribute name such as "a#b".
func isCommentStart(prev byte) bool {
	switch prev {
	case ' ', '\t', '\r', '\n', '{', '(', ',', ':', ')', '\'', '"':
		return true
	}
	return false
}

// skipQuoted returns the index of the quote closing the one at k, or -1.
func skipQuoted(s string, k int) int {
	q := s[k]
	for i := k + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return -1
}

// exprParser parses one ${...} expression.
type exprParser struct {
	c    *compiler
	s    string // the expression text, starting with "${"
	base int    // offset of s in the source
	pos  int
}

func (c *compiler) parseExprAt(s string, base int) (node, error) {
	p := &exprParser{c: c, s: s, base: base}
	n, err := p.expression()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, p.errf("unexpected text %q after expression", p.s[p.pos:])
	}
	return n, nil
}

func (p *exprParser) errf(format string, args ...any) error {
	return p.c.errAt(p.base+p.pos, format, args...)
}

func (p *exprParser) errAt(pos int, format string, args ...any) error {
	return p.c.errAt(p.base+pos, format, args...)
}

// skipSpace skips whitespace and '#' comments, which run to the end of the line.
func (p *exprParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		case '#':
			if isParamStart(p.s, p.pos) {
				return // a parameter reference, not a comment
			}
			nl := strings.IndexByte(p.s[p.pos:], '\n')
			if nl < 0 {
				p.pos = len(p.s)
			} else {
				p.pos += nl + 1
			}
		default:
			return
		}
	}
}

func (p *exprParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// isNameChar reports whether c may appear in an unquoted attribute or
// function name (NiFi's ATTRIBUTE_NAME token).
func isNameChar(c byte) bool {
	switch c {
	case '$', '{', '}', '(', ')', '[', ']', ',', ':', ';', '/', '*', '\'', ' ', '\t', '\r', '\n':
		return false
	}
	return true
}

func (p *exprParser) name() string {
	start := p.pos
	for p.pos < len(p.s) && isNameChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// chain tracks a multi-attribute subject while its functions are applied.
type chain struct {
	multi   *multiSel
	reduced string // name of the reducing function applied, if any
}

func (p *exprParser) expression() (node, error) {
	start := p.pos
	if !strings.HasPrefix(p.s[p.pos:], "${") {
		return nil, p.errf("expected '${'")
	}
	p.c.depth++
	defer func() { p.c.depth-- }()
	if p.c.depth > p.c.cfg.maxDepth {
		return nil, p.errf("expressions nested deeper than %d levels", p.c.cfg.maxDepth)
	}
	p.pos += 2
	p.skipSpace()
	subj, ch, err := p.subject()
	if err != nil {
		return nil, err
	}
	cur := subj
	for {
		p.skipSpace()
		switch p.peek() {
		case '}':
			p.pos++
			return p.finish(cur, ch, start)
		case ':':
			p.pos++
			p.skipSpace()
			fpos := p.pos
			name := p.name()
			if name == "" {
				return nil, p.errf("expected function name after ':'")
			}
			def, ok := functions[name]
			if !ok {
				return nil, p.errAt(fpos, "unknown function '%s'", name)
			}
			if def.subject == subjNone {
				return nil, p.errAt(fpos, "function '%s' does not take a subject", name)
			}
			args, err := p.args(name)
			if err != nil {
				return nil, err
			}
			if ch.reduced != "" {
				return nil, p.errAt(fpos, "cannot call function '%s' on the result of '%s'; use ${literal(${...}):%s(...)} instead", name, ch.reduced, name)
			}
			if def.reducer && ch.multi != nil && !ch.multi.all {
				return nil, p.errAt(fpos, "function '%s' may only follow allAttributes, allMatchingAttributes or allDelineatedValues, not %s", name, ch.multi.name)
			}
			cur, err = p.apply(def, name, fpos, cur, args, &ch)
			if err != nil {
				return nil, err
			}
			if def.reducer {
				ch.reduced = name
			}
		case 0:
			return nil, p.errf("expected '}' to close the expression started at position %d", p.base+start)
		default:
			return nil, p.errf("expected ':' or '}' but found %q", string(p.peek()))
		}
	}
}

// finish wraps a multi-attribute chain into its any/all evaluation.
func (p *exprParser) finish(cur node, ch chain, start int) (node, error) {
	if ch.multi == nil || ch.reduced != "" {
		return cur, nil
	}
	if cur.kind() != TypeBoolean {
		return nil, p.errAt(start, "expression references multiple attributes with '%s' but does not end in a boolean or reducing function (count, join)", ch.multi.name)
	}
	bn, err := toBool(cur)
	if err != nil {
		return nil, p.errAt(start, "%v", err)
	}
	return ch.multi.combine(bn), nil
}

func (p *exprParser) apply(def *funcDef, name string, fpos int, subj node, args []node, ch *chain) (node, error) {
	if len(args) < def.min || (def.max >= 0 && len(args) > def.max) {
		return nil, p.errAt(fpos, "function '%s' takes %s, not %d", name, def.arity(), len(args))
	}
	n, err := def.build(&call{site: site{name: name, pos: p.base + fpos}, c: p.c, subj: subj, args: args, chain: ch})
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, p.errAt(fpos, "function '%s': %v", name, err)
	}
	return n, nil
}

// subject parses what precedes the first ':' — an attribute name (plain,
// quoted or computed by an embedded expression) or a subjectless function.
func (p *exprParser) subject() (node, chain, error) {
	switch ch := p.peek(); {
	case isParamStart(p.s, p.pos):
		n, err := p.paramInExpr()
		return n, chain{}, err
	case ch == '$':
		inner, err := p.expression()
		if err != nil {
			return nil, chain{}, err
		}
		name := toStr(inner)
		return dynAttr(name), chain{}, nil
	case ch == '\'' || ch == '"':
		lpos := p.pos
		sn, err := p.stringLiteral()
		if err != nil {
			return nil, chain{}, err
		}
		if c, ok := sn.(*constNode); ok {
			if c.s == "" {
				return nil, chain{}, p.errAt(lpos, "attribute name must not be empty")
			}
			return &attrNode{name: c.s}, chain{}, nil
		}
		return dynAttr(sn), chain{}, nil
	case ch >= '0' && ch <= '9':
		return nil, chain{}, p.errf("attribute name must not start with a digit; quote it, or use literal() for a number")
	case ch == 0 || ch == '}':
		return nil, chain{}, p.errf("expected an attribute name or function")
	case !isNameChar(ch):
		return nil, chain{}, p.errf("expected an attribute name or function but found %q", string(ch))
	}
	npos := p.pos
	name := p.name()
	save := p.pos
	p.skipSpace()
	if p.peek() != '(' {
		p.pos = save
		return &attrNode{name: name}, chain{}, nil
	}
	def, ok := functions[name]
	if !ok {
		return nil, chain{}, p.errAt(npos, "unknown function '%s'", name)
	}
	if def.subject == subjRequired {
		return nil, chain{}, p.errAt(npos, "function '%s' needs a subject, as in ${attribute:%s(...)}", name, name)
	}
	args, err := p.args(name)
	if err != nil {
		return nil, chain{}, err
	}
	var ch chain
	n, err := p.apply(def, name, npos, nil, args, &ch)
	if err != nil {
		return nil, chain{}, err
	}
	if m, ok := n.(*multiSel); ok {
		ch.multi = m
		return itemNode{}, ch, nil
	}
	return n, ch, nil
}

func dynAttr(name strNode) node {
	return strNodeOf(func(e env) (string, bool, error) {
		n, ok, err := name.str(e)
		if err != nil || !ok {
			return "", false, err
		}
		s, ok := e.attrs.Get(n)
		return s, ok, nil
	})
}

// args parses a parenthesised argument list.
func (p *exprParser) args(fn string) ([]node, error) {
	p.skipSpace()
	if p.peek() != '(' {
		return nil, p.errf("expected '(' after function name '%s'", fn)
	}
	p.pos++
	p.skipSpace()
	var args []node
	if p.peek() == ')' {
		p.pos++
		return args, nil
	}
	for {
		p.skipSpace()
		a, err := p.arg(fn)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return args, nil
		default:
			return nil, p.errf("expected ')' after arguments of function '%s'", fn)
		}
	}
}

// arg parses one argument: a string, number or boolean literal, or an
// embedded expression.
func (p *exprParser) arg(fn string) (node, error) {
	ch := p.peek()
	switch {
	case isParamStart(p.s, p.pos):
		return p.paramInExpr()
	case ch == '\'' || ch == '"':
		return p.stringLiteral()
	case ch == '$':
		return p.expression()
	case ch >= '0' && ch <= '9', ch == '-' || ch == '+' || ch == '.':
		return p.number()
	}
	save := p.pos
	word := p.name()
	switch word {
	case "true":
		return constOf(BoolValue(true)), nil
	case "false":
		return constOf(BoolValue(false)), nil
	case "null":
		// NiFi's NULL token: a String literal whose value is null, as in
		// getUri('https', null, 'host', -1, '/', null, null).
		return nullString{}, nil
	}
	p.pos = save
	return nil, p.errf("expected an argument of function '%s' (a quoted string, number, true, false, null, #{parameter} or ${...})", fn)
}

// number parses NiFi's WHOLE_NUMBER and DECIMAL tokens.
func (p *exprParser) number() (node, error) {
	start := p.pos
	i := p.pos
	if i < len(p.s) && (p.s[i] == '-' || p.s[i] == '+') {
		i++
	}
	for i < len(p.s) && (p.s[i] >= '0' && p.s[i] <= '9' || p.s[i] == '.' || p.s[i] == 'e' || p.s[i] == 'E' ||
		((p.s[i] == '-' || p.s[i] == '+') && (p.s[i-1] == 'e' || p.s[i-1] == 'E'))) {
		i++
	}
	text := p.s[start:i]
	p.pos = i
	digits := strings.TrimLeft(text, "+-")
	if isWholeText(text) && !strings.HasPrefix(digits, "0x") && !strings.HasPrefix(digits, "0X") {
		v, err := strconv.ParseInt(strings.TrimPrefix(text, "+"), 10, 64)
		if err != nil {
			return nil, p.errAt(start, "number %s is out of range of a long", text)
		}
		return constOf(NumberValue(v)), nil
	}
	// NiFi's DECIMAL token: digits with a '.', a fraction, an exponent or both.
	if digits == "" || digits == "." || !(digits[0] >= '0' && digits[0] <= '9' || digits[0] == '.') {
		return nil, p.errAt(start, "invalid number %q", text)
	}
	f, err := strconv.ParseFloat(strings.TrimPrefix(text, "+"), 64)
	if err != nil && !isRangeErr(err) {
		return nil, p.errAt(start, "invalid number %q", text)
	}
	v := DecimalValue(f)
	p.pos = i
	return constOf(v), nil
}

// stringLiteral parses a quoted string with NiFi's escapes. A literal that
// contains ${...} is itself a template, evaluated on use.
func (p *exprParser) stringLiteral() (strNode, error) {
	q := p.s[p.pos]
	start := p.pos
	var b strings.Builder
	i := p.pos + 1
	for {
		if i >= len(p.s) {
			return nil, p.errAt(start, "unterminated string literal")
		}
		ch := p.s[i]
		if ch == q {
			i++
			break
		}
		if ch == '\\' && i+1 < len(p.s) {
			switch nc := p.s[i+1]; nc {
			case '"', '\'':
				b.WriteByte(nc)
			case 'r':
				b.WriteByte('\r')
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '\\':
				// An escaped backslash is one backslash, as NiFi's tests
				// (TestQuery.testReplaceAllWithOddNumberOfBackslashPairs,
				// testWithBackSlashes) require: replace('\\', '/') replaces
				// single backslashes and replaceAll('\\\\', '/') matches one.
				b.WriteByte('\\')
			default:
				b.WriteByte('\\')
				b.WriteByte(nc)
			}
			i += 2
			continue
		}
		b.WriteByte(ch)
		i++
	}
	p.pos = i
	text := b.String()
	if !strings.Contains(text, "${") {
		return constString(text), nil
	}
	parts, err := p.c.template(text, p.base+start+1)
	if err != nil {
		return nil, err
	}
	return templateNode(parts, p.c.cfg.maxResult), nil
}

// templateNode concatenates parts into one String.
func templateNode(parts []part, max int) strNode {
	if len(parts) == 0 {
		return constString("")
	}
	if len(parts) == 1 {
		if parts[0].lit {
			return constString(parts[0].text)
		}
		return toStr(parts[0].n)
	}
	ns := make([]strNode, len(parts))
	for i, pt := range parts {
		if pt.lit {
			ns[i] = constString(pt.text)
		} else {
			ns[i] = toStr(pt.n)
		}
	}
	return strNodeOf(func(e env) (string, bool, error) {
		var b strings.Builder
		for _, n := range ns {
			s, _, err := n.str(e)
			if err != nil {
				return "", false, err
			}
			if b.Len()+len(s) > max {
				return "", false, fmt.Errorf("string exceeds %d bytes: %w", max, ErrResultTooLarge)
			}
			b.WriteString(s)
		}
		return b.String(), true, nil
	})
}
