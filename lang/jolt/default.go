package jolt

import (
	"sort"
	"strconv"
	"strings"
)

// default (Defaultr) fills in values where the input has none (absent or
// null), creating the containers on the way; "*" applies to every existing
// key, "a|b" to those of the alternatives that exist, and a key ending in
// "[]" describes an array whose children are indexes.

type defaultOp struct {
	mapRoot   *defaultKey
	arrayRoot *defaultKey // nil when the spec can not describe a top-level array
}

type defaultKind int

const (
	defLiteral defaultKind = iota
	defOr
	defStar
)

type defaultKey struct {
	raw       string
	kind      defaultKind
	array     bool // the key ends with []: its value is an array
	parentArr bool // this key is an index of its parent's array
	keys      []string
	ints      []int
	orCount   int
	maxIndex  int // largest literal index among the children of an array key
	children  []*defaultKey
	literal   *node // the default value of a leaf
}

func compileDefault(n *node) (*defaultOp, error) {
	if n.kind != 'o' {
		return nil, errorAt(n.line, n.col, "default: the spec must be an object, got %s", n.kindName())
	}
	root, err := newDefaultKey(rootKey, false, n.line, n.col, n)
	if err != nil {
		return nil, err
	}
	op := &defaultOp{mapRoot: root}
	// The same spec read as the items of a top-level array: valid only when
	// its keys are indexes.
	if arr, err := newDefaultKey(rootKey+"[]", false, n.line, n.col, n); err == nil {
		op.arrayRoot = arr
	}
	return op, nil
}

func newDefaultKey(raw string, parentArr bool, line, col int, spec *node) (*defaultKey, error) {
	k := &defaultKey{raw: raw, parentArr: parentArr, maxIndex: -1}
	if strings.HasSuffix(raw, "[]") {
		k.array = true
		k.raw = strings.ReplaceAll(raw, "[]", "")
	}
	switch {
	case strings.Contains(k.raw, "*"):
		if k.raw != "*" {
			return nil, errorAt(line, col, "default: key %q is invalid: a * key can only be *", raw)
		}
		k.kind = defStar
	case strings.Contains(k.raw, "|"):
		k.kind = defOr
		k.keys = strings.Split(k.raw, "|")
		k.orCount = len(k.keys)
	default:
		k.kind = defLiteral
		k.keys = []string{k.raw}
	}
	if parentArr && k.kind != defStar {
		for _, s := range k.keys {
			i, err := strconv.Atoi(s)
			if err != nil {
				return nil, errorAt(line, col, "default: key %q is inside an array ([]) and must be an index", s)
			}
			k.ints = append(k.ints, i)
		}
	}
	if spec.kind == 'o' {
		for _, m := range spec.members {
			ch, err := newDefaultKey(m.key, k.array, m.line, m.col, m.val)
			if err != nil {
				return nil, err
			}
			k.children = append(k.children, ch)
			if k.array && ch.kind == defLiteral && ch.ints[0] > k.maxIndex {
				k.maxIndex = ch.ints[0]
			}
		}
		// Literal keys first, then alternatives (fewer first), then *.
		sort.SliceStable(k.children, func(i, j int) bool {
			a, b := k.children[i], k.children[j]
			if a.kind != b.kind {
				return a.kind < b.kind
			}
			if a.kind == defOr && a.orCount != b.orCount {
				return a.orCount < b.orCount
			}
			if a.kind == defOr {
				return a.raw < b.raw
			}
			return false
		})
	} else {
		k.literal = spec
	}
	return k, nil
}

func (d *defaultOp) apply(in any) (any, error) {
	if in == nil {
		in = newMap(0)
	}
	if _, ok := in.(*list); ok {
		if d.arrayRoot == nil {
			return nil, &Error{Msg: "default: the spec can not handle input that is a top-level JSON array"}
		}
		d.arrayRoot.applyChildren(in)
		return in, nil
	}
	d.mapRoot.applyChildren(in)
	return in, nil
}

func (k *defaultKey) container() any {
	if k.array {
		return &list{}
	}
	return newMap(4)
}

func (k *defaultKey) applyChildren(defaultee any) {
	if l, ok := defaultee.(*list); ok && k.array {
		for len(l.a) <= k.maxIndex {
			l.a = append(l.a, nil)
		}
	}
	for _, ch := range k.children {
		ch.applyChild(defaultee)
	}
}

func (k *defaultKey) applyChild(container any) {
	if k.parentArr {
		l, ok := container.(*list)
		if !ok {
			return
		}
		var idx []int
		switch k.kind {
		case defLiteral:
			idx = k.ints
		case defStar:
			for i := range l.a {
				idx = append(idx, i)
			}
		case defOr:
			for _, i := range k.ints {
				if i < len(l.a) {
					idx = append(idx, i)
				}
			}
		}
		for _, i := range idx {
			if i < 0 || i >= len(l.a) {
				continue
			}
			l.a[i] = k.fill(l.a[i])
		}
		return
	}
	m, ok := container.(*omap)
	if !ok {
		return
	}
	var keys []string
	switch k.kind {
	case defLiteral:
		keys = k.keys
	case defStar:
		keys = m.snapshot()
	case defOr:
		for _, s := range k.keys {
			if _, has := m.get(s); has {
				keys = append(keys, s)
			}
		}
	}
	for _, s := range keys {
		v, _ := m.get(s)
		if nv := k.fill(v); nv != v || v == nil {
			m.put(s, nv)
		}
	}
}

// fill returns the value to hold where the input had v: the default for a
// leaf when v is null, else v with this key's children applied (a new
// container when v was null).
func (k *defaultKey) fill(v any) any {
	if k.children == nil && k.literal != nil {
		if v == nil {
			return k.literal.value()
		}
		return v
	}
	if v == nil {
		v = k.container()
	}
	k.applyChildren(v)
	return v
}
