package nifiel

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/connectplus/connectplus/lang/javatime"
)

// env is the evaluation context. It is passed by value so that evaluating
// never allocates it on the heap.
type env struct {
	attrs  Lookup
	cfg    *config
	seq    *atomic.Int64
	item   string // current value of a multi-attribute iteration
	itemOK bool
	depth  int // evaluateELString nesting
}

// node is a compiled expression. kind is its static type.
type node interface {
	kind() Type
	eval(e env) (Value, error)
}

// strNode is a node of static type String with an allocation-free accessor.
// ok is false for null.
type strNode interface {
	node
	str(e env) (s string, ok bool, err error)
}

// boolNode is a node of static type Boolean. ok is false for null.
type boolNode interface {
	node
	boolean(e env) (b bool, ok bool, err error)
}

// site identifies a function call for error messages.
type site struct {
	name string
	pos  int
}

func (s site) fail(err error) error {
	return &EvalError{Func: s.name, Offset: s.pos, Err: err}
}

func (s site) failf(format string, args ...any) error {
	return s.fail(fmt.Errorf(format, args...))
}

// sNode is a String node built from a closure.
type sNode struct {
	fn func(e env) (string, bool, error)
}

func (n *sNode) kind() Type                                 { return TypeString }
func (n *sNode) str(e env) (string, bool, error)            { return n.fn(e) }
func (n *sNode) eval(e env) (Value, error)                  { return strValue(n.fn(e)) }
func strNodeOf(fn func(e env) (string, bool, error)) *sNode { return &sNode{fn: fn} }

func strValue(s string, ok bool, err error) (Value, error) {
	if err != nil || !ok {
		return Null, err
	}
	return StringValue(s), nil
}

// bNode is a Boolean node built from a closure.
type bNode struct {
	fn func(e env) (bool, bool, error)
}

func (n *bNode) kind() Type                                { return TypeBoolean }
func (n *bNode) boolean(e env) (bool, bool, error)         { return n.fn(e) }
func boolNodeOf(fn func(e env) (bool, bool, error)) *bNode { return &bNode{fn: fn} }

func (n *bNode) eval(e env) (Value, error) {
	b, ok, err := n.fn(e)
	if err != nil || !ok {
		return Null, err
	}
	return BoolValue(b), nil
}

// vNode is a node of any other static type.
type vNode struct {
	t  Type
	fn func(e env) (Value, error)
}

func (n *vNode) kind() Type                { return n.t }
func (n *vNode) eval(e env) (Value, error) { return n.fn(e) }

// constNode is a literal.
type constNode struct {
	v Value
	s string
}

func (n *constNode) kind() Type                      { return n.v.t }
func (n *constNode) eval(env) (Value, error)         { return n.v, nil }
func (n *constNode) str(env) (string, bool, error)   { return n.s, !n.v.IsNull(), nil }
func (n *constNode) boolean(env) (bool, bool, error) { return n.v.i != 0, !n.v.IsNull(), nil }
func constString(s string) *constNode                { return &constNode{v: StringValue(s), s: s} }
func constOf(v Value) *constNode                     { return &constNode{v: v, s: v.String()} }
func isConst(n node) bool                            { _, ok := n.(*constNode); return ok }

// nullString is the null literal: a String node without a value.
type nullString struct{}

func (nullString) kind() Type                    { return TypeString }
func (nullString) eval(env) (Value, error)       { return Null, nil }
func (nullString) str(env) (string, bool, error) { return "", false, nil }

// attrNode reads an attribute.
type attrNode struct{ name string }

func (n *attrNode) kind() Type { return TypeString }
func (n *attrNode) str(e env) (string, bool, error) {
	s, ok := e.attrs.Get(n.name)
	return s, ok, nil
}
func (n *attrNode) eval(e env) (Value, error) { return strValue(n.str(e)) }

// itemNode is the subject of a multi-attribute iteration.
type itemNode struct{}

func (itemNode) kind() Type                      { return TypeString }
func (itemNode) str(e env) (string, bool, error) { return e.item, e.itemOK, nil }
func (n itemNode) eval(e env) (Value, error)     { return strValue(n.str(e)) }

// ---- coercions, following NiFi's ExpressionCompiler ----

// toStr converts any node to a String node (StringCastEvaluator).
func toStr(n node) strNode {
	if sn, ok := n.(strNode); ok && n.kind() == TypeString {
		return sn
	}
	if c, ok := n.(*constNode); ok {
		return constString(c.s)
	}
	return strNodeOf(func(e env) (string, bool, error) {
		v, err := n.eval(e)
		if err != nil || v.IsNull() {
			return "", false, err
		}
		return v.String(), true, nil
	})
}

type typeError struct {
	from, to Type
}

func (t typeError) Error() string {
	return fmt.Sprintf("cannot implicitly convert data type %s to %s", t.from, t.to)
}

// toBool converts a Boolean or String node (BooleanCastEvaluator).
func toBool(n node) (boolNode, error) {
	switch n.kind() {
	case TypeBoolean:
		if bn, ok := n.(boolNode); ok {
			return bn, nil
		}
		return boolNodeOf(func(e env) (bool, bool, error) {
			v, err := n.eval(e)
			b, ok := v.Bool()
			return b, ok, err
		}), nil
	case TypeString:
		sn := toStr(n)
		return boolNodeOf(func(e env) (bool, bool, error) {
			s, ok, err := sn.str(e)
			if err != nil || !ok {
				return false, false, err
			}
			return strings.EqualFold(javaTrim(s), "true"), true, nil
		}), nil
	}
	return nil, typeError{n.kind(), TypeBoolean}
}

// numberKind classifies text as NiFi's NumberParsing does.
type numberKind uint8

const (
	notNumber numberKind = iota
	wholeNumber
	decimalNumber
)

// parseNumber parses trimmed text as a whole number (decimal or 0x hex) or a
// Java double literal. ok is false when a whole number does not fit a long.
func parseNumber(s string) (Value, numberKind, error) {
	t := javaTrim(s)
	if isWholeText(t) {
		if v, err := strconv.ParseInt(t, 10, 64); err == nil {
			return NumberValue(v), wholeNumber, nil
		}
		if v, ok := parseHexLong(t); ok {
			return NumberValue(v), wholeNumber, nil
		}
		return Null, wholeNumber, fmt.Errorf("number %q is out of range of a long", t)
	}
	if isDecimalText(t) {
		f, err := parseJavaDouble(t)
		if err != nil {
			return Null, notNumber, nil
		}
		return DecimalValue(f), decimalNumber, nil
	}
	return Null, notNumber, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func isWholeText(t string) bool {
	if t == "" {
		return false
	}
	if t[0] == '-' || t[0] == '+' {
		t = t[1:]
	}
	if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		for i := 2; i < len(t); i++ {
			if !isHex(t[i]) {
				return false
			}
		}
		return true
	}
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func parseHexLong(t string) (int64, bool) {
	neg := false
	if t[0] == '-' || t[0] == '+' {
		neg = t[0] == '-'
		t = t[1:]
	}
	u, err := strconv.ParseUint(t[2:], 16, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// isDecimalText matches Java floating-point literals in base 10 plus NaN and
// Infinity, as NumberParsing's DOUBLE_PATTERN does.
func isDecimalText(t string) bool {
	if t == "" {
		return false
	}
	if t[0] == '-' || t[0] == '+' {
		t = t[1:]
	}
	if t == "NaN" || t == "Infinity" {
		return true
	}
	if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		return isHexFloatText(t[2:])
	}
	i := 0
	digits := func() int {
		s := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		return i - s
	}
	intDigits := digits()
	fracDigits := 0
	hasDot := false
	if i < len(t) && t[i] == '.' {
		hasDot = true
		i++
		fracDigits = digits()
	}
	hasExp := false
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
		hasExp = true
	}
	if i != len(t) {
		return false
	}
	switch {
	case intDigits > 0 && hasDot && fracDigits > 0:
		return true
	case intDigits > 0 && hasExp && (!hasDot || fracDigits > 0):
		return true
	case intDigits == 0 && hasDot && fracDigits > 0:
		return true
	}
	return false
}

// isHexFloatText matches the hexadecimal alternatives of NumberParsing's
// DOUBLE_PATTERN after the 0x: digits with an optional '.' and fraction
// and a binary exponent, or a fraction alone with an optional exponent.
func isHexFloatText(t string) bool {
	i := 0
	hexDigits := func() int {
		s := i
		for i < len(t) && isHex(t[i]) {
			i++
		}
		return i - s
	}
	intDigits := hexDigits()
	fracDigits := -1
	if i < len(t) && t[i] == '.' {
		i++
		fracDigits = hexDigits()
	}
	hasExp := false
	if i < len(t) && (t[i] == 'p' || t[i] == 'P') {
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		s := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if i == s {
			return false
		}
		hasExp = true
	}
	if i != len(t) {
		return false
	}
	if intDigits > 0 {
		return hasExp
	}
	return fracDigits > 0
}

// parseJavaDouble is Double.parseDouble for text isDecimalText accepted:
// decimal and hexadecimal literals with optional sign, NaN and Infinity.
func parseJavaDouble(t string) (float64, error) {
	body := strings.TrimLeft(t, "+-")
	neg := strings.HasPrefix(t, "-")
	var f float64
	switch body {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		f = math.Inf(1)
	default:
		var err error
		f, err = strconv.ParseFloat(body, 64)
		if err != nil && !isRangeErr(err) {
			return 0, err
		}
	}
	if neg {
		f = -f
	}
	return f, nil
}

// javaTrim removes leading and trailing characters <= ' ', as String.trim does.
func javaTrim(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	return s[i:j]
}

// javaToLong converts a double as Java's (long) cast does.
func javaToLong(f float64) int64 {
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

// toNum converts to a whole number or decimal (NumberCastEvaluator).
func toNum(n node) (node, error) {
	switch n.kind() {
	case TypeNumber, TypeDecimal, typeAnyNumber:
		return n, nil
	case TypeBoolean:
		return nil, typeError{TypeBoolean, TypeNumber}
	}
	return &vNode{t: typeAnyNumber, fn: func(e env) (Value, error) {
		v, err := n.eval(e)
		if err != nil {
			return Null, err
		}
		return castNum(v)
	}}, nil
}

func castNum(v Value) (Value, error) {
	switch v.t {
	case TypeNumber, TypeDecimal, TypeNull:
		return v, nil
	case TypeString:
		nv, _, err := parseNumber(v.s)
		return nv, err
	case TypeDate:
		return NumberValue(v.i), nil
	case TypeInstant:
		return NumberValue(v.i*1000 + int64(v.n)/1e6), nil
	}
	return Null, nil
}

// toWhole converts to a whole number (WholeNumberCastEvaluator).
func toWhole(n node) (node, error) {
	switch n.kind() {
	case TypeNumber:
		return n, nil
	case TypeBoolean:
		return nil, typeError{TypeBoolean, TypeNumber}
	}
	if c, ok := n.(*constNode); ok {
		v, err := castWhole(c.v)
		if err != nil {
			return nil, err
		}
		return constOf(v), nil
	}
	return &vNode{t: TypeNumber, fn: func(e env) (Value, error) {
		v, err := n.eval(e)
		if err != nil {
			return Null, err
		}
		return castWhole(v)
	}}, nil
}

func castWhole(v Value) (Value, error) {
	v, err := castNum(v)
	if err != nil || v.t != TypeDecimal {
		return v, err
	}
	return NumberValue(javaToLong(v.f)), nil
}

// toDec converts to a decimal (DecimalCastEvaluator).
func toDec(n node) (node, error) {
	switch n.kind() {
	case TypeDecimal:
		return n, nil
	case TypeBoolean:
		return nil, typeError{TypeBoolean, TypeDecimal}
	}
	return &vNode{t: TypeDecimal, fn: func(e env) (Value, error) {
		v, err := n.eval(e)
		if err != nil {
			return Null, err
		}
		v, err = castNum(v)
		if err != nil || v.t != TypeNumber {
			return v, err
		}
		return DecimalValue(float64(v.i)), nil
	}}, nil
}

var (
	altDateLayout       = javatime.MustCompile("yyyy/MM/dd HH:mm:ss")
	altDateMillisLayout = javatime.MustCompile("yyyy/MM/dd HH:mm:ss.SSS")
)

// toDate converts to a Date (DateCastEvaluator): numbers are epoch
// milliseconds, and text may be digits, Date.toString output or
// "yyyy/MM/dd HH:mm:ss[.SSS]".
func toDate(n node) (node, error) {
	switch n.kind() {
	case TypeDate:
		return n, nil
	case TypeBoolean:
		return nil, typeError{TypeBoolean, TypeDate}
	}
	return &vNode{t: TypeDate, fn: func(e env) (Value, error) {
		v, err := n.eval(e)
		if err != nil {
			return Null, err
		}
		return castDate(v, e.cfg.loc)
	}}, nil
}

func castDate(v Value, loc *time.Location) (Value, error) {
	switch v.t {
	case TypeDate, TypeNull:
		return v, nil
	case TypeNumber:
		return dateMillis(v.i, loc), nil
	case TypeDecimal:
		return dateMillis(javaToLong(v.f), loc), nil
	case TypeInstant:
		return dateMillis(v.i*1000+int64(v.n)/1e6, loc), nil
	case TypeString:
		s := javaTrim(v.s)
		if s != "" && isAllDigits(s) {
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return Null, fmt.Errorf("could not convert %q to a date: %w", s, err)
			}
			return dateMillis(ms, loc), nil
		}
		layout := defaultDateLayout
		switch {
		case looksLikeDateToString(s):
		case looksLikeAltDate(s, false):
			layout = altDateLayout
		case looksLikeAltDate(s, true):
			layout = altDateMillisLayout
		default:
			return Null, fmt.Errorf("could not implicitly convert input to Date: %q", s)
		}
		t, err := layout.ParseExact(s, loc)
		if err != nil {
			return Null, fmt.Errorf("could not parse %q as a date: %w", s, err)
		}
		return dateMillis(t.UnixMilli(), loc), nil
	}
	return Null, nil
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// looksLikeDateToString matches "EEE MMM dd HH:mm:ss zzz yyyy".
func looksLikeDateToString(s string) bool {
	f := strings.Fields(s)
	return len(f) == 6 && len(f[0]) == 3 && len(f[1]) == 3 && len(f[2]) == 2 && len(f[3]) == 8 && len(f[5]) == 4
}

// looksLikeAltDate matches yyyy/MM/dd HH:mm:ss with or without .SSS.
func looksLikeAltDate(s string, millis bool) bool {
	const shape = "dddd/dd/dd dd:dd:dd"
	want := shape
	if millis {
		want += ".ddd"
	}
	if len(s) != len(want) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if want[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != want[i] {
			return false
		}
	}
	return true
}

// ---- Java string helpers: Java indexes strings by UTF-16 code unit ----

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func javaLen(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// javaSubstring returns s[start:end] in UTF-16 units; the indexes must be valid.
func javaSubstring(s string, start, end int) string {
	if isASCII(s) {
		return s[start:end]
	}
	u := utf16.Encode([]rune(s))
	return string(utf16.Decode(u[start:end]))
}

// javaIndex converts a byte index in s to a UTF-16 index.
func javaIndex(s string, byteIdx int) int {
	if byteIdx < 0 {
		return byteIdx
	}
	return javaLen(s[:byteIdx])
}
