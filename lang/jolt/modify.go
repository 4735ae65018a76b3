package jolt

import (
	"strconv"
	"strings"
)

// The modify operations (Modifier: modify-overwrite-beta,
// modify-default-beta, modify-define-beta) write computed values into the
// input in place: a leaf's right-hand side is a literal, an @(n,path) or
// ^context reference, or a "=function(args)" call. Overwrite always writes,
// default writes where the value is null or absent, define only where the
// key is absent. A key may override the mode with a leading + ~ or _, and a
// trailing ? applies it only when the input has the key.

type modifyMode int

const (
	modeOverwrite modifyMode = iota
	modeDefault
	modeDefine
)

func (m modifyMode) name() string {
	return [...]string{"modify-overwrite-beta", "modify-default-beta", "modify-define-beta"}[m]
}

func (m modifyMode) mapApplicable(src *omap, key string) bool {
	if src == nil {
		return false
	}
	switch m {
	case modeDefault:
		v, _ := src.get(key)
		return v == nil
	case modeDefine:
		_, has := src.get(key)
		return !has
	}
	return true
}

func (m modifyMode) listApplicable(src *list, idx, origSize int) bool {
	if src == nil || idx < 0 || origSize < 0 || idx >= len(src.a) {
		return false
	}
	switch m {
	case modeDefault:
		return src.a[idx] == nil
	case modeDefine:
		return idx >= origSize && src.a[idx] == nil
	}
	return true
}

type modifyOp struct {
	root *modComposite
}

func compileModify(n *node, mode modifyMode, fns map[string]function) (*modifyOp, error) {
	if n.kind != 'o' {
		return nil, errorAt(n.line, n.col, "%s: the spec must be an object, got %s", mode.name(), n.kindName())
	}
	root, err := newModComposite(rootKey, n.line, n.col, n, mode, fns)
	if err != nil {
		return nil, err
	}
	return &modifyOp{root: root}, nil
}

func (o *modifyOp) apply(in any) (any, error) { return o.applyContext(in, nil) }

func (o *modifyOp) applyContext(in, context any) (any, error) {
	ctx := newMap(1)
	ctx.put(rootKey, context)
	w := &walked{}
	w.push(in, newMatched(rootKey))
	o.root.apply(rootKey, some(in), w, &env{context: ctx})
	return in, nil
}

// modBase is what every modify key has.
type modBase struct {
	pe         matcher
	mode       modifyMode
	checkValue bool
}

func newModBase(key string, line, col int, mode modifyMode) (modBase, error) {
	b := modBase{mode: mode}
	if key != "" {
		switch key[0] {
		case '+':
			b.mode, key = modeOverwrite, key[1:]
		case '~':
			b.mode, key = modeDefault, key[1:]
		case '_':
			b.mode, key = modeDefine, key[1:]
		}
	}
	if strings.HasSuffix(key, "?") && !strings.HasSuffix(key, `\?`) && len(key) > 1 {
		b.checkValue = true
		key = key[:len(key)-1]
	}
	pe, err := parseMatcher(key)
	if err != nil {
		return b, errorAt(line, col, "%s: %v", mode.name(), err)
	}
	switch pe.(type) {
	case *literalPE, *arrayPE, starAllPE, *starSinglePE, *starDoublePE, *starRegexPE:
	default:
		return b, errorAt(line, col, "%s: the key %q is not valid here (literal keys, wildcards and [index] only)", mode.name(), key)
	}
	if a, ok := pe.(*arrayPE); ok {
		if _, explicit := a.explicitIndex(); !explicit {
			return b, errorAt(line, col, "%s: only explicit array indexes ([0], [1] …) are valid keys, got %s", mode.name(), a.canonical())
		}
	}
	b.pe = pe
	return b, nil
}

func (b *modBase) element() matcher { return b.pe }

// modDataType is what a composite expects of its input: a list (explicit
// index children), a map (key children), or anything non-null (only *).
type modDataType int

const (
	modRuntime modDataType = iota
	modMap
	modList
)

type modComposite struct {
	modBase
	composite
	dataType modDataType
	maxIndex int
}

func modRank(m matcher) int {
	switch m.(type) {
	case *arrayPE:
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

func newModComposite(key string, line, col int, n *node, mode modifyMode, fns map[string]function) (*modComposite, error) {
	base, err := newModBase(key, line, col, mode)
	if err != nil {
		return nil, err
	}
	c := &modComposite{modBase: base, maxIndex: -1}
	children, err := specChildren(n, mode.name(), func(k string, line, col int, v *node) (child, error) {
		if v.kind == 'o' && len(v.members) > 0 {
			return newModComposite(k, line, col, v, mode, fns)
		}
		return newModLeaf(k, line, col, v, mode, fns)
	})
	if err != nil {
		return nil, err
	}
	hasMap, hasList := false, false
	for _, ch := range children {
		switch p := ch.element().(type) {
		case *literalPE:
			hasMap = true
			c.addLiteral(p.key, ch)
		case *arrayPE:
			hasList = true
			idx, _ := p.explicitIndex() // newModBase refused the others
			if !childChecks(ch) && idx > c.maxIndex {
				c.maxIndex = idx
			}
			c.addLiteral(strconv.Itoa(idx), ch)
		default:
			if _, all := p.(starAllPE); !all {
				hasMap = true
			}
			c.computed = append(c.computed, ch)
		}
		if hasMap && hasList {
			return nil, errorAt(line, col, "%s: the keys of %q mix array indexes and object keys", mode.name(), key)
		}
	}
	switch {
	case hasList:
		c.dataType = modList
	case hasMap:
		c.dataType = modMap
	}
	c.sortComputed(modRank)
	switch {
	case len(c.computed) == 0:
		c.strategy = allLiterals
	case len(c.litKeys) == 0:
		c.strategy = computedOnly
	case base.mode == modeDefine && c.dataType == modList:
		c.strategy = conflict
	default:
		c.strategy = allLiteralsWithComputed
	}
	return c, nil
}

func childChecks(ch child) bool {
	switch x := ch.(type) {
	case *modComposite:
		return x.checkValue
	case *modLeaf:
		return x.checkValue
	}
	return false
}

func (c *modComposite) compatible(v any) bool {
	switch c.dataType {
	case modList:
		_, ok := v.(*list)
		return v == nil || ok
	case modMap:
		_, ok := v.(*omap)
		return v == nil || ok
	}
	return v != nil
}

func (c *modComposite) create(key string, w *walked) any {
	parent := w.last()
	var v any
	if c.dataType == modList {
		v = &list{}
	} else {
		v = newMap(4)
	}
	switch p := parent.tree.(type) {
	case *omap:
		if c.mode.mapApplicable(p, key) {
			p.put(key, v)
			return v
		}
	case *list:
		idx, err := strconv.Atoi(key)
		if err == nil && c.mode.listApplicable(p, idx, parent.me.origSize) {
			p.a[idx] = v
			return v
		}
	}
	return nil
}

func (c *modComposite) apply(key string, in opt, w *walked, e *env) bool {
	level := c.pe.match(key, w)
	if level == nil {
		return false
	}
	if c.checkValue && !in.ok {
		return true
	}
	v := in.v
	if !c.compatible(v) {
		return true
	}
	if v == nil {
		if c.dataType == modRuntime {
			return true
		}
		v = c.create(key, w)
		if v != nil {
			in = some(v)
		}
	}
	if l, ok := v.(*list); ok {
		orig := len(l.a)
		if c.dataType == modList {
			for len(l.a) <= c.maxIndex {
				l.a = append(l.a, nil)
			}
		}
		level = newMatched(level.raw())
		level.origSize = orig
	}
	w.push(v, level)
	c.process(in, w, e)
	w.pop()
	return true
}

type modLeaf struct {
	modBase
	evals []evaluatorFn
}

func newModLeaf(key string, line, col int, v *node, mode modifyMode, fns map[string]function) (*modLeaf, error) {
	base, err := newModBase(key, line, col, mode)
	if err != nil {
		return nil, err
	}
	l := &modLeaf{modBase: base}
	switch {
	case v.kind == 's':
		ev, err := buildEvaluator(v.str, v.line, v.col, mode, fns)
		if err != nil {
			return nil, err
		}
		l.evals = append(l.evals, ev)
	case v.kind == 'a' && len(v.elems) > 0:
		for _, e := range v.elems {
			if e.kind == 's' {
				ev, err := buildEvaluator(e.str, e.line, e.col, mode, fns)
				if err != nil {
					return nil, err
				}
				l.evals = append(l.evals, ev)
				continue
			}
			l.evals = append(l.evals, literalEvaluator(e))
		}
	default:
		l.evals = append(l.evals, literalEvaluator(v))
	}
	return l, nil
}

func (l *modLeaf) apply(key string, in opt, w *walked, e *env) bool {
	level := l.pe.match(key, w)
	if level == nil {
		return false
	}
	if l.checkValue && !in.ok {
		return true
	}
	parent := w.last().tree
	w.push(in.v, level)
	defer w.pop()
	var val opt
	for _, ev := range l.evals {
		if val = ev(in, w, e); val.ok {
			break
		}
	}
	if !val.ok {
		return true
	}
	switch p := parent.(type) {
	case *omap:
		if l.mode.mapApplicable(p, level.raw()) {
			p.put(level.raw(), val.v)
		}
	case *list:
		if level.origSize < 0 {
			return true
		}
		idx, err := strconv.Atoi(level.raw())
		if err == nil && l.mode.listApplicable(p, idx, level.origSize) {
			p.a[idx] = val.v
		}
	}
	return true
}

// evaluatorFn computes a leaf's value; absent means "write nothing".
type evaluatorFn func(in opt, w *walked, e *env) opt

// argFn evaluates one function argument.
type argFn func(w *walked, e *env) opt

func literalEvaluator(n *node) evaluatorFn {
	return func(opt, *walked, *env) opt { return some(n.value()) }
}

// buildEvaluator compiles a right-hand-side string: "=fn(args)", "=fn",
// an @ or ^ reference, or literal text. An unknown function yields no
// value, as in JOLT (a list of alternatives then tries the next one).
func buildEvaluator(rhs string, line, col int, mode modifyMode, fns map[string]function) (evaluatorFn, error) {
	if !strings.HasPrefix(rhs, "=") {
		arg, err := buildArg(rhs, false, line, col, mode)
		if err != nil {
			return nil, err
		}
		return func(_ opt, w *walked, e *env) opt { return arg(w, e) }, nil
	}
	body := rhs[1:]
	if !strings.Contains(body, "(") && !strings.HasSuffix(body, ")") {
		fn := lookupFunction(fns, body)
		return func(in opt, _ *walked, _ *env) opt {
			if in.ok {
				return fn([]any{in.v})
			}
			return fn(nil)
		}, nil
	}
	parts, err := parseFunctionArgs(body)
	if err != nil {
		return nil, errorAt(line, col, "%s: %q: %v", mode.name(), rhs, err)
	}
	fn := lookupFunction(fns, parts[0])
	args := make([]argFn, 0, len(parts)-1)
	for _, a := range parts[1:] {
		arg, err := buildArg(a, true, line, col, mode)
		if err != nil {
			return nil, err
		}
		args = append(args, arg)
	}
	return func(in opt, w *walked, e *env) opt {
		switch len(args) {
		case 0:
			if in.ok {
				return fn([]any{in.v})
			}
			return fn(nil)
		case 1:
			if v := args[0](w, e); v.ok {
				return fn([]any{v.v})
			}
			return fn(nil)
		}
		vals := make([]any, len(args))
		for i, a := range args {
			vals[i] = a(w, e).v
		}
		return fn(vals)
	}, nil
}

// buildArg compiles one argument: ^path reads the context, @(n,path) the
// input, anything else is a literal (parsed as a number, boolean, 'quoted
// string' or null when it is a function argument).
func buildArg(arg string, forFunction bool, line, col int, mode modifyMode) (argFn, error) {
	switch {
	case strings.HasPrefix(arg, "^"):
		t, err := newTraversal(rootKey + "." + arg[1:])
		if err != nil {
			return nil, errorAt(line, col, "%s: %q: %v", mode.name(), arg, err)
		}
		return func(w *walked, e *env) opt {
			v, ok := t.read(e.context, w)
			return opt{v, ok}
		}, nil
	case strings.HasPrefix(arg, "@"):
		t, err := newTraversal(rootKey + "." + arg)
		if err != nil {
			return nil, errorAt(line, col, "%s: %q: %v", mode.name(), arg, err)
		}
		tpe, ok := t.elems[len(t.elems)-1].(*transposePE)
		if !ok || len(t.elems) != 2 {
			return nil, errorAt(line, col, "%s: %q: expected an @(level,path) reference", mode.name(), arg)
		}
		return func(w *walked, _ *env) opt {
			v, ok := tpe.object(w)
			return opt{v, ok}
		}, nil
	}
	lit := literalArg(arg, forFunction)
	return func(*walked, *env) opt { return some(lit) }, nil
}

func literalArg(arg string, parse bool) any {
	if !parse {
		return arg
	}
	switch {
	case arg == "":
		return nil
	case len(arg) >= 2 && strings.HasPrefix(arg, "'") && strings.HasSuffix(arg, "'"):
		return arg[1 : len(arg)-1]
	case strings.EqualFold(arg, "true"):
		return true
	case strings.EqualFold(arg, "false"):
		return false
	}
	if n, ok := toNumber(arg); ok {
		return n
	}
	return arg
}

// parseFunctionArgs is SpecStringParser.parseFunctionArgs: "fn(a, 'b,c', @(1,d))"
// gives ["fn" "a" "'b,c'" "@(1,d)"].
func parseFunctionArgs(s string) ([]string, error) {
	open := strings.IndexByte(s, '(')
	if open < 0 || !strings.HasSuffix(s, ")") {
		return nil, errorf("a function call is name(arguments)")
	}
	out := []string{s[:open]}
	body := s[open+1 : len(s)-1]
	var sb strings.Builder
	inBrackets, inQuotes := false, false
	for _, c := range body {
		switch c {
		case '(':
			if !inQuotes {
				inBrackets = true
			}
			sb.WriteRune(c)
		case ')':
			if !inQuotes {
				inBrackets = false
			}
			sb.WriteRune(c)
		case '\'':
			inQuotes = !inQuotes
			sb.WriteRune(c)
		case ',':
			if !inBrackets && !inQuotes {
				out = append(out, strings.TrimSpace(sb.String()))
				sb.Reset()
				continue
			}
			sb.WriteRune(c)
		default:
			sb.WriteRune(c)
		}
	}
	out = append(out, strings.TrimSpace(sb.String()))
	return out, nil
}

type simpleError string

func (e simpleError) Error() string { return string(e) }

func errorf(s string) error { return simpleError(s) }

func lookupFunction(fns map[string]function, name string) function {
	if fn, ok := fns[name]; ok {
		return fn
	}
	return func([]any) opt { return none }
}
