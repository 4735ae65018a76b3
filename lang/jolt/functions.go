package jolt

import (
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The modify operations' stock functions (com.bazaarvoice.jolt.modifier.
// function). A function takes its evaluated arguments and returns a value
// or nothing (then the key is not written). Integers are int64 (Java's
// Integer and Long), decimals float64 (Double); functions that Java types
// as Integer keep 32-bit results.

type function func(args []any) opt

var functions map[string]function

func init() {
	// Built once at start-up and only read afterwards.
	functions = map[string]function{
		"toLower":   single(func(a any) opt { return mapString(a, strings.ToLower) }),
		"toUpper":   single(func(a any) opt { return mapString(a, strings.ToUpper) }),
		"trim":      single(func(a any) opt { return mapString(a, javaTrim) }),
		"concat":    listFn(fnConcat),
		"join":      argDrivenList(isString, fnJoin),
		"split":     argDrivenSingle(isString, fnSplit),
		"substring": listFn(fnSubstring),
		"leftPad":   argDrivenList(isString, func(s any, args []any) opt { return pad(true, s.(string), args) }),
		"rightPad":  argDrivenList(isString, func(s any, args []any) opt { return pad(false, s.(string), args) }),
		"min": base(func(args []any) opt { return minMax(args, false) }, func(a any) opt {
			if isNumber(a) {
				return some(a)
			}
			return none
		}),
		"max": base(func(args []any) opt { return minMax(args, true) }, func(a any) opt {
			if isNumber(a) {
				return some(a)
			}
			return none
		}),
		"abs":            single(fnAbs),
		"avg":            listFn(fnAvg),
		"intSum":         listFn(fnIntSum),
		"doubleSum":      listFn(fnDoubleSum),
		"longSum":        listFn(fnLongSum),
		"intSubtract":    listFn(fnIntSubtract),
		"doubleSubtract": listFn(fnDoubleSubtract),
		"longSubtract":   listFn(fnLongSubtract),
		"divide":         listFn(fnDivide),
		"divideAndRound": argDrivenList(isJavaInt, fnDivideAndRound),
		"toInteger":      single(func(a any) opt { return optInt(toInteger(a)) }),
		"toDouble":       single(func(a any) opt { return optFloat(toDouble(a)) }),
		"toLong":         single(func(a any) opt { return optInt(toLong(a)) }),
		"toBoolean":      single(fnToBoolean),
		"toString":       single(func(a any) opt { return some(javaToString(a)) }),
		"size":           fnSize,
		"squashNulls": squash(func(a any) opt {
			squashNulls(a)
			return some(a)
		}),
		"recursivelySquashNulls": squash(func(a any) opt {
			recursivelySquashNulls(a)
			return some(a)
		}),
		"squashDuplicates": squash(fnSquashDuplicates),
		"noop":             func([]any) opt { return none },
		"isPresent": func(args []any) opt {
			if len(args) == 0 {
				return none
			}
			return some(args[0])
		},
		"notNull": func(args []any) opt {
			if len(args) == 0 || args[0] == nil {
				return none
			}
			return some(args[0])
		},
		"isNull": func(args []any) opt {
			if len(args) == 0 || args[0] != nil {
				return none
			}
			return some(nil)
		},
		"firstElement": listFn(func(args []any) opt {
			if len(args) > 0 {
				return some(args[0])
			}
			return none
		}),
		"lastElement": listFn(func(args []any) opt {
			if len(args) > 0 {
				return some(args[len(args)-1])
			}
			return none
		}),
		"elementAt": argDrivenList(isJavaInt, func(idx any, args []any) opt {
			i := int(idx.(int64))
			if i >= 0 && len(args) > i {
				return some(args[i])
			}
			return none
		}),
		"toList": base(func(args []any) opt { return some(&list{a: args}) }, func(a any) opt { return some(newList(a)) }),
		"sort":   base(fnSort, func(a any) opt { return some(a) }),
	}
	// toList of one list argument returns that very list (Java returns the
	// List it was given).
	functions["toList"] = func(args []any) opt {
		if len(args) == 1 {
			if l, ok := args[0].(*list); ok {
				if len(l.a) == 0 {
					return none
				}
				return some(l)
			}
		}
		return base(func(args []any) opt { return some(&list{a: args}) }, func(a any) opt { return some(newList(a)) })(args)
	}
}

// base is Function.BaseFunction: no argument gives nothing, one list
// argument (non-empty) goes to onList as its elements, one null gives
// nothing, one other value goes to onSingle, several go to onList.
func base(onList func([]any) opt, onSingle func(any) opt) function {
	return func(args []any) opt {
		switch len(args) {
		case 0:
			return none
		case 1:
			switch x := args[0].(type) {
			case *list:
				if len(x.a) == 0 {
					return none
				}
				return onList(x.a)
			case nil:
				return none
			}
			return onSingle(args[0])
		}
		return onList(args)
	}
}

// single is Function.SingleFunction: applied to each element of a list
// (elements it can not convert are kept as they are).
func single(f func(any) opt) function {
	return base(func(args []any) opt {
		out := make([]any, len(args))
		for i, a := range args {
			if r := f(a); r.ok {
				out[i] = r.v
			} else {
				out[i] = a
			}
		}
		return some(&list{a: out})
	}, f)
}

// listFn is Function.ListFunction: only defined over a list of values.
func listFn(f func([]any) opt) function {
	return base(f, func(any) opt { return none })
}

// argDriven is Function.ArgDrivenFunction: the first argument is special
// (a separator, an index) and must have the right type.
func argDriven(special func(any) bool, onList func(any, []any) opt, onSingle func(any, any) opt) function {
	return func(args []any) opt {
		if len(args) == 1 {
			if l, ok := args[0].(*list); ok {
				args = l.a
			}
		}
		if len(args) < 2 || !special(args[0]) {
			return none
		}
		if len(args) == 2 {
			if l, ok := args[1].(*list); ok {
				return onList(args[0], l.a)
			}
			return onSingle(args[0], args[1])
		}
		return onList(args[0], append([]any(nil), args[1:]...))
	}
}

func argDrivenList(special func(any) bool, f func(any, []any) opt) function {
	return argDriven(special, f, func(any, any) opt { return none })
}

func argDrivenSingle(special func(any) bool, f func(any, any) opt) function {
	return argDriven(special, func(s any, args []any) opt {
		out := make([]any, len(args))
		for i, a := range args {
			if r := f(s, a); r.ok {
				out[i] = r.v
			} else {
				out[i] = a
			}
		}
		return some(&list{a: out})
	}, f)
}

// squash is Function.SquashFunction: the argument list is one value.
func squash(f func(any) opt) function {
	return func(args []any) opt {
		switch len(args) {
		case 0:
			return none
		case 1:
			switch x := args[0].(type) {
			case *list:
				if len(x.a) == 0 {
					return none
				}
			case nil:
				return none
			}
			return f(args[0])
		}
		return f(&list{a: args})
	}
}

func isString(v any) bool { _, ok := v.(string); return ok }

func isJavaInt(v any) bool { _, ok := isInt(v); return ok }

func mapString(a any, f func(string) string) opt {
	if s, ok := a.(string); ok {
		return some(f(s))
	}
	return none
}

// javaTrim is String.trim: every character up to U+0020 at both ends.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

func fnConcat(args []any) opt {
	var b strings.Builder
	for _, a := range args {
		if a != nil {
			b.WriteString(javaString(a))
		}
	}
	return some(b.String())
}

func fnJoin(sep any, args []any) opt {
	var b strings.Builder
	for i, a := range args {
		if a == nil {
			continue
		}
		if s := javaString(a); s != "" {
			b.WriteString(s)
			if i < len(args)-1 {
				b.WriteString(sep.(string))
			}
		}
	}
	return some(b.String())
}

// fnSplit is String.split(regex): trailing empty strings are dropped.
func fnSplit(sep, src any) opt {
	s, ok := src.(string)
	if !ok || src == nil {
		return none
	}
	re, err := regexp.Compile(sep.(string))
	if err != nil {
		return none
	}
	if s == "" {
		return some(newList(""))
	}
	parts := re.Split(s, -1)
	// Java drops the leading empty string a zero-width match at 0 leaves.
	if len(parts) > 1 && parts[0] == "" {
		if loc := re.FindStringIndex(s); loc != nil && loc[0] == 0 && loc[1] == 0 {
			parts = parts[1:]
		}
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return some(&list{a: out})
}

func fnSubstring(args []any) opt {
	if len(args) != 3 {
		return none
	}
	s, ok := args[0].(string)
	start, ok1 := isInt(args[1])
	end, ok2 := isInt(args[2])
	if !ok || !ok1 || !ok2 {
		return none
	}
	rs := []rune(s)
	if start >= end || start < 0 || end < 1 || int(end) > len(rs) {
		return none
	}
	return some(string(rs[start:end]))
}

func pad(left bool, src string, args []any) opt {
	if len(args) < 2 {
		return none
	}
	width, ok := isInt(args[0])
	filler, ok2 := args[1].(string)
	if !ok || !ok2 || width <= 0 || width > 500 || utf8.RuneCountInString(filler) != 1 {
		return none
	}
	n := utf8.RuneCountInString(src)
	if int(width) <= n {
		return some(src)
	}
	p := strings.Repeat(filler, int(width)-n)
	if left {
		return some(p + src)
	}
	return some(src + p)
}

// toNumber is Objects.toNumber: numbers as they are, strings parsed as an
// Integer, a Long, then a Double.
func toNumber(v any) (any, bool) {
	switch x := v.(type) {
	case int64, float64:
		return x, true
	case string:
		if i, err := strconv.ParseInt(x, 10, 64); err == nil {
			return i, true
		}
		if f, ok := javaParseDouble(x); ok {
			return f, true
		}
	}
	return nil, false
}

// javaParseDouble accepts what Double.parseDouble does for decimal text:
// surrounding whitespace and a trailing d/D/f/F type suffix.
func javaParseDouble(s string) (float64, bool) {
	s = javaTrim(s)
	if s == "" {
		return 0, false
	}
	switch s[len(s)-1] {
	case 'd', 'D', 'f', 'F':
		s = s[:len(s)-1]
	}
	switch s {
	case "NaN", "+NaN", "-NaN":
		return math.NaN(), true
	case "Infinity", "+Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// javaIntCast is Java's (int) conversion of a double: truncation,
// saturating at the int range, NaN to 0.
func javaIntCast(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int64(int32(f))
}

func javaLongCast(f float64) int64 {
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

func toInteger(v any) (int64, bool) {
	n, ok := toNumber(v)
	if !ok {
		return 0, false
	}
	switch x := n.(type) {
	case int64:
		return int64(int32(x)), true
	case float64:
		return javaIntCast(x), true
	}
	return 0, false
}

func toLong(v any) (int64, bool) {
	n, ok := toNumber(v)
	if !ok {
		return 0, false
	}
	switch x := n.(type) {
	case int64:
		return x, true
	case float64:
		return javaLongCast(x), true
	}
	return 0, false
}

func toDouble(v any) (float64, bool) {
	n, ok := toNumber(v)
	if !ok {
		return 0, false
	}
	switch x := n.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func optInt(i int64, ok bool) opt {
	if !ok {
		return none
	}
	return some(i)
}

func optFloat(f float64, ok bool) opt {
	if !ok {
		return none
	}
	return some(f)
}

// minMax keeps Java's three running values (Integer, Long, Double) and
// picks between them the way Math.min/max of JOLT does.
func minMax(args []any, isMax bool) opt {
	if len(args) == 0 {
		return none
	}
	var ints, longs int64
	var dbl float64
	if isMax {
		ints, longs, dbl = math.MinInt32, math.MinInt64, -math.MaxFloat64
	} else {
		ints, longs, dbl = math.MaxInt32, math.MaxInt64, math.MaxFloat64
	}
	found := false
	for _, a := range args {
		if s, ok := a.(string); ok {
			n, ok := toNumber(s)
			if !ok {
				continue
			}
			a = n
		}
		switch x := a.(type) {
		case int64:
			if _, small := isInt(x); small {
				if isMax && x > ints || !isMax && x < ints {
					ints = x
				}
			} else if isMax && x > longs || !isMax && x < longs {
				longs = x
			}
			found = true
		case float64:
			if isMax {
				dbl = math.Max(dbl, x)
			} else {
				dbl = math.Min(dbl, x)
			}
			found = true
		}
	}
	if !found {
		return none
	}
	dl := javaLongCast(dbl)
	if isMax {
		switch {
		case ints >= dl && ints >= longs:
			return some(ints)
		case longs >= dl:
			return some(longs)
		}
		return some(dbl)
	}
	switch {
	case ints <= dl && ints <= longs:
		return some(ints)
	case longs <= dl:
		return some(longs)
	}
	return some(dbl)
}

func fnAbs(a any) opt {
	switch x := a.(type) {
	case int64:
		if i, ok := isInt(x); ok {
			if i == math.MinInt32 {
				return some(i)
			}
			if i < 0 {
				return some(-i)
			}
			return some(i)
		}
		if x < 0 && x != math.MinInt64 {
			return some(-x)
		}
		return some(x)
	case float64:
		return some(math.Abs(x))
	case string:
		n, ok := toNumber(x)
		if !ok {
			return none
		}
		return fnAbs(n)
	}
	return none
}

func fnAvg(args []any) opt {
	sum, count := 0.0, 0
	for _, a := range args {
		if f, ok := toDouble(a); ok {
			sum += f
			count++
		}
	}
	if count == 0 {
		return none
	}
	return some(sum / float64(count))
}

func fnIntSum(args []any) opt {
	var sum int32
	for _, a := range args {
		if i, ok := toInteger(a); ok {
			sum += int32(i)
		}
	}
	return some(int64(sum))
}

func fnDoubleSum(args []any) opt {
	sum := 0.0
	for _, a := range args {
		if f, ok := toDouble(a); ok {
			sum += f
		}
	}
	return some(sum)
}

func fnLongSum(args []any) opt {
	var sum int64
	for _, a := range args {
		if i, ok := toLong(a); ok {
			sum += i
		}
	}
	return some(sum)
}

func fnIntSubtract(args []any) opt {
	if len(args) != 2 {
		return none
	}
	a, ok1 := isInt(args[0])
	b, ok2 := isInt(args[1])
	if !ok1 || !ok2 {
		return none
	}
	return some(int64(int32(a) - int32(b)))
}

func fnDoubleSubtract(args []any) opt {
	if len(args) != 2 {
		return none
	}
	a, ok1 := args[0].(float64)
	b, ok2 := args[1].(float64)
	if !ok1 || !ok2 {
		return none
	}
	return some(a - b)
}

// fnLongSubtract takes any two integers: the engine does not tell Java's
// Long from Integer.
func fnLongSubtract(args []any) opt {
	if len(args) != 2 {
		return none
	}
	a, ok1 := args[0].(int64)
	b, ok2 := args[1].(int64)
	if !ok1 || !ok2 {
		return none
	}
	return some(a - b)
}

func divide(args []any) (float64, bool) {
	if len(args) != 2 {
		return 0, false
	}
	n, ok1 := toNumber(args[0])
	d, ok2 := toNumber(args[1])
	if !ok1 || !ok2 {
		return 0, false
	}
	nf, _ := toDouble(n)
	df, _ := toDouble(d)
	if df == 0 {
		return 0, false
	}
	return nf / df, true
}

func fnDivide(args []any) opt { return optFloat(divide(args)) }

// fnDivideAndRound rounds the quotient HALF_UP on its exact binary value,
// as new BigDecimal(double).setScale(digits, HALF_UP) does.
func fnDivideAndRound(digits any, args []any) opt {
	q, ok := divide(args)
	if !ok || math.IsInf(q, 0) || math.IsNaN(q) {
		return none
	}
	d := int(digits.(int64))
	if d < 0 {
		return none
	}
	return some(roundHalfUp(q, d))
}

func roundHalfUp(f float64, digits int) float64 {
	exact := new(big.Float).SetPrec(2000).SetFloat64(f).Text('f', 1100)
	neg := strings.HasPrefix(exact, "-")
	exact = strings.TrimPrefix(exact, "-")
	intPart, frac, _ := strings.Cut(exact, ".")
	for len(frac) < digits+1 {
		frac += "0"
	}
	kept := intPart + frac[:digits]
	n, _ := new(big.Int).SetString(kept, 10)
	if frac[digits] >= '5' {
		n.Add(n, big.NewInt(1))
	}
	s := n.String()
	for len(s) <= digits {
		s = "0" + s
	}
	out := s[:len(s)-digits]
	if digits > 0 {
		out += "." + s[len(s)-digits:]
	}
	r, _ := strconv.ParseFloat(out, 64)
	if neg {
		r = -r
	}
	return r
}

func fnToBoolean(a any) opt {
	switch x := a.(type) {
	case bool:
		return some(x)
	case string:
		switch {
		case strings.EqualFold(x, "true"):
			return some(true)
		case strings.EqualFold(x, "false"):
			return some(false)
		}
	}
	return none
}

func javaToString(a any) string { return javaString(a) }

func fnSize(args []any) opt {
	switch len(args) {
	case 0:
		return none
	case 1:
		switch x := args[0].(type) {
		case *list:
			return some(int64(len(x.a)))
		case string:
			return some(int64(len(utf16Units(x))))
		case *omap:
			return some(int64(x.len()))
		}
		return none
	}
	return some(int64(len(args)))
}

func squashNulls(v any) {
	switch x := v.(type) {
	case *list:
		out := x.a[:0]
		for _, e := range x.a {
			if e != nil {
				out = append(out, e)
			}
		}
		x.a = out
	case *omap:
		for _, k := range x.snapshot() {
			if x.vals[k] == nil {
				x.remove(k)
			}
		}
	}
}

func recursivelySquashNulls(v any) {
	squashNulls(v)
	switch x := v.(type) {
	case *list:
		for _, e := range x.a {
			recursivelySquashNulls(e)
		}
	case *omap:
		for _, k := range x.keys {
			recursivelySquashNulls(x.vals[k])
		}
	}
}

func fnSquashDuplicates(v any) opt {
	l, ok := v.(*list)
	if !ok {
		return some(v)
	}
	var out []any
	for _, e := range l.a {
		dup := false
		for _, o := range out {
			if equal(e, o) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e)
		}
	}
	return some(&list{a: out})
}

// fnSort is Arrays.sort over Comparables: every element must be of one
// comparable kind (strings, numbers of one type, booleans), else nothing.
func fnSort(args []any) opt {
	if len(args) == 0 {
		return some(&list{})
	}
	out := append([]any(nil), args...)
	kind := func(v any) int {
		switch x := v.(type) {
		case string:
			return 1
		case bool:
			return 2
		case int64:
			if _, ok := isInt(x); ok {
				return 3
			}
			return 4
		case float64:
			return 5
		}
		return 0
	}
	k := kind(out[0])
	for _, e := range out {
		if kind(e) != k || k == 0 {
			return none
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		switch a := out[i].(type) {
		case string:
			return javaLess(a, out[j].(string))
		case bool:
			return !a && out[j].(bool)
		case int64:
			return a < out[j].(int64)
		case float64:
			return a < out[j].(float64)
		}
		return false
	})
	return some(&list{a: out})
}
