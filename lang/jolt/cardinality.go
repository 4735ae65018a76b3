package jolt

import (
	"fmt"
	"strconv"
)

// cardinality (CardinalityTransform) makes values ONE (an array becomes its
// first element) or MANY (a single value becomes a one-element array, null
// an empty one). "@" adjusts the value at the current level itself.

type cardinalityOp struct{ root *cardSpec }

type cardRelation int

const (
	cardOne cardRelation = iota
	cardMany
)

type cardSpec struct {
	pe       matcher
	leaf     bool
	relation cardRelation
	special  *cardSpec // an "@" leaf child
	literals map[string]*cardSpec
	computed []*cardSpec
}

func compileCardinality(n *node) (*cardinalityOp, error) {
	if n.kind != 'o' {
		return nil, errorAt(n.line, n.col, "cardinality: the spec must be an object, got %s", n.kindName())
	}
	root, err := newCardSpec(rootKey, n.line, n.col, n)
	if err != nil {
		return nil, err
	}
	return &cardinalityOp{root: root}, nil
}

func cardKey(key string) (matcher, error) {
	switch {
	case containsByte(key, '@'):
		if key != "@" {
			return nil, fmt.Errorf("the '@' key can only be a single '@', got %q", key)
		}
		return atPE{}, nil
	case key == "*":
		return starAllPE{}, nil
	case containsByte(key, '*'):
		if countStars(key) == 1 {
			return newStarSingle(key), nil
		}
		return newStarRegex(key)
	}
	return &literalPE{key: key}, nil
}

func newCardSpec(key string, line, col int, n *node) (*cardSpec, error) {
	pe, err := cardKey(key)
	if err != nil {
		return nil, errorAt(line, col, "cardinality: %v", err)
	}
	s := &cardSpec{pe: pe}
	if n.kind != 'o' {
		s.leaf = true
		switch {
		case n.kind == 's' && n.str == "ONE":
			s.relation = cardOne
		case n.kind == 's' && n.str == "MANY":
			s.relation = cardMany
		default:
			return nil, errorAt(n.line, n.col, "cardinality: invalid cardinality type for %q: expected \"ONE\" or \"MANY\"", key)
		}
		return s, nil
	}
	if _, ok := pe.(atPE); ok {
		return nil, errorAt(line, col, "cardinality: the '@' key can not have children")
	}
	if len(n.members) == 0 {
		return nil, errorAt(line, col, "cardinality: the key %q has an empty {} as its value", key)
	}
	s.literals = map[string]*cardSpec{}
	seen := map[string]bool{}
	for _, m := range n.members {
		ch, err := newCardSpec(m.key, m.line, m.col, m.val)
		if err != nil {
			return nil, err
		}
		if canon := ch.pe.canonical(); seen[canon] {
			return nil, errorAt(m.line, m.col, "cardinality: duplicate key %q", m.key)
		} else {
			seen[canon] = true
		}
		switch ch.pe.(type) {
		case *literalPE:
			s.literals[m.key] = ch
		case atPE:
			if !ch.leaf {
				return nil, errorAt(m.line, m.col, "cardinality: the '@' key can not have children")
			}
			s.special = ch
		default:
			s.computed = append(s.computed, ch)
		}
	}
	// Literal keys are looked up first; among the wildcards the longer
	// key wins (all are one kind here).
	c := &composite{}
	for _, ch := range s.computed {
		c.computed = append(c.computed, cardChild{ch})
	}
	c.sortComputed(func(matcher) int { return 0 })
	for i, ch := range c.computed {
		s.computed[i] = ch.(cardChild).s
	}
	return s, nil
}

// cardChild adapts a cardSpec to child for the shared ordering.
type cardChild struct{ s *cardSpec }

func (c cardChild) element() matcher                      { return c.s.pe }
func (c cardChild) apply(string, opt, *walked, *env) bool { return false }

func (c *cardinalityOp) apply(in any) (any, error) {
	w := &walked{}
	w.push(nil, newMatched(""))
	wrapper := newMap(1)
	wrapper.put(rootKey, in)
	c.root.applyCardinality(rootKey, in, w, wrapper)
	v, _ := wrapper.get(rootKey)
	return v, nil
}

func (s *cardSpec) applyCardinality(key string, in any, w *walked, parent any) bool {
	level := s.pe.match(key, w)
	if level == nil {
		return false
	}
	if s.leaf {
		s.adjust(key, in, w, parent, level)
		return true
	}
	w.push(in, level)
	if s.special != nil {
		if l := s.special.pe.match(key, w); l != nil {
			in = s.special.adjust(key, in, w, parent, l)
		} else {
			in = nil
		}
	}
	switch x := in.(type) {
	case *omap:
		for _, k := range x.snapshot() {
			v, _ := x.get(k)
			s.child(k, v, w, x)
		}
	case *list:
		for i := 0; i < len(x.a); i++ {
			s.child(strconv.Itoa(i), x.a[i], w, x)
		}
	case nil:
	default:
		str := javaString(x)
		s.child(str, nil, w, str)
	}
	w.pop()
	return true
}

func (s *cardSpec) child(key string, v any, w *walked, parent any) {
	if ch, ok := s.literals[key]; ok {
		ch.applyCardinality(key, v, w, parent)
		return
	}
	for _, ch := range s.computed {
		if ch.applyCardinality(key, v, w, parent) {
			return
		}
	}
}

// adjust applies the relation to in, the value of key in parent, and
// returns the new value (nil for ONE over a non-array, as JOLT does).
func (s *cardSpec) adjust(key string, in any, w *walked, parent any, level *matched) any {
	w.push(in, level)
	defer w.pop()
	set := func(v any) {
		switch p := parent.(type) {
		case *omap:
			p.put(key, v)
		case *list:
			if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(p.a) {
				p.a[i] = v
			}
		}
	}
	switch s.relation {
	case cardMany:
		var out any
		switch x := in.(type) {
		case *list:
			out = x
		case nil:
			out = &list{}
		default:
			out = newList(x)
		}
		set(out)
		return out
	default:
		if x, ok := in.(*list); ok {
			var out any
			if len(x.a) > 0 {
				out = x.a[0]
			}
			set(out)
			return out
		}
		return nil
	}
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
