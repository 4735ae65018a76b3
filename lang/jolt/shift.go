package jolt

// shift (Shiftr) copies data from the input tree into a new output tree:
// each input key matched by the specification is written at the output
// paths its right-hand side names.

const rootKey = "root"

type shift struct{ root *shiftComposite }

func compileShift(n *node) (*shift, error) {
	if n.kind != 'o' {
		return nil, errorAt(n.line, n.col, "shift: the spec must be an object, got %s", n.kindName())
	}
	root, err := newShiftComposite(rootKey, n.line, n.col, n)
	if err != nil {
		return nil, err
	}
	return &shift{root: root}, nil
}

func (s *shift) apply(in any) (any, error) {
	out := newMap(1)
	w := &walked{}
	w.push(in, newMatched(rootKey))
	s.root.apply(rootKey, some(in), w, &env{out: out})
	v, _ := out.get(rootKey)
	return v, nil
}

type shiftComposite struct {
	pe      matcher
	special []child
	composite
}

func shiftRank(m matcher) int {
	switch m.(type) {
	case *ampPE:
		return 1
	case *starRegexPE:
		return 2
	case *starDoublePE:
		return 3
	case *starSinglePE:
		return 4
	case starAllPE:
		return 5
	}
	return 6
}

func newShiftComposite(key string, line, col int, n *node) (*shiftComposite, error) {
	pe, err := parseMatcher(key)
	if err != nil {
		return nil, errorAt(line, col, "shift: %v", err)
	}
	switch pe.(type) {
	case atPE:
		return nil, errorAt(line, col, "shift: the '@' key can not have children")
	case *dollarPE:
		return nil, errorAt(line, col, "shift: a '$' key can not have children")
	case *arrayPE:
		return nil, errorAt(line, col, "shift: %q: array keys are not valid on the input side of shift", key)
	}
	if len(n.members) == 0 {
		return nil, errorAt(line, col, "shift: the key %q has an empty {} as its value", key)
	}
	c := &shiftComposite{pe: pe}
	children, err := specChildren(n, "shift", func(k string, line, col int, v *node) (child, error) {
		if v.kind == 'o' {
			return newShiftComposite(k, line, col, v)
		}
		return newShiftLeaf(k, line, col, v)
	})
	if err != nil {
		return nil, err
	}
	for _, ch := range children {
		switch p := ch.element().(type) {
		case *literalPE:
			c.addLiteral(p.key, ch)
		case atPE, *hashPE, *dollarPE, *transposePE:
			c.special = append(c.special, ch)
		default:
			c.computed = append(c.computed, ch)
		}
	}
	c.sortComputed(shiftRank)
	c.strategy = c.determineStrategy()
	return c, nil
}

// determineStrategy picks how children meet the input: literals only,
// wildcards only, or both — serially when no wildcard could match a literal
// key, else key by key (a literal key then takes precedence).
func (c *composite) determineStrategy() strategy {
	if len(c.computed) == 0 {
		return availableLiterals
	}
	if len(c.litKeys) == 0 {
		return computedOnly
	}
	for _, ch := range c.computed {
		star, ok := ch.element().(starMatcher)
		if !ok {
			return conflict
		}
		for _, k := range c.litKeys {
			if star.stringMatch(k) {
				return conflict
			}
		}
	}
	return availableLiteralsWithComputed
}

func (c *shiftComposite) element() matcher { return c.pe }

func (c *shiftComposite) apply(key string, in opt, w *walked, e *env) bool {
	level := c.pe.match(key, w)
	if level == nil {
		return false
	}
	if tpe, ok := c.pe.(*transposePE); ok {
		v, ok := tpe.object(w)
		if !ok {
			return false
		}
		in = some(v)
	}
	w.push(in.v, level)
	for _, s := range c.special {
		s.apply(key, in, w, e)
	}
	c.process(in, w, e)
	w.pop()
	w.last().me.hashCount++
	return true
}

type shiftLeaf struct {
	pe      matcher
	writers []*traversal
}

func newShiftLeaf(key string, line, col int, v *node) (*shiftLeaf, error) {
	pe, err := parseMatcher(key)
	if err != nil {
		return nil, errorAt(line, col, "shift: %v", err)
	}
	if _, ok := pe.(*arrayPE); ok {
		return nil, errorAt(line, col, "shift: %q: array keys are not valid on the input side of shift", key)
	}
	l := &shiftLeaf{pe: pe}
	add := func(n *node) error {
		if n.kind != 's' {
			return errorAt(n.line, n.col, "shift: the output path of %q must be a string or an array of strings, got %s", key, n.kindName())
		}
		path := rootKey
		if isBlank(n.str) {
			// an empty path writes at the root of the output
		} else {
			path = rootKey + "." + n.str
		}
		t, err := newTraversal(path)
		if err != nil {
			return errorAt(n.line, n.col, "shift: output path %q: %v", n.str, err)
		}
		l.writers = append(l.writers, t)
		return nil
	}
	switch v.kind {
	case 's':
		if err := add(v); err != nil {
			return nil, err
		}
	case 'a':
		for _, e := range v.elems {
			if err := add(e); err != nil {
				return nil, err
			}
		}
	case 'z':
	default:
		return nil, errorAt(v.line, v.col, "shift: the value of %q must be an object, a string or an array of strings, got %s", key, v.kindName())
	}
	return l, nil
}

func (l *shiftLeaf) element() matcher { return l.pe }

func (l *shiftLeaf) apply(key string, in opt, w *walked, e *env) bool {
	level := l.pe.match(key, w)
	if level == nil {
		return false
	}
	var data any
	real := false
	switch p := l.pe.(type) {
	case *dollarPE, *hashPE:
		data = level.raw()
	case atPE:
		data = in.v
	case *transposePE:
		v, ok := p.object(w)
		if !ok {
			return false
		}
		data = v
	default:
		data = in.v
		real = true
	}
	w.push(in.v, level)
	for _, t := range l.writers {
		if keys, ok := t.evaluate(w); ok {
			write(e.out, t.kinds, keys, data)
		}
	}
	w.pop()
	if real {
		w.last().me.hashCount++
	}
	return real
}
