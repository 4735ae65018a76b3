package jslt

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
)

// maxNesting bounds the syntactic nesting of a query so that hostile input
// cannot exhaust the stack of the recursive-descent parser or, later, of
// the evaluator.
const maxNesting = 500

// compiler holds what is shared by the main query and its imported
// modules: the global variable frame and the query parameters.
type compiler struct {
	cfg       *config
	nglobals  int
	params    map[string]int
	paramList []paramSlot
	imported  map[string]bool
	moduleLet []letBinding // lets of imported modules, in import order
	regexes   *regexCache
}

func newCompiler(cfg *config) *compiler {
	return &compiler{cfg: cfg, params: map[string]int{}, imported: map[string]bool{}, regexes: newRegexCache()}
}

func (c *compiler) newGlobal() int {
	c.nglobals++
	return c.nglobals - 1
}

func (c *compiler) compileMain(src string) (*Expr, error) {
	u := c.newUnit(src, "")
	u.parseUnit(false)
	e := &Expr{
		cfg:      c.cfg,
		body:     u.body,
		nglobals: c.nglobals,
		params:   c.paramList,
		src:      src,
		regexes:  c.regexes,
	}
	e.lets = append(append(e.lets, c.moduleLet...), u.lets...)
	e.pool = sync.Pool{New: func() any { return newCtx(e) }}
	return e, nil
}

// unit is one compilation unit: the main query or an imported module.
// Functions and import prefixes are private to it.
type unit struct {
	c      *compiler
	lex    lexer
	tok    token
	module string

	funcs   map[string]callable
	imports map[string]*unit
	scopes  []map[string]varRef
	fn      *funcDecl // the def whose body is being parsed, if any
	globals map[string]int
	pending []*varNode
	calls   []*callNode
	lets    []letBinding
	body    node
	mc      matchCtx
	depth   int
}

// matchCtx says what an object matcher (* : ...) at the current spot
// matches against: a key path from the current input, or nothing.
type matchCtx struct {
	path []string
	ok   bool
	fail string // where we are, for the error message, when !ok
}

var rootCtx = matchCtx{ok: true}

func failCtx(where string) matchCtx { return matchCtx{fail: where} }

func (c *compiler) newUnit(src, module string) *unit {
	u := &unit{
		c:       c,
		lex:     lexer{src: src, line: 1, col: 1, module: module},
		module:  module,
		funcs:   map[string]callable{},
		imports: map[string]*unit{},
		globals: map[string]int{},
	}
	u.tok = u.lex.next()
	return u
}

func (u *unit) next() token {
	t := u.tok
	u.tok = u.lex.next()
	return t
}

var kindNames = map[tokKind]string{
	tEOF: "end of input", tNull: "'null'", tInteger: "integer", tDecimal: "decimal",
	tString: "string", tLBracket: "'['", tRBracket: "']'", tComma: "','", tColon: "':'",
	tLCurly: "'{'", tRCurly: "'}'", tTrue: "'true'", tFalse: "'false'", tOr: "'or'",
	tAnd: "'and'", tDot: "'.'", tIf: "'if'", tElse: "'else'", tLParen: "'('", tRParen: "')'",
	tLet: "'let'", tAssign: "'='", tFor: "'for'", tDef: "'def'", tImport: "'import'",
	tAs: "'as'", tIdent: "identifier", tVariable: "variable",
}

func (u *unit) fail(t token, expected string) {
	panic(t.pos.errorf("Parse error: expected %s but found %s", expected, t.describe()))
}

func (u *unit) expect(k tokKind) token {
	if u.tok.kind != k {
		u.fail(u.tok, kindNames[k])
	}
	return u.next()
}

func (u *unit) enter() {
	u.depth++
	if u.depth > maxNesting {
		panic(u.tok.pos.errorf("Parse error: expression nested deeper than %d levels", maxNesting))
	}
}

func (u *unit) leave() { u.depth-- }

// withCtx runs f with the given matcher context.
func (u *unit) withCtx(mc matchCtx, f func() node) node {
	saved := u.mc
	u.mc = mc
	n := f()
	u.mc = saved
	return n
}

// parseUnit parses Start (module=false) or Module: imports, then lets and
// defs, then the body expression (optional in modules).
func (u *unit) parseUnit(module bool) {
	for u.tok.kind == tImport {
		u.parseImport()
	}
	for u.tok.kind == tLet || u.tok.kind == tDef {
		if u.tok.kind == tLet {
			name, p, n := u.parseLetParts(rootCtx)
			if _, dup := u.globals[name]; dup {
				panic(p.errorf("Duplicate variable declaration %s", name))
			}
			slot := u.c.newGlobal()
			u.globals[name] = slot
			u.lets = append(u.lets, letBinding{ref: varRef{slot: slot}, value: n, name: name, pos: p})
		} else {
			u.parseDef()
		}
	}
	if !module || u.tok.kind != tEOF {
		u.mc = rootCtx
		u.body = u.parseExpr()
	}
	if u.tok.kind != tEOF {
		u.fail(u.tok, "end of input")
	}
	u.resolve()
}

// resolve binds what could not be bound while parsing: variables used
// before their top-level let (or never defined: query parameters) and
// calls to functions declared later.
func (u *unit) resolve() {
	for _, v := range u.pending {
		if slot, ok := u.globals[v.name]; ok {
			v.ref = varRef{slot: slot}
			continue
		}
		slot, ok := u.c.params[v.name]
		if !ok && u.c.cfg.variables != nil && !u.c.cfg.variables[v.name] {
			panic(v.pos.errorf("No such variable '%s'", v.name))
		}
		if !ok {
			slot = u.c.newGlobal()
			u.c.params[v.name] = slot
			u.c.paramList = append(u.c.paramList, paramSlot{name: v.name, slot: slot})
		}
		v.ref = varRef{slot: slot}
	}
	for _, call := range u.calls {
		f, ok := u.funcs[call.name]
		if !ok {
			if b, found := builtins[call.name]; found {
				f = b
			} else {
				panic(call.pos.errorf("No such function: '%s'", call.name))
			}
		}
		u.bind(call, f)
	}
}

func (u *unit) bind(call *callNode, f callable) {
	lo, hi := f.arity()
	if len(call.args) < lo || len(call.args) > hi {
		panic(call.pos.errorf("Function '%s' needs %d-%d arguments, got %d", call.name, lo, hi, len(call.args)))
	}
	call.fn = f
	if b, ok := f.(*builtin); ok && b.name == "number" && !u.c.cfg.noFastPaths {
		call.number = true
	}
	if b, ok := f.(*builtin); ok && b.regexArg > 0 && b.regexArg <= len(call.args) {
		// Compile literal regular expressions now, so that a bad one is a
		// compile error and evaluation never waits for the cache.
		if lit, ok := call.args[b.regexArg-1].(*litNode); ok {
			s, isStr := lit.v.(string)
			if !isStr {
				if lit.v == nil {
					panic(call.pos.errorf("Regexp cannot be null"))
				}
				s = toStr(lit.v)
			}
			call.regex = u.c.regexes.compile(s, call.pos)
		}
	}
}

func (u *unit) parseImport() {
	u.next()
	st := u.expect(tString)
	name := u.unquote(st)
	u.expect(tAs)
	prefix := u.expect(tIdent).text
	if name == experimentalURI {
		u.imports[prefix] = u.c.newExperimentalModule()
		return
	}
	if u.c.cfg.resolver == nil {
		panic(st.pos.errorf("Cannot import '%s': no module resolver configured", name))
	}
	if u.c.imported[name] {
		panic(st.pos.errorf("Module '%s' is already imported", name))
	}
	u.c.imported[name] = true
	src, err := u.c.cfg.resolver(name)
	if err != nil {
		e := st.pos.errorf("Couldn't read resource %s: %v", name, err)
		e.Err = err
		panic(e)
	}
	m := u.c.newUnit(src, name)
	m.parseUnit(true)
	u.c.moduleLet = append(u.c.moduleLet, m.lets...)
	u.imports[prefix] = m
	if m.body != nil {
		u.funcs[prefix] = &moduleFunc{name: prefix, body: m.body}
	}
}

func (u *unit) parseLetParts(mc matchCtx) (string, pos, node) {
	p := u.expect(tLet).pos
	name := u.expect(tIdent).text
	u.expect(tAssign)
	n := u.withCtx(mc, u.parseExpr)
	return name, p, n
}

// parseLets parses a run of lets and declares each in the innermost scope
// once its value is parsed, so a let sees the ones before it.
func (u *unit) parseLets() []letBinding {
	var lets []letBinding
	for u.tok.kind == tLet {
		name, p, n := u.parseLetParts(u.mc)
		if _, dup := u.scopes[len(u.scopes)-1][name]; dup {
			panic(p.errorf("Duplicate variable declaration %s", name))
		}
		ref := u.declare(name)
		lets = append(lets, letBinding{ref: ref, value: n, name: name, pos: p})
	}
	return lets
}

func (u *unit) pushScope() { u.scopes = append(u.scopes, map[string]varRef{}) }
func (u *unit) popScope()  { u.scopes = u.scopes[:len(u.scopes)-1] }

// declare allocates a slot for a variable in the innermost scope: in the
// frame of the function being compiled, else in the global frame.
func (u *unit) declare(name string) varRef {
	var ref varRef
	if u.fn != nil {
		ref = varRef{slot: u.fn.frameSize, local: true}
		u.fn.frameSize++
	} else {
		ref = varRef{slot: u.c.newGlobal()}
	}
	u.scopes[len(u.scopes)-1][name] = ref
	return ref
}

func (u *unit) parseDef() {
	p := u.next().pos
	name := u.expect(tIdent).text
	if _, dup := u.funcs[name]; dup {
		panic(p.errorf("Function '%s' is already declared", name))
	}
	f := &funcDecl{name: name, pos: p}
	u.funcs[name] = f
	u.expect(tLParen)
	var params []string
	if u.tok.kind != tRParen {
		params = append(params, u.expect(tIdent).text)
		for u.tok.kind == tComma {
			u.next()
			params = append(params, u.expect(tIdent).text)
		}
	}
	u.expect(tRParen)
	f.nparams = len(params)

	savedScopes, savedFn, savedMc := u.scopes, u.fn, u.mc
	u.scopes, u.fn, u.mc = nil, f, failCtx("function declaration")
	u.pushScope()
	for _, prm := range params {
		u.declare(prm)
	}
	f.lets = u.parseLets()
	f.body = u.parseExpr()
	u.scopes, u.fn, u.mc = savedScopes, savedFn, savedMc
}

// parseExpr parses Expr: OrExpr ('|' OrExpr)*.
func (u *unit) parseExpr() node {
	u.enter()
	defer u.leave()
	n := u.parseOr()
	for u.tok.kind == tPipe {
		p := u.next().pos
		right := u.withCtx(rootCtx, u.parseOr)
		n = &pipeNode{left: n, right: right, pos: p}
	}
	return n
}

func (u *unit) parseOr() node {
	n := u.parseAnd()
	if u.tok.kind == tOr {
		u.next()
		u.enter()
		defer u.leave()
		return &orNode{left: n, right: u.parseOr()}
	}
	return n
}

func (u *unit) parseAnd() node {
	n := u.parseComparative()
	if u.tok.kind == tAnd {
		u.next()
		u.enter()
		defer u.leave()
		return &andNode{left: n, right: u.parseAnd()}
	}
	return n
}

func (u *unit) parseComparative() node {
	n := u.parseAdditive()
	switch k := u.tok.kind; k {
	case tEquals, tUnequals, tBigOrEq, tBigger, tSmaller, tSmallOrEq:
		p := u.next().pos
		right := u.parseAdditive()
		switch k {
		case tEquals:
			return &eqNode{left: n, right: right}
		case tUnequals:
			return &eqNode{left: n, right: right, negate: true}
		default:
			return &cmpNode{left: n, right: right, op: k, pos: p}
		}
	}
	return n
}

func (u *unit) parseAdditive() node {
	n := u.parseMultiplicative()
	for u.tok.kind == tPlus || u.tok.kind == tMinus {
		t := u.next()
		right := u.parseMultiplicative()
		if t.kind == tMinus {
			n = &arithNode{left: n, right: right, op: t.kind, pos: t.pos}
			continue
		}
		// a + b + c is ((a + b) + c); a plusNode evaluates it so, but
		// builds a chain of concatenations as one string.
		pn, ok := n.(*plusNode)
		if !ok {
			pn = &plusNode{terms: []node{n}}
			n = pn
		}
		pn.terms = append(pn.terms, right)
		pn.ops = append(pn.ops, arithNode{op: tPlus, pos: t.pos})
	}
	return n
}

func (u *unit) parseMultiplicative() node {
	n := u.parseBase()
	for u.tok.kind == tStar || u.tok.kind == tSlash || u.tok.kind == tPercent {
		t := u.next()
		right := u.parseBase()
		n = &arithNode{left: n, right: right, op: t.kind, pos: t.pos}
	}
	return n
}

func (u *unit) parseBase() node {
	u.enter()
	defer u.leave()
	t := u.tok
	switch t.kind {
	case tNull:
		u.next()
		return &litNode{v: nil}
	case tTrue, tFalse:
		u.next()
		return &litNode{v: t.kind == tTrue}
	case tInteger:
		u.next()
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			panic(t.pos.errorf("Parse error: integer out of range: %s", t.text))
		}
		return &litNode{v: n}
	case tDecimal:
		u.next()
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			panic(t.pos.errorf("Parse error: bad number: %s", t.text))
		}
		return &litNode{v: f}
	case tString:
		u.next()
		return &litNode{v: u.unquote(t)}
	case tIdent, tPIdent, tVariable, tDot:
		return u.parseChainable()
	case tLParen:
		u.next()
		n := u.parseExpr()
		u.expect(tRParen)
		return n
	case tIf:
		return u.parseIf()
	case tLBracket:
		return u.parseArray()
	case tLCurly:
		return u.parseObject()
	}
	u.fail(t, "an expression")
	return nil
}

func (u *unit) parseChainable() node {
	t := u.next()
	var n node
	switch t.kind {
	case tVariable:
		n = u.lookupVar(t.text[1:], t.pos)
	case tIdent, tPIdent:
		n = u.parseCall(t)
	case tDot:
		if u.tok.kind == tIdent || u.tok.kind == tString {
			k := u.next()
			n = &keyNode{key: u.keyText(k), pos: k.pos}
		} else if u.tok.kind != tLBracket {
			return &dotNode{}
		}
	}
	return u.parseChainLinks(n)
}

// parseChainLinks parses (.key | [index] | [from:to])*; a nil parent is
// the current input.
func (u *unit) parseChainLinks(parent node) node {
	saved := u.mc
	defer func() { u.mc = saved }()
	u.mc = failCtx("an expression")
	for {
		switch u.tok.kind {
		case tDot:
			u.next()
			if u.tok.kind != tIdent && u.tok.kind != tString {
				u.fail(u.tok, "key after '.'")
			}
			k := u.next()
			parent = &keyNode{parent: parent, key: u.keyText(k), pos: k.pos}
		case tLBracket:
			p := u.next().pos
			s := &sliceNode{parent: parent, pos: p}
			if u.tok.kind == tColon {
				u.next()
				s.colon = true
				s.right = u.parseExpr()
			} else {
				s.left = u.parseExpr()
				if u.tok.kind == tColon {
					u.next()
					s.colon = true
					if u.tok.kind != tRBracket {
						s.right = u.parseExpr()
					}
				}
			}
			u.expect(tRBracket)
			parent = s
		default:
			if parent == nil {
				return &dotNode{}
			}
			return parent
		}
	}
}

func (u *unit) keyText(t token) string {
	if t.kind == tString {
		return u.unquote(t)
	}
	return t.text
}

func (u *unit) lookupVar(name string, p pos) node {
	for i := len(u.scopes) - 1; i >= 0; i-- {
		if ref, ok := u.scopes[i][name]; ok {
			return &varNode{name: name, ref: ref, pos: p}
		}
	}
	v := &varNode{name: name, pos: p}
	u.pending = append(u.pending, v)
	return v
}

func (u *unit) parseCall(t token) node {
	if u.tok.kind != tLParen {
		u.fail(u.tok, "'(' after function name "+t.text)
	}
	u.next()
	var args []node
	if u.tok.kind != tRParen {
		args = append(args, u.parseExpr())
		for u.tok.kind == tComma {
			u.next()
			args = append(args, u.parseExpr())
		}
	}
	u.expect(tRParen)
	if t.kind == tIdent && t.text == "fallback" {
		if len(args) < 2 || len(args) > 1024 {
			panic(t.pos.errorf("Macro 'fallback' needs 2-1024 arguments, got %d", len(args)))
		}
		return &fallbackNode{args: args}
	}
	call := &callNode{name: t.text, args: args, pos: t.pos}
	if t.kind == tPIdent {
		prefix, name, _ := strings.Cut(t.text, ":")
		m, ok := u.imports[prefix]
		if !ok {
			panic(t.pos.errorf("No such module '%s'", prefix))
		}
		f, ok := m.funcs[name]
		if !ok {
			panic(t.pos.errorf("No such function '%s' in module '%s'", name, prefix))
		}
		if mf, ok := f.(*macroFunc); ok {
			if len(args) < mf.min || len(args) > mf.max {
				panic(t.pos.errorf("Macro '%s' needs %d-%d arguments, got %d", t.text, mf.min, mf.max, len(args)))
			}
			return mf.build(args, t.pos)
		}
		u.bind(call, f)
		return call
	}
	u.calls = append(u.calls, call)
	return call
}

func (u *unit) parseIf() node {
	u.next()
	u.expect(tLParen)
	n := &ifNode{}
	n.cond = u.withCtx(failCtx("an if condition"), u.parseExpr)
	u.expect(tRParen)
	u.pushScope()
	n.thenLets = u.parseLets()
	n.then = u.parseExpr()
	u.popScope()
	if u.tok.kind == tElse {
		u.next()
		u.pushScope()
		n.elseLets = u.parseLets()
		n.els = u.parseExpr()
		u.popScope()
	}
	return n
}

func (u *unit) parseArray() node {
	p := u.next().pos
	if u.tok.kind == tFor {
		u.next()
		n := &forNode{pos: p}
		u.expect(tLParen)
		n.seq = u.withCtx(failCtx("a for expression"), u.parseExpr)
		u.expect(tRParen)
		u.pushScope()
		saved := u.mc
		u.mc = failCtx("a for expression")
		n.lets = u.parseLets()
		u.mc = rootCtx
		n.body = u.parseExpr()
		if u.tok.kind == tIf {
			u.next()
			u.expect(tLParen)
			u.mc = failCtx("a for expression")
			n.cond = u.parseExpr()
			u.expect(tRParen)
		}
		u.mc = saved
		u.popScope()
		u.expect(tRBracket)
		return n
	}
	n := &arrayNode{pos: p}
	saved := u.mc
	u.mc = failCtx("array")
	for u.tok.kind != tRBracket {
		n.elems = append(n.elems, u.parseExpr())
		if u.tok.kind != tComma {
			break
		}
		u.next()
	}
	u.mc = saved
	u.expect(tRBracket)
	return n
}

func (u *unit) parseObject() node {
	p := u.next().pos
	if u.tok.kind == tFor {
		return u.parseComprehension(p)
	}
	n := &objectNode{pos: p}
	u.pushScope()
	defer u.popScope()
	n.lets = u.parseLets()
	outer := u.mc
	for u.tok.kind != tRCurly {
		if u.tok.kind == tStar {
			n.match = u.parseMatcher(outer)
			break
		}
		var pr pair
		kt := u.tok
		pr.keyExpr = u.withCtx(failCtx("an object key"), u.parseExpr)
		pr.pos = kt.pos
		if lit, ok := pr.keyExpr.(*litNode); ok && kt.kind == tString {
			pr.key, _ = lit.v.(string)
			pr.static = true
		} else {
			n.dynamic = true
		}
		u.expect(tColon)
		vc := failCtx("dynamic object")
		if pr.static && outer.ok {
			vc = matchCtx{ok: true, path: append(append([]string(nil), outer.path...), pr.key)}
		} else if pr.static {
			vc = outer
		}
		pr.value = u.withCtx(vc, u.parseExpr)
		n.pairs = append(n.pairs, pr)
		if u.tok.kind != tComma {
			break
		}
		u.next()
	}
	u.expect(tRCurly)
	if n.match != nil && n.dynamic {
		panic(n.match.pos.errorf("Object matcher not allowed in objects which have dynamic keys"))
	}
	if !n.dynamic {
		seen := map[string]bool{}
		for _, pr := range n.pairs {
			if seen[pr.key] {
				panic(pr.pos.errorf("Invalid object declaration, duplicate key '%s'", pr.key))
			}
			seen[pr.key] = true
		}
	}
	if n.match != nil {
		for _, pr := range n.pairs {
			n.match.skip = append(n.match.skip, pr.key)
		}
	}
	n.finish(u.c.cfg.noFastPaths)
	return n
}

func (u *unit) parseMatcher(outer matchCtx) *matcher {
	t := u.next()
	if !outer.ok {
		panic(t.pos.errorf("Object matcher used inside %s", outer.fail))
	}
	m := &matcher{path: outer.path, pos: t.pos}
	if u.tok.kind == tMinus {
		u.next()
		for {
			if u.tok.kind != tIdent && u.tok.kind != tString {
				u.fail(u.tok, "key to exclude")
			}
			m.skip = append(m.skip, u.keyText(u.next()))
			if u.tok.kind != tComma {
				break
			}
			u.next()
		}
	}
	u.expect(tColon)
	m.expr = u.withCtx(failCtx("an object matcher"), u.parseExpr)
	return m
}

func (u *unit) parseComprehension(p pos) node {
	u.next()
	n := &comprehensionNode{pos: p}
	saved := u.mc
	defer func() { u.mc = saved }()
	u.mc = failCtx("an object comprehension")
	u.expect(tLParen)
	n.seq = u.parseExpr()
	u.expect(tRParen)
	u.pushScope()
	defer u.popScope()
	n.lets = u.parseLets()
	n.key = u.parseExpr()
	u.expect(tColon)
	n.value = u.parseExpr()
	if u.tok.kind == tIf {
		u.next()
		u.expect(tLParen)
		n.cond = u.parseExpr()
		u.expect(tRParen)
	}
	u.expect(tRCurly)
	return n
}

// unquote decodes a string literal as the reference does (ParserImpl.
// makeString in JSLT 0.1.14): the JSON escapes only; any other escape, such
// as \d, is the reference's "Unknown escape sequence" error, so a regular
// expression writes its backslash twice ("\\d+").
func (u *unit) unquote(t token) string {
	s := t.text[1 : len(t.text)-1]
	if !strings.ContainsRune(s, '\\') {
		return s
	}
	var b strings.Builder
	var pendingHigh rune = -1
	flushHigh := func() {
		if pendingHigh >= 0 {
			b.WriteRune(0xFFFD)
			pendingHigh = -1
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flushHigh()
			b.WriteByte(c)
			continue
		}
		i++
		c = s[i]
		switch c {
		case '\\', '"', '/':
			flushHigh()
			b.WriteByte(c)
		case 'n':
			flushHigh()
			b.WriteByte('\n')
		case 'b':
			flushHigh()
			b.WriteByte('\b')
		case 'f':
			flushHigh()
			b.WriteByte('\f')
		case 'r':
			flushHigh()
			b.WriteByte('\r')
		case 't':
			flushHigh()
			b.WriteByte('\t')
		case 'u':
			if i+4 >= len(s) {
				panic(t.pos.errorf("Unfinished Unicode escape sequence"))
			}
			v, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
			if err != nil {
				panic(t.pos.errorf("Bad Unicode escape hex digits: '%s'", s[i+1:i+5]))
			}
			i += 4
			r := rune(v)
			switch {
			case utf16.IsSurrogate(r) && r < 0xDC00:
				flushHigh()
				pendingHigh = r
			case utf16.IsSurrogate(r):
				if pendingHigh >= 0 {
					b.WriteRune(utf16.DecodeRune(pendingHigh, r))
					pendingHigh = -1
				} else {
					b.WriteRune(0xFFFD)
				}
			default:
				flushHigh()
				b.WriteRune(r)
			}
		default:
			panic(t.pos.errorf("Unknown escape sequence: \\%c", c))
		}
	}
	flushHigh()
	return b.String()
}
