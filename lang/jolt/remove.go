package jolt

import (
	"sort"
	"strconv"
)

// remove (Removr) deletes the keys its specification names; "" marks a key
// to remove, an object descends. Keys may hold * wildcards, and array
// indexes are literal numbers or *.

type removeOp struct{ root *removeSpec }

type removeSpec struct {
	pe       matcher // *literalPE or a star
	children []*removeSpec
	leaf     bool
}

func compileRemove(n *node) (*removeOp, error) {
	if n.kind != 'o' {
		return nil, errorAt(n.line, n.col, "remove: the spec must be an object, got %s", n.kindName())
	}
	root, err := newRemoveSpec(rootKey, n.line, n.col, n)
	if err != nil {
		return nil, err
	}
	return &removeOp{root: root}, nil
}

func removeKey(key string) (matcher, error) {
	if key == "*" {
		return starAllPE{}, nil
	}
	switch count := countStars(key); {
	case count == 1:
		return newStarSingle(key), nil
	case count == 2:
		return newStarDouble(key), nil
	case count > 2:
		return newStarRegex(key)
	}
	return &literalPE{key: key}, nil
}

func countStars(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			n++
		}
	}
	return n
}

func newRemoveSpec(key string, line, col int, n *node) (*removeSpec, error) {
	pe, err := removeKey(key)
	if err != nil {
		return nil, errorAt(line, col, "remove: %v", err)
	}
	s := &removeSpec{pe: pe}
	if n.kind == 's' && isBlank(n.str) {
		s.leaf = true
		return s, nil
	}
	if n.kind != 'o' {
		return nil, errorAt(n.line, n.col, "remove: the value of %q must be \"\" (remove it) or an object, got %s", key, n.kindName())
	}
	for _, m := range n.members {
		for _, k := range splitOr(m.key) {
			ch, err := newRemoveSpec(k, m.line, m.col, m.val)
			if err != nil {
				return nil, err
			}
			s.children = append(s.children, ch)
		}
	}
	return s, nil
}

func (r *removeOp) apply(in any) (any, error) {
	wrapper := newMap(1)
	wrapper.put(rootKey, in)
	r.root.applyToMap(wrapper)
	return in, nil
}

func (s *removeSpec) literalIndex() (int, bool) {
	lit, ok := s.pe.(*literalPE)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(lit.key)
	return i, err == nil && i >= 0
}

// applyToMap returns the keys of m this (leaf) spec removes, and descends
// for a composite spec.
func (s *removeSpec) applyToMap(m *omap) []string {
	var out []string
	switch p := s.pe.(type) {
	case *literalPE:
		v, ok := m.get(p.key)
		if s.leaf {
			if ok {
				out = append(out, p.key)
			}
		} else {
			s.processChildren(v)
		}
	case starMatcher:
		for _, k := range m.snapshot() {
			if p.stringMatch(k) {
				if s.leaf {
					out = append(out, k)
				} else {
					v, _ := m.get(k)
					s.processChildren(v)
				}
			}
		}
	}
	return out
}

// applyToList is applyToMap for the indexes of an array.
func (s *removeSpec) applyToList(l *list) []int {
	var out []int
	if i, ok := s.literalIndex(); ok {
		if i < len(l.a) {
			if s.leaf {
				out = append(out, i)
			} else {
				s.processChildren(l.a[i])
			}
		}
	} else if _, ok := s.pe.(starAllPE); ok {
		for i := range l.a {
			if s.leaf {
				out = append(out, i)
			} else {
				s.processChildren(l.a[i])
			}
		}
	}
	return out
}

func (s *removeSpec) processChildren(v any) {
	switch x := v.(type) {
	case *list:
		set := map[int]bool{}
		for _, ch := range s.children {
			for _, i := range ch.applyToList(x) {
				set[i] = true
			}
		}
		idx := make([]int, 0, len(set))
		for i := range set {
			idx = append(idx, i)
		}
		sort.Sort(sort.Reverse(sort.IntSlice(idx)))
		for _, i := range idx {
			x.a = append(x.a[:i], x.a[i+1:]...)
		}
	case *omap:
		var keys []string
		for _, ch := range s.children {
			keys = append(keys, ch.applyToMap(x)...)
		}
		for _, k := range keys {
			x.remove(k)
		}
	}
}
