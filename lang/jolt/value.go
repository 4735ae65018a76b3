package jolt

import (
	"math"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/jsonv"
)

// The engine works on its own mutable tree, because JOLT's operations are
// defined over Java's reference semantics: Defaultr, Removr, Cardinality
// and the modifiers change the input in place, and Shiftr appends to lists
// it has already placed. A value is nil, bool, string, int64, float64,
// *omap or *list. Apply converts the input in and the result out, so a
// caller's value is never changed.

// omap is an insertion-ordered map, as Jackson's LinkedHashMap.
type omap struct {
	keys []string
	vals map[string]any
}

func newMap(n int) *omap { return &omap{keys: make([]string, 0, n), vals: make(map[string]any, n)} }

func (m *omap) get(k string) (any, bool) {
	v, ok := m.vals[k]
	return v, ok
}

func (m *omap) put(k string, v any) {
	if _, ok := m.vals[k]; !ok {
		m.keys = append(m.keys, k)
	}
	m.vals[k] = v
}

func (m *omap) remove(k string) {
	if _, ok := m.vals[k]; !ok {
		return
	}
	delete(m.vals, k)
	for i, key := range m.keys {
		if key == k {
			m.keys = append(m.keys[:i], m.keys[i+1:]...)
			break
		}
	}
}

func (m *omap) len() int { return len(m.keys) }

// snapshot returns the keys in order, safe to range over while the map changes.
func (m *omap) snapshot() []string { return append([]string(nil), m.keys...) }

// list is a Java ArrayList: a reference that several places may share.
type list struct{ a []any }

func newList(vals ...any) *list { return &list{a: vals} }

// fromJSON converts a jsonv value into the engine's tree.
func fromJSON(v any) any {
	switch x := v.(type) {
	case *jsonv.Object:
		m := newMap(x.Len())
		if x != nil {
			for _, mb := range x.Members {
				m.put(mb.Key, fromJSON(mb.Value))
			}
		}
		return m
	case []any:
		l := &list{a: make([]any, len(x))}
		for i, e := range x {
			l.a[i] = fromJSON(e)
		}
		return l
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case map[string]any, []string, jsonv.RawJSON:
		return fromJSON(jsonv.FromGo(x))
	}
	return v
}

// toJSON converts the engine's tree back into jsonv values.
func toJSON(v any) any {
	switch x := v.(type) {
	case *omap:
		o := jsonv.NewObject(x.len())
		for _, k := range x.keys {
			o.Set(k, toJSON(x.vals[k]))
		}
		return o
	case *list:
		out := make([]any, len(x.a))
		for i, e := range x.a {
			out[i] = toJSON(e)
		}
		return out
	}
	return v
}

// deepCopy copies containers (JOLT's DeepCopy of default values).
func deepCopy(v any) any {
	switch x := v.(type) {
	case *omap:
		m := newMap(x.len())
		for _, k := range x.keys {
			m.put(k, deepCopy(x.vals[k]))
		}
		return m
	case *list:
		l := &list{a: make([]any, len(x.a))}
		for i, e := range x.a {
			l.a[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// equal is Java's equals over the tree: maps ignore order, numbers compare
// within their own type (Integer 1 is not Double 1.0).
func equal(a, b any) bool {
	switch x := a.(type) {
	case *omap:
		y, ok := b.(*omap)
		if !ok || x.len() != y.len() {
			return false
		}
		for _, k := range x.keys {
			yv, ok := y.vals[k]
			if !ok || !equal(x.vals[k], yv) {
				return false
			}
		}
		return true
	case *list:
		y, ok := b.(*list)
		if !ok || len(x.a) != len(y.a) {
			return false
		}
		for i := range x.a {
			if !equal(x.a[i], y.a[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// javaString is Java's toString of a value: what a scalar key matches as
// and what concat and join append.
func javaString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return javaDouble(x)
	case *list:
		parts := make([]string, len(x.a))
		for i, e := range x.a {
			parts[i] = javaString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *omap:
		parts := make([]string, 0, x.len())
		for _, k := range x.keys {
			parts = append(parts, k+"="+javaString(x.vals[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return ""
}

// javaDouble formats f as Java's Double.toString: at least one decimal
// digit, scientific notation outside [1e-3, 1e7).
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
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // e.g. 1.2345E+10
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "E" + exp
}

// isInt reports whether v is an integer in Java's int range (an Integer
// as Jackson reads it).
func isInt(v any) (int64, bool) {
	i, ok := v.(int64)
	return i, ok && i >= math.MinInt32 && i <= math.MaxInt32
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

func isContainer(v any) bool {
	switch v.(type) {
	case *omap, *list:
		return true
	}
	return false
}
