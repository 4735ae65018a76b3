package jsonpath

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/connectplus/connectplus/jsonv"
)

// Node is a selected value with its normalized path (RFC 9535 §2.7), for
// example $['a'][0].
type Node struct {
	Path  string
	Value any
}

// locLink is one step of a node's location, linked to its parent. Links are
// only allocated by QueryLocated and Delete; plain queries pass nil.
type locLink struct {
	parent *locLink
	name   string
	index  int
	isName bool
	// The object or array holding this node, for Delete. Two typed fields
	// rather than one interface: boxing a slice header into an interface
	// would allocate on every step of every walk.
	obj *jsonv.Object
	arr []any
}

func (l *locLink) String() string {
	var steps []*locLink
	for ; l != nil; l = l.parent {
		steps = append(steps, l)
	}
	var b strings.Builder
	b.WriteByte('$')
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		if s.isName {
			b.WriteString("['")
			writeNormalizedName(&b, s.name)
			b.WriteString("']")
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// writeNormalizedName escapes a member name as RFC 9535 §2.7 prescribes.
func writeNormalizedName(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	for _, r := range s {
		switch r {
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[r>>4])
				b.WriteByte(hex[r&0xF])
			} else {
				b.WriteRune(r)
			}
		}
	}
}

// evaluator walks a query depth-first. Depth-first emission yields the same
// order as the RFC's segment-by-segment nodelists (both are lexicographic in
// the selection choices) without building an intermediate list per segment.
type evaluator struct {
	root  any
	track bool // build locLinks

	// Output: exactly one of these modes is active.
	vals  []any
	nodes []locNode
	count int
	first any
	limit int // stop once count reaches limit (0 = no limit)

	// steps counts walk steps across this evaluation and every filter
	// sub-query it runs. Stacked descendant segments ($..*..*..*) make the
	// RFC result size exponential in the path length, so a hostile or
	// mistaken path could otherwise pin a CPU indefinitely.
	steps *int
	own   int
	max   int // 0 means MaxSteps; tests lower it to keep fuzzing fast
}

// MaxSteps bounds the work of one evaluation: once a query has taken this
// many steps it stops and returns the nodes found so far.
const MaxSteps = 1 << 22

func (e *evaluator) tick() bool {
	if e.steps == nil {
		e.steps = &e.own
	}
	*e.steps++
	if e.max > 0 {
		return *e.steps <= e.max
	}
	return *e.steps <= MaxSteps
}

type locNode struct {
	v   any
	loc *locLink
}

// emit records a result; it returns false to stop the walk early.
func (e *evaluator) emit(v any, loc *locLink, collect int) bool {
	if e.count == 0 {
		e.first = v
	}
	e.count++
	switch collect {
	case collectValues:
		e.vals = append(e.vals, v)
	case collectNodes:
		e.nodes = append(e.nodes, locNode{v, loc})
	}
	return e.limit == 0 || e.count < e.limit
}

const (
	collectNone = iota
	collectValues
	collectNodes
)

// walk applies segs to v, emitting every resulting node.
func (e *evaluator) walk(segs []segment, v any, loc *locLink, collect int) bool {
	if !e.tick() {
		return false
	}
	if len(segs) == 0 {
		return e.emit(v, loc, collect)
	}
	seg := segs[0]
	if seg.desc {
		return e.descend(seg.sels, segs[1:], v, loc, collect)
	}
	return e.selectAll(seg.sels, segs[1:], v, loc, collect)
}

func (e *evaluator) descend(sels []selector, rest []segment, v any, loc *locLink, collect int) bool {
	if !e.tick() {
		return false
	}
	if !e.selectAll(sels, rest, v, loc, collect) {
		return false
	}
	switch x := v.(type) {
	case []any:
		for i, c := range x {
			if !e.descend(sels, rest, c, e.arrLink(loc, x, i), collect) {
				return false
			}
		}
	case *jsonv.Object:
		for _, m := range x.Members {
			if !e.descend(sels, rest, m.Value, e.objLink(loc, x, m.Key), collect) {
				return false
			}
		}
	}
	return true
}

func (e *evaluator) objLink(parent *locLink, o *jsonv.Object, name string) *locLink {
	if !e.track {
		return nil
	}
	return &locLink{parent: parent, name: name, isName: true, obj: o}
}

func (e *evaluator) arrLink(parent *locLink, a []any, index int) *locLink {
	if !e.track {
		return nil
	}
	return &locLink{parent: parent, index: index, arr: a}
}

func (e *evaluator) selectAll(sels []selector, rest []segment, v any, loc *locLink, collect int) bool {
	for i := range sels {
		if !e.selectOne(&sels[i], rest, v, loc, collect) {
			return false
		}
	}
	return true
}

func (e *evaluator) selectOne(s *selector, rest []segment, v any, loc *locLink, collect int) bool {
	switch s.kind {
	case selName:
		if o, ok := v.(*jsonv.Object); ok {
			if c, ok := o.Get(s.name); ok {
				return e.walk(rest, c, e.objLink(loc, o, s.name), collect)
			}
		}
	case selIndex:
		if a, ok := v.([]any); ok {
			if i, ok := normIndex(s.index, len(a)); ok {
				return e.walk(rest, a[i], e.arrLink(loc, a, i), collect)
			}
		}
	case selWildcard:
		switch x := v.(type) {
		case []any:
			// Most wildcard queries ($.response[*].entity) yield one value
			// per element: reserve room once instead of growing repeatedly.
			if collect == collectValues && cap(e.vals)-len(e.vals) < len(x) {
				e.vals = slices.Grow(e.vals, len(x))
			}
			for i, c := range x {
				if !e.walk(rest, c, e.arrLink(loc, x, i), collect) {
					return false
				}
			}
		case *jsonv.Object:
			for _, m := range x.Members {
				if !e.walk(rest, m.Value, e.objLink(loc, x, m.Key), collect) {
					return false
				}
			}
		}
	case selSlice:
		if a, ok := v.([]any); ok {
			lo, hi, step := sliceBounds(s.slice, int64(len(a)))
			if step > 0 {
				for i := lo; i < hi; i += step {
					if !e.walk(rest, a[i], e.arrLink(loc, a, int(i)), collect) {
						return false
					}
				}
			} else if step < 0 {
				for i := hi; lo < i; i += step {
					if !e.walk(rest, a[i], e.arrLink(loc, a, int(i)), collect) {
						return false
					}
				}
			}
		}
	case selFilter:
		switch x := v.(type) {
		case []any:
			for i, c := range x {
				if !e.tick() {
					return false
				}
				if s.filter.test(e, c) && !e.walk(rest, c, e.arrLink(loc, x, i), collect) {
					return false
				}
			}
		case *jsonv.Object:
			for _, m := range x.Members {
				if !e.tick() {
					return false
				}
				if s.filter.test(e, m.Value) && !e.walk(rest, m.Value, e.objLink(loc, x, m.Key), collect) {
					return false
				}
			}
		}
	}
	return true
}

func normIndex(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// sliceBounds implements RFC 9535 §2.3.4.2.2. For a positive step it returns
// [lo, hi); for a negative step the walk goes from hi down to (exclusive) lo.
func sliceBounds(s sliceSel, n int64) (lo, hi, step int64) {
	step = 1
	if s.hasStep {
		step = s.step
	}
	if step == 0 {
		return 0, 0, 0
	}
	norm := func(i int64) int64 {
		if i < 0 {
			return n + i
		}
		return i
	}
	clamp := func(v, a, b int64) int64 { return min(max(v, a), b) }
	if step > 0 {
		start, end := int64(0), n
		if s.hasStart {
			start = s.start
		}
		if s.hasEnd {
			end = s.end
		}
		return clamp(norm(start), 0, n), clamp(norm(end), 0, n), step
	}
	start, end := n-1, -n-1
	if s.hasStart {
		start = s.start
	}
	if s.hasEnd {
		end = s.end
	}
	return clamp(norm(end), -1, n-1), clamp(norm(start), -1, n-1), step
}

// ---- filter evaluation ----

// sub evaluates a query inside a filter: count and first value only, which
// is all that existence tests, count() and value() need.
func (e *evaluator) sub(q *query, cur any, limit int) (int, any) {
	start := e.root
	if q.relative {
		start = cur
	}
	if e.steps == nil {
		e.steps = &e.own
	}
	s := evaluator{root: e.root, limit: limit, steps: e.steps, max: e.max}
	s.walk(q.segs, start, nil, collectNone)
	return s.count, s.first
}

func (x orExpr) test(e *evaluator, cur any) bool {
	for _, t := range x {
		if t.test(e, cur) {
			return true
		}
	}
	return false
}

func (x andExpr) test(e *evaluator, cur any) bool {
	for _, t := range x {
		if !t.test(e, cur) {
			return false
		}
	}
	return true
}

func (x notExpr) test(e *evaluator, cur any) bool { return !x.x.test(e, cur) }

func (x existExpr) test(e *evaluator, cur any) bool {
	if x.q.singular {
		_, ok := x.q.get(e.root, cur)
		return ok
	}
	n, _ := e.sub(x.q, cur, 1)
	return n > 0
}

func (x funcTest) test(e *evaluator, cur any) bool {
	if x.f.def.result == typeNodes {
		// No built-in function returns NodesType; kept for completeness of
		// the type rules.
		return false
	}
	return x.f.logical(e, cur)
}

func (x literal) value(*evaluator, any) (any, bool) { return x.v, true }

func (x singularQuery) value(e *evaluator, cur any) (any, bool) { return x.q.get(e.root, cur) }

// get follows a singular query without allocating.
func (q *query) get(root, cur any) (any, bool) {
	v := root
	if q.relative {
		v = cur
	}
	for i := range q.segs {
		s := &q.segs[i].sels[0]
		switch s.kind {
		case selName:
			o, ok := v.(*jsonv.Object)
			if !ok {
				return nil, false
			}
			if v, ok = o.Get(s.name); !ok {
				return nil, false
			}
		case selIndex:
			a, ok := v.([]any)
			if !ok {
				return nil, false
			}
			j, ok := normIndex(s.index, len(a))
			if !ok {
				return nil, false
			}
			v = a[j]
		}
	}
	return v, true
}

func (x cmpExpr) test(e *evaluator, cur any) bool {
	l, lok := x.l.value(e, cur)
	r, rok := x.r.value(e, cur)
	switch x.op {
	case opEq:
		return equalNothing(l, lok, r, rok)
	case opNe:
		return !equalNothing(l, lok, r, rok)
	case opLt:
		return lok && rok && less(l, r)
	case opLe:
		return lok && rok && (less(l, r) || jsonv.Equal(l, r))
	case opGt:
		return lok && rok && less(r, l)
	case opGe:
		return lok && rok && (less(r, l) || jsonv.Equal(l, r))
	}
	return false
}

func equalNothing(l any, lok bool, r any, rok bool) bool {
	if !lok || !rok {
		return !lok && !rok
	}
	return jsonv.Equal(l, r)
}

// less orders numbers numerically and strings by Unicode scalar values
// (byte order of UTF-8 is the same); other types are unordered.
func less(a, b any) bool {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return x < y
		case float64:
			return float64(x) < y
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return x < float64(y)
		case float64:
			return x < y
		}
	case string:
		if y, ok := b.(string); ok {
			return x < y
		}
	}
	return false
}

// value evaluates a ValueType function.
func (f *funcCall) value(e *evaluator, cur any) (any, bool) {
	switch f.def.id {
	case fnLength:
		v, ok := f.args[0].val.value(e, cur)
		if !ok {
			return nil, false
		}
		switch x := v.(type) {
		case string:
			return int64(utf8.RuneCountInString(x)), true
		case []any:
			return int64(len(x)), true
		case *jsonv.Object:
			return int64(x.Len()), true
		}
		return nil, false
	case fnCount:
		n, _ := e.sub(f.args[0].nodes, cur, 0)
		return int64(n), true
	case fnValue:
		n, v := e.sub(f.args[0].nodes, cur, 2)
		if n == 1 {
			return v, true
		}
		return nil, false
	}
	return nil, false
}

// logical evaluates a LogicalType function (match, search).
func (f *funcCall) logical(e *evaluator, cur any) bool {
	v, ok := f.args[0].val.value(e, cur)
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok || f.reBad {
		return false
	}
	re := f.re
	if re == nil {
		pv, ok := f.args[1].val.value(e, cur)
		if !ok {
			return false
		}
		pat, ok := pv.(string)
		if !ok {
			return false
		}
		var err error
		if re, err = compileIRegexp(pat, f.def.id == fnMatch); err != nil {
			return false
		}
	}
	return re.MatchString(s)
}
