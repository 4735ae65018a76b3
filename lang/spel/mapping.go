package spel

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Row gives access to one record's cells by column name. ok is false when
// the column does not exist.
type Row interface {
	Get(column string) (value string, ok bool)
}

// MapRow is a Row backed by a map, for callers and tests that have one.
type MapRow map[string]string

// Get implements Row.
func (r MapRow) Get(column string) (string, bool) {
	v, ok := r[column]
	return v, ok
}

// Env holds the variables assigned by the mapping expressions of one record
// (exp{var1 = 'Hello'} followed by exp{hdr{x}.equals(var1)}), as the
// "variable scope" rule of the Connect+ docs describes. Create one per
// record, or Reset it between records. An Env is not safe for concurrent use.
type Env struct {
	vars map[string]val
}

// NewEnv returns an empty Env. The zero Env is also ready to use.
func NewEnv() *Env { return &Env{vars: map[string]val{}} }

// Set defines a variable from a Go value: nil, bool, int, int32, int64,
// float32, float64, string, []string or []any (a List).
func (e *Env) Set(name string, v any) { e.set(name, fromGo(v)) }

func (e *Env) set(name string, v val) {
	if e.vars == nil {
		e.vars = map[string]val{}
	}
	e.vars[name] = v
}

// Get returns a variable as a Go value (int32 for a Java int, int64 for a
// long, float64, string, bool, []any, or nil).
func (e *Env) Get(name string) (any, bool) {
	v, ok := e.vars[name]
	return v.toGo(), ok
}

// Reset forgets every variable.
func (e *Env) Reset() { clear(e.vars) }

// Kind tells what a mapping value does.
type Kind uint8

const (
	// KindColumn copies a column: a plain column name (a rename) or a lone
	// hdr{Column}.
	KindColumn Kind = iota
	// KindConst is a constant: const{value} or the archive form const(value).
	KindConst
	// KindExpr is an expression: exp{…}, or a legacy bare expression that
	// uses hdr{}, base64{} or sum{} without exp{}.
	KindExpr
)

// Mapping is a compiled mapping value. It is immutable and safe for
// concurrent use; per-record state lives in the Env.
type Mapping struct {
	src    string
	kind   Kind
	column string // KindColumn
	value  string // KindConst
	expr   node   // KindExpr
	cols   []string
	agg    bool
}

// Compile parses one mapping value as written in a header mapping or a
// field map:
//
//	t_amount                       a plain column name (rename)
//	hdr{Bill Number}               the value of a column
//	const{INR}, const(TILL_CODE)   a constant
//	exp{hdr{A} - hdr{B}}           a SpEL expression
//	sum{hdr{F}}                    legacy group sum (see EvalGroup)
//	base64{hdr{F}}                 legacy Base64 of a value
//	'x'.concat(base64{hdr{F}})     legacy bare expression
//
// Errors are *Error values that locate the problem in the text.
func Compile(mapping string) (m *Mapping, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, &Error{Src: mapping, Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	trimmed := strings.TrimSpace(mapping)
	start := strings.Index(mapping, trimmed)
	end := start + len(trimmed)
	m = &Mapping{src: mapping}
	switch {
	case trimmed == "":
		return nil, &Error{Src: mapping, Pos: 0, Msg: "empty mapping; expected a column name, hdr{}, const{} or exp{}"}
	case strings.HasPrefix(trimmed, "const{") || strings.HasPrefix(trimmed, "const("):
		open := trimmed[5]
		close := map[byte]byte{'{': '}', '(': ')'}[open]
		inner, rest, ok := matchBracket(trimmed[5:], open, close)
		if !ok {
			return nil, &Error{Src: mapping, Pos: start, Msg: fmt.Sprintf("unclosed const%c (missing '%c')", open, close)}
		}
		if rest != "" {
			return nil, &Error{Src: mapping, Pos: end - len(rest), Msg: fmt.Sprintf("unexpected text after const%c…%c", open, close)}
		}
		m.kind, m.value = KindConst, inner
		return m, nil
	case !looksLikeExpression(trimmed):
		m.kind, m.column, m.cols = KindColumn, trimmed, []string{trimmed}
		return m, nil
	}
	if strings.HasPrefix(trimmed, `{"`) {
		return nil, &Error{Src: mapping, Pos: start, Msg: "this is a header mapping object ({\"Header\": value, …}); compile it with CompileHeaderMapping"}
	}
	toks, err := lex(mapping, start, end)
	if err != nil {
		return nil, err
	}
	p := &parser{src: mapping, toks: toks}
	x, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.tok(); t.kind != tEOF {
		if t.kind == tOp && t.text == "}" {
			return nil, p.errAt(t.pos, "unmatched '}'")
		}
		return nil, p.errAt(t.pos, "unexpected %s after the end of the expression", p.describe(t))
	}
	if c, ok := x.(*colNode); ok {
		m.kind, m.column, m.cols = KindColumn, c.name, []string{c.name}
		return m, nil
	}
	m.kind, m.expr, m.cols, m.agg = KindExpr, x, p.cols, p.agg
	return m, nil
}

// MustCompile is Compile that panics on error, for tests and constants.
func MustCompile(mapping string) *Mapping {
	m, err := Compile(mapping)
	if err != nil {
		panic(err)
	}
	return m
}

// looksLikeExpression decides between a plain column name and an
// expression. Column names may contain spaces, dots or quotes, so only the
// markers of the mapping language count.
func looksLikeExpression(s string) bool {
	for _, marker := range []string{"exp{", "hdr{", `hdr"`, "hdr'", "hdr[", "base64{", "sum{"} {
		if strings.Contains(s, marker) {
			return true
		}
	}
	return false
}

// matchBracket splits s (starting with open) into the text inside the
// matching close and what follows it.
func matchBracket(s string, open, close byte) (inner, rest string, ok bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return s[1:i], s[i+1:], true
			}
		}
	}
	return "", "", false
}

// String returns the mapping text.
func (m *Mapping) String() string { return m.src }

// Kind reports what the mapping does.
func (m *Mapping) Kind() Kind { return m.kind }

// Columns lists the columns the mapping reads, in order of first use, so a
// configuration can be checked against the input header before any row.
func (m *Mapping) Columns() []string { return append([]string(nil), m.cols...) }

// IsAggregate reports whether the mapping uses sum{} and so should be
// evaluated once per group with EvalGroup.
func (m *Mapping) IsAggregate() bool { return m.agg }

// Eval computes the mapping for one row and renders it as Java would print
// it (integers without decimals, doubles like Double.toString, true/false),
// except that null renders as the empty string. A missing column copied by
// a KindColumn mapping also renders as the empty string; use Columns to
// validate the header up front. env may be nil when no variables are used;
// assignments then last for this call only.
func (m *Mapping) Eval(row Row, env *Env) (string, error) {
	return m.eval(row, nil, env)
}

// EvalGroup computes an aggregate mapping once for a group of rows (the
// legacy AggregatorProcessor): each sum{} adds its operand over all rows,
// other column references read the first row. For a non-aggregate mapping
// it is Eval on the first row.
func (m *Mapping) EvalGroup(rows []Row, env *Env) (string, error) {
	var first Row
	if len(rows) > 0 {
		first = rows[0]
	}
	group := rows
	if group == nil {
		group = []Row{}
	}
	return m.eval(first, group, env)
}

func (m *Mapping) eval(row Row, group []Row, env *Env) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", &Error{Src: m.src, Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	switch m.kind {
	case KindConst:
		return m.value, nil
	case KindColumn:
		if row == nil {
			return "", nil
		}
		s, _ := row.Get(m.column)
		return s, nil
	}
	if env == nil {
		env = NewEnv()
	}
	c := ctx{src: m.src, row: row, env: env, group: group}
	v, err := m.expr.eval(&c)
	if err != nil {
		return "", err
	}
	return v.text(), nil
}

// HeaderEntry is one output header of a transform_header_data mapping.
type HeaderEntry struct {
	Header  string
	Mapping *Mapping
}

// CompileHeaderMapping parses a headersMapping object such as
//
//	{"TAmount":"t_amount", "BillID":"Bill_Number"}
//	{"TAmount":exp{hdr"t_amount"+1}}
//
// Values are JSON strings, or — as the Connect+ docs write them — bare
// exp{…}/hdr{…}/const{…} forms that are not valid JSON. Entries keep their
// order; a duplicate output header is an error.
func CompileHeaderMapping(src string) (entries []HeaderEntry, err error) {
	defer func() {
		if r := recover(); r != nil {
			entries, err = nil, &Error{Src: src, Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	s := &hmScanner{src: src}
	s.space()
	if !s.eat('{') {
		return nil, s.errf("a header mapping must be a JSON object starting with '{'")
	}
	seen := map[string]bool{}
	s.space()
	if s.eat('}') {
		return nil, s.end()
	}
	for {
		s.space()
		keyPos := s.pos
		key, err := s.jsonString()
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, &Error{Src: src, Pos: keyPos, Msg: fmt.Sprintf("duplicate output header %q", key)}
		}
		seen[key] = true
		s.space()
		if !s.eat(':') {
			return nil, s.errf("expected ':' after the header name %q", key)
		}
		s.space()
		valPos := s.pos
		var text string
		offset := valPos
		if s.pos < len(src) && src[s.pos] == '"' {
			if text, err = s.jsonString(); err != nil {
				return nil, err
			}
			offset = -1 // positions inside a decoded string do not map back
		} else {
			if text, err = s.bare(); err != nil {
				return nil, err
			}
		}
		m, err := Compile(text)
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				return nil, err
			}
			pos := valPos
			if offset >= 0 {
				pos = offset + e.Pos
			}
			return nil, &Error{Src: src, Pos: pos, Msg: fmt.Sprintf("header %q: %s", key, e.Msg)}
		}
		entries = append(entries, HeaderEntry{Header: key, Mapping: m})
		s.space()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return entries, s.end()
		}
		return nil, s.errf("expected ',' or '}' after the value of %q", key)
	}
}

type hmScanner struct {
	src string
	pos int
}

func (s *hmScanner) errf(format string, args ...any) error {
	return &Error{Src: s.src, Pos: s.pos, Msg: fmt.Sprintf(format, args...)}
}

func (s *hmScanner) space() {
	for s.pos < len(s.src) && strings.IndexByte(" \t\r\n", s.src[s.pos]) >= 0 {
		s.pos++
	}
}

func (s *hmScanner) eat(c byte) bool {
	if s.pos < len(s.src) && s.src[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *hmScanner) end() error {
	s.space()
	if s.pos != len(s.src) {
		return s.errf("unexpected text after the closing '}'")
	}
	return nil
}

func (s *hmScanner) jsonString() (string, error) {
	if s.pos >= len(s.src) || s.src[s.pos] != '"' {
		return "", s.errf("expected a double-quoted string")
	}
	start := s.pos
	for i := s.pos + 1; i < len(s.src); i++ {
		switch s.src[i] {
		case '\\':
			i++
		case '"':
			var out string
			if err := json.Unmarshal([]byte(s.src[start:i+1]), &out); err != nil {
				return "", &Error{Src: s.src, Pos: start, Msg: fmt.Sprintf("invalid JSON string: %v", err)}
			}
			s.pos = i + 1
			return out, nil
		}
	}
	return "", &Error{Src: s.src, Pos: start, Msg: "unterminated string"}
}

// bare scans an unquoted value up to the ',' or '}' that ends it at the top
// level, skipping quoted text and balanced brackets.
func (s *hmScanner) bare() (string, error) {
	start := s.pos
	depth := 0
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch c {
		case '\'', '"':
			end := strings.IndexByte(s.src[s.pos+1:], c)
			if end < 0 {
				return "", s.errf("unterminated %c quote in the value", c)
			}
			s.pos += end + 2
			continue
		case '{', '(', '[':
			depth++
		case '}', ')', ']':
			if depth == 0 {
				if c != '}' {
					return "", s.errf("unmatched '%c'", c)
				}
				return strings.TrimSpace(s.src[start:s.pos]), nil
			}
			depth--
		case ',':
			if depth == 0 {
				return strings.TrimSpace(s.src[start:s.pos]), nil
			}
		}
		s.pos++
	}
	if depth > 0 {
		return "", &Error{Src: s.src, Pos: start, Msg: "unclosed bracket in the value"}
	}
	return "", &Error{Src: s.src, Pos: len(s.src), Msg: "unexpected end of the header mapping; expected '}'"}
}
