package spel

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

// knownMethods lists every instance method the evaluator implements, so an
// unknown name is a compile error rather than a failure on the first row.
var knownMethods = map[string]bool{
	// java.lang.String
	"concat": true, "startsWith": true, "endsWith": true, "substring": true, "length": true,
	"equals": true, "equalsIgnoreCase": true, "toUpperCase": true, "toLowerCase": true,
	"contains": true, "trim": true, "strip": true, "replace": true, "replaceAll": true,
	"replaceFirst": true, "indexOf": true, "lastIndexOf": true, "isEmpty": true, "isBlank": true,
	"split": true, "charAt": true, "matches": true, "compareTo": true, "compareToIgnoreCase": true,
	"toString": true, "repeat": true,
	// java.lang.Number
	"intValue": true, "longValue": true, "doubleValue": true,
	// java.util.List
	"size": true, "get": true,
}

type arity struct{ min, max int }

func (a arity) arity() string {
	if a.min == a.max {
		return strconv.Itoa(a.min)
	}
	return strconv.Itoa(a.min) + "-" + strconv.Itoa(a.max)
}

var staticMethods = map[string]arity{
	"Math.floor": {1, 1}, "Math.ceil": {1, 1}, "Math.round": {1, 1}, "Math.abs": {1, 1},
	"Math.max": {2, 2}, "Math.min": {2, 2}, "Math.pow": {2, 2}, "Math.sqrt": {1, 1},
	"Integer.parseInt": {1, 1}, "Integer.valueOf": {1, 1}, "Integer.toString": {1, 1},
	"Long.parseLong": {1, 1}, "Long.valueOf": {1, 1}, "Long.toString": {1, 1},
	"Double.parseDouble": {1, 1}, "Double.valueOf": {1, 1}, "Double.toString": {1, 1},
	"String.valueOf":       {1, 1},
	"Boolean.parseBoolean": {1, 1}, "Boolean.valueOf": {1, 1},
}

func utf16Of(s string) []uint16 { return utf16.Encode([]rune(s)) }

func fromUTF16(u []uint16) string { return string(utf16.Decode(u)) }

func compareUTF16(a, b string) int {
	ua, ub := utf16Of(a), utf16Of(b)
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			return int(ua[i]) - int(ub[i])
		}
	}
	return len(ua) - len(ub)
}

func (n *methodNode) eval(c *ctx) (val, error) {
	recv, err := n.recv.eval(c)
	if err != nil {
		return val{}, err
	}
	if recv.k == kNull {
		if n.safe {
			return nullVal, nil
		}
		return val{}, c.errAt(n.p, "cannot call %s() on null (a missing or empty column?); guard it with != null or ?:", n.name)
	}
	args := make([]val, len(n.args))
	for i, a := range n.args {
		if args[i], err = a.eval(c); err != nil {
			return val{}, err
		}
	}
	m := call{c: c, n: n, args: args}
	switch {
	case recv.k == kList:
		return m.list(recv.list)
	case recv.isNumber():
		if v, ok, err := m.number(recv); ok || err != nil {
			return v, err
		}
	case recv.k == kBool && n.name == "equals":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		return boolVal(args[0].k == kBool && args[0].b == recv.b), nil
	}
	// Everything else works on the text, which also makes String methods
	// usable on numeric columns ('0050'.length() is 4, not a type error).
	return m.str(recv)
}

// call carries one method invocation for the helpers below.
type call struct {
	c    *ctx
	n    *methodNode
	args []val
}

func (m call) want(lo int, hi ...int) error {
	max := lo
	if len(hi) > 0 {
		max = hi[0]
	}
	if len(m.args) < lo || len(m.args) > max {
		return m.c.errAt(m.n.p, "%s() takes %s argument(s), got %d", m.n.name, arity{lo, max}.arity(), len(m.args))
	}
	return nil
}

// intArg returns argument i as an int index.
func (m call) intArg(i int) (int, error) {
	a := m.args[i]
	if a.k == kInt || a.k == kLong {
		if a.i < math.MinInt32 || a.i > math.MaxInt32 {
			return 0, m.c.errAt(m.n.p, "argument %d of %s() is out of range", i+1, m.n.name)
		}
		return int(a.i), nil
	}
	return 0, m.c.errAt(m.n.p, "argument %d of %s() must be an integer, got %s", i+1, m.n.name, describe(a))
}

func (m call) strArg(i int) (string, error) {
	a := m.args[i]
	if a.k == kNull {
		return "", m.c.errAt(m.n.p, "argument %d of %s() is null (a missing or empty column?)", i+1, m.n.name)
	}
	if a.k == kList {
		return "", m.c.errAt(m.n.p, "argument %d of %s() must be a String, got a List", i+1, m.n.name)
	}
	return a.text(), nil
}

func (m call) regexArg(i int) (*regexp.Regexp, error) {
	s, err := m.strArg(i)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, m.c.errAt(m.n.p, "invalid regular expression %q in %s(): %v", s, m.n.name, err)
	}
	return re, nil
}

func (m call) list(l []val) (val, error) {
	switch m.n.name {
	case "contains", "indexOf":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		for i, e := range l {
			if javaEquals(e, m.args[0]) {
				if m.n.name == "indexOf" {
					return intVal(int32(i)), nil
				}
				return boolVal(true), nil
			}
		}
		if m.n.name == "indexOf" {
			return intVal(-1), nil
		}
		return boolVal(false), nil
	case "size":
		return intVal(int32(len(l))), m.want(0)
	case "isEmpty":
		return boolVal(len(l) == 0), m.want(0)
	case "get":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		i, err := m.intArg(0)
		if err != nil {
			return val{}, err
		}
		if i < 0 || i >= len(l) {
			return val{}, m.c.errAt(m.n.p, "index %d out of bounds for a list of size %d", i, len(l))
		}
		return l[i], nil
	case "toString":
		return strVal(val{k: kList, list: l}.text()), m.want(0)
	case "equals":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		return boolVal(equal(val{k: kList, list: l}, m.args[0])), nil
	}
	return val{}, m.c.errAt(m.n.p, "a List has no method %s()", m.n.name)
}

// javaEquals is Object.equals as a user means it: numbers by value,
// strings (and column texts) by content.
func javaEquals(a, b val) bool {
	if a.isNumber() && b.isNumber() {
		return equal(a, b)
	}
	if (a.k == kString || a.fromCol) && (b.k == kString || b.fromCol) {
		return a.text() == b.text()
	}
	return equal(a, b)
}

// number handles java.lang.Number methods; ok is false for String methods.
func (m call) number(v val) (val, bool, error) {
	switch m.n.name {
	case "intValue":
		if v.k == kDouble {
			return intVal(int32(javaD2L(v.f))), true, m.want(0)
		}
		return intVal(int32(v.i)), true, m.want(0)
	case "longValue":
		if v.k == kDouble {
			return longVal(javaD2L(v.f)), true, m.want(0)
		}
		return longVal(v.i), true, m.want(0)
	case "doubleValue":
		return doubleVal(v.float()), true, m.want(0)
	case "equals":
		if err := m.want(1); err != nil {
			return val{}, true, err
		}
		return boolVal(javaEquals(v, m.args[0])), true, nil
	case "compareTo":
		if err := m.want(1); err != nil {
			return val{}, true, err
		}
		if m.args[0].isNumber() {
			cmp, _ := compare(v, m.args[0])
			return intVal(int32(cmp)), true, nil
		}
	}
	return val{}, false, nil
}

// javaD2L converts like Java's (long) cast: truncation, NaN to 0, saturation.
func javaD2L(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

func (m call) str(recv val) (val, error) {
	s := recv.text()
	switch m.n.name {
	case "length":
		return intVal(int32(len(utf16Of(s)))), m.want(0)
	case "isEmpty":
		return boolVal(s == ""), m.want(0)
	case "isBlank":
		return boolVal(strings.TrimSpace(s) == ""), m.want(0)
	case "toUpperCase":
		return strVal(strings.ToUpper(s)), m.want(0)
	case "toLowerCase":
		return strVal(strings.ToLower(s)), m.want(0)
	case "trim":
		// Java's trim removes every character <= U+0020 at both ends.
		return strVal(strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })), m.want(0)
	case "strip":
		return strVal(strings.TrimSpace(s)), m.want(0)
	case "toString":
		return strVal(s), m.want(0)
	case "concat":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		return strVal(s + m.args[0].text()), nil
	case "equals":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		return boolVal(javaEquals(recv, m.args[0])), nil
	case "equalsIgnoreCase":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		a := m.args[0]
		return boolVal(a.k != kNull && a.k != kList && strings.EqualFold(s, a.text())), nil
	case "startsWith", "endsWith", "contains":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		p, err := m.strArg(0)
		if err != nil {
			return val{}, err
		}
		switch m.n.name {
		case "startsWith":
			return boolVal(strings.HasPrefix(s, p)), nil
		case "endsWith":
			return boolVal(strings.HasSuffix(s, p)), nil
		}
		return boolVal(strings.Contains(s, p)), nil
	case "substring":
		return m.substring(s)
	case "charAt":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		i, err := m.intArg(0)
		if err != nil {
			return val{}, err
		}
		u := utf16Of(s)
		if i < 0 || i >= len(u) {
			return val{}, m.c.errAt(m.n.p, "charAt(%d) out of bounds for length %d", i, len(u))
		}
		return strVal(fromUTF16(u[i : i+1])), nil
	case "indexOf", "lastIndexOf":
		return m.indexOf(s)
	case "replace":
		if err := m.want(2); err != nil {
			return val{}, err
		}
		a, err := m.strArg(0)
		if err != nil {
			return val{}, err
		}
		b, err := m.strArg(1)
		if err != nil {
			return val{}, err
		}
		// An empty target inserts b between every char in Java and in Go.
		return strVal(strings.ReplaceAll(s, a, b)), nil
	case "replaceAll", "replaceFirst":
		if err := m.want(2); err != nil {
			return val{}, err
		}
		re, err := m.regexArg(0)
		if err != nil {
			return val{}, err
		}
		repl, err := m.strArg(1)
		if err != nil {
			return val{}, err
		}
		tmpl := javaReplacement(repl)
		if m.n.name == "replaceAll" {
			return strVal(re.ReplaceAllString(s, tmpl)), nil
		}
		loc := re.FindStringSubmatchIndex(s)
		if loc == nil {
			return strVal(s), nil
		}
		out := re.ExpandString(nil, tmpl, s, loc)
		return strVal(s[:loc[0]] + string(out) + s[loc[1]:]), nil
	case "matches":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		p, err := m.strArg(0)
		if err != nil {
			return val{}, err
		}
		re, err := regexp.Compile(`^(?:` + p + `)$`)
		if err != nil {
			return val{}, m.c.errAt(m.n.p, "invalid regular expression %q in matches(): %v", p, err)
		}
		return boolVal(re.MatchString(s)), nil
	case "split":
		return m.split(s)
	case "compareTo", "compareToIgnoreCase":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		o, err := m.strArg(0)
		if err != nil {
			return val{}, err
		}
		if m.n.name == "compareToIgnoreCase" {
			s, o = strings.ToLower(s), strings.ToLower(o)
		}
		return intVal(int32(compareUTF16(s, o))), nil
	case "repeat":
		if err := m.want(1); err != nil {
			return val{}, err
		}
		k, err := m.intArg(0)
		if err != nil {
			return val{}, err
		}
		if k < 0 || k*len(s) > 1<<20 {
			return val{}, m.c.errAt(m.n.p, "cannot repeat a string %d times", k)
		}
		return strVal(strings.Repeat(s, k)), nil
	}
	return val{}, m.c.errAt(m.n.p, "%s() is not a method of a %s", m.n.name, kindOfText(recv))
}

func kindOfText(v val) string {
	if v.k == kString || v.fromCol {
		return "String"
	}
	return v.k.String()
}

func (m call) substring(s string) (val, error) {
	if err := m.want(1, 2); err != nil {
		return val{}, err
	}
	u := utf16Of(s)
	b, err := m.intArg(0)
	if err != nil {
		return val{}, err
	}
	e := len(u)
	if len(m.args) == 2 {
		if e, err = m.intArg(1); err != nil {
			return val{}, err
		}
	}
	if b < 0 || e > len(u) || b > e {
		return val{}, m.c.errAt(m.n.p, "substring(%d, %d) out of bounds for length %d", b, e, len(u))
	}
	return strVal(fromUTF16(u[b:e])), nil
}

func (m call) indexOf(s string) (val, error) {
	if err := m.want(1, 2); err != nil {
		return val{}, err
	}
	sub, err := m.strArg(0)
	if err != nil {
		return val{}, err
	}
	u, su := utf16Of(s), utf16Of(sub)
	from := 0
	if m.n.name == "lastIndexOf" {
		from = len(u)
	}
	if len(m.args) == 2 {
		if from, err = m.intArg(1); err != nil {
			return val{}, err
		}
	}
	match := func(i int) bool {
		if i < 0 || i+len(su) > len(u) {
			return false
		}
		for j := range su {
			if u[i+j] != su[j] {
				return false
			}
		}
		return true
	}
	if m.n.name == "indexOf" {
		for i := max(from, 0); i+len(su) <= len(u); i++ {
			if match(i) {
				return intVal(int32(i)), nil
			}
		}
		return intVal(-1), nil
	}
	for i := min(from, len(u)-len(su)); i >= 0; i-- {
		if match(i) {
			return intVal(int32(i)), nil
		}
	}
	return intVal(-1), nil
}

// split follows Java's String.split(regex[, limit]): with no (or zero)
// limit, trailing empty strings are removed.
func (m call) split(s string) (val, error) {
	if err := m.want(1, 2); err != nil {
		return val{}, err
	}
	re, err := m.regexArg(0)
	if err != nil {
		return val{}, err
	}
	limit := 0
	if len(m.args) == 2 {
		if limit, err = m.intArg(1); err != nil {
			return val{}, err
		}
	}
	n := -1
	if limit > 0 {
		n = limit
	}
	parts := re.Split(s, n)
	if s != "" && len(parts) > 1 && parts[0] == "" {
		// Java drops a leading empty string only for a zero-width match at 0.
		if loc := re.FindStringIndex(s); loc != nil && loc[0] == 0 && loc[1] == 0 {
			parts = parts[1:]
		}
	}
	if limit == 0 {
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) == 1 && parts[0] == "" && s != "" {
			parts = nil
		}
	}
	l := make([]val, len(parts))
	for i, p := range parts {
		l[i] = strVal(p)
	}
	return val{k: kList, list: l}, nil
}

// javaReplacement turns a Java replacement string ($1, \$) into Go's
// template syntax (${1}, $$).
func javaReplacement(r string) string {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		switch c := r[i]; {
		case c == '\\' && i+1 < len(r):
			i++
			if r[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[i])
			}
		case c == '$' && i+1 < len(r) && isDigit(r[i+1]):
			j := i + 1
			for j < len(r) && isDigit(r[j]) {
				j++
			}
			b.WriteString("${" + r[i+1:j] + "}")
			i = j - 1
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (n *staticNode) eval(c *ctx) (val, error) {
	args := make([]val, len(n.args))
	for i, a := range n.args {
		v, err := a.eval(c)
		if err != nil {
			return val{}, err
		}
		args[i] = v
	}
	num := func(i int) (val, error) {
		if !args[i].isNumber() {
			return val{}, c.errAt(n.p, "%s() needs a number, got %s", n.fn, describe(args[i]))
		}
		return args[i], nil
	}
	text := func(i int) (string, error) {
		if args[i].k == kNull {
			return "", c.errAt(n.p, "%s() got null (a missing or empty column?)", n.fn)
		}
		return args[i].text(), nil
	}
	switch n.fn {
	case "Math.floor", "Math.ceil", "Math.sqrt":
		x, err := num(0)
		if err != nil {
			return val{}, err
		}
		f := map[string]func(float64) float64{"Math.floor": math.Floor, "Math.ceil": math.Ceil, "Math.sqrt": math.Sqrt}[n.fn]
		return doubleVal(f(x.float())), nil
	case "Math.round":
		x, err := num(0)
		if err != nil {
			return val{}, err
		}
		if x.k != kDouble {
			return val{k: x.k, i: x.i}, nil
		}
		// Java: floor(x + 0.5), as a long.
		return longVal(javaD2L(math.Floor(x.f + 0.5))), nil
	case "Math.abs":
		x, err := num(0)
		if err != nil {
			return val{}, err
		}
		switch x.k {
		case kDouble:
			return doubleVal(math.Abs(x.f)), nil
		case kInt:
			return intVal(int32(abs64(x.i))), nil
		}
		return longVal(abs64(x.i)), nil
	case "Math.max", "Math.min", "Math.pow":
		a, err := num(0)
		if err != nil {
			return val{}, err
		}
		b, err := num(1)
		if err != nil {
			return val{}, err
		}
		if n.fn == "Math.pow" {
			return doubleVal(math.Pow(a.float(), b.float())), nil
		}
		cmp, _ := compare(a, b)
		pick := a
		if (n.fn == "Math.max") == (cmp < 0) {
			pick = b
		}
		// Java promotes both arguments to the wider type.
		switch {
		case a.k == kDouble || b.k == kDouble:
			return doubleVal(pick.float()), nil
		case a.k == kLong || b.k == kLong:
			return longVal(pick.i), nil
		}
		return intVal(int32(pick.i)), nil
	case "Integer.parseInt", "Integer.valueOf", "Long.parseLong", "Long.valueOf":
		s, err := text(0)
		if err != nil {
			return val{}, err
		}
		bits := 64
		if strings.HasPrefix(n.fn, "Integer") {
			bits = 32
		}
		i, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return val{}, c.errAt(n.p, "%s(): %q is not a valid %d-bit integer", n.fn, s, bits)
		}
		if bits == 32 {
			return intVal(int32(i)), nil
		}
		return longVal(i), nil
	case "Double.parseDouble", "Double.valueOf":
		s, err := text(0)
		if err != nil {
			return val{}, err
		}
		v, ok := parseNumber(strings.TrimSpace(s))
		if !ok {
			return val{}, c.errAt(n.p, "%s(): %q is not a number", n.fn, s)
		}
		return doubleVal(v.float()), nil
	case "Integer.toString", "Long.toString", "Double.toString":
		x, err := num(0)
		if err != nil {
			return val{}, err
		}
		if n.fn == "Double.toString" {
			return strVal(javaDouble(x.float())), nil
		}
		return strVal(val{k: x.k, i: x.i, f: x.f}.text()), nil
	case "String.valueOf":
		return strVal(args[0].text()), nil
	case "Boolean.parseBoolean", "Boolean.valueOf":
		if args[0].k == kBool {
			return args[0], nil
		}
		return boolVal(strings.EqualFold(args[0].text(), "true")), nil
	}
	return val{}, c.errAt(n.p, "unknown method %s()", n.fn)
}
