package jolt

import (
	"sort"
	"strconv"
)

// opt is JOLT's Optional: a value that may be absent (distinct from null).
type opt struct {
	v  any
	ok bool
}

func some(v any) opt { return opt{v, true} }

var none = opt{}

// child is one compiled key of a composite spec (shift or modify).
type child interface {
	element() matcher
	apply(key string, in opt, w *walked, e *env) bool
}

// composite is a spec with children: literal keys looked up directly and
// computed keys (wildcards, &) tried in precedence order.
type composite struct {
	litKeys  []string
	literals map[string]child
	computed []child
	strategy strategy
}

func (c *composite) addLiteral(key string, ch child) {
	if c.literals == nil {
		c.literals = map[string]child{}
	}
	if _, dup := c.literals[key]; !dup {
		c.litKeys = append(c.litKeys, key)
	}
	c.literals[key] = ch
}

// sortComputed orders the computed children: by kind (rank), then longer
// canonical form first, then alphabetically (ComputedKeysComparator).
func (c *composite) sortComputed(rank func(matcher) int) {
	sort.SliceStable(c.computed, func(i, j int) bool {
		a, b := c.computed[i].element(), c.computed[j].element()
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		ca, cb := a.canonical(), b.canonical()
		if len(ca) != len(cb) {
			return len(ca) > len(cb)
		}
		return ca < cb
	})
}

// strategy is ExecutionStrategy: how a composite's children meet its input.
type strategy int

const (
	availableLiterals strategy = iota
	allLiterals
	computedOnly
	conflict
	availableLiteralsWithComputed
	allLiteralsWithComputed
)

// env carries what a transform run needs besides the input.
type env struct {
	out     *omap // shift: the output wrapper {"root": ...}
	context any   // modify: the context wrapper {"root": context}
}

func (c *composite) process(in opt, w *walked, e *env) {
	switch x := in.v.(type) {
	case *omap:
		c.processMap(c.strategy, x, w, e)
	case *list:
		c.processList(c.strategy, x, w, e)
	case nil:
	default:
		c.processScalar(c.strategy, javaString(x), w, e)
	}
}

func (c *composite) processMap(s strategy, m *omap, w *walked, e *env) {
	switch s {
	case availableLiterals:
		for _, k := range c.litKeys {
			if v, ok := m.get(k); ok {
				c.literals[k].apply(k, some(v), w, e)
			}
		}
	case allLiterals:
		for _, k := range c.litKeys {
			v, ok := m.get(k)
			c.literals[k].apply(k, opt{v, ok}, w, e)
		}
	case computedOnly:
		for _, k := range m.snapshot() {
			if v, ok := m.get(k); ok {
				c.applyComputed(k, some(v), w, e)
			}
		}
	case conflict:
		for _, k := range m.snapshot() {
			if v, ok := m.get(k); ok {
				c.applyLiteralOrComputed(k, some(v), w, e)
			}
		}
	case availableLiteralsWithComputed:
		c.processMap(availableLiterals, m, w, e)
		c.processMap(computedOnly, m, w, e)
	case allLiteralsWithComputed:
		c.processMap(allLiterals, m, w, e)
		c.processMap(computedOnly, m, w, e)
	}
}

// element i of l, absent when it is padding the modifiers added past the
// list's original size.
func listElem(l *list, i, origSize int) opt {
	v := l.a[i]
	if v == nil && origSize >= 0 && i >= origSize {
		return none
	}
	return some(v)
}

func (c *composite) processList(s strategy, l *list, w *walked, e *env) {
	orig := w.last().me.origSize
	switch s {
	case availableLiterals:
		for _, k := range c.litKeys {
			if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(l.a) {
				c.literals[k].apply(k, listElem(l, i, orig), w, e)
			}
		}
	case allLiterals:
		for _, k := range c.litKeys {
			in := none
			if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(l.a) {
				in = listElem(l, i, orig)
			}
			c.literals[k].apply(k, in, w, e)
		}
	case computedOnly:
		for i := 0; i < len(l.a); i++ {
			c.applyComputed(strconv.Itoa(i), listElem(l, i, orig), w, e)
		}
	case conflict:
		for i := 0; i < len(l.a); i++ {
			c.applyLiteralOrComputed(strconv.Itoa(i), listElem(l, i, orig), w, e)
		}
	case availableLiteralsWithComputed:
		c.processList(availableLiterals, l, w, e)
		c.processList(computedOnly, l, w, e)
	case allLiteralsWithComputed:
		c.processList(allLiterals, l, w, e)
		c.processList(computedOnly, l, w, e)
	}
}

func (c *composite) processScalar(s strategy, key string, w *walked, e *env) {
	switch s {
	case availableLiterals, allLiterals:
		if ch, ok := c.literals[key]; ok {
			ch.apply(key, none, w, e)
		}
	case computedOnly:
		c.applyComputed(key, none, w, e)
	case conflict:
		c.applyLiteralOrComputed(key, none, w, e)
	case availableLiteralsWithComputed:
		c.processScalar(availableLiterals, key, w, e)
		c.processScalar(computedOnly, key, w, e)
	case allLiteralsWithComputed:
		c.processScalar(allLiterals, key, w, e)
		c.processScalar(computedOnly, key, w, e)
	}
}

func (c *composite) applyLiteralOrComputed(key string, in opt, w *walked, e *env) {
	if ch, ok := c.literals[key]; ok {
		ch.apply(key, in, w, e)
		return
	}
	c.applyComputed(key, in, w, e)
}

// applyComputed gives key to the computed children in order; the first
// that takes it stops the others.
func (c *composite) applyComputed(key string, in opt, w *walked, e *env) {
	for _, ch := range c.computed {
		if ch.apply(key, in, w, e) {
			return
		}
	}
}
