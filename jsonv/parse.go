package jsonv

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds nesting so hostile input cannot exhaust the stack.
const MaxDepth = 1000

// SyntaxError locates a parse failure.
type SyntaxError struct {
	Offset int64 // byte offset from the start of the input
	Line   int   // 1-based
	Column int   // 1-based, in bytes
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

type parser struct {
	data  []byte
	pos   int
	depth int
	base  int64 // offset of data[0] in a larger stream
}

// Parse decodes one JSON document. Trailing non-space input is an error.
func Parse(data []byte) (any, error) {
	p := parser{data: data}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errf("unexpected %q after the JSON value", p.data[p.pos])
	}
	return v, nil
}

// ParseString is Parse for a string.
func ParseString(s string) (any, error) { return Parse([]byte(s)) }

func (p *parser) errf(format string, args ...any) error {
	line, col := 1, 1
	for i := 0; i < p.pos && i < len(p.data); i++ {
		if p.data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Offset: p.base + int64(p.pos), Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value() (any, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.errf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.errf("unexpected character %q", c)
	}
}

func (p *parser) literal(word string, v any) (any, error) {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		return nil, p.errf("invalid literal, expected %s", word)
	}
	p.pos += len(word)
	return v, nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.errf("nesting deeper than %d", MaxDepth)
	}
	return nil
}

func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // {
	o := &Object{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		p.depth--
		return o, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errf("expected a string key")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errf("expected ':' after object key")
		}
		p.pos++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		// Duplicate keys: last one wins, as in Jackson and encoding/json.
		if len(o.Members) < 16 {
			dup := false
			for i := range o.Members {
				if o.Members[i].Key == k {
					o.Members[i].Value = v
					dup = true
					break
				}
			}
			if !dup {
				o.Members = append(o.Members, Member{Key: k, Value: v})
			}
		} else {
			o.Set(k, v)
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errf("unexpected end of input in object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.depth--
			return o, nil
		default:
			return nil, p.errf("expected ',' or '}' in object")
		}
	}
}

func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // [
	arr := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		p.depth--
		return arr, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errf("unexpected end of input in array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			p.depth--
			return arr, nil
		default:
			return nil, p.errf("expected ',' or ']' in array")
		}
	}
}

func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := string(p.data[start:p.pos])
			p.pos++
			if !utf8.ValidString(s) {
				return string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD"))), nil
			}
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.errf("control character in string")
		}
		p.pos++
	}
	buf := make([]byte, 0, p.pos-start+16)
	buf = append(buf, p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(bytes.ToValidUTF8(buf, []byte("\uFFFD"))), nil
		case c < 0x20:
			return "", p.errf("control character in string")
		case c == '\\':
			p.pos++
			if p.pos >= len(p.data) {
				return "", p.errf("unexpected end of input in string escape")
			}
			e := p.data[p.pos]
			p.pos++
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.errf("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
						save := p.pos
						p.pos += 2
						if lo, ok := p.hex4(); ok {
							r2 = utf16.DecodeRune(r, lo)
							if r2 == utf8.RuneError {
								p.pos = save
							}
						} else {
							p.pos = save
						}
					}
					r = r2
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", p.errf("invalid escape '\\%c'", e)
			}
		default:
			buf = append(buf, c)
			p.pos++
		}
	}
	return "", p.errf("unterminated string")
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

func (p *parser) number() (any, error) {
	start := p.pos
	isFloat := false
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	intStart := p.pos
	if digits() == 0 {
		return nil, p.errf("invalid number")
	}
	if p.data[intStart] == '0' && p.pos-intStart > 1 {
		return nil, p.errf("invalid number: leading zero")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		isFloat = true
		p.pos++
		if digits() == 0 {
			return nil, p.errf("invalid number: digits expected after '.'")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		isFloat = true
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errf("invalid number: digits expected in exponent")
		}
	}
	text := string(p.data[start:p.pos])
	if !isFloat {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, p.errf("number out of range: %s", text)
	}
	return f, nil
}

// Decoder reads a stream of JSON values: JSON Lines, concatenated values, or
// (with NextInArray) the elements of one top-level array, without holding the
// whole stream in memory.
type Decoder struct {
	r      *bufio.Reader
	offset int64
	line   int
	inArr  int // 0 unknown, 1 inside top-level array, 2 array finished
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, 64<<10), line: 1}
}

// Line returns the 1-based line where the next value starts (approximately:
// the line after the previous value ended).
func (d *Decoder) Line() int { return d.line }

func (d *Decoder) skipSpace() (byte, error) {
	for {
		c, err := d.r.ReadByte()
		if err != nil {
			return 0, err
		}
		d.offset++
		switch c {
		case '\n':
			d.line++
		case ' ', '\t', '\r':
		default:
			return c, nil
		}
	}
}

// readValue reads the raw bytes of one value whose first byte is c.
func (d *Decoder) readValue(c byte) ([]byte, error) {
	buf := []byte{c}
	if c != '{' && c != '[' && c != '"' {
		// scalar: read until a delimiter
		for {
			b, err := d.r.ReadByte()
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return nil, err
			}
			if b == ',' || b == ']' || b == '}' || b == ' ' || b == '\n' || b == '\r' || b == '\t' {
				_ = d.r.UnreadByte()
				return buf, nil
			}
			d.offset++
			buf = append(buf, b)
		}
	}
	depth := 0
	inStr := c == '"'
	esc := false
	if !inStr {
		depth = 1
	}
	for {
		b, err := d.r.ReadByte()
		if err == io.EOF {
			return nil, &SyntaxError{Offset: d.offset, Line: d.line, Column: 1, Msg: "unexpected end of input"}
		}
		if err != nil {
			return nil, err
		}
		d.offset++
		buf = append(buf, b)
		if b == '\n' {
			d.line++
		}
		if inStr {
			switch {
			case esc:
				esc = false
			case b == '\\':
				esc = true
			case b == '"':
				inStr = false
				if depth == 0 {
					return buf, nil
				}
			}
			continue
		}
		switch b {
		case '"':
			inStr = true
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return nil, &SyntaxError{Offset: d.offset, Line: d.line, Column: 1, Msg: fmt.Sprintf("nesting deeper than %d", MaxDepth)}
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return buf, nil
			}
		}
	}
}

func (d *Decoder) parseRaw(raw []byte, startLine int) (any, error) {
	v, err := Parse(raw)
	if se, ok := err.(*SyntaxError); ok {
		se.Line += startLine - 1
		se.Offset += d.offset - int64(len(raw))
	}
	return v, err
}

// Next returns the next top-level value, or io.EOF.
func (d *Decoder) Next() (any, error) {
	c, err := d.skipSpace()
	if err != nil {
		return nil, err
	}
	startLine := d.line
	raw, err := d.readValue(c)
	if err != nil {
		return nil, err
	}
	return d.parseRaw(raw, startLine)
}

// NextElement streams the elements of a top-level array one at a time; when
// the input is not an array, it behaves like Next (each top-level value is
// one element). It returns io.EOF after the last element.
func (d *Decoder) NextElement() (any, error) {
	for {
		c, err := d.skipSpace()
		if err != nil {
			if err == io.EOF && d.inArr == 1 {
				return nil, &SyntaxError{Offset: d.offset, Line: d.line, Column: 1, Msg: "unterminated top-level array"}
			}
			return nil, err
		}
		switch {
		case d.inArr == 0 && c == '[':
			d.inArr = 1
			continue
		case d.inArr == 1 && c == ',':
			continue
		case d.inArr == 1 && c == ']':
			d.inArr = 2
			continue
		case d.inArr == 0:
			d.inArr = 3 // plain value stream
		}
		startLine := d.line
		raw, err := d.readValue(c)
		if err != nil {
			return nil, err
		}
		return d.parseRaw(raw, startLine)
	}
}
