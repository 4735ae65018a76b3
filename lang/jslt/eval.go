package jslt

import (
	"math"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/connectplus/connectplus/jsonv"
)

// node is one compiled expression. eval reports errors by panicking with
// *Error; Apply recovers them. This keeps the hot path free of error
// plumbing: a transform of a valid record never looks at an error value.
type node interface {
	eval(c *ctx, in any) any
}

// ctx is the per-Apply evaluation state. It is pooled per Expr, so an
// Apply allocates only the values it returns.
type ctx struct {
	expr    *Expr
	globals []any
	locals  []any // frame of the user function being evaluated
	frames  []any // backing store for function frames
	stack   []any // arguments of builtin calls being evaluated
	depth   int
	budget  int64

	// Slabs from which result containers are carved. Handing out parts of
	// one allocation instead of allocating every object and array
	// separately is what makes a record cost a fraction of an allocation.
	// Parts handed out are never reused; capacities are exact, so a caller
	// appending to a result reallocates instead of overwriting a neighbour.
	// The slabs of an Apply are sized from what the Expr's previous
	// Applies used (batches of one dataflow have one shape; see slabHint),
	// then double; all are dropped at the end of the Apply, so that a
	// pooled ctx never keeps earlier results alive. A result keeps the
	// slabs it was carved from alive (32 KiB at most each).
	//
	// The positions are integers, not re-sliced slices: while the garbage
	// collector marks, every pointer written to the heap (and ctx is on the
	// heap) goes through the write barrier, and re-slicing a slab per
	// container cost two barriered writes each.
	mslab                  []jsonv.Member
	oslab                  []jsonv.Object
	aslab                  []any
	hslab                  [][]any  // headers of returned arrays, see boxArray
	nslab                  []uint64 // numbers returned, see boxInt
	sslab                  []string // strings returned, see boxString
	bslab                  []byte   // their bytes, see bytes
	mpos, opos, apos, hpos int
	npos, spos, bpos       int
	used                   slabUse // parts of this Apply's earlier slabs handed out
	hint                   slabUse // what earlier Applies used, see slabHint
}

// slabUse counts the containers one Apply carved out of the slabs.
type slabUse struct{ members, objects, elems, headers, nums, strs, bytes int }

// slabHint is an Expr's record of what its Applies used, per slab kind;
// atomic since Applies run concurrently (and race only over which one's
// use sizes the next first slabs, any of them being a good guess).
type slabHint struct {
	last, prev [7]atomic.Int32 // the last two uses
}

// load is the smaller of the last two uses: Applies of alternating sizes
// (a batch, then one record) then start small, so that the small one's
// result does not keep a batch-sized slab alive.
func (h *slabHint) load() slabUse {
	var v [7]int
	for i := range v {
		v[i] = int(min(h.last[i].Load(), h.prev[i].Load()))
	}
	return slabUse{v[0], v[1], v[2], v[3], v[4], v[5], v[6]}
}

func (h *slabHint) store(u slabUse) {
	// Only changes are written: batches of one shape then leave the
	// cache line shared between the cores applying the Expr.
	for i, v := range [7]int{u.members, u.objects, u.elems, u.headers, u.nums, u.strs, u.bytes} {
		v = min(v, math.MaxInt32)
		if l := h.last[i].Load(); int(l) != v {
			h.prev[i].Store(l)
			h.last[i].Store(int32(v))
		} else if int(h.prev[i].Load()) != v {
			h.prev[i].Store(int32(v)) // the same use twice: settled
		}
	}
}

const (
	slabMin = 16
	slabMax = 64 // larger containers get their own allocation
	// slabBytes bounds every slab: a larger one is a "large object" to the
	// Go allocator, which takes it from the page heap and so, once the
	// scavenger has returned those pages, page-faults it in again; in
	// BulkCustomerPayload a 64 KiB member slab cost a fifth of the time.
	slabBytes = 32 << 10
	// scanSlabBytes bounds the slabs that hold pointers: the allocator
	// puts an 8-byte header before such objects when they are larger than
	// 512 bytes, and with it a slab of exactly 32 KiB would be a large
	// object after all (runtime.mallocgc: small only up to
	// maxSmallSize-mallocHeaderSize), taken from the page heap and swept
	// back to it every GC cycle.
	scanSlabBytes = slabBytes - 8
	// Most elements of each kind a slab holds.
	memberSlabMax = scanSlabBytes / int(unsafe.Sizeof(jsonv.Member{}))
	objectSlabMax = scanSlabBytes / int(unsafe.Sizeof(jsonv.Object{}))
	elemSlabMax   = scanSlabBytes / int(unsafe.Sizeof(any(nil)))
	headerSlabMax = scanSlabBytes / int(unsafe.Sizeof([]any(nil)))
	stringSlabMax = scanSlabBytes / int(unsafe.Sizeof(""))
)

// slabSize is the length of the next slab of one kind, of which the
// previous slab of this Apply had prev (0 for the first), this Apply has
// used so far used and the previous Apply used hint in all: slabs are
// sized for the rest of hint, then double, all within limit, and any
// holds need.
func slabSize(prev, used, hint, need, limit int) int {
	n := hint - used
	if n <= 0 {
		n = 2 * prev
	}
	return max(min(max(n, slabMin), limit), need)
}

// newObject returns an empty object and the zero-length members slice,
// with room for n members, that the caller fills and stores in
// o.Members once (a second store would be a second barriered write).
// The common case touches no slab bookkeeping.
func (c *ctx) newObject(n int) (*jsonv.Object, []jsonv.Member) {
	if c.opos < len(c.oslab) && n <= len(c.mslab)-c.mpos {
		o := &c.oslab[c.opos]
		c.opos++
		m := c.mslab[c.mpos : c.mpos : c.mpos+n]
		c.mpos += n
		return o, m
	}
	return c.newObjectSlow(n)
}

func (c *ctx) newObjectSlow(n int) (*jsonv.Object, []jsonv.Member) {
	if c.opos == len(c.oslab) {
		c.used.objects += c.opos
		c.oslab = make([]jsonv.Object, slabSize(len(c.oslab), c.used.objects, c.hint.objects, 1, objectSlabMax))
		c.opos = 0
	}
	o := &c.oslab[c.opos]
	c.opos++
	if n > slabMax {
		return o, make([]jsonv.Member, 0, n)
	}
	if len(c.mslab)-c.mpos < n {
		c.used.members += c.mpos
		c.mslab = make([]jsonv.Member, slabSize(len(c.mslab), c.used.members, c.hint.members, n, memberSlabMax))
		c.mpos = 0
	}
	m := c.mslab[c.mpos : c.mpos : c.mpos+n]
	c.mpos += n
	return o, m
}

// newArray returns a zeroed array of length n.
func (c *ctx) newArray(n int) []any {
	if n > slabMax {
		return make([]any, n)
	}
	if len(c.aslab)-c.apos < n {
		c.used.elems += c.apos
		c.aslab = make([]any, slabSize(len(c.aslab), c.used.elems, c.hint.elems, n, elemSlabMax))
		c.apos = 0
	}
	a := c.aslab[c.apos : c.apos+n : c.apos+n]
	c.apos += n
	return a
}

// emptyArray is the template whose type word boxArray reuses.
var emptyArray any = []any(nil)

// boxArray returns any(a) without allocating: converting a slice to an
// interface copies its header to a fresh 24-byte allocation; here the
// header goes to a slot of the header slab instead and the interface
// points at it (as jsonv.BoxString does for strings). The slot is never
// written again, so the interface's value never changes.
func (c *ctx) boxArray(a []any) any {
	if c.hpos == len(c.hslab) {
		c.used.headers += c.hpos
		c.hslab = make([][]any, slabSize(len(c.hslab), c.used.headers, c.hint.headers, 1, headerSlabMax))
		c.hpos = 0
	}
	p := &c.hslab[c.hpos]
	c.hpos++
	*p = a
	v := emptyArray
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(p)
	return v
}

// Templates whose type words boxInt and boxFloat reuse.
var (
	emptyInt   any = int64(0)
	emptyFloat any = float64(0)
)

// bytes returns n fresh bytes for a string, from the byte slab when
// small; they are never written again once the string is made.
func (c *ctx) bytes(n int) []byte {
	if n > slabMax*16 {
		return make([]byte, n)
	}
	if len(c.bslab)-c.bpos < n {
		c.used.bytes += c.bpos
		c.bslab = make([]byte, slabSize(len(c.bslab), c.used.bytes, c.hint.bytes, n, slabBytes))
		c.bpos = 0
	}
	b := c.bslab[c.bpos : c.bpos+n : c.bpos+n]
	c.bpos += n
	return b
}

// boxString returns any(s) without allocating, its header in a slot of
// the string slab (jsonv.BoxString).
func (c *ctx) boxString(s string) any {
	if s == "" {
		return ""
	}
	if c.spos == len(c.sslab) {
		c.used.strs += c.spos
		c.sslab = make([]string, slabSize(len(c.sslab), c.used.strs, c.hint.strs, 1, stringSlabMax))
		c.spos = 0
	}
	p := &c.sslab[c.spos]
	c.spos++
	*p = s
	return jsonv.BoxString(p)
}

// boxInt returns any(i) without allocating (Go allocates 8 bytes for
// every int64 of 256 or more put in an interface): the value goes to a
// slot of the number slab and the interface points at it.
func (c *ctx) boxInt(i int64) any {
	if uint64(i) < 256 {
		return i // the runtime's static small integers
	}
	v := emptyInt
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(c.numSlot(uint64(i)))
	return v
}

// boxFloat is boxInt for decimals; an int64 and a float64 have the same
// size and no pointers, so they share the slab.
func (c *ctx) boxFloat(f float64) any {
	v := emptyFloat
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(c.numSlot(math.Float64bits(f)))
	return v
}

// boxNum boxes a parsed number.
func (c *ctx) boxNum(n num) any {
	if n.isInt {
		return c.boxInt(n.i)
	}
	return c.boxFloat(n.f)
}

// numSlot stores bits in the next slot of the number slab, which is
// never written again.
func (c *ctx) numSlot(bits uint64) *uint64 {
	if c.npos == len(c.nslab) {
		c.used.nums += c.npos
		c.nslab = make([]uint64, slabSize(len(c.nslab), c.used.nums, c.hint.nums, 1, slabBytes/8))
		c.npos = 0
	}
	p := &c.nslab[c.npos]
	c.npos++
	*p = bits
	return p
}

func newCtx(e *Expr) any {
	return &ctx{expr: e, globals: make([]any, e.nglobals), stack: make([]any, 0, 16)}
}

func getCtx(e *Expr) *ctx {
	c := e.pool.Get().(*ctx)
	for _, p := range e.params {
		c.globals[p.slot] = undefined
	}
	c.budget = e.cfg.maxOutput
	c.hint = e.hint.load()
	return c
}

func putCtx(c *ctx) {
	clear(c.globals)
	clear(c.stack[:cap(c.stack)])
	c.stack = c.stack[:0]
	clear(c.frames[:cap(c.frames)])
	c.frames = c.frames[:0]
	c.locals = nil
	c.depth = 0
	u := c.used
	u.members += c.mpos
	u.objects += c.opos
	u.elems += c.apos
	u.headers += c.hpos
	u.nums += c.npos
	u.strs += c.spos
	u.bytes += c.bpos
	c.mslab, c.oslab, c.aslab, c.hslab, c.nslab, c.sslab, c.bslab = nil, nil, nil, nil, nil, nil, nil
	c.mpos, c.opos, c.apos, c.hpos, c.npos, c.spos, c.bpos = 0, 0, 0, 0, 0, 0, 0
	c.expr.hint.store(u)
	c.used = slabUse{}
	c.expr.pool.Put(c)
}

// spend charges n units of output against the MaxOutputSize budget.
func (c *ctx) spend(n int, p pos) {
	c.budget -= int64(n)
	if c.budget < 0 {
		c.overspent(p)
	}
}

// overspent is spend's failure, apart so that spend is inlined.
func (c *ctx) overspent(p pos) {
	panic(p.errorf("output size limit of %d exceeded", c.expr.cfg.maxOutput))
}

type varRef struct {
	slot  int
	local bool
}

type letBinding struct {
	ref   varRef
	value node
	name  string
	pos   pos
}

func (c *ctx) set(r varRef, v any) {
	if r.local {
		c.locals[r.slot] = v
	} else {
		c.globals[r.slot] = v
	}
}

func evalLets(c *ctx, in any, lets []letBinding) {
	for i := range lets {
		c.set(lets[i].ref, lets[i].value.eval(c, in))
	}
}

type litNode struct{ v any }

func (n *litNode) eval(*ctx, any) any { return n.v }

type dotNode struct{}

func (*dotNode) eval(_ *ctx, in any) any { return in }

// keyNode is .key on the value of parent (the input when parent is nil).
type keyNode struct {
	parent node
	key    string
	pos    pos
	// hint is where key was last found. Records of one batch share their
	// layout (they come from one CSV header), so checking there first
	// usually avoids the scan. Atomic because the Expr is shared.
	hint atomic.Int32
	// seen is the bytes of the first input key found equal to key. The
	// records of a batch share their key strings (one CSV header's), so
	// comparing pointers usually saves comparing bytes. Go never modifies
	// a string's bytes and seen keeps them alive, so the bytes at seen stay
	// equal to key. Set once, so that Applies over differently allocated
	// keys do not take turns writing it.
	seen atomic.Pointer[byte]
}

// is reports whether k, a key of the input, is n.key.
func (n *keyNode) is(k string) bool {
	if len(k) != len(n.key) {
		return false
	}
	if unsafe.StringData(k) == n.seen.Load() {
		return true
	}
	return n.isSlow(k)
}

func (n *keyNode) isSlow(k string) bool {
	if k != n.key {
		return false
	}
	n.seen.CompareAndSwap(nil, unsafe.StringData(k))
	return true
}

func (n *keyNode) eval(c *ctx, in any) any {
	v := in
	if n.parent != nil {
		v = n.parent.eval(c, in)
	}
	return n.get(v)
}

// get is .key on v.
func (n *keyNode) get(v any) any {
	o, ok := v.(*jsonv.Object)
	if !ok || o == nil {
		return nil
	}
	if h := int(n.hint.Load()); h < len(o.Members) && n.is(o.Members[h].Key) {
		return o.Members[h].Value
	}
	if len(o.Members) > 64 {
		r, _ := o.Get(n.key)
		return r
	}
	for i := range o.Members {
		if n.is(o.Members[i].Key) {
			n.hint.Store(int32(i))
			return o.Members[i].Value
		}
	}
	return nil
}

// sliceNode is [index] or [from:to] on an array or string
// (ArraySlicer); anything else gives null.
type sliceNode struct {
	parent      node
	left, right node
	colon       bool
	pos         pos
}

func (n *sliceNode) index(c *ctx, in any, e node, size, ifNil int) int {
	if e == nil {
		return ifNil
	}
	v := e.eval(c, in)
	if !isNumber(v) {
		panic(n.pos.errorf("Can't index array/string with %s", toJSONString(v)))
	}
	ix := asInt(v)
	if ix < 0 {
		ix += size
	}
	return ix
}

func (n *sliceNode) eval(c *ctx, in any) any {
	seq := in
	if n.parent != nil {
		seq = n.parent.eval(c, in)
	}
	var size int
	arr, isArr := seq.([]any)
	str, isStr := seq.(string)
	switch {
	case isArr:
		size = len(arr)
	case isStr:
		size = len16(str)
	default:
		return nil
	}
	left := n.index(c, in, n.left, size, 0)
	if !n.colon {
		if isArr {
			if left < 0 || left >= size {
				return nil
			}
			return arr[left]
		}
		if left < 0 || left >= size {
			panic(n.pos.errorf("String index out of range: %d", left))
		}
		return substr16(str, left, left+1)
	}
	right := n.index(c, in, n.right, size, size)
	if right > size {
		right = size
	}
	if isArr {
		if right <= left {
			return []any{}
		}
		c.spend(right-left, n.pos)
		if left >= 0 {
			out := make([]any, right-left)
			copy(out, arr[left:right])
			return out
		}
		// The reference copies elements one by one and gets null for
		// indexes before the start.
		out := make([]any, right-left)
		for i := left; i < right; i++ {
			if i >= 0 {
				out[i-left] = arr[i]
			}
		}
		return out
	}
	if left < 0 || right < 0 || left > right {
		panic(n.pos.errorf("String index out of range: begin %d, end %d, length %d", left, right, size))
	}
	return substr16(str, left, right)
}

type varNode struct {
	name string
	ref  varRef
	pos  pos
}

func (n *varNode) eval(c *ctx, _ any) any {
	var v any
	if n.ref.local {
		v = c.locals[n.ref.slot]
	} else {
		v = c.globals[n.ref.slot]
	}
	if v == undefined {
		panic(n.pos.errorf("No such variable '%s'", n.name))
	}
	return v
}

type arrayNode struct {
	elems []node
	pos   pos
}

func (n *arrayNode) eval(c *ctx, in any) any {
	elems := n.elems // a local: the element stores could alias n.elems for all the compiler knows
	var out []any
	if m := len(elems); m <= slabMax && m <= len(c.aslab)-c.apos {
		out = c.aslab[c.apos : c.apos+m : c.apos+m] // newArray's fast path, inlined
		c.apos += m
	} else {
		out = c.newArray(m)
	}
	for i, e := range elems {
		out[i] = e.eval(c, in)
	}
	c.spend(len(out), n.pos)
	return c.boxArray(out)
}

type pair struct {
	key     string
	keyExpr node
	static  bool
	value   node
	pos     pos
}

type matcher struct {
	path []string // where, from the input, the object to match is
	skip []string // keys the object defines itself, and the "- a, b" ones
	expr node
	pos  pos
}

type objectNode struct {
	lets    []letBinding
	pairs   []pair
	dynamic bool
	match   *matcher
	pos     pos
	plain   bool        // no lets, no matcher, static keys: see eval
	pp      []plainPair // pairs, for plain objects
}

// plainPair is what eval reads of a pair of a plain object.
type plainPair struct {
	key   string
	value node
	// field is value when it is .key on the input, the commonest value of
	// a payload template, read without the dynamic call of value.eval.
	field *keyNode
	// lit is value when it is a literal (never null: those pairs are
	// dropped), which is always a value.
	lit   any
	isLit bool
}

// finish sets what the parser cannot know before the object is complete.
// general (config.noFastPaths) keeps every object on evalGeneral.
func (n *objectNode) finish(general bool) {
	n.plain = !general && n.lets == nil && n.match == nil && !n.dynamic
	if !n.plain {
		return
	}
	n.pp = make([]plainPair, 0, len(n.pairs))
	for _, p := range n.pairs {
		pp := plainPair{key: p.key, value: p.value}
		switch v := p.value.(type) {
		case *keyNode:
			if v.parent == nil {
				pp.field = v
			}
		case *litNode:
			if !isValue(v.v) {
				continue // null: always left out
			}
			pp.lit, pp.isLit = v.v, true
		}
		n.pp = append(n.pp, pp)
	}
}

// eval's first part is for plain objects, static keys only, the shape of
// almost every payload template: no key expressions, duplicate checks or
// matcher to look at per member, and the compact plainPair to read.
func (n *objectNode) eval(c *ctx, in any) any {
	if !n.plain {
		return n.evalGeneral(c, in)
	}
	// pp is read into a local, not through n: the compiler cannot tell
	// that the member stores below do not overwrite n.pp and would reload
	// it on every iteration.
	pp := n.pp
	// newObject's fast path, inlined (newObject itself is not: its slow
	// path is too big for the inliner). Members are stored by index into
	// the object's full reservation, not appended: no capacity check and
	// no slice header to carry per member.
	var o *jsonv.Object
	var members []jsonv.Member
	if np := len(pp); c.opos < len(c.oslab) && np <= len(c.mslab)-c.mpos {
		o = &c.oslab[c.opos]
		c.opos++
		members = c.mslab[c.mpos : c.mpos+np : c.mpos+np]
		c.mpos += np
	} else {
		o, members = c.newObjectSlow(np)
		members = members[:np]
	}
	var sm []jsonv.Member
	if src, ok := in.(*jsonv.Object); ok && src != nil {
		sm = src.Members
	}
	k := 0
	for i := range pp {
		p := &pp[i]
		var v any
		if p.isLit {
			v = p.lit
		} else {
			if f := p.field; f == nil {
				v = p.value.eval(c, in)
			} else if h := int(f.hint.Load()); h < len(sm) && len(sm[h].Key) == len(f.key) &&
				(unsafe.StringData(sm[h].Key) == f.seen.Load() || f.isSlow(sm[h].Key)) {
				v = sm[h].Value // get's first step, inlined
			} else {
				v = f.get(in)
			}
			if !isValue(v) {
				continue
			}
		}
		members[k] = jsonv.Member{Key: p.key, Value: v}
		k++
	}
	c.spend(k, n.pos)
	o.Members = members[:k]
	return o
}

func (n *objectNode) evalGeneral(c *ctx, in any) any {
	if n.lets != nil {
		evalLets(c, in, n.lets)
	}
	var src *jsonv.Object
	size := len(n.pairs)
	if n.match != nil {
		v := in
		for _, k := range n.match.path {
			o, ok := v.(*jsonv.Object)
			if !ok || o == nil {
				v = nil
				break
			}
			v, _ = lookup(o, k)
		}
		if o, ok := v.(*jsonv.Object); ok && o != nil {
			src = o
			size += len(o.Members)
		}
	}
	o, members := c.newObject(size)
	for i := range n.pairs {
		p := &n.pairs[i]
		v := p.value.eval(c, in)
		if !isValue(v) {
			continue
		}
		key := p.key
		if !p.static {
			k, ok := p.keyExpr.eval(c, in).(string)
			if !ok {
				panic(p.pos.errorf("Object key must be string"))
			}
			key = k
		}
		if n.dynamic {
			for j := range members {
				if members[j].Key == key {
					panic(p.pos.errorf("Duplicate key '%s' in object", key))
				}
			}
		}
		members = append(members, jsonv.Member{Key: key, Value: v})
	}
	if src != nil {
	outer:
		for _, m := range src.Members {
			for _, s := range n.match.skip {
				if s == m.Key {
					continue outer
				}
			}
			v := n.match.expr.eval(c, m.Value)
			if isValue(v) {
				members = append(members, jsonv.Member{Key: m.Key, Value: v})
			}
		}
	}
	c.spend(len(members), n.pos)
	o.Members = members
	return o
}

// objectToArray turns an object into [{"key": k, "value": v}, ...], which
// is what for loops and array() iterate over; the pairs come from the
// Apply's slabs.
func (c *ctx) objectToArray(o *jsonv.Object) []any {
	out := c.newArray(len(o.Members))
	for i, m := range o.Members {
		kv, members := c.newObject(2)
		kv.Members = append(members, jsonv.Member{Key: "key", Value: c.boxString(m.Key)}, jsonv.Member{Key: "value", Value: m.Value})
		out[i] = kv
	}
	return out
}

type forNode struct {
	seq  node
	lets []letBinding
	body node
	cond node
	pos  pos
}

func (n *forNode) eval(c *ctx, in any) any {
	var arr []any
	switch x := n.seq.eval(c, in).(type) {
	case nil:
		return nil
	case []any:
		arr = x
	case *jsonv.Object:
		arr = c.objectToArray(x)
	default:
		panic(n.pos.errorf("For loop can't iterate over %s", toJSONString(x)))
	}
	c.spend(len(arr), n.pos) // iterations count as work even when filtered out
	out := c.newArray(len(arr))[:0]
	for _, v := range arr {
		if n.lets != nil {
			evalLets(c, v, n.lets)
		}
		if n.cond == nil || isTrue(n.cond.eval(c, v)) {
			out = append(out, n.body.eval(c, v))
		}
	}
	c.spend(len(out), n.pos)
	return c.boxArray(out)
}

type comprehensionNode struct {
	seq   node
	lets  []letBinding
	key   node
	value node
	cond  node
	pos   pos
}

func (n *comprehensionNode) eval(c *ctx, in any) any {
	var arr []any
	switch x := n.seq.eval(c, in).(type) {
	case nil:
		return nil
	case []any:
		arr = x
	case *jsonv.Object:
		arr = c.objectToArray(x)
	default:
		panic(n.pos.errorf("Object comprehension can't loop over %s", toJSONString(x)))
	}
	c.spend(len(arr), n.pos)
	o := jsonv.NewObject(len(arr))
	for _, v := range arr {
		if n.lets != nil {
			evalLets(c, v, n.lets)
		}
		if n.cond != nil && !isTrue(n.cond.eval(c, v)) {
			continue
		}
		val := n.value.eval(c, v)
		if !isValue(val) {
			continue
		}
		k, ok := n.key.eval(c, v).(string)
		if !ok {
			panic(n.pos.errorf("Object comprehension must have string as key, not %s", toJSONString(n.key.eval(c, v))))
		}
		o.Set(k, val)
	}
	c.spend(o.Len(), n.pos)
	return o
}

type ifNode struct {
	cond     node
	thenLets []letBinding
	then     node
	elseLets []letBinding
	els      node
}

func (n *ifNode) eval(c *ctx, in any) any {
	if isTrue(n.cond.eval(c, in)) {
		evalLets(c, in, n.thenLets)
		return n.then.eval(c, in)
	}
	if n.els == nil {
		return nil
	}
	evalLets(c, in, n.elseLets)
	return n.els.eval(c, in)
}

type pipeNode struct {
	left, right node
	pos         pos
}

func (n *pipeNode) eval(c *ctx, in any) any { return n.right.eval(c, n.left.eval(c, in)) }

type orNode struct{ left, right node }

func (n *orNode) eval(c *ctx, in any) any {
	return isTrue(n.left.eval(c, in)) || isTrue(n.right.eval(c, in))
}

type andNode struct{ left, right node }

func (n *andNode) eval(c *ctx, in any) any {
	return isTrue(n.left.eval(c, in)) && isTrue(n.right.eval(c, in))
}

type eqNode struct {
	left, right node
	negate      bool
}

func (n *eqNode) eval(c *ctx, in any) any {
	return equal(n.left.eval(c, in), n.right.eval(c, in)) != n.negate
}

type cmpNode struct {
	left, right node
	op          tokKind
	pos         pos
}

func (n *cmpNode) eval(c *ctx, in any) any {
	r := compare(n.left.eval(c, in), n.right.eval(c, in), n.pos)
	switch n.op {
	case tBigger:
		return r > 0
	case tBigOrEq:
		return r >= 0
	case tSmaller:
		return r < 0
	}
	return r <= 0
}

type arithNode struct {
	left, right node
	op          tokKind
	pos         pos
}

func (n *arithNode) eval(c *ctx, in any) any {
	a := n.left.eval(c, in)
	b := n.right.eval(c, in)
	switch n.op {
	case tPlus:
		return n.plus(c, a, b)
	case tStar:
		return n.multiply(c, a, b)
	}
	return n.numeric(c, a, b)
}

// plus is PlusOperator: string concatenation if either side is a string,
// array concatenation, object union (right's keys first, left's values
// winning), {} + null and null + {} give the container, else numeric.
func (n *arithNode) plus(c *ctx, a, b any) any {
	as, aStr := a.(string)
	bs, bStr := b.(string)
	if aStr || bStr {
		if !aStr {
			as = toStr(a)
		}
		if !bStr {
			bs = toStr(b)
		}
		c.spend(len(as)+len(bs), n.pos)
		return as + bs
	}
	switch x := a.(type) {
	case []any:
		switch y := b.(type) {
		case []any:
			c.spend(len(x)+len(y), n.pos)
			out := make([]any, 0, len(x)+len(y))
			return append(append(out, x...), y...)
		case nil:
			return x
		}
	case *jsonv.Object:
		switch y := b.(type) {
		case *jsonv.Object:
			o := jsonv.NewObject(x.Len() + y.Len())
			for _, m := range y.Members {
				o.Set(m.Key, m.Value)
			}
			for _, m := range x.Members {
				o.Set(m.Key, m.Value)
			}
			c.spend(o.Len(), n.pos)
			return o
		case nil:
			return x
		}
	case nil:
		switch b.(type) {
		case []any, *jsonv.Object:
			return b
		}
	}
	return n.numeric(c, a, b)
}

// plusNode is a chain of + (left-associative): terms[0] + terms[1] + ...,
// ops[i] being the + before terms[i+1].
type plusNode struct {
	terms []node
	ops   []arithNode
}

func (n *plusNode) eval(c *ctx, in any) any {
	acc := n.terms[0].eval(c, in)
	for i := 1; i < len(n.terms); i++ {
		w := n.terms[i].eval(c, in)
		_, aStr := acc.(string)
		_, bStr := w.(string)
		if aStr || bStr {
			return n.concat(c, in, i, acc, w)
		}
		acc = n.ops[i-1].plus(c, acc, w)
	}
	return acc
}

// concat finishes the chain from terms[i] (whose value is w) on, acc
// being the value so far, one of the two a string: a string plus anything
// is a concatenation, so every later + is one too. The parts wait on
// c.stack and are copied once into a string; the budget is charged as
// each + of the chain would charge it, in the same order.
func (n *plusNode) concat(c *ctx, in any, i int, acc, w any) any {
	base := len(c.stack)
	push := func(v any) int {
		s, ok := v.(string)
		if !ok {
			s = toStr(v)
			v = s
		}
		c.stack = append(c.stack, v)
		return len(s)
	}
	size := push(acc)
	for {
		size += push(w)
		c.spend(size, n.ops[i-1].pos)
		if i++; i == len(n.terms) {
			break
		}
		w = n.terms[i].eval(c, in)
	}
	parts := c.stack[base:]
	var r any
	if len(parts) == 2 && parts[1] == "" {
		r = parts[0] // nothing to copy: reuse the string and its box
	} else {
		b := c.bytes(size)
		at := 0
		for _, p := range parts {
			at += copy(b[at:], p.(string))
		}
		r = c.boxString(unsafe.String(unsafe.SliceData(b), size))
	}
	clear(parts)
	c.stack = c.stack[:base]
	return r
}

// multiply is MultiplyOperator: a string times a number repeats it.
func (n *arithNode) multiply(c *ctx, a, b any) any {
	as, aStr := a.(string)
	bs, bStr := b.(string)
	switch {
	case aStr && bStr:
		panic(n.pos.errorf("Can't multiply two strings!"))
	case aStr || bStr:
		s, count := as, asInt(b)
		if bStr {
			s, count = bs, asInt(a)
		}
		if count <= 0 {
			return ""
		}
		c.spend(len(s)*count, n.pos)
		return strings.Repeat(s, count)
	}
	return n.numeric(c, a, b)
}

// toNum is NodeUtils.number(v, strict=true): numbers as they are,
// numeric strings parsed, anything else an error; unboxed.
func toNum(v any, p pos) num {
	switch x := v.(type) {
	case int64:
		return num{i: x, isInt: true}
	case float64:
		return num{f: x}
	case string:
		if n, ok := parseNum(x); ok {
			return n
		}
		panic(p.errorf("number(%s) failed: not a number", x))
	}
	panic(p.errorf("Can't convert %s to number", toJSONString(v)))
}

// numeric is NumericOperator and DivideOperator: null if either side is
// null, integer arithmetic if both are integers (division only when exact),
// otherwise double arithmetic.
func (n *arithNode) numeric(c *ctx, a, b any) any {
	if a == nil || b == nil {
		return nil
	}
	x := toNum(a, n.pos)
	y := toNum(b, n.pos)
	if x.isInt && y.isInt {
		ai, bi := x.i, y.i
		switch n.op {
		case tPlus:
			return c.boxInt(ai + bi)
		case tMinus:
			return c.boxInt(ai - bi)
		case tStar:
			return c.boxInt(ai * bi)
		case tSlash:
			if bi == 0 {
				panic(n.pos.errorf("/ by zero"))
			}
			if ai%bi == 0 {
				return c.boxInt(ai / bi)
			}
			return c.boxFloat(float64(ai) / float64(bi))
		case tPercent:
			if bi == 0 {
				panic(n.pos.errorf("/ by zero"))
			}
			return c.boxInt(ai % bi)
		}
	}
	af, bf := x.float(), y.float()
	switch n.op {
	case tPlus:
		return c.boxFloat(af + bf)
	case tMinus:
		return c.boxFloat(af - bf)
	case tStar:
		return c.boxFloat(af * bf)
	case tSlash:
		return c.boxFloat(af / bf)
	}
	return c.boxFloat(math.Mod(af, bf))
}

// callable is anything a function call can resolve to.
type callable interface {
	arity() (min, max int)
}

// builtin is a function of the standard library. fn must not keep args.
type builtin struct {
	name     string
	min, max int
	regexArg int // 1-based position of a regular-expression argument, 0 if none
	fn       func(c *ctx, call *callNode, in any, args []any) any
}

func (b *builtin) arity() (int, int) { return b.min, b.max }

type funcDecl struct {
	name      string
	nparams   int
	frameSize int
	lets      []letBinding
	body      node
	pos       pos
}

func (f *funcDecl) arity() (int, int) { return f.nparams, f.nparams }

// moduleFunc is an imported module with a body, callable with one
// argument that becomes the body's input.
type moduleFunc struct {
	name string
	body node
}

func (m *moduleFunc) arity() (int, int) { return 1, 1 }

type callNode struct {
	name   string
	args   []node
	fn     callable
	regex  *regexEntry // precompiled literal regular expression, if any
	pos    pos
	number bool // fn is the number builtin, see evalNumber
}

func (n *callNode) eval(c *ctx, in any) any {
	switch f := n.fn.(type) {
	case *builtin:
		if n.number {
			return n.evalNumber(c, in)
		}
		base := len(c.stack)
		for _, a := range n.args {
			v := a.eval(c, in)
			c.stack = append(c.stack, v)
		}
		r := f.fn(c, n, in, c.stack[base:len(c.stack):len(c.stack)])
		// Not clear(): for one or two slots its bulk write barrier costs
		// more than the stores.
		for i := base; i < len(c.stack); i++ {
			c.stack[i] = nil
		}
		c.stack = c.stack[:base]
		return r
	case *funcDecl:
		return n.callDecl(c, in, f)
	case *moduleFunc:
		arg := n.args[0].eval(c, in)
		n.enter(c)
		r := f.body.eval(c, arg)
		c.depth--
		return r
	}
	panic(n.pos.errorf("INTERNAL ERROR: unresolved function %s", n.name))
}

// evalNumber is number(x) and number(x, fallback) without the argument
// stack: the commonest call of a payload template (a CSV column typed as
// a number), and the stack's pushes and clears cost as much as parsing
// the number. Both arguments are evaluated, as for any builtin, so that
// an error in the fallback is reported even when it is not needed; the
// failures are fnNumber's own.
func (n *callNode) evalNumber(c *ctx, in any) any {
	v := n.args[0].eval(c, in)
	var fallback any
	hasFallback := len(n.args) == 2
	if hasFallback {
		fallback = n.args[1].eval(c, in)
	}
	switch x := v.(type) {
	case string:
		if num, ok := parseNum(x); ok {
			return c.boxNum(num)
		}
	case int64, float64:
		return v // as it is: returning x would box it again
	case nil:
		return fallback
	}
	if hasFallback {
		return fallback
	}
	return fnNumber(c, n, in, []any{v})
}

func (n *callNode) enter(c *ctx) {
	c.spend(1, n.pos) // calls are work: f(x) + f(x) recursion makes no output
	c.depth++
	if c.depth > c.expr.cfg.maxDepth {
		panic(n.pos.errorf("Function calls nested deeper than %d (infinite recursion in '%s'?)", c.expr.cfg.maxDepth, n.name))
	}
}

// callDecl runs a user-defined function. Its frame is carved out of
// c.frames; a frame is only ever used through the slice taken here, so the
// backing store may be reallocated by nested calls without harm.
func (n *callNode) callDecl(c *ctx, in any, f *funcDecl) any {
	base := len(c.stack)
	for _, a := range n.args {
		v := a.eval(c, in)
		c.stack = append(c.stack, v)
	}
	n.enter(c)
	fbase := len(c.frames)
	for i := 0; i < f.frameSize; i++ {
		c.frames = append(c.frames, nil)
	}
	frame := c.frames[fbase : fbase+f.frameSize : fbase+f.frameSize]
	copy(frame, c.stack[base:])
	clear(c.stack[base:])
	c.stack = c.stack[:base]

	saved := c.locals
	c.locals = frame
	evalLets(c, in, f.lets)
	r := f.body.eval(c, in)
	c.locals = saved
	clear(frame)
	c.frames = c.frames[:fbase]
	c.depth--
	return r
}

// fallbackNode is the fallback() macro: the first argument that is a value
// (not null, [] or {}); later arguments are not evaluated.
type fallbackNode struct{ args []node }

func (n *fallbackNode) eval(c *ctx, in any) any {
	for _, a := range n.args {
		if v := a.eval(c, in); isValue(v) {
			return v
		}
	}
	return nil
}
