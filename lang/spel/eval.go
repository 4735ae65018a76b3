package spel

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// ctx is the state of one evaluation.
type ctx struct {
	src   string
	row   Row
	env   *Env
	group []Row // rows a sum{} adds up; nil outside EvalGroup
}

func (c *ctx) errAt(pos int, format string, args ...any) error {
	return &Error{Src: c.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

type node interface {
	eval(c *ctx) (val, error)
	pos() int
}

type litNode struct {
	v val
	p int
}

type tmplNode struct {
	parts []tmplPart
	p     int
}

type colNode struct {
	name string
	p    int
}

type varNode struct {
	name string
	hash bool // #name (SpEL) rather than a bare MVEL-style name
	p    int
}

type assignNode struct {
	name string
	x    node
	p    int
}

type unaryNode struct {
	op string
	x  node
	p  int
}

type binNode struct {
	op   string
	l, r node
	p    int
}

type logicNode struct {
	and  bool
	l, r node
	p    int
}

type matchNode struct {
	l, r node
	re   *regexp.Regexp // precompiled when the pattern is a literal
	p    int
}

type ternaryNode struct {
	c, a, b node
	p       int
}

type elvisNode struct {
	a, b node
	p    int
}

type listNode struct {
	elems []node
	p     int
}

type indexNode struct {
	x, idx node
	p      int
}

type methodNode struct {
	recv node
	name string
	args []node
	safe bool // ?. returns null on a null receiver
	p    int
}

type staticNode struct {
	fn   string // "Math.floor"
	args []node
	p    int
}

type sumNode struct {
	x node
	p int
}

type base64Node struct {
	x node
	p int
}

func (n *litNode) pos() int     { return n.p }
func (n *tmplNode) pos() int    { return n.p }
func (n *colNode) pos() int     { return n.p }
func (n *varNode) pos() int     { return n.p }
func (n *assignNode) pos() int  { return n.p }
func (n *unaryNode) pos() int   { return n.p }
func (n *binNode) pos() int     { return n.l.pos() }
func (n *logicNode) pos() int   { return n.l.pos() }
func (n *matchNode) pos() int   { return n.l.pos() }
func (n *ternaryNode) pos() int { return n.c.pos() }
func (n *elvisNode) pos() int   { return n.a.pos() }
func (n *listNode) pos() int    { return n.p }
func (n *indexNode) pos() int   { return n.x.pos() }
func (n *methodNode) pos() int  { return n.p }
func (n *staticNode) pos() int  { return n.p }
func (n *sumNode) pos() int     { return n.p }
func (n *base64Node) pos() int  { return n.p }

func (n *litNode) eval(*ctx) (val, error) { return n.v, nil }

func (n *tmplNode) eval(c *ctx) (val, error) {
	var b strings.Builder
	for _, part := range n.parts {
		if !part.col {
			b.WriteString(part.text)
			continue
		}
		// Textual substitution, as Connect+ documents for 'hdr{X}': the cell
		// text as-is, empty when the column is missing.
		if c.row != nil {
			s, _ := c.row.Get(part.text)
			b.WriteString(s)
		}
	}
	return strVal(b.String()), nil
}

func (n *colNode) eval(c *ctx) (val, error) {
	if c.row == nil {
		return nullVal, nil
	}
	return columnVal(c.row.Get(n.name)), nil
}

func (n *varNode) eval(c *ctx) (val, error) {
	if v, ok := c.env.vars[n.name]; ok {
		return v, nil
	}
	if n.hash {
		return nullVal, nil // SpEL: an unset #variable is null
	}
	return val{}, c.errAt(n.p, "unknown variable %q: assign it earlier in the record (%s = ...) or quote it as a string", n.name, n.name)
}

func (n *assignNode) eval(c *ctx) (val, error) {
	v, err := n.x.eval(c)
	if err != nil {
		return val{}, err
	}
	c.env.set(n.name, v)
	return v, nil
}

func (n *unaryNode) eval(c *ctx) (val, error) {
	v, err := n.x.eval(c)
	if err != nil {
		return val{}, err
	}
	switch n.op {
	case "!":
		b, err := c.truth(v, n.x.pos())
		return boolVal(!b), err
	case "-":
		if !v.isNumber() {
			return val{}, c.errAt(n.p, "cannot negate %s", describe(v))
		}
		return negate(val{k: v.k, i: v.i, f: v.f}), nil
	}
	if !v.isNumber() {
		return val{}, c.errAt(n.p, "unary + needs a number, got %s", describe(v))
	}
	return val{k: v.k, i: v.i, f: v.f}, nil
}

// describe names a value and its type for error messages.
func describe(v val) string {
	switch v.k {
	case kNull:
		return "null (a missing or empty column?)"
	case kString:
		s := v.s
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("String %q", s)
	case kList:
		return "a List"
	}
	return fmt.Sprintf("%s %s", v.k, v.text())
}

// truth converts a condition to boolean. Like SpEL's conversion service it
// accepts the strings "true" and "false" (any case).
func (c *ctx) truth(v val, pos int) (bool, error) {
	switch {
	case v.k == kBool:
		return v.b, nil
	case v.k == kString && strings.EqualFold(v.s, "true"):
		return true, nil
	case v.k == kString && strings.EqualFold(v.s, "false"):
		return false, nil
	}
	return false, c.errAt(pos, "expected a boolean condition, got %s", describe(v))
}

func (n *logicNode) eval(c *ctx) (val, error) {
	l, err := n.l.eval(c)
	if err != nil {
		return val{}, err
	}
	lb, err := c.truth(l, n.l.pos())
	if err != nil {
		return val{}, err
	}
	if lb != n.and { // short circuit: false && …, true || …
		return boolVal(lb), nil
	}
	r, err := n.r.eval(c)
	if err != nil {
		return val{}, err
	}
	rb, err := c.truth(r, n.r.pos())
	return boolVal(rb), err
}

func (n *ternaryNode) eval(c *ctx) (val, error) {
	cv, err := n.c.eval(c)
	if err != nil {
		return val{}, err
	}
	b, err := c.truth(cv, n.c.pos())
	if err != nil {
		return val{}, err
	}
	if b {
		return n.a.eval(c)
	}
	return n.b.eval(c)
}

// elvisNode: SpEL's a ?: b yields b when a is null or an empty String.
func (n *elvisNode) eval(c *ctx) (val, error) {
	a, err := n.a.eval(c)
	if err != nil {
		return val{}, err
	}
	if a.k == kNull || a.k == kString && a.s == "" {
		return n.b.eval(c)
	}
	return a, nil
}

func (n *listNode) eval(c *ctx) (val, error) {
	l := make([]val, len(n.elems))
	for i, e := range n.elems {
		v, err := e.eval(c)
		if err != nil {
			return val{}, err
		}
		l[i] = v
	}
	return val{k: kList, list: l}, nil
}

func (n *indexNode) eval(c *ctx) (val, error) {
	x, err := n.x.eval(c)
	if err != nil {
		return val{}, err
	}
	iv, err := n.idx.eval(c)
	if err != nil {
		return val{}, err
	}
	if iv.k != kInt && iv.k != kLong {
		return val{}, c.errAt(n.idx.pos(), "an index must be an integer, got %s", describe(iv))
	}
	i := iv.i
	switch {
	case x.k == kList:
		if i < 0 || i >= int64(len(x.list)) {
			return val{}, c.errAt(n.p, "index %d out of bounds for a list of size %d", i, len(x.list))
		}
		return x.list[i], nil
	case x.k == kString || x.fromCol:
		u := utf16Of(x.text())
		if i < 0 || i >= int64(len(u)) {
			return val{}, c.errAt(n.p, "index %d out of bounds for a string of length %d", i, len(u))
		}
		return strVal(fromUTF16(u[i : i+1])), nil
	}
	return val{}, c.errAt(n.p, "cannot index %s", describe(x))
}

func (n *matchNode) eval(c *ctx) (val, error) {
	l, err := n.l.eval(c)
	if err != nil {
		return val{}, err
	}
	re := n.re
	if re == nil {
		r, err := n.r.eval(c)
		if err != nil {
			return val{}, err
		}
		if re, err = regexp.Compile(`^(?:` + r.text() + `)$`); err != nil {
			return val{}, c.errAt(n.r.pos(), "invalid regular expression %q: %v", r.text(), err)
		}
	}
	if l.k == kNull {
		return val{}, c.errAt(n.l.pos(), "matches on null (a missing or empty column?)")
	}
	return boolVal(re.MatchString(l.text())), nil
}

func (n *base64Node) eval(c *ctx) (val, error) {
	v, err := n.x.eval(c)
	if err != nil {
		return val{}, err
	}
	return strVal(base64.StdEncoding.EncodeToString([]byte(v.text()))), nil
}

// sumNode adds its operand over every row of the group (legacy sum{}), with
// exact decimal arithmetic so that 0.1 + 0.2 is 0.3, then rounds half-up to
// 2 decimals. Empty cells are skipped. The result is an integer value when
// the rounded sum is whole, else a double.
func (n *sumNode) eval(c *ctx) (val, error) {
	rows := c.group
	if rows == nil {
		rows = []Row{c.row}
	}
	total := new(big.Rat)
	for i, r := range rows {
		sub := ctx{src: c.src, row: r, env: c.env}
		v, err := n.x.eval(&sub)
		if err != nil {
			return val{}, err
		}
		if v.k == kNull {
			continue
		}
		if !v.isNumber() {
			return val{}, c.errAt(n.p, "sum{} needs numbers, but row %d has %s", i+1, describe(v))
		}
		q, ok := exactRat(v)
		if !ok {
			return val{}, c.errAt(n.p, "sum{} cannot add %s", describe(v))
		}
		total.Add(total, q)
	}
	return roundRat2(total), nil
}

func exactRat(v val) (*big.Rat, bool) {
	if v.fromCol {
		return new(big.Rat).SetString(v.s)
	}
	if v.k == kDouble {
		if math.IsInf(v.f, 0) || math.IsNaN(v.f) {
			return nil, false
		}
		// Use the shortest decimal form, as a user reads the number.
		return new(big.Rat).SetString(javaDoubleDecimal(v.f))
	}
	return new(big.Rat).SetInt64(v.i), true
}

// javaDoubleDecimal is the shortest round-trip decimal text of f.
func javaDoubleDecimal(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// roundRat2 rounds half away from zero to 2 decimals.
func roundRat2(r *big.Rat) val {
	scaled := new(big.Rat).Mul(r, big.NewRat(100, 1))
	num, den := scaled.Num(), scaled.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
	if twice.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	hundred := big.NewInt(100)
	whole, frac := new(big.Int).QuoRem(q, hundred, new(big.Int))
	if frac.Sign() == 0 && whole.IsInt64() {
		w := whole.Int64()
		if w >= math.MinInt32 && w <= math.MaxInt32 {
			return intVal(int32(w))
		}
		return longVal(w)
	}
	f, _ := new(big.Rat).SetFrac(q, hundred).Float64()
	return doubleVal(f)
}

// ---- binary operators with Java numeric promotion ----

func (n *binNode) eval(c *ctx) (val, error) {
	l, err := n.l.eval(c)
	if err != nil {
		return val{}, err
	}
	r, err := n.r.eval(c)
	if err != nil {
		return val{}, err
	}
	switch n.op {
	case "==":
		return boolVal(equal(l, r)), nil
	case "!=":
		return boolVal(!equal(l, r)), nil
	case "<", "<=", ">", ">=":
		cmp, ok := compare(l, r)
		if !ok {
			return val{}, c.errAt(n.p, "cannot compare %s with %s", describe(l), describe(r))
		}
		switch n.op {
		case "<":
			return boolVal(cmp < 0), nil
		case "<=":
			return boolVal(cmp <= 0), nil
		case ">":
			return boolVal(cmp > 0), nil
		}
		return boolVal(cmp >= 0), nil
	case "+":
		if l.isNumber() && r.isNumber() {
			return arith(c, n, l, r)
		}
		if l.k == kString || r.k == kString {
			return strVal(l.text() + r.text()), nil
		}
		return val{}, c.errAt(n.p, "cannot add %s and %s", describe(l), describe(r))
	case "*":
		// SpEL: 'ab' * 3 repeats the string.
		if l.k == kString && (r.k == kInt || r.k == kLong) && !r.fromCol {
			if r.i < 0 || r.i*int64(len(l.s)) > 1<<20 {
				return val{}, c.errAt(n.p, "cannot repeat a string %d times", r.i)
			}
			return strVal(strings.Repeat(l.s, int(r.i))), nil
		}
	}
	if !l.isNumber() || !r.isNumber() {
		bad := l
		if l.isNumber() {
			bad = r
		}
		return val{}, c.errAt(n.p, "operator %s needs numbers, got %s", n.op, describe(bad))
	}
	return arith(c, n, l, r)
}

func arith(c *ctx, n *binNode, l, r val) (val, error) {
	if n.op == "^" {
		return power(c, n, l, r)
	}
	if l.k == kDouble || r.k == kDouble {
		a, b := l.float(), r.float()
		switch n.op {
		case "+":
			return doubleVal(a + b), nil
		case "-":
			return doubleVal(a - b), nil
		case "*":
			return doubleVal(a * b), nil
		case "/":
			if b == 0 {
				return val{}, c.errAt(n.p, "division by zero")
			}
			return doubleVal(a / b), nil
		case "%":
			if b == 0 {
				return val{}, c.errAt(n.p, "remainder by zero")
			}
			return doubleVal(math.Mod(a, b)), nil
		}
	}
	a, b := l.i, r.i
	var res int64
	switch n.op {
	case "+":
		res = a + b
	case "-":
		res = a - b
	case "*":
		res = a * b
	case "/", "%":
		if b == 0 {
			return val{}, c.errAt(n.p, "division by zero")
		}
		if b == -1 { // avoid the MinInt64 / -1 trap; Java wraps
			if n.op == "/" {
				res = -a
			}
		} else if n.op == "/" {
			res = a / b // truncates toward zero, as Java
		} else {
			res = a % b // sign of the dividend, as Java
		}
	}
	if l.k == kInt && r.k == kInt {
		return intVal(int32(res)), nil // 32-bit wrap-around, as Java int
	}
	return longVal(res), nil
}

// power follows SpEL's ^: integers give an int (or a long when the result
// does not fit), anything else a double.
func power(c *ctx, n *binNode, l, r val) (val, error) {
	if l.k != kDouble && r.k != kDouble && r.i >= 0 {
		res, ok := ipow(l.i, r.i)
		if ok {
			if l.k == kInt && r.k == kInt && res >= math.MinInt32 && res <= math.MaxInt32 {
				return intVal(int32(res)), nil
			}
			return longVal(res), nil
		}
	}
	return doubleVal(math.Pow(l.float(), r.float())), nil
}

func ipow(b, e int64) (int64, bool) {
	res := int64(1)
	for range e {
		if b != 0 && (res > math.MaxInt64/abs64(b) || res < math.MinInt64/abs64(b)) {
			return 0, false
		}
		res *= b
		if res == 0 || res == 1 && b == 1 {
			break
		}
	}
	return res, true
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// equal is SpEL's ==: numbers by value across int/long/double, strings by
// content, and a column value against a String by its text (so a code
// column "007" equals '007').
func equal(l, r val) bool {
	switch {
	case l.k == kNull || r.k == kNull:
		return l.k == r.k
	case l.isNumber() && r.isNumber():
		if l.k == kDouble || r.k == kDouble {
			return l.float() == r.float()
		}
		return l.i == r.i
	case l.k == kString && (r.k == kString || r.fromCol), r.k == kString && l.fromCol:
		return l.text() == r.text()
	case l.k == kBool && r.k == kBool:
		return l.b == r.b
	case l.k == kList && r.k == kList:
		if len(l.list) != len(r.list) {
			return false
		}
		for i := range l.list {
			if !equal(l.list[i], r.list[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// compare orders like SpEL's StandardTypeComparator: null sorts first,
// numbers by value, strings lexicographically (by UTF-16 units, as Java's
// compareTo), booleans false < true.
func compare(l, r val) (int, bool) {
	switch {
	case l.k == kNull && r.k == kNull:
		return 0, true
	case l.k == kNull:
		return -1, true
	case r.k == kNull:
		return 1, true
	case l.isNumber() && r.isNumber():
		if l.k == kDouble || r.k == kDouble {
			a, b := l.float(), r.float()
			switch {
			case a < b:
				return -1, true
			case a > b:
				return 1, true
			}
			return 0, true
		}
		switch {
		case l.i < r.i:
			return -1, true
		case l.i > r.i:
			return 1, true
		}
		return 0, true
	case l.k == kString && (r.k == kString || r.fromCol), r.k == kString && l.fromCol:
		return compareUTF16(l.text(), r.text()), true
	case l.k == kBool && r.k == kBool:
		switch {
		case l.b == r.b:
			return 0, true
		case !l.b:
			return -1, true
		}
		return 1, true
	}
	return 0, false
}
