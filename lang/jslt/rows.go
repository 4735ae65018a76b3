package jslt

import (
	"math"
	"strconv"

	"github.com/connectplus/connectplus/jsonv"
)

// RowTemplate is a query compiled for one record layout: rows of string
// columns under a fixed header (a CSV file's). It writes what Apply would
// return, encoded as jsonv.Append would encode it, straight from the
// columns: no input object per row, no result tree, no boxed numbers.
// The flagship transformation ({ "key": .column, "n": number(.column),
// "k": "literal", "nested": { … } } per record, or the same object in
// [for (.) …] over a batch) costs a fraction of the general evaluator.
//
// Only object templates compile: static keys, no let, no matcher. A pair's
// value is a literal, .column, number(.column) or number(.column, literal),
// a nested template, an array constructor of such values, or any other
// expression, which is evaluated by the general evaluator over the row as
// an object (so any query of this shape compiles, and the common pairs
// take the short path). Pairs whose value is null, {} or [] are left out,
// as JSLT's object constructor does; array elements never are.
//
// A row on which the query would fail (number() of a non-number, the output
// budget) makes AppendRow or AppendRows return an error and nothing else:
// callers run Apply to get the exact message. A RowTemplate is immutable
// and safe for concurrent use.
type RowTemplate struct {
	expr  *Expr
	names []string
	obj   *rowObject
	bulk  bool
	// generic: some pair needs the row as an object.
	generic bool
}

type rowKind uint8

const (
	rowLit    rowKind = iota // a literal, encoded once
	rowCol                   // .column as a string
	rowNumber                // number(.column[, literal])
	rowObj                   // a nested template
	rowArr                   // an array of element templates
	rowEval                  // anything else, by the general evaluator
)

type rowObject struct {
	pairs []rowPair
	pos   pos
}

type rowPair struct {
	// head is `,"key":` — and for rowLit the literal's encoding after it —
	// so that a pair starts with one copy; the first member of an object
	// skips the comma.
	head []byte
	kind rowKind
	col  int    // rowCol, rowNumber: column index, -1 when not in the header
	lit  []byte // rowLit: the encoding; rowNumber: the fallback's (nil: null)
	// fallback: number() has a second argument.
	fallback bool
	obj      *rowObject
	elems    []rowPair // rowArr: the elements (without keys)
	node     node
	pos      pos
}

// RowTemplate compiles the query for rows under names (the header, in
// column order; the first of equal names wins, as in the row's object).
// bulk says how the query is applied: false, to one record at a time (the
// query is the object template); true, to the batch as an array (the query
// is [for (.) template], no condition). It returns false when the query
// does not have that shape.
func (e *Expr) RowTemplate(names []string, bulk bool) (*RowTemplate, bool) {
	if len(e.lets) > 0 || len(e.params) > 0 {
		return nil, false
	}
	body := e.body
	if bulk {
		f, ok := body.(*forNode)
		if !ok || f.lets != nil || f.cond != nil {
			return nil, false
		}
		if _, ok := f.seq.(*dotNode); !ok {
			return nil, false
		}
		body = f.body
	}
	o, ok := body.(*objectNode)
	if !ok {
		return nil, false
	}
	index := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := index[n]; !dup {
			index[n] = i
		}
	}
	t := &RowTemplate{expr: e, names: names, bulk: bulk}
	t.obj, ok = t.compileObject(o, index)
	if !ok {
		return nil, false
	}
	return t, true
}

func (t *RowTemplate) compileObject(o *objectNode, index map[string]int) (*rowObject, bool) {
	if o.lets != nil || o.match != nil || o.dynamic {
		return nil, false
	}
	col := func(key string) int {
		if i, ok := index[key]; ok {
			return i
		}
		return -1
	}
	ro := &rowObject{pos: o.pos}
	for i := range o.pairs {
		p := &o.pairs[i]
		rp := rowPair{head: append(jsonv.AppendString([]byte{','}, p.key), ':'), pos: p.pos, col: -1}
		switch v := p.value.(type) {
		case *litNode:
			if !isValue(v.v) {
				continue // always left out
			}
			rp.kind, rp.lit = rowLit, jsonv.Append(nil, v.v)
			rp.head = append(rp.head, rp.lit...)
		case *keyNode:
			if v.parent != nil {
				rp.kind, rp.node = rowEval, v
				break
			}
			rp.kind, rp.col = rowCol, col(v.key)
		case *objectNode:
			nested, ok := t.compileObject(v, index)
			if !ok {
				rp.kind, rp.node = rowEval, v
				break
			}
			rp.kind, rp.obj = rowObj, nested
		case *arrayNode:
			if len(v.elems) == 0 {
				continue // [] is always left out
			}
			// An array of elements is never empty, so never left out.
			rp.kind, rp.elems, rp.pos = rowArr, t.compileElems(v, index), v.pos
		case *callNode:
			if k, ok := numberOfColumn(v); ok {
				rp.kind, rp.col, rp.pos = rowNumber, col(k), v.pos
				if len(v.args) == 2 {
					rp.fallback = true
					if lv := v.args[1].(*litNode).v; lv != nil {
						rp.lit = jsonv.Append(nil, lv)
					}
				}
				break
			}
			rp.kind, rp.node = rowEval, v
		default:
			rp.kind, rp.node = rowEval, p.value
		}
		if rp.kind == rowEval {
			t.generic = true
		}
		ro.pairs = append(ro.pairs, rp)
	}
	return ro, true
}

// compileElems compiles an array constructor's elements. Unlike a pair's
// value an element is never left out: null, {} and [] are written.
func (t *RowTemplate) compileElems(a *arrayNode, index map[string]int) []rowPair {
	elems := make([]rowPair, len(a.elems))
	for i, e := range a.elems {
		ep := rowPair{col: -1, kind: rowEval, node: e}
		switch v := e.(type) {
		case *litNode:
			ep.kind, ep.lit = rowLit, jsonv.Append(nil, v.v)
		case *keyNode:
			if v.parent == nil {
				ep.kind, ep.col = rowCol, -1
				if c, ok := index[v.key]; ok {
					ep.col = c
				}
			}
		case *objectNode:
			if nested, ok := t.compileObject(v, index); ok {
				ep.kind, ep.obj = rowObj, nested
			}
		case *arrayNode:
			ep.kind, ep.elems, ep.pos = rowArr, t.compileElems(v, index), v.pos
		case *callNode:
			if k, ok := numberOfColumn(v); ok {
				ep.kind, ep.pos = rowNumber, v.pos
				if c, ok := index[k]; ok {
					ep.col = c
				}
				if len(v.args) == 2 {
					ep.fallback = true
					if lv := v.args[1].(*litNode).v; lv != nil {
						ep.lit = jsonv.Append(nil, lv)
					}
				}
			}
		}
		if ep.kind == rowEval {
			t.generic = true
		}
		elems[i] = ep
	}
	return elems
}

// numberOfColumn recognises the builtin number(.key) and number(.key,
// literal).
func numberOfColumn(n *callNode) (string, bool) {
	b, ok := n.fn.(*builtin)
	if !ok || b.name != "number" || len(n.args) == 0 || len(n.args) > 2 {
		return "", false
	}
	k, ok := n.args[0].(*keyNode)
	if !ok || k.parent != nil {
		return "", false
	}
	if len(n.args) == 2 {
		if _, ok := n.args[1].(*litNode); !ok {
			return "", false
		}
	}
	return k.key, true
}

// Names returns the header the template was compiled for.
func (t *RowTemplate) Names() []string { return t.names }

// Bulk tells whether the template stands for [for (.) template].
func (t *RowTemplate) Bulk() bool { return t.bulk }

// AppendRow appends the query's result for one record (a per-record
// template) and reports an error when Apply would fail on it.
func (t *RowTemplate) AppendRow(dst []byte, cols []string) (out []byte, err error) {
	c := getCtx(t.expr)
	defer putCtx(c)
	defer func() {
		if r := recover(); r != nil {
			out, err = dst, recovered(r)
		}
	}()
	w := rowWriter{t: t, c: c, cols: cols}
	return w.object(dst, t.obj, true), nil
}

// AppendRows appends the results for the n records of a batch (a bulk
// template: element i of the for loop's result is row i's) one after the
// other, with no separators, and ends[i] is where row i's encoding ends in
// the returned slice. rows(i) gives row i's columns and whether every one
// of them is plain (jsonv.Plain: copied into strings without escaping). It
// reports an error when Apply over the batch would fail; then only dst is
// returned.
func (t *RowTemplate) AppendRows(dst []byte, n int, rows func(i int) ([]string, bool), ends []int) (out []byte, _ []int, err error) {
	c := getCtx(t.expr)
	defer putCtx(c)
	start, endsStart := len(dst), len(ends)
	defer func() {
		if r := recover(); r != nil {
			out, ends, err = dst[:start], ends[:endsStart], recovered(r)
		}
	}()
	// The for loop's own work: its iterations, then its result.
	c.spend(2*n, t.obj.pos)
	w := rowWriter{t: t, c: c}
	for i := 0; i < n; i++ {
		w.cols, w.plain = rows(i)
		w.in = nil
		dst = w.object(dst, t.obj, true)
		ends = append(ends, len(dst))
	}
	return dst, ends, nil
}

// rowWriter writes one row.
type rowWriter struct {
	t     *RowTemplate
	c     *ctx
	cols  []string
	plain bool          // every column is jsonv.Plain
	in    *jsonv.Object // the row as an object, built when a pair needs it
}

// input is the row as Apply's input sees it: an object of the header's
// names to the columns' strings.
func (w *rowWriter) input() *jsonv.Object {
	if w.in == nil {
		n := min(len(w.t.names), len(w.cols))
		o := &jsonv.Object{Members: make([]jsonv.Member, n)}
		for j := 0; j < n; j++ {
			o.Members[j] = jsonv.Member{Key: w.t.names[j], Value: jsonv.BoxString(&w.cols[j])}
		}
		w.in = o
	}
	return w.in
}

// object writes the template's object. A nested object without members is
// no value: it writes nothing and reports written=false to its parent
// (top level objects are always written, even empty).
func (w *rowWriter) object(dst []byte, o *rowObject, top bool) []byte {
	dst, _ = w.objectN(dst, o, top)
	return dst
}

func (w *rowWriter) objectN(dst []byte, o *rowObject, top bool) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, '{')
	members := 0
	for i := range o.pairs {
		p := &o.pairs[i]
		mark := len(dst)
		head := p.head
		if members == 0 {
			head = head[1:]
		}
		dst = append(dst, head...)
		ok := true
		switch p.kind {
		case rowLit:
			// The literal is in head.
		case rowCol:
			if p.col < 0 || p.col >= len(w.cols) {
				ok = false
				break
			}
			dst = w.column(dst, p.col)
		case rowNumber:
			if p.col < 0 || p.col >= len(w.cols) {
				// number(null) is null; number(null, x) is x.
				if ok = p.fallback && p.lit != nil; ok {
					dst = append(dst, p.lit...)
				}
				break
			}
			s := w.cols[p.col]
			var parsed bool
			if dst, parsed = appendNumber(dst, s); parsed {
				break
			}
			switch {
			case p.fallback && p.lit != nil:
				dst = append(dst, p.lit...)
			case p.fallback:
				ok = false
			default:
				panic(p.pos.errorf("number(%s) failed: not a number", s))
			}
		case rowObj:
			dst, ok = w.objectN(dst, p.obj, false)
		case rowArr:
			dst = w.array(dst, p)
		case rowEval:
			v := p.node.eval(w.c, w.input())
			if ok = isValue(v); ok {
				dst = jsonv.Append(dst, v)
			}
		}
		if !ok {
			dst = dst[:mark]
			continue
		}
		members++
	}
	w.c.spend(members, o.pos)
	if members == 0 && !top {
		return dst[:start], false
	}
	return append(dst, '}'), true
}

// column writes column i as a string.
func (w *rowWriter) column(dst []byte, i int) []byte {
	if w.plain {
		dst = append(dst, '"')
		dst = append(dst, w.cols[i]...)
		return append(dst, '"')
	}
	return jsonv.AppendString(dst, w.cols[i])
}

// array writes an array constructor's elements, charging the budget as
// the evaluator's array constructor does.
func (w *rowWriter) array(dst []byte, p *rowPair) []byte {
	dst = append(dst, '[')
	for i := range p.elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = w.element(dst, &p.elems[i])
	}
	w.c.spend(len(p.elems), p.pos)
	return append(dst, ']')
}

// element writes one array element, which unlike a pair's value is
// written when it is null, {} or [].
func (w *rowWriter) element(dst []byte, e *rowPair) []byte {
	switch e.kind {
	case rowLit:
		return append(dst, e.lit...)
	case rowCol:
		if e.col < 0 || e.col >= len(w.cols) {
			return append(dst, "null"...)
		}
		return w.column(dst, e.col)
	case rowNumber:
		if e.col >= 0 && e.col < len(w.cols) {
			s := w.cols[e.col]
			out, parsed := appendNumber(dst, s)
			if parsed {
				return out
			}
			if !e.fallback {
				panic(e.pos.errorf("number(%s) failed: not a number", s))
			}
		}
		// number(null) is null; number(null or not a number, x) is x.
		if e.fallback && e.lit != nil {
			return append(dst, e.lit...)
		}
		return append(dst, "null"...)
	case rowObj:
		dst, _ = w.objectN(dst, e.obj, true)
		return dst
	case rowArr:
		return w.array(dst, e)
	}
	return jsonv.Append(dst, e.node.eval(w.c, w.input()))
}

// pow10 holds the powers of ten that are exact doubles.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// appendNumber appends number(s) encoded as jsonv.Append encodes it, or
// returns false when s is not a number. Plain decimals of up to 15 digits
// (amounts, counts) skip the float formatting: when the value JSLT computes
// for s (parseNum) is the double nearest to s, the shortest text that
// reads back as it is s itself without redundant zeros, because two
// decimals of at most 15 significant digits never share a double. The
// others go through parseNum and jsonv.AppendFloat.
func appendNumber(dst []byte, s string) ([]byte, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	intStart := i
	var ip uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		ip = ip*10 + uint64(s[i]-'0')
		i++
	}
	intEnd := i
	digits := intEnd - intStart
	if digits == 0 || digits > 15 {
		return slowNumber(dst, s)
	}
	if i == len(s) {
		// An integer: parseNum's ParseInt gives this value.
		n := int64(ip)
		if neg {
			n = -n
		}
		return strconv.AppendInt(dst, n, 10), true
	}
	if s[i] != '.' {
		return slowNumber(dst, s)
	}
	i++
	fracStart := i
	var frac uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		frac = frac*10 + uint64(s[i]-'0')
		i++
	}
	nd := i - fracStart
	if i != len(s) || nd == 0 || digits+nd > 15 {
		return slowNumber(dst, s)
	}
	// parseNum's arithmetic, to the bit.
	sign := 1.0
	if neg {
		sign = -1
	}
	value := (float64(ip) + float64(frac)/pow10[nd]) * sign // math.Pow10(nd) is pow10[nd] for nd < 32
	nearest := float64(ip*uint64(pow10[nd])+frac) / pow10[nd] * sign
	if value != nearest || value == 0 || math.Abs(value) < 1e-6 {
		return slowNumber(dst, s)
	}
	if neg {
		dst = append(dst, '-')
	}
	j := intStart
	for j < intEnd-1 && s[j] == '0' {
		j++
	}
	dst = append(dst, s[j:intEnd]...)
	f := s[fracStart:]
	for len(f) > 0 && f[len(f)-1] == '0' {
		f = f[:len(f)-1]
	}
	if f != "" {
		dst = append(dst, '.')
		dst = append(dst, f...)
	}
	return dst, true
}

func slowNumber(dst []byte, s string) ([]byte, bool) {
	n, ok := parseNum(s)
	if !ok {
		return dst, false
	}
	return n.appendJSON(dst), true
}
