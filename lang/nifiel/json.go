package nifiel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The jsonPath functions work on an order-preserving JSON tree so that the
// documents jsonPathSet and friends return keep their members in place, as
// NiFi's (Jackson-based) implementation does. Values are:
// *jsonObject, []any, string, json.Number, bool and nil.

type jsonObject struct {
	keys []string
	vals map[string]any
}

func (o *jsonObject) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *jsonObject) put(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *jsonObject) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, kk := range o.keys {
		if kk == k {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
}

const maxJSONDepth = 1000

func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := decodeJSON(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeJSON(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &jsonObject{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.put(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeJSON(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

// appendJSON writes v compactly, without HTML escaping, as Jackson does.
func appendJSON(b []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, t)
	case json.Number:
		return append(b, t...)
	case string:
		return appendJSONString(b, t)
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case *jsonObject:
		b = append(b, '{')
		for i, k := range t.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, t.vals[k])
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// jsonScalarString renders a jsonPath result as NiFi does: scalars as their
// text, null as "", containers as JSON.
func jsonScalarString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case json.Number:
		return string(t)
	case bool:
		return strconv.FormatBool(t)
	}
	return string(appendJSON(nil, v))
}

// jsonResultString is NiFi's JsonPathBaseEvaluator.getResultRepresentation:
// a scalar as its text, a list of one element as that element, anything
// else as JSON.
func jsonResultString(v any) string {
	if l, ok := v.([]any); ok && len(l) == 1 {
		return jsonResultString(l[0])
	}
	return jsonScalarString(v)
}

// ---- a small JSONPath (Jayway dialect) ----

type pathStep struct {
	kind    stepKind
	names   []string // child names
	indexes []int    // array indexes
	slice   [3]*int  // start, end, step
	filter  *filterExpr
}

type stepKind uint8

const (
	stepChild stepKind = iota
	stepIndex
	stepWildcard
	stepSlice
	stepFilter
	stepDeep // recursive descent; the next step applies at every level
)

type jsonPath struct {
	src   string
	steps []pathStep
}

// definite reports whether the path names at most one location; Jayway
// returns a list for other paths.
func (p *jsonPath) definite() bool {
	for _, s := range p.steps {
		switch s.kind {
		case stepWildcard, stepSlice, stepFilter, stepDeep:
			return false
		case stepChild:
			if len(s.names) > 1 {
				return false
			}
		case stepIndex:
			if len(s.indexes) > 1 {
				return false
			}
		}
	}
	return true
}

func compileJSONPath(src string) (*jsonPath, error) {
	pp := &pathParser{s: strings.TrimSpace(src)}
	steps, err := pp.parse()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON path %q: %w", src, err)
	}
	return &jsonPath{src: src, steps: steps}, nil
}

type pathParser struct {
	s   string
	pos int
}

func (p *pathParser) parse() ([]pathStep, error) {
	if !strings.HasPrefix(p.s, "$") {
		// Jayway accepts a path without the leading '$'.
		p.s = "$." + p.s
	}
	p.pos = 1
	var steps []pathStep
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case '.':
			p.pos++
			if p.pos < len(p.s) && p.s[p.pos] == '.' {
				p.pos++
				steps = append(steps, pathStep{kind: stepDeep})
				if p.pos < len(p.s) && p.s[p.pos] == '[' {
					continue
				}
			}
			if p.pos < len(p.s) && p.s[p.pos] == '*' {
				p.pos++
				steps = append(steps, pathStep{kind: stepWildcard})
				continue
			}
			if p.pos < len(p.s) && p.s[p.pos] == '[' {
				continue
			}
			start := p.pos
			for p.pos < len(p.s) && p.s[p.pos] != '.' && p.s[p.pos] != '[' {
				p.pos++
			}
			if p.pos == start {
				return nil, errors.New("expected a property name after '.'")
			}
			steps = append(steps, pathStep{kind: stepChild, names: []string{p.s[start:p.pos]}})
		case '[':
			st, err := p.bracket()
			if err != nil {
				return nil, err
			}
			steps = append(steps, st)
		default:
			return nil, fmt.Errorf("unexpected %q at position %d", p.s[p.pos], p.pos)
		}
	}
	if len(steps) > 0 && steps[len(steps)-1].kind == stepDeep {
		return nil, errors.New("path must not end with '..'")
	}
	return steps, nil
}

func (p *pathParser) bracket() (pathStep, error) {
	p.pos++ // '['
	p.space()
	if p.pos >= len(p.s) {
		return pathStep{}, errors.New("unclosed '['")
	}
	switch c := p.s[p.pos]; {
	case c == '*':
		p.pos++
		return pathStep{kind: stepWildcard}, p.close()
	case c == '?':
		p.pos++
		p.space()
		if p.pos >= len(p.s) || p.s[p.pos] != '(' {
			return pathStep{}, errors.New("expected '(' after '?'")
		}
		end := matchParen(p.s, p.pos)
		if end < 0 {
			return pathStep{}, errors.New("unclosed filter expression")
		}
		f, err := parseFilter(p.s[p.pos+1 : end])
		if err != nil {
			return pathStep{}, err
		}
		p.pos = end + 1
		return pathStep{kind: stepFilter, filter: f}, p.close()
	case c == '\'' || c == '"':
		var names []string
		for {
			p.space()
			name, err := p.quoted()
			if err != nil {
				return pathStep{}, err
			}
			names = append(names, name)
			p.space()
			if p.pos < len(p.s) && p.s[p.pos] == ',' {
				p.pos++
				continue
			}
			return pathStep{kind: stepChild, names: names}, p.close()
		}
	default:
		end := strings.IndexByte(p.s[p.pos:], ']')
		if end < 0 {
			return pathStep{}, errors.New("unclosed '['")
		}
		body := strings.TrimSpace(p.s[p.pos : p.pos+end])
		p.pos += end + 1
		if strings.Contains(body, ":") {
			var st pathStep
			st.kind = stepSlice
			parts := strings.Split(body, ":")
			if len(parts) > 3 {
				return pathStep{}, fmt.Errorf("invalid slice %q", body)
			}
			for i, part := range parts {
				part = strings.TrimSpace(part)
				if part == "" {
					continue
				}
				v, err := strconv.Atoi(part)
				if err != nil {
					return pathStep{}, fmt.Errorf("invalid slice %q", body)
				}
				st.slice[i] = &v
			}
			return st, nil
		}
		var idx []int
		for _, part := range strings.Split(body, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return pathStep{}, fmt.Errorf("invalid array index %q", body)
			}
			idx = append(idx, v)
		}
		return pathStep{kind: stepIndex, indexes: idx}, nil
	}
}

func (p *pathParser) space() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *pathParser) close() error {
	p.space()
	if p.pos >= len(p.s) || p.s[p.pos] != ']' {
		return errors.New("expected ']'")
	}
	p.pos++
	return nil
}

func (p *pathParser) quoted() (string, error) {
	if p.pos >= len(p.s) || (p.s[p.pos] != '\'' && p.s[p.pos] != '"') {
		return "", errors.New("expected a quoted name")
	}
	q := p.s[p.pos]
	var b strings.Builder
	for i := p.pos + 1; i < len(p.s); i++ {
		switch p.s[i] {
		case '\\':
			if i+1 < len(p.s) {
				i++
				b.WriteByte(p.s[i])
			}
		case q:
			p.pos = i + 1
			return b.String(), nil
		default:
			b.WriteByte(p.s[i])
		}
	}
	return "", errors.New("unterminated quoted name")
}

func matchParen(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\'', '"':
			q := s[i]
			for i++; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// location is a matched node with a way to replace or remove it.
type location struct {
	value  any
	parent any // *jsonObject or *[]any holder
	key    string
	index  int
}

// eval returns the locations the path selects in root.
func (p *jsonPath) eval(root any) []location {
	cur := []location{{value: root, index: -1}}
	deep := false
	for _, st := range p.steps {
		if st.kind == stepDeep {
			deep = true
			continue
		}
		var next []location
		for _, l := range cur {
			if deep {
				next = walkDeep(l, st, next)
			} else {
				next = applyStep(l, st, next)
			}
		}
		deep = false
		cur = next
	}
	return cur
}

func walkDeep(l location, st pathStep, out []location) []location {
	out = applyStep(l, st, out)
	switch t := l.value.(type) {
	case *jsonObject:
		for _, k := range t.keys {
			out = walkDeep(location{value: t.vals[k], parent: t, key: k, index: -1}, st, out)
		}
	case []any:
		for i, v := range t {
			out = walkDeep(location{value: v, parent: t, index: i}, st, out)
		}
	}
	return out
}

func applyStep(l location, st pathStep, out []location) []location {
	switch st.kind {
	case stepChild:
		if o, ok := l.value.(*jsonObject); ok {
			for _, n := range st.names {
				if v, ok := o.get(n); ok {
					out = append(out, location{value: v, parent: o, key: n, index: -1})
				}
			}
		}
	case stepIndex:
		if a, ok := l.value.([]any); ok {
			for _, i := range st.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, location{value: a[i], parent: a, index: i})
				}
			}
		}
	case stepWildcard:
		switch t := l.value.(type) {
		case *jsonObject:
			for _, k := range t.keys {
				out = append(out, location{value: t.vals[k], parent: t, key: k, index: -1})
			}
		case []any:
			for i, v := range t {
				out = append(out, location{value: v, parent: t, index: i})
			}
		}
	case stepSlice:
		a, ok := l.value.([]any)
		if !ok {
			break
		}
		start, end, step := 0, len(a), 1
		if st.slice[2] != nil && *st.slice[2] > 0 {
			step = *st.slice[2]
		}
		norm := func(v int) int {
			if v < 0 {
				v += len(a)
			}
			return min(max(v, 0), len(a))
		}
		if st.slice[0] != nil {
			start = norm(*st.slice[0])
		}
		if st.slice[1] != nil {
			end = norm(*st.slice[1])
		}
		for i := start; i < end; i += step {
			out = append(out, location{value: a[i], parent: a, index: i})
		}
	case stepFilter:
		switch t := l.value.(type) {
		case []any:
			for i, v := range t {
				if st.filter.test(v) {
					out = append(out, location{value: v, parent: t, index: i})
				}
			}
		case *jsonObject:
			// Jayway applies a filter on an object to the object itself.
			if st.filter.test(t) {
				out = append(out, l)
			}
		}
	}
	return out
}

// ---- filters: [?(@.a == 'x' && @.b > 2)] ----

type filterExpr struct {
	or  [][]filterCmp // disjunction of conjunctions
	neg bool
}

type filterCmp struct {
	left, right filterOperand
	op          string // "" for an existence test
}

type filterOperand struct {
	path    *jsonPath // relative to @ when set
	literal any
}

func parseFilter(s string) (*filterExpr, error) {
	f := &filterExpr{}
	s = strings.TrimSpace(s)
	for _, disj := range splitOutsideQuotes(s, "||") {
		var conj []filterCmp
		for _, term := range splitOutsideQuotes(disj, "&&") {
			c, err := parseComparison(strings.TrimSpace(term))
			if err != nil {
				return nil, err
			}
			conj = append(conj, c)
		}
		f.or = append(f.or, conj)
	}
	return f, nil
}

func splitOutsideQuotes(s, sep string) []string {
	var parts []string
	start := 0
	var q byte
	for i := 0; i < len(s); i++ {
		switch {
		case q != 0:
			if s[i] == '\\' {
				i++
			} else if s[i] == q {
				q = 0
			}
		case s[i] == '\'' || s[i] == '"':
			q = s[i]
		case strings.HasPrefix(s[i:], sep):
			parts = append(parts, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, s[start:])
}

var filterOps = []string{"==", "!=", "<=", ">=", "<", ">"}

func parseComparison(s string) (filterCmp, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "("), ")"))
	var q byte
	for i := 0; i < len(s); i++ {
		if q != 0 {
			if s[i] == '\\' {
				i++
			} else if s[i] == q {
				q = 0
			}
			continue
		}
		if s[i] == '\'' || s[i] == '"' {
			q = s[i]
			continue
		}
		for _, op := range filterOps {
			if strings.HasPrefix(s[i:], op) {
				l, err := parseOperand(strings.TrimSpace(s[:i]))
				if err != nil {
					return filterCmp{}, err
				}
				r, err := parseOperand(strings.TrimSpace(s[i+len(op):]))
				if err != nil {
					return filterCmp{}, err
				}
				return filterCmp{left: l, right: r, op: op}, nil
			}
		}
	}
	o, err := parseOperand(s)
	if err != nil {
		return filterCmp{}, err
	}
	if o.path == nil {
		return filterCmp{}, fmt.Errorf("invalid filter %q", s)
	}
	return filterCmp{left: o}, nil
}

func parseOperand(s string) (filterOperand, error) {
	switch {
	case s == "":
		return filterOperand{}, errors.New("empty filter operand")
	case strings.HasPrefix(s, "@"):
		p, err := compileJSONPath("$" + s[1:])
		if err != nil {
			return filterOperand{}, err
		}
		return filterOperand{path: p}, nil
	case s[0] == '\'' || s[0] == '"':
		pp := &pathParser{s: s}
		v, err := pp.quoted()
		if err != nil {
			return filterOperand{}, err
		}
		return filterOperand{literal: v}, nil
	case s == "true" || s == "false":
		return filterOperand{literal: s == "true"}, nil
	case s == "null":
		return filterOperand{literal: nil}, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return filterOperand{}, fmt.Errorf("invalid filter operand %q", s)
	}
	return filterOperand{literal: json.Number(s)}, nil
}

func (f *filterExpr) test(v any) bool {
	for _, conj := range f.or {
		all := true
		for _, c := range conj {
			if !c.test(v) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (o filterOperand) resolve(v any) (any, bool) {
	if o.path == nil {
		return o.literal, true
	}
	locs := o.path.eval(v)
	if len(locs) == 0 {
		return nil, false
	}
	return locs[0].value, true
}

func (c filterCmp) test(v any) bool {
	l, ok := c.left.resolve(v)
	if c.op == "" {
		return ok
	}
	if !ok {
		return false
	}
	r, ok := c.right.resolve(v)
	if !ok {
		return false
	}
	ln, lnum := l.(json.Number)
	rn, rnum := r.(json.Number)
	if lnum && rnum {
		lf, _ := ln.Float64()
		rf, _ := rn.Float64()
		return compareOp(c.op, cmp3(lf < rf, lf > rf))
	}
	ls, lstr := l.(string)
	rs, rstr := r.(string)
	if lstr && rstr {
		return compareOp(c.op, strings.Compare(ls, rs))
	}
	eq := bytes.Equal(appendJSON(nil, l), appendJSON(nil, r))
	switch c.op {
	case "==":
		return eq
	case "!=":
		return !eq
	}
	return false
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func compareOp(op string, c int) bool {
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

// ---- the jsonPath functions ----

func (c *call) jsonPathArg(i int) (func(e env) (*jsonPath, error), error) {
	if k, ok := c.args[i].(*constNode); ok {
		p, err := compileJSONPath(k.s)
		if err != nil {
			return nil, err
		}
		return func(env) (*jsonPath, error) { return p, nil }, nil
	}
	arg := c.str(i)
	at := c.site
	return func(e env) (*jsonPath, error) {
		s, _, err := arg.str(e)
		if err != nil {
			return nil, err
		}
		p, err := compileJSONPath(s)
		if err != nil {
			return nil, at.fail(err)
		}
		return p, nil
	}, nil
}

// jsonPathSubject compiles what every jsonPath function starts with: the
// subject, which must be non-empty JSON (as JsonPathBaseEvaluator has it),
// and the path of argument 0. The function it returns reads both for a
// record.
func (c *call) jsonPathSubject() (func(e env) (any, *jsonPath, error), error) {
	sub := c.subjStr()
	path, err := c.jsonPathArg(0)
	if err != nil {
		return nil, err
	}
	at := c.site
	return func(e env) (any, *jsonPath, error) {
		s, ok, err := sub.str(e)
		if err != nil {
			return nil, nil, err
		}
		if !ok || s == "" {
			return nil, nil, at.failf("subject is empty")
		}
		p, err := path(e)
		if err != nil {
			return nil, nil, err
		}
		doc, err := parseJSON(s)
		if err != nil {
			return nil, nil, at.failf("subject is not valid JSON: %v", err)
		}
		return doc, p, nil
	}, nil
}

func buildJSONPath(c *call) (node, error) {
	read, err := c.jsonPathSubject()
	if err != nil {
		return nil, err
	}
	return strNodeOf(func(e env) (string, bool, error) {
		doc, p, err := read(e)
		if err != nil {
			return "", false, err
		}
		locs := p.eval(doc)
		if p.definite() {
			if len(locs) == 0 {
				return "", true, nil
			}
			return jsonResultString(locs[0].value), true, nil
		}
		if len(locs) == 1 {
			return jsonResultString(locs[0].value), true, nil
		}
		list := make([]any, len(locs))
		for i, l := range locs {
			list[i] = l.value
		}
		return string(appendJSON(nil, list)), true, nil
	}), nil
}

// jsonUpdate modifies doc at the located nodes; args are the evaluated
// extra arguments (value, or key and value).
type jsonUpdate func(doc any, locs []location, args []any) (any, error)

// deleted marks array elements removed by jsonDelete until the arrays are
// compacted; Go slices cannot shrink in place for their holders.
type deleted struct{}

func jsonDelete(doc any, locs []location, _ []any) (any, error) {
	for _, l := range locs {
		switch p := l.parent.(type) {
		case *jsonObject:
			p.del(l.key)
		case []any:
			p[l.index] = deleted{}
		case nil:
			return nil, errors.New("cannot delete the root of the document")
		}
	}
	return compactDeleted(doc), nil
}

func compactDeleted(v any) any {
	switch t := v.(type) {
	case []any:
		out := t[:0]
		for _, e := range t {
			if _, gone := e.(deleted); !gone {
				out = append(out, compactDeleted(e))
			}
		}
		return out
	case *jsonObject:
		for _, k := range t.keys {
			t.vals[k] = compactDeleted(t.vals[k])
		}
	}
	return v
}

func jsonAdd(doc any, locs []location, args []any) (any, error) {
	for _, l := range locs {
		a, ok := l.value.([]any)
		if !ok {
			return nil, errors.New("jsonPathAdd needs a path to an array")
		}
		na := append(append([]any{}, a...), args[0])
		doc = setAt(doc, l, na)
	}
	return doc, nil
}

func jsonSet(doc any, locs []location, args []any) (any, error) {
	for _, l := range locs {
		doc = setAt(doc, l, args[0])
	}
	return doc, nil
}

func jsonPut(doc any, locs []location, args []any) (any, error) {
	key, ok := args[0].(string)
	if !ok {
		key = jsonScalarString(args[0])
	}
	for _, l := range locs {
		o, ok := l.value.(*jsonObject)
		if !ok {
			return nil, errors.New("jsonPathPut needs a path to an object")
		}
		o.put(key, args[1])
	}
	return doc, nil
}

func setAt(doc any, l location, v any) any {
	switch p := l.parent.(type) {
	case *jsonObject:
		p.put(l.key, v)
	case []any:
		p[l.index] = v
	case nil:
		return v
	}
	return doc
}

// jsonArg converts an evaluated argument to a JSON value: numbers and
// booleans keep their type, everything else is a string.
func jsonArg(v Value) any {
	switch v.t {
	case TypeNull:
		return nil
	case TypeNumber:
		return json.Number(strconv.FormatInt(v.i, 10))
	case TypeDecimal:
		return json.Number(formatJavaDouble(v.f))
	case TypeBoolean:
		return v.i != 0
	}
	return v.String()
}

func buildJSONPathUpdate(op jsonUpdate) func(*call) (node, error) {
	return func(c *call) (node, error) {
		read, err := c.jsonPathSubject()
		if err != nil {
			return nil, err
		}
		rest := c.args[1:]
		return strNodeOf(func(e env) (string, bool, error) {
			doc, p, err := read(e)
			if err != nil {
				return "", false, err
			}
			args := make([]any, len(rest))
			for i, a := range rest {
				v, err := a.eval(e)
				if err != nil {
					return "", false, err
				}
				args[i] = jsonArg(v)
			}
			locs := p.eval(doc)
			if len(locs) > 0 {
				if doc, err = op(doc, locs, args); err != nil {
					// JsonPathUpdateEvaluator catches a failed update (adding to
					// a non-array) and returns the empty string.
					return "", true, nil
				}
			}
			return string(appendJSON(nil, doc)), true, nil
		}), nil
	}
}

func buildIsJSON(c *call) (node, error) {
	sub := c.subjStr()
	return boolNodeOf(func(e env) (bool, bool, error) {
		s, ok, err := sub.str(e)
		if err != nil || !ok {
			return false, err == nil, err
		}
		// IsJsonEvaluator: only an object or an array counts, not a bare
		// JSON scalar such as "text", 12 or true.
		t := javaTrim(s)
		possible := len(t) >= 2 && (t[0] == '{' && t[len(t)-1] == '}' || t[0] == '[' && t[len(t)-1] == ']')
		return possible && json.Valid([]byte(t)), true, nil
	}), nil
}
