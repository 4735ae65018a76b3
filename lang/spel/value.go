package spel

import (
	"math"
	"strconv"
	"strings"
)

// kind is the Java type a value has at run time.
type kind uint8

const (
	kNull   kind = iota
	kBool        // boolean
	kInt         // int (32-bit, wraps like Java)
	kLong        // long
	kDouble      // double
	kString      // String
	kList        // java.util.List from an inline list or split()
)

func (k kind) String() string {
	return [...]string{"null", "boolean", "int", "long", "double", "String", "List"}[k]
}

// val is one SpEL value. It is a small struct rather than an interface so
// that arithmetic on the hot path does not allocate.
//
// A value read from a column with a numeric text is numeric (so that
// hdr{A} - hdr{B} is arithmetic) but keeps its original text in s with
// fromCol set: string contexts (concat, string methods, rendering) use the
// text, so "0050" or "9876543210" are never mangled into 50 or 9.87E9.
type val struct {
	k       kind
	fromCol bool
	b       bool
	i       int64
	f       float64
	s       string
	list    []val
}

var nullVal = val{}

func boolVal(b bool) val      { return val{k: kBool, b: b} }
func intVal(i int32) val      { return val{k: kInt, i: int64(i)} }
func longVal(i int64) val     { return val{k: kLong, i: i} }
func doubleVal(f float64) val { return val{k: kDouble, f: f} }
func strVal(s string) val     { return val{k: kString, s: s} }

func (v val) isNumber() bool { return v.k == kInt || v.k == kLong || v.k == kDouble }

// float returns a numeric value as float64.
func (v val) float() float64 {
	if v.k == kDouble {
		return v.f
	}
	return float64(v.i)
}

// columnVal converts a cell into a value: missing or empty is null (so that
// hdr{x} != null works), a number literal becomes int, long or double by
// Java's literal rules, anything else is a String.
func columnVal(text string, present bool) val {
	if !present || text == "" {
		return nullVal
	}
	if n, ok := parseNumber(text); ok {
		n.fromCol, n.s = true, text
		return n
	}
	return strVal(text)
}

// parseNumber accepts the number forms a user would expect a column to hold:
// optional sign, digits, optional fraction and exponent. It rejects Go-only
// forms (0x1p3, 1_000, Inf, NaN) that strconv would accept.
func parseNumber(s string) (val, bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits, frac := 0, false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		frac = true
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return val{}, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		frac = true
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		ed := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		}
		if i == ed {
			return val{}, false
		}
	}
	if i != len(s) {
		return val{}, false
	}
	if !frac {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if n >= math.MinInt32 && n <= math.MaxInt32 {
				return intVal(int32(n)), true
			}
			return longVal(n), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return val{}, false
	}
	return doubleVal(f), true
}

// text renders a value as Java's String.valueOf would, except that null is
// the empty string: a mapping that yields null writes an empty cell, and a
// missing column concatenated into a string adds nothing.
func (v val) text() string {
	if v.fromCol {
		return v.s
	}
	switch v.k {
	case kNull:
		return ""
	case kBool:
		return strconv.FormatBool(v.b)
	case kInt, kLong:
		return strconv.FormatInt(v.i, 10)
	case kDouble:
		return javaDouble(v.f)
	case kString:
		return v.s
	case kList:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range v.list {
			if i > 0 {
				b.WriteString(", ")
			}
			if e.k == kNull {
				b.WriteString("null")
			} else {
				b.WriteString(e.text())
			}
		}
		b.WriteByte(']')
		return b.String()
	}
	return ""
}

// javaDouble formats f like Java's Double.toString: plain notation with at
// least one fractional digit for 1e-3 <= |f| < 1e7, otherwise computerized
// scientific notation such as 1.0E10. Both use the shortest digits that
// round-trip, as Java does since JDK 19.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsRune(s, '.') {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.ContainsRune(mant, '.') {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// fromGo converts a Go value given to Env.Set.
func fromGo(x any) val {
	switch v := x.(type) {
	case nil:
		return nullVal
	case val:
		return v
	case bool:
		return boolVal(v)
	case int:
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			return intVal(int32(v))
		}
		return longVal(int64(v))
	case int32:
		return intVal(v)
	case int64:
		return longVal(v)
	case float64:
		return doubleVal(v)
	case float32:
		return doubleVal(float64(v))
	case string:
		return strVal(v)
	case []string:
		l := make([]val, len(v))
		for i, s := range v {
			l[i] = strVal(s)
		}
		return val{k: kList, list: l}
	case []any:
		l := make([]val, len(v))
		for i, e := range v {
			l[i] = fromGo(e)
		}
		return val{k: kList, list: l}
	}
	return strVal("")
}

// toGo converts a value for Env.Get.
func (v val) toGo() any {
	switch v.k {
	case kBool:
		return v.b
	case kInt:
		return int32(v.i)
	case kLong:
		return v.i
	case kDouble:
		return v.f
	case kString:
		return v.s
	case kList:
		out := make([]any, len(v.list))
		for i, e := range v.list {
			out[i] = e.toGo()
		}
		return out
	}
	return nil
}
