// Package jsonv is the JSON value model shared by every part of Connect+ that
// looks inside records: JSLT, JSONPath, the record blocks and the API
// destination.
//
// A Value is one of:
//
//	nil            JSON null
//	bool           true / false
//	string         a string
//	int64          an integer that fits 64 bits (JSLT and NiFi tell integers from decimals)
//	float64        any other number
//	[]any          an array
//	*Object        an object, with its keys in insertion order
//
// Objects keep key order because JSLT defines the key order of constructed
// objects and users diff API payloads by eye; Go maps would shuffle them.
package jsonv

import (
	"math"
	"sort"
	"strconv"
)

// Member is one key/value pair of an Object.
type Member struct {
	Key   string
	Value any
}

// Object is a JSON object that remembers insertion order. The zero value is
// an empty object ready to use. Lookups are linear for small objects, which
// are the common case for records (10–40 keys); an index is built lazily for
// large ones.
type Object struct {
	Members []Member
	index   map[string]int
}

const indexThreshold = 32

// NewObject returns an empty object with room for n members.
func NewObject(n int) *Object { return &Object{Members: make([]Member, 0, n)} }

// Len returns the number of members.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.Members)
}

func (o *Object) find(key string) int {
	if o == nil {
		return -1
	}
	// The index is only read here: it is built by Set, never by lookups, so
	// concurrent readers of a shared object never write to it.
	if o.index != nil && len(o.index) == len(o.Members) {
		if i, ok := o.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range o.Members {
		if o.Members[i].Key == key {
			return i
		}
	}
	return -1
}

// Get returns the value of key and whether it exists.
func (o *Object) Get(key string) (any, bool) {
	i := o.find(key)
	if i < 0 {
		return nil, false
	}
	return o.Members[i].Value, true
}

// Set replaces the value of key, or appends key at the end. Objects that
// grow past a few dozen keys get a lookup index.
func (o *Object) Set(key string, v any) {
	if i := o.find(key); i >= 0 {
		o.Members[i].Value = v
		return
	}
	o.Members = append(o.Members, Member{Key: key, Value: v})
	switch {
	case o.index != nil && len(o.index) == len(o.Members)-1:
		o.index[key] = len(o.Members) - 1
	case len(o.Members) > indexThreshold:
		o.index = make(map[string]int, len(o.Members))
		for i, m := range o.Members {
			o.index[m.Key] = i
		}
	}
}

// Delete removes key if present, keeping the order of the others.
func (o *Object) Delete(key string) {
	i := o.find(key)
	if i < 0 {
		return
	}
	o.Members = append(o.Members[:i], o.Members[i+1:]...)
	o.index = nil
}

// Keys returns the keys in order.
func (o *Object) Keys() []string {
	keys := make([]string, len(o.Members))
	for i, m := range o.Members {
		keys[i] = m.Key
	}
	return keys
}

// Clone returns a shallow copy (members copied, values shared).
func (o *Object) Clone() *Object {
	c := &Object{Members: make([]Member, len(o.Members))}
	copy(c.Members, o.Members)
	return c
}

// FromGo converts values produced by encoding/json (map[string]any with
// sorted keys, float64 numbers, json.Number) and common Go types into the
// jsonv model. Unknown types are rendered with strconv-free fallbacks: they
// become their fmt-less string form only for simple kinds; others are nil.
func FromGo(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, *Object:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case float32:
		return FromGo(float64(x))
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case uint32:
		return int64(x)
	case interface{ String() string }:
		// json.Number and friends: parse as a number.
		s := x.String()
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
		return s
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = FromGo(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := NewObject(len(keys))
		for _, k := range keys {
			o.Members = append(o.Members, Member{Key: k, Value: FromGo(x[k])})
		}
		return o
	case map[string]string:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := NewObject(len(keys))
		for _, k := range keys {
			o.Members = append(o.Members, Member{Key: k, Value: x[k]})
		}
		return o
	}
	return nil
}

// ToGo converts a jsonv value to plain Go values (map[string]any, []any,
// float64 numbers) for libraries that need them. Key order is lost.
func ToGo(v any) any {
	switch x := v.(type) {
	case *Object:
		m := make(map[string]any, len(x.Members))
		for _, mem := range x.Members {
			m[mem.Key] = ToGo(mem.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToGo(e)
		}
		return out
	case int64:
		return float64(x)
	}
	return v
}

// Equal reports deep equality. Integers and floats compare by numeric value,
// as JSLT and JSONPath require (1 == 1.0). Object comparison ignores order.
func Equal(a, b any) bool {
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
		switch y := b.(type) {
		case int64:
			return x == y
		case float64:
			return float64(x) == y
		}
		return false
	case float64:
		switch y := b.(type) {
		case int64:
			return x == float64(y)
		case float64:
			return x == y
		}
		return false
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case *Object:
		y, ok := b.(*Object)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, m := range x.Members {
			v, ok := y.Get(m.Key)
			if !ok || !Equal(m.Value, v) {
				return false
			}
		}
		return true
	}
	return false
}

// TypeName names the JSON type of v: null, boolean, string, number, array, object.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64, float64:
		return "number"
	case []any:
		return "array"
	case *Object:
		return "object"
	}
	return "unknown"
}
