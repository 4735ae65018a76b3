package jsonpath

import (
	"errors"
	"fmt"
	"strings"

	"github.com/connectplus/connectplus/jsonv"
)

// CompileMulti compiles a comma-separated list of paths, as responseSplitPath
// uses ("$.result.errors.data.*,$.result.success.data.*"). It splits at
// commas outside brackets, parentheses and quotes; blanks around each path
// are ignored. Query results are the concatenation of each path's results
// in list order. A single path is the same as Compile.
func CompileMulti(src string) (path *Path, err error) {
	defer func() {
		if r := recover(); r != nil {
			path, err = nil, &Error{Src: src, Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	parts, err := splitTopLevel(src)
	if err != nil {
		return nil, err
	}
	out := &Path{src: src}
	for _, part := range parts {
		text := src[part[0]:part[1]]
		lead := len(text) - len(strings.TrimLeft(text, " \t\r\n"))
		text = strings.TrimSpace(text)
		q, err := parseOne(text, true)
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				return nil, &Error{Src: src, Pos: part[0] + lead + pe.Pos, Msg: pe.Msg}
			}
			return nil, err
		}
		out.queries = append(out.queries, q)
	}
	return out, nil
}

// splitTopLevel returns [start,end) byte ranges of the comma-separated parts.
func splitTopLevel(src string) ([][2]int, error) {
	var parts [][2]int
	depth, start := 0, 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '\'', '"':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, &Error{Src: src, Pos: i, Msg: "unterminated string literal"}
			}
			i = j
		case '[', '(':
			depth++
		case ']', ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, [2]int{start, i})
				start = i + 1
			}
		}
	}
	parts = append(parts, [2]int{start, len(src)})
	for _, p := range parts {
		if strings.TrimSpace(src[p[0]:p[1]]) == "" {
			return nil, &Error{Src: src, Pos: p[0], Msg: "empty path in comma-separated list"}
		}
	}
	return parts, nil
}

// Query returns the values of the selected nodes in document order. A nil
// or empty result means nothing matched.
func (p *Path) Query(v any) (out []any) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	if len(p.queries) == 1 && p.queries[0].singular {
		if r, ok := p.queries[0].get(v, v); ok {
			return []any{r}
		}
		return nil
	}
	e := evaluator{root: v, max: p.maxSteps}
	for _, q := range p.queries {
		e.walk(q.segs, v, nil, collectValues)
	}
	return e.vals
}

// QueryLocated returns the selected nodes with their normalized paths.
func (p *Path) QueryLocated(v any) (out []Node) {
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	e := evaluator{root: v, track: true, max: p.maxSteps}
	for _, q := range p.queries {
		e.walk(q.segs, v, nil, collectNodes)
	}
	out = make([]Node, len(e.nodes))
	for i, n := range e.nodes {
		out[i] = Node{Path: n.loc.String(), Value: n.v}
	}
	return out
}

// First returns the first selected value, stopping the walk there.
func (p *Path) First(v any) (first any, found bool) {
	defer func() {
		if recover() != nil {
			first, found = nil, false
		}
	}()
	for _, q := range p.queries {
		if q.singular {
			if r, ok := q.get(v, v); ok {
				return r, true
			}
			continue
		}
		e := evaluator{root: v, limit: 1, max: p.maxSteps}
		e.walk(q.segs, v, nil, collectNone)
		if e.count > 0 {
			return e.first, true
		}
	}
	return nil, false
}

// Set stores value at a singular path (names and indices only) and returns
// the possibly new root: setting "$" replaces the root. It mutates root in
// place. Missing members along the way are created as objects, so
// Set(nil, "$.a.b", 1) builds {"a":{"b":1}}; an index must address an
// existing element, or be exactly the array length to append. This is the
// behaviour NiFi-style jsonPathSet needs for building payloads.
func Set(root any, path *Path, value any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = root, fmt.Errorf("jsonpath set %s: internal error: %v", path, r)
		}
	}()
	if path == nil || !path.IsSingular() {
		return root, fmt.Errorf("jsonpath set %s: the path must be singular (only names and indices)", path)
	}
	out, err = setIn(root, path.queries[0].segs, value)
	if err != nil {
		return root, fmt.Errorf("jsonpath set %s: %w", path, err)
	}
	return out, nil
}

func setIn(cur any, segs []segment, value any) (any, error) {
	if len(segs) == 0 {
		return value, nil
	}
	s := segs[0].sels[0]
	if s.kind == selName {
		obj, ok := cur.(*jsonv.Object)
		if cur == nil {
			obj, ok = jsonv.NewObject(1), true
		}
		if !ok {
			return nil, fmt.Errorf("cannot set member %q on a %s", s.name, jsonv.TypeName(cur))
		}
		child, _ := obj.Get(s.name)
		nv, err := setIn(child, segs[1:], value)
		if err != nil {
			return nil, err
		}
		obj.Set(s.name, nv)
		return obj, nil
	}
	arr, ok := cur.([]any)
	if !ok {
		return nil, fmt.Errorf("cannot set index %d on a %s", s.index, jsonv.TypeName(cur))
	}
	i, ok := normIndex(s.index, len(arr))
	if !ok {
		if s.index != int64(len(arr)) {
			return nil, fmt.Errorf("index %d out of range for an array of length %d", s.index, len(arr))
		}
		arr = append(arr, nil)
		i = len(arr) - 1
	}
	nv, err := setIn(arr[i], segs[1:], value)
	if err != nil {
		return nil, err
	}
	arr[i] = nv
	return arr, nil
}

// Delete removes every node the path selects and returns the possibly new
// root (nil when the path selects the root itself). It mutates root in
// place; array elements after a removed one shift down.
func Delete(root any, path *Path) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = root, fmt.Errorf("jsonpath delete %s: internal error: %v", path, r)
		}
	}()
	if path == nil {
		return root, errors.New("jsonpath delete: nil path")
	}
	e := evaluator{root: root, track: true, max: path.maxSteps}
	for _, q := range path.queries {
		e.walk(q.segs, root, nil, collectNodes)
	}
	if len(e.nodes) == 0 {
		return root, nil
	}
	objKeys := map[*jsonv.Object]map[string]bool{}
	arrIdx := map[*any]map[int]bool{}
	for _, n := range e.nodes {
		if n.loc == nil {
			return nil, nil // the root itself
		}
		if c := n.loc.obj; c != nil {
			if objKeys[c] == nil {
				objKeys[c] = map[string]bool{}
			}
			objKeys[c][n.loc.name] = true
		} else {
			k := &n.loc.arr[0] // non-empty: it holds the selected element
			if arrIdx[k] == nil {
				arrIdx[k] = map[int]bool{}
			}
			arrIdx[k][n.loc.index] = true
		}
	}
	return prune(root, objKeys, arrIdx), nil
}

// prune rebuilds containers without the marked members. Arrays are
// identified by their backing array, which the walk saw unchanged.
func prune(v any, objKeys map[*jsonv.Object]map[string]bool, arrIdx map[*any]map[int]bool) any {
	switch x := v.(type) {
	case *jsonv.Object:
		if keys := objKeys[x]; keys != nil {
			for k := range keys {
				x.Delete(k)
			}
		}
		for i := range x.Members {
			x.Members[i].Value = prune(x.Members[i].Value, objKeys, arrIdx)
		}
		return x
	case []any:
		if len(x) == 0 {
			return x
		}
		marks := arrIdx[&x[0]]
		w := 0
		for i, c := range x {
			if marks[i] {
				continue
			}
			x[w] = prune(c, objKeys, arrIdx)
			w++
		}
		clear(x[w:])
		return x[:w]
	}
	return v
}
