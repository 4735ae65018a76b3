package jolt

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// node is a parsed JSON value of a specification, with the position where
// it starts so compile errors can point into the text the user wrote.
type node struct {
	kind    byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' boolean, 'z' null
	line    int
	col     int
	str     string
	num     any // int64 or float64
	b       bool
	members []member
	elems   []*node
}

// member is one key of an object node, with the key's own position.
type member struct {
	key       string
	line, col int
	val       *node
}

// maxDepth bounds nesting so a hostile specification cannot exhaust the stack.
const maxDepth = 200

type parser struct {
	src       []byte
	pos       int
	line, col int
	depth     int
}

// parseSpec reads a JSON document the way JOLT's loader (Jackson with
// ALLOW_COMMENTS) does: standard JSON plus // and /* */ comments. Duplicate
// keys keep their first position and last value, as a LinkedHashMap does.
func parseSpec(src string) (*node, error) {
	p := &parser{src: []byte(src), line: 1, col: 1}
	if err := p.space(); err != nil {
		return nil, err
	}
	if p.pos >= len(p.src) {
		return nil, p.errf("empty specification")
	}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.space(); err != nil {
		return nil, err
	}
	if p.pos < len(p.src) {
		return nil, p.errf("unexpected %q after the end of the JSON document", p.src[p.pos])
	}
	return n, nil
}

func (p *parser) errf(format string, a ...any) *Error {
	return errorAt(p.line, p.col, format, a...)
}

func (p *parser) advance() {
	if p.src[p.pos] == '\n' {
		p.line++
		p.col = 1
	} else if p.src[p.pos]&0xC0 != 0x80 { // count characters, not continuation bytes
		p.col++
	}
	p.pos++
}

func (p *parser) space() error {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.advance()
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.advance()
			}
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '*':
			line, col := p.line, p.col
			p.advance()
			p.advance()
			for {
				if p.pos+1 >= len(p.src) {
					return errorAt(line, col, "unterminated /* comment")
				}
				if p.src[p.pos] == '*' && p.src[p.pos+1] == '/' {
					p.advance()
					p.advance()
					break
				}
				p.advance()
			}
		default:
			return nil
		}
	}
	return nil
}

func (p *parser) value() (*node, error) {
	if p.pos >= len(p.src) {
		return nil, p.errf("unexpected end of the specification")
	}
	n := &node{line: p.line, col: p.col}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(n)
	case c == '[':
		return p.array(n)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		n.kind, n.str = 's', s
	case c == '-' || c >= '0' && c <= '9':
		v, err := p.number()
		if err != nil {
			return nil, err
		}
		n.kind, n.num = 'n', v
	default:
		for _, w := range []struct {
			word string
			kind byte
			b    bool
		}{{"true", 'b', true}, {"false", 'b', false}, {"null", 'z', false}} {
			if len(p.src)-p.pos >= len(w.word) && string(p.src[p.pos:p.pos+len(w.word)]) == w.word {
				for range w.word {
					p.advance()
				}
				n.kind, n.b = w.kind, w.b
				return n, nil
			}
		}
		return nil, p.errf("unexpected character %q", c)
	}
	return n, nil
}

func (p *parser) object(n *node) (*node, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, p.errf("specification nested deeper than %d levels", maxDepth)
	}
	defer func() { p.depth-- }()
	n.kind = 'o'
	p.advance() // {
	index := map[string]int{}
	if err := p.space(); err != nil {
		return nil, err
	}
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.advance()
		return n, nil
	}
	for {
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return nil, p.errf("expected a quoted key")
		}
		line, col := p.line, p.col
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.errf("expected ':' after key %q", key)
		}
		p.advance()
		if err := p.space(); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if i, dup := index[key]; dup {
			n.members[i].val = v
		} else {
			index[key] = len(n.members)
			n.members = append(n.members, member{key: key, line: line, col: col, val: v})
		}
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errf("unterminated object")
		}
		switch p.src[p.pos] {
		case ',':
			p.advance()
		case '}':
			p.advance()
			return n, nil
		default:
			return nil, p.errf("expected ',' or '}' in object")
		}
	}
}

func (p *parser) array(n *node) (*node, error) {
	if p.depth++; p.depth > maxDepth {
		return nil, p.errf("specification nested deeper than %d levels", maxDepth)
	}
	defer func() { p.depth-- }()
	n.kind = 'a'
	p.advance() // [
	if err := p.space(); err != nil {
		return nil, err
	}
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.advance()
		return n, nil
	}
	for {
		if err := p.space(); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, v)
		if err := p.space(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errf("unterminated array")
		}
		switch p.src[p.pos] {
		case ',':
			p.advance()
		case ']':
			p.advance()
			return n, nil
		default:
			return nil, p.errf("expected ',' or ']' in array")
		}
	}
}

func (p *parser) str() (string, error) {
	p.advance() // opening quote
	var out []byte
	for {
		if p.pos >= len(p.src) {
			return "", p.errf("unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.advance()
			return string(out), nil
		case c < 0x20:
			return "", p.errf("control character in string")
		case c == '\\':
			p.advance()
			if p.pos >= len(p.src) {
				return "", p.errf("unterminated string")
			}
			e := p.src[p.pos]
			p.advance()
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) && p.pos+1 < len(p.src) && p.src[p.pos] == '\\' && p.src[p.pos+1] == 'u' {
					p.advance()
					p.advance()
					r2, err := p.hex4()
					if err != nil {
						return "", err
					}
					r = utf16.DecodeRune(r, r2)
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", p.errf("invalid escape \\%c", e)
			}
		default:
			out = append(out, c)
			p.advance()
		}
	}
}

func (p *parser) hex4() (rune, error) {
	if p.pos+4 > len(p.src) {
		return 0, p.errf("invalid \\u escape")
	}
	v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, p.errf("invalid \\u escape")
	}
	for range 4 {
		p.advance()
	}
	return rune(v), nil
}

func (p *parser) number() (any, error) {
	start := p.pos
	isFloat := false
	if p.src[p.pos] == '-' {
		p.advance()
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.advance()
			n++
		}
		return n
	}
	if digits() == 0 {
		return nil, p.errf("invalid number")
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		isFloat = true
		p.advance()
		if digits() == 0 {
			return nil, p.errf("invalid number: digits expected after '.'")
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		isFloat = true
		p.advance()
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.advance()
		}
		if digits() == 0 {
			return nil, p.errf("invalid number: digits expected in exponent")
		}
	}
	text := string(p.src[start:p.pos])
	if !isFloat {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, p.errf("invalid number %s", text)
	}
	return f, nil
}

// value converts a node to the engine's mutable tree (fresh containers on
// every call, so a default value applied twice is never shared).
func (n *node) value() any {
	switch n.kind {
	case 'o':
		m := newMap(len(n.members))
		for _, mb := range n.members {
			m.put(mb.key, mb.val.value())
		}
		return m
	case 'a':
		l := &list{a: make([]any, len(n.elems))}
		for i, e := range n.elems {
			l.a[i] = e.value()
		}
		return l
	case 's':
		return n.str
	case 'n':
		return n.num
	case 'b':
		return n.b
	}
	return nil
}

func (n *node) kindName() string {
	switch n.kind {
	case 'o':
		return "an object"
	case 'a':
		return "an array"
	case 's':
		return "a string"
	case 'n':
		return "a number"
	case 'b':
		return "a boolean"
	}
	return "null"
}
