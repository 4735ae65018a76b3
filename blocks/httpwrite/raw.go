package httpwrite

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/jsonv"
)

// Bulk answers are parsed without building a value tree. Building one costs
// ~10 allocations per entity (objects, member slices, key strings), which
// alone is more than the block's CPU budget per record; the paths every
// Capillary template uses ($.*, $.response[*], $.['errors'].*.code,
// $.entityId) only need names, indices and wildcards, which can be followed
// over the raw bytes. Paths outside that subset (filters, slices, recursive
// descent, comma lists) use the jsonv tree and lang/jsonpath instead.

// rawSeg is one step of a raw path.
type rawSeg struct {
	kind  uint8 // segName, segIndex, segWild
	name  string
	index int
}

const (
	segName uint8 = iota
	segIndex
	segWild
)

type rawPath struct {
	src  string
	segs []rawSeg
}

// compileRaw accepts $, .name, ['name'], ["name"], .*, [*], [n] (and the
// Connect+ spellings $.[*], $.['name']); anything else reports false.
func compileRaw(src string) (*rawPath, bool) {
	s := strings.TrimSpace(src)
	if !strings.HasPrefix(s, "$") {
		return nil, false
	}
	p := &rawPath{src: src}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			if i < len(s) && s[i] == '.' {
				return nil, false // recursive descent
			}
			if i < len(s) && s[i] == '[' {
				continue // $.[*] and $.['x'] mean $[*] and $['x']
			}
			if i < len(s) && s[i] == '*' {
				p.segs = append(p.segs, rawSeg{kind: segWild})
				i++
				continue
			}
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				c := s[j]
				if c == ' ' || c == '\'' || c == '"' || c == '*' || c == '?' || c == '(' || c == ')' || c == ',' || c == '@' || c == '$' || c == '\\' || c >= 0x80 {
					return nil, false
				}
				j++
			}
			if j == i {
				return nil, false
			}
			p.segs = append(p.segs, rawSeg{kind: segName, name: s[i:j]})
			i = j
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, false
			}
			inner := s[i+1 : i+end]
			i += end + 1
			switch {
			case inner == "*":
				p.segs = append(p.segs, rawSeg{kind: segWild})
			case len(inner) >= 2 && (inner[0] == '\'' && inner[len(inner)-1] == '\'' || inner[0] == '"' && inner[len(inner)-1] == '"'):
				name := inner[1 : len(inner)-1]
				if strings.ContainsAny(name, `'"\`) {
					return nil, false
				}
				p.segs = append(p.segs, rawSeg{kind: segName, name: name})
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || strings.ContainsAny(inner, "+ ") || len(inner) > 1 && (inner[0] == '0' || strings.HasPrefix(inner, "-0")) {
					return nil, false
				}
				p.segs = append(p.segs, rawSeg{kind: segIndex, index: n})
			}
		default:
			return nil, false
		}
	}
	return p, true
}

// appendAll appends the values the path selects in doc (valid JSON), in
// document order, stopping after limit results (limit < 0: all).
func (p *rawPath) appendAll(dst [][]byte, doc []byte, limit int) [][]byte {
	dst, _ = evalRaw(dst, trimWS(doc), p.segs, limit)
	return dst
}

// first returns the first selected value.
func (p *rawPath) first(doc []byte) ([]byte, bool) {
	var one [1][]byte
	r := p.appendAll(one[:0], doc, 1)
	if len(r) == 0 {
		return nil, false
	}
	return r[0], true
}

func evalRaw(dst [][]byte, v []byte, segs []rawSeg, limit int) ([][]byte, bool) {
	if len(segs) == 0 {
		dst = append(dst, v)
		return dst, limit < 0 || len(dst) < limit
	}
	seg, rest := segs[0], segs[1:]
	more := true
	switch {
	case len(v) == 0:
	case v[0] == '{' && seg.kind == segName:
		it := objIter{b: v, i: 1}
		for it.next() {
			if it.keyIs(seg.name) {
				return evalRaw(dst, it.val, rest, limit)
			}
		}
	case v[0] == '{' && seg.kind == segWild:
		it := objIter{b: v, i: 1}
		for more && it.next() {
			dst, more = evalRaw(dst, it.val, rest, limit)
		}
	case v[0] == '[' && seg.kind == segWild:
		it := arrIter{b: v, i: 1}
		for more && it.next() {
			dst, more = evalRaw(dst, it.val, rest, limit)
		}
	case v[0] == '[' && seg.kind == segIndex:
		idx := seg.index
		if idx < 0 {
			n := 0
			for it := (arrIter{b: v, i: 1}); it.next(); {
				n++
			}
			idx += n
			if idx < 0 {
				return dst, true
			}
		}
		it := arrIter{b: v, i: 1}
		for k := 0; it.next(); k++ {
			if k == idx {
				return evalRaw(dst, it.val, rest, limit)
			}
		}
	}
	return dst, more
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimWS(b []byte) []byte {
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// objIter walks the members of a valid JSON object.
type objIter struct {
	b        []byte
	i        int
	keyStart int    // index of the key's opening quote
	key      []byte // raw, without quotes
	escaped  bool
	val      []byte
	finished bool
}

func (it *objIter) next() bool {
	if it.finished {
		return false
	}
	b, i := it.b, it.i
	for i < len(b) && (isWS(b[i]) || b[i] == ',') {
		i++
	}
	if i >= len(b) || b[i] != '"' {
		// it.i is left at the closing brace (resetAt reads it).
		it.i, it.finished = i, true
		return false
	}
	ke, esc := skipString(b, i)
	it.keyStart, it.key, it.escaped = i, b[i+1:ke-1], esc
	i = ke
	for i < len(b) && (isWS(b[i]) || b[i] == ':') {
		i++
	}
	ve := skipValue(b, i)
	it.val = b[i:ve]
	it.i = ve
	return true
}

func (it *objIter) keyIs(name string) bool {
	if !it.escaped {
		return string(it.key) == name
	}
	k, err := jsonv.Parse(it.b[it.keyStart : it.keyStart+len(it.key)+2])
	return err == nil && k == name
}

// arrIter walks the elements of a valid JSON array.
type arrIter struct {
	b        []byte
	i        int
	val      []byte
	finished bool
}

func (it *arrIter) next() bool {
	if it.finished {
		return false
	}
	b, i := it.b, it.i
	for i < len(b) && (isWS(b[i]) || b[i] == ',') {
		i++
	}
	if i >= len(b) || b[i] == ']' {
		it.finished = true
		return false
	}
	ve := skipValue(b, i)
	it.val = b[i:ve]
	it.i = ve
	return true
}

// skipString returns the index after the string starting at b[i] == '"'
// and whether it holds escapes. The input is known to be valid.
func skipString(b []byte, i int) (int, bool) {
	esc := false
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1, esc
		case '\\':
			esc = true
			i++
		}
	}
	return len(b), esc
}

// validJSON reports whether b is one valid JSON value (RFC 8259 grammar;
// string contents are not checked for UTF-8, as encoding/json does not).
// The raw walkers rely on it; it is several times faster than json.Valid,
// whose per-byte state machine would cost a fifth of the block's budget.
func validJSON(b []byte) bool {
	v := validator{b: b}
	v.ws()
	if !v.value(0) {
		return false
	}
	v.ws()
	return v.i == len(b)
}

type validator struct {
	b []byte
	i int
}

func (v *validator) ws() {
	for v.i < len(v.b) && isWS(v.b[v.i]) {
		v.i++
	}
}

func (v *validator) value(depth int) bool {
	if v.i >= len(v.b) || depth > jsonv.MaxDepth {
		return false
	}
	switch c := v.b[v.i]; {
	case c == '"':
		return v.str()
	case c == '{':
		v.i++
		v.ws()
		if v.i < len(v.b) && v.b[v.i] == '}' {
			v.i++
			return true
		}
		for {
			v.ws()
			if v.i >= len(v.b) || v.b[v.i] != '"' || !v.str() {
				return false
			}
			v.ws()
			if v.i >= len(v.b) || v.b[v.i] != ':' {
				return false
			}
			v.i++
			v.ws()
			if !v.value(depth + 1) {
				return false
			}
			v.ws()
			if v.i >= len(v.b) {
				return false
			}
			switch v.b[v.i] {
			case ',':
				v.i++
			case '}':
				v.i++
				return true
			default:
				return false
			}
		}
	case c == '[':
		v.i++
		v.ws()
		if v.i < len(v.b) && v.b[v.i] == ']' {
			v.i++
			return true
		}
		for {
			v.ws()
			if !v.value(depth + 1) {
				return false
			}
			v.ws()
			if v.i >= len(v.b) {
				return false
			}
			switch v.b[v.i] {
			case ',':
				v.i++
			case ']':
				v.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return v.lit("true")
	case c == 'f':
		return v.lit("false")
	case c == 'n':
		return v.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return v.num()
	}
	return false
}

func (v *validator) lit(w string) bool {
	if len(v.b)-v.i >= len(w) && string(v.b[v.i:v.i+len(w)]) == w {
		v.i += len(w)
		return true
	}
	return false
}

func (v *validator) str() bool {
	b := v.b
	for i := v.i + 1; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			v.i = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i >= len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return false
				}
				for _, h := range b[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

func (v *validator) num() bool {
	b, i := v.b, v.i
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	v.i = i
	return true
}

// skipValue returns the index after the value starting at b[i] (valid JSON).
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		e, _ := skipString(b, i)
		return e
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i, _ = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isWS(b[i]) {
		i++
	}
	return i
}

// rawScalarString renders a raw value like block.ScalarString renders the
// parsed one: strings unquoted, integers as digits, null as "".
func rawScalarString(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	switch c := v[0]; {
	case c == '"':
		if bytes.IndexByte(v, '\\') < 0 && isASCII(v) {
			return string(v[1 : len(v)-1])
		}
	case c == '-' || c >= '0' && c <= '9':
		if isInt(v) {
			return string(v)
		}
	case c == 'n':
		return ""
	case c == 't':
		return "true"
	case c == 'f':
		return "false"
	}
	x, err := jsonv.Parse(v)
	if err != nil {
		return ""
	}
	return block.ScalarString(x)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// isInt reports whether v is a JSON integer that fits int64 (jsonv parses
// those as int64, which ScalarString prints as the same digits).
func isInt(v []byte) bool {
	s := v
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
		if len(s) > 0 && s[0] == '0' {
			return false // -0 parses to 0: let jsonv render it
		}
	}
	if len(s) == 0 || len(s) > 18 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return !(len(s) > 1 && s[0] == '0')
}

// rawInt reads a status code: a JSON integer or a numeric string.
func rawInt(v []byte) (int, bool) {
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') && isInt(v) {
		n, err := strconv.Atoi(string(v))
		return n, err == nil
	}
	x, err := jsonv.Parse(v)
	if err != nil {
		return 0, false
	}
	return toInt(x)
}

// rawParser is a parse path map compiled for raw evaluation.
type rawParser struct {
	split            *rawPath
	code, msg, id    *rawPath
	extra            []*rawPath
	errorsPath       *rawPath
	errCode, errText *rawPath
}

var errNotRaw = errors.New("path outside the raw subset")

func newRawParser(s *settings, splitSrc string) (*rawParser, error) {
	p := &rawParser{}
	var ok bool
	compile := func(src string) *rawPath {
		if !ok {
			return nil
		}
		var r *rawPath
		r, ok = compileRaw(src)
		return r
	}
	ok = true
	p.split = compile(splitSrc)
	if s.codePath != nil {
		p.code = compile(s.codePath.String())
	}
	if s.msgPath != nil {
		p.msg = compile(s.msgPath.String())
	}
	if s.idPath != nil {
		p.id = compile(s.idPath.String())
	}
	for _, x := range s.extra {
		p.extra = append(p.extra, compile(x.path.String()))
	}
	p.errorsPath = compile("$.errors")
	p.errCode = compile("$.code")
	p.errText = compile("$.message")
	if !ok {
		return nil, errNotRaw
	}
	return p, nil
}

// entityView is one answer element with its top-level members indexed, so
// the four or five paths read per entity do not each rescan the object.
type entityView struct {
	e       []byte
	n       int // members in m; -1 when e is not an object or has too many
	m       [16]objMember
	scratch [4][]byte
	// doc and text are the whole answer and one string copy of it (set by
	// bulkOutcomes): a scalar within doc is taken from text, so a bulk
	// answer's entity ids cost one allocation, not one each.
	doc  []byte
	text string
}

// scalar is rawScalarString(x), a substring of v.text when x lies in v.doc
// and reads as itself.
func (v *entityView) scalar(x []byte) string {
	if v.text != "" && len(x) > 0 {
		if off := cap(v.doc) - cap(x); off >= 0 && off+len(x) <= len(v.doc) && &v.doc[off] == &x[0] {
			switch c := x[0]; {
			case c == '"':
				if len(x) >= 2 && bytes.IndexByte(x, '\\') < 0 && isASCII(x) {
					return v.text[off+1 : off+len(x)-1]
				}
			case c == '-' || c >= '0' && c <= '9':
				if isInt(x) {
					return v.text[off : off+len(x)]
				}
			}
		}
	}
	return rawScalarString(x)
}

type objMember struct {
	key      []byte
	keyStart int
	escaped  bool
	val      []byte
}

func (v *entityView) reset(e []byte) {
	v.e, v.n = e, -1
	if len(e) == 0 || e[0] != '{' {
		return
	}
	it := objIter{b: e, i: 1}
	n := 0
	for it.next() {
		if n == len(v.m) {
			return
		}
		v.m[n] = objMember{key: it.key, keyStart: it.keyStart, escaped: it.escaped, val: it.val}
		n++
	}
	v.n = n
}

// resetAt is reset(b[i:skipValue(b, i)]) that returns that end, found by
// indexing the members rather than by a scan of its own: a bulk answer's
// elements are walked once, not twice.
func (v *entityView) resetAt(b []byte, i int) int {
	if b[i] != '{' {
		end := skipValue(b, i)
		v.e, v.n = b[i:end], -1
		return end
	}
	it := objIter{b: b, i: i + 1}
	n := 0
	for it.next() {
		if n == len(v.m) {
			end := skipValue(b, i)
			v.e, v.n = b[i:end], -1
			return end
		}
		v.m[n] = objMember{key: it.key, keyStart: it.keyStart - i, escaped: it.escaped, val: it.val}
		n++
	}
	end := min(it.i+1, len(b)) // after the closing brace
	v.e, v.n = b[i:end], n
	return end
}

func (v *entityView) keyIs(i int, name string) bool {
	m := &v.m[i]
	if !m.escaped {
		return string(m.key) == name
	}
	k, err := jsonv.Parse(v.e[m.keyStart : m.keyStart+len(m.key)+2])
	return err == nil && k == name
}

// all appends the values p selects in the element.
func (v *entityView) all(dst [][]byte, p *rawPath, limit int) [][]byte {
	if v.n < 0 || len(p.segs) == 0 {
		dst, _ = evalRaw(dst, v.e, p.segs, limit)
		return dst
	}
	seg, rest := p.segs[0], p.segs[1:]
	switch seg.kind {
	case segName:
		for i := 0; i < v.n; i++ {
			if v.keyIs(i, seg.name) {
				dst, _ = evalRaw(dst, v.m[i].val, rest, limit)
				break
			}
		}
	case segWild:
		more := true
		for i := 0; i < v.n && more; i++ {
			dst, more = evalRaw(dst, v.m[i].val, rest, limit)
		}
	}
	return dst
}

func (v *entityView) first(p *rawPath) ([]byte, bool) {
	r := v.all(v.scratch[:0], p, 1)
	if len(r) == 0 {
		return nil, false
	}
	return r[0], true
}

// outcome is settings.entityOutcome over a raw element.
func (p *rawParser) outcome(s *settings, v *entityView, httpStatus int) block.Outcome {
	var o block.Outcome
	p.outcomeTo(s, v, httpStatus, &o)
	return o
}

// outcomeTo sets *o, a zero Outcome, to outcome(s, v, httpStatus). Filling
// a bulk answer's outcome slice in place spares a 96-byte copy with
// pointers (a bulk write barrier while the GC runs) per element.
func (p *rawParser) outcomeTo(s *settings, v *entityView, httpStatus int, o *block.Outcome) {
	o.Status, o.Code = block.Delivered, httpStatus
	failed, haveCode := false, false
	if p.code != nil {
		if x, ok := v.first(p.code); ok {
			if c, ok := rawInt(x); ok {
				o.Code, haveCode = c, true
				failed = c >= 400
			}
		}
	}
	var firstErr []byte
	if v.n >= 0 {
		if errs, ok := v.first(p.errorsPath); ok && len(errs) > 0 && errs[0] == '[' {
			it := arrIter{b: errs, i: 1}
			if it.next() {
				failed, firstErr = true, it.val
			}
		}
	}
	if p.msg != nil {
		o.Message = rawJoin(v.all(v.scratch[:0], p.msg, -1))
	}
	if failed {
		o.Status = block.Failed
		if firstErr != nil && firstErr[0] == '{' {
			if !haveCode {
				if x, ok := p.errCode.first(firstErr); ok {
					if c, ok := rawInt(x); ok {
						o.Code = c
					}
				}
			}
			if o.Message == "" {
				if x, ok := p.errText.first(firstErr); ok {
					o.Message = rawScalarString(x)
				}
			}
		}
	}
	if p.id != nil {
		if x, ok := v.first(p.id); ok && string(x) != "null" {
			o.EntityID = v.scalar(x)
		}
	}
	if len(p.extra) > 0 {
		o.Extra = make([][2]string, 0, len(p.extra))
		for i, x := range p.extra {
			o.Extra = append(o.Extra, [2]string{s.extra[i].name, rawJoin(v.all(v.scratch[:0], x, -1))})
		}
	}
}

// container reports whether the path has the simple shape (wildcard last,
// no wildcard before) and returns the value its steps before the wildcard
// select in doc (trimmed valid JSON; nil when none).
func (p *rawPath) container(doc []byte) ([]byte, bool) {
	k := len(p.segs)
	if k == 0 || p.segs[k-1].kind != segWild {
		return nil, false
	}
	for _, sg := range p.segs[:k-1] {
		if sg.kind == segWild {
			return nil, false
		}
	}
	var one [1][]byte
	cont, _ := evalRaw(one[:0], doc, p.segs[:k-1], 1)
	if len(cont) == 0 {
		return nil, true
	}
	return cont[0], true
}

// span locates a value inside the answer without holding a pointer (a
// slice of spans needs no write barriers and no GC scanning).
type span struct{ start, end int32 }

// spans appends to out the elements the split path selects. The common
// shape — wildcard last, no wildcard before — walks the container once.
func (p *rawPath) spans(out []span, doc []byte) []span {
	doc = trimWS(doc)
	base := cap(doc)
	at := func(v []byte) span {
		off := base - cap(v)
		return span{int32(off), int32(off + len(v))}
	}
	if c, simple := p.container(doc); simple {
		switch {
		case len(c) > 0 && c[0] == '[':
			for it := (arrIter{b: c, i: 1}); it.next(); {
				out = append(out, at(it.val))
			}
		case len(c) > 0 && c[0] == '{':
			for it := (objIter{b: c, i: 1}); it.next(); {
				out = append(out, at(it.val))
			}
		}
		return out
	}
	vals, _ := evalRaw(nil, doc, p.segs, -1)
	for _, v := range vals {
		out = append(out, at(v))
	}
	return out
}

func rawJoin(vals [][]byte) string {
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return rawScalarString(vals[0])
	}
	parts := make([]string, 0, len(vals))
	for _, v := range vals {
		if s := rawScalarString(v); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}
