package jslt

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/connectplus/connectplus/jsonv"
)

// undefinedT marks a global slot whose query parameter was not supplied, so
// that reading it is an error rather than a silent null (as in the
// reference, where an unknown $variable fails).
type undefinedT struct{ _ byte }

var undefined any = &undefinedT{}

// isTrue is JSLT truthiness (NodeUtils.isTrue): false, null, "", 0, [] and
// {} are false, everything else is true.
func isTrue(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case int64:
		return x != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	case *jsonv.Object:
		return x.Len() > 0
	}
	return true
}

// isValue is the default object filter and fallback() test: null, [] and
// {} are "no value" and are left out of constructed objects.
func isValue(v any) bool {
	// Strings first, by their type word: a type switch of three cases
	// compares type hashes, read from the type descriptor, before the
	// words, and most values built into objects are strings.
	if _, ok := v.(string); ok {
		return true
	}
	return isValueSlow(v)
}

func isValueSlow(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case []any:
		return len(x) > 0
	case *jsonv.Object:
		return x.Len() > 0
	}
	return true
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

// javaInt converts a double the way Java's (int) cast does: truncation,
// saturation at the int range, NaN to 0.
func javaInt(f float64) int {
	switch {
	case f != f:
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int(int32(f))
}

// asInt is Jackson's JsonNode.asInt(): the value as a Java int, 0 when it
// has none.
func asInt(v any) int {
	switch x := v.(type) {
	case int64:
		return int(int32(x))
	case float64:
		return javaInt(x)
	case bool:
		if x {
			return 1
		}
	case string:
		if i, err := strconv.ParseInt(x, 10, 32); err == nil {
			return int(i)
		}
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return javaInt(f)
		}
	}
	return 0
}

// toStr is NodeUtils.toString(v, false): strings as themselves, anything
// else as its JSON text.
func toStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(AppendJSON(nil, v))
}

// lookup returns the value of key in o, or nil. Small objects are scanned
// directly instead of through jsonv's lazily built index, which keeps reads
// of shared objects (parameters used by many goroutines) free of writes.
func lookup(o *jsonv.Object, key string) (any, bool) {
	if len(o.Members) <= 64 {
		for i := range o.Members {
			if o.Members[i].Key == key {
				return o.Members[i].Value, true
			}
		}
		return nil, false
	}
	return o.Get(key)
}

// equal is the == operator (EqualsComparison.equals): numbers compare by
// value, integers exactly; everything else by deep equality.
func equal(a, b any) bool {
	if isNumber(a) && isNumber(b) {
		ai, aok := a.(int64)
		bi, bok := b.(int64)
		if aok && bok {
			return ai == bi
		}
		return toFloat(a) == toFloat(b)
	}
	return deepEqual(a, b)
}

// deepEqual is Jackson's JsonNode.equals: nested numbers are equal only if
// both are integers or both decimals, and object key order is irrelevant.
func deepEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case *jsonv.Object:
		y, ok := b.(*jsonv.Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, m := range x.Members {
			v, ok := lookup(y, m.Key)
			if !ok || !deepEqual(m.Value, v) {
				return false
			}
		}
		return true
	}
	return false
}

// compare orders two values for < <= > >= min() and max()
// (ComparisonOperator.compare): numbers numerically, strings by UTF-16 code
// units as Java does, null below everything; other pairs are an error.
func compare(a, b any, p pos) int {
	if isNumber(a) && isNumber(b) {
		ai, aok := a.(int64)
		bi, bok := b.(int64)
		if aok && bok {
			return cmpInt(ai, bi)
		}
		d := toFloat(a) - toFloat(b)
		switch {
		case d < 0:
			return -1
		case d > 0:
			return 1
		}
		return 0
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return compareUTF16(as, bs)
		}
	}
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	panic(p.errorf("Can't compare %s and %s", toJSONString(a), toJSONString(b)))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareUTF16 is Java's String.compareTo: order by UTF-16 code units.
// It equals byte order except between supplementary characters and
// U+E000..U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, la := utf16Units(ra)
			ub, lb := utf16Units(rb)
			if ua != ub {
				return cmpInt(int64(ua), int64(ub))
			}
			return cmpInt(int64(la), int64(lb))
		}
		a, b = a[na:], b[nb:]
	}
	return cmpInt(int64(len(a)), int64(len(b)))
}

func utf16Units(r rune) (first, second rune) {
	if r >= 0x10000 {
		hi, lo := utf16.EncodeRune(r)
		return hi, lo
	}
	return r, 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// len16 is the length of s in UTF-16 code units, Java's String.length().
func len16(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// substr16 is Java's substring(from, to) on UTF-16 indexes; the caller
// checks 0 <= from <= to <= len16(s).
func substr16(s string, from, to int) string {
	if isASCII(s) {
		return s[from:to]
	}
	u := utf16.Encode([]rune(s))
	return string(utf16.Decode(u[from:to]))
}

// parseNumber converts a string to a number the way NodeUtils.number does:
// JSON number syntax (leading zeros allowed), integers stay integers.
// It returns false for anything else.
func parseNumber(s string) (any, bool) {
	n, ok := parseNum(s)
	if !ok {
		return nil, false
	}
	if n.isInt {
		return n.i, true
	}
	return n.f, true
}

// num is a parsed number without the interface box, so the row templates
// can encode it without allocating.
type num struct {
	i     int64
	f     float64
	isInt bool
}

// float is n as a double.
func (n num) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// appendJSON encodes n exactly as jsonv.Append encodes the boxed value.
func (n num) appendJSON(dst []byte) []byte {
	if n.isInt {
		return strconv.AppendInt(dst, n.i, 10)
	}
	return jsonv.AppendFloat(dst, n.f)
}

// parseNum is parseNumber's parser.
func parseNum(s string) (num, bool) {
	if s == "" {
		return num{}, false
	}
	i := 0
	sign := 1.0
	if s[0] == '-' {
		i = 1
		sign = -1
	}
	intVal, intDigits := scanDigits(s, i)
	i += intDigits
	if i == len(s) {
		if intDigits == 0 {
			return num{}, false
		}
		if intDigits <= maxSafeDigits {
			if sign < 0 {
				intVal = -intVal
			}
			return num{i: intVal, isInt: true}, true
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return num{i: n, isInt: true}, true
		}
		f, err := strconv.ParseFloat(s, 64)
		return num{f: f}, err == nil
	}
	// The reference accepts a missing integer part (".5", "-.5E2") and
	// computes the value as (int + frac/10^digits) * sign * 10^exp, which
	// is reproduced here so results agree to the last bit.
	var intPart float64
	if intDigits > 0 {
		if intDigits <= maxSafeDigits {
			intPart = float64(intVal)
		} else {
			n, err := strconv.ParseInt(s[i-intDigits:i], 10, 64)
			if err != nil {
				return parseFloatFallback(s)
			}
			intPart = float64(n)
		}
	}
	value := intPart * sign
	if s[i] == '.' {
		i++
		fstart := i
		frac, nd := scanDigits(s, i)
		i += nd
		if nd == 0 {
			return num{}, false
		}
		if nd > maxSafeDigits {
			f, err := strconv.ParseInt(s[fstart:i], 10, 64)
			if err != nil {
				return parseFloatFallback(s)
			}
			frac = f
		}
		value = (intPart + float64(frac)/math.Pow10(nd)) * sign
		if i == len(s) {
			return num{f: value}, true
		}
	} else if intDigits == 0 {
		return num{}, false
	}
	if s[i] != 'e' && s[i] != 'E' {
		return num{}, false
	}
	i++
	expSign := 1
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		if s[i] == '-' {
			expSign = -1
		}
		i++
	}
	estart := i
	_, ne := scanDigits(s, i)
	if ne == 0 || i+ne != len(s) {
		return num{}, false
	}
	exp, err := strconv.Atoi(s[estart:])
	if err != nil {
		return parseFloatFallback(s)
	}
	return num{f: value * math.Pow10(exp*expSign)}, true
}

// scanDigits reads the run of ASCII digits at s[i:]: its length, and its
// value when the length is at most maxSafeDigits (otherwise the value has
// wrapped and the caller goes to strconv). One pass computes both; a
// scan, then a second loop over the run for the value, was half of
// number()'s time.
func scanDigits(s string, i int) (value int64, n int) {
	start := i
	for ; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		value = value*10 + int64(d)
	}
	return value, i - start
}

// maxSafeDigits is the most decimal digits scanDigits' value is used for: any 18
// digits fit an int64, which is what strconv.ParseInt, the slower way,
// would give for them.
const maxSafeDigits = 18

// parseFloatFallback parses numbers too long for the reference's long
// arithmetic, which it would reject with a Java exception.
func parseFloatFallback(s string) (num, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return num{}, false
	}
	return num{f: f}, true
}

// toJSONString renders a value for error messages the way the reference
// prints it: as JSON.
func toJSONString(v any) string { return string(AppendJSON(nil, v)) }
