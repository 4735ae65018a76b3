package jslt

import (
	"math"
	"sort"
	"unicode/utf16"

	"github.com/connectplus/connectplus/jsonv"
)

// experimentalURI names the reference implementation's built-in
// experimental module. Importing it never consults the ModuleResolver: the
// reference registers it as a named module ahead of any file.
const experimentalURI = "http://jslt.schibsted.com/2018/experimental"

// macroFunc is a function of a built-in module whose arguments are not
// simply evaluated against the current input (a macro in the reference).
type macroFunc struct {
	name     string
	min, max int
	build    func(args []node, p pos) node
}

func (m *macroFunc) arity() (int, int) { return m.min, m.max }

// newExperimentalModule returns the unit the experimental import binds its
// prefix to.
func (c *compiler) newExperimentalModule() *unit {
	return &unit{
		c:      c,
		module: experimentalURI,
		funcs: map[string]callable{
			"group-by": &macroFunc{name: "group-by", min: 3, max: 3, build: func(args []node, p pos) node {
				return &groupByNode{seq: args[0], key: args[1], value: args[2], pos: p}
			}},
		},
		imports: map[string]*unit{},
		globals: map[string]int{},
	}
}

// groupByNode is exp:group-by(array, key, value): the key and value
// expressions are evaluated with each element of the array (an object is
// first turned into its key/value pairs) as the input, and the result is
// [{"key": k, "values": [v, ...]}, ...] with one entry per distinct key.
//
// The reference collects the groups in a java.util.HashMap keyed by
// Jackson nodes and emits them in that map's iteration order; the order is
// reproduced here (see javaHashMapOrder), so that outputs compare equal as
// arrays, not only as sets.
type groupByNode struct {
	seq, key, value node
	pos             pos
}

func (n *groupByNode) eval(c *ctx, in any) any {
	var arr []any
	switch x := n.seq.eval(c, in).(type) {
	case nil:
		return nil
	case []any:
		arr = x
	case *jsonv.Object:
		arr = c.objectToArray(x)
	default:
		panic(n.pos.errorf("Can't group-by on %s", toJSONString(x)))
	}
	c.spend(len(arr), n.pos)
	type group struct {
		key    any
		hash   int32
		values []any
	}
	var groups []*group
	byHash := map[int32][]*group{}
	for _, el := range arr {
		k := n.key.eval(c, el)
		v := n.value.eval(c, el)
		h := jacksonHash(k)
		var g *group
		for _, cand := range byHash[h] {
			if deepEqual(cand.key, k) {
				g = cand
				break
			}
		}
		if g == nil {
			g = &group{key: k, hash: h}
			groups = append(groups, g)
			byHash[h] = append(byHash[h], g)
		}
		g.values = append(g.values, v)
	}
	hashes := make([]int32, len(groups))
	for i, g := range groups {
		hashes[i] = g.hash
	}
	out := make([]any, len(groups))
	for i, j := range javaHashMapOrder(hashes) {
		g := groups[j]
		values := g.values
		if values == nil {
			values = []any{}
		}
		out[i] = &jsonv.Object{Members: []jsonv.Member{{Key: "key", Value: g.key}, {Key: "values", Value: values}}}
	}
	c.spend(len(out), n.pos)
	return out
}

// javaHashMapOrder returns the order in which a java.util.HashMap with
// default settings iterates keys inserted in the given order with the given
// hashCode()s: by bucket of the final table (capacity 16, doubled whenever
// the size exceeds three quarters of it; the bucket is the spread hash
// h ^ h>>>16 masked by capacity-1), and in insertion order within a bucket.
// Buckets long enough to be turned into trees (8 colliding keys) are not
// modelled.
func javaHashMapOrder(hashes []int32) []int {
	capacity := 16
	for len(hashes) > capacity*3/4 {
		capacity *= 2
	}
	order := make([]int, len(hashes))
	bucket := make([]int, len(hashes))
	for i, h := range hashes {
		order[i] = i
		u := uint32(h)
		bucket[i] = int((u ^ u>>16) & uint32(capacity-1))
	}
	sort.SliceStable(order, func(a, b int) bool { return bucket[order[a]] < bucket[order[b]] })
	return order
}

// jacksonHash is the hashCode() of the Jackson node the reference holds for
// v: TextNode hashes as java.lang.String, an integer that fits 32 bits as
// IntNode (what Jackson parses it to), a larger one as LongNode, a decimal
// as DoubleNode, arrays as java.util.ArrayList and objects as
// java.util.LinkedHashMap of their members.
func jacksonHash(v any) int32 {
	switch x := v.(type) {
	case nil:
		return 4 // NullNode: JsonNodeType.NULL.ordinal()
	case bool:
		if x {
			return 3
		}
		return 1
	case string:
		return javaStringHash(x)
	case int64:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return int32(x)
		}
		return int32(x) ^ int32(x>>32)
	case float64:
		bits := int64(math.Float64bits(x))
		if x != x {
			bits = 0x7ff8000000000000 // Double.doubleToLongBits's canonical NaN
		}
		return int32(bits) ^ int32(bits>>32)
	case []any:
		h := int32(1)
		for _, e := range x {
			h = 31*h + jacksonHash(e)
		}
		return h
	case *jsonv.Object:
		var h int32
		for _, m := range x.Members {
			h += javaStringHash(m.Key) ^ jacksonHash(m.Value)
		}
		return h
	}
	return 0
}

// javaStringHash is java.lang.String.hashCode over UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			h = 31*h + int32(r1)
			h = 31*h + int32(r2)
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}
