package jolt

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// This file is JOLT's path model (com.bazaarvoice.jolt.common): the keys of
// a specification's left-hand side, the dot-notation of its right-hand
// side, the walked path of input keys matched so far, and the traversal
// that reads and writes a tree along evaluated keys.

// matched is one level of the walked path: the input key matched there and
// its wildcard captures (subs[0] is the whole key), the count of real
// children written below it (what # and [#n] read) and, for array levels of
// the modifiers, the array's size before expansion (-1 when not an array).
type matched struct {
	subs      []string
	hashCount int
	origSize  int
}

func newMatched(key string, subs ...string) *matched {
	return &matched{subs: append([]string{key}, subs...), origSize: -1}
}

func (m *matched) raw() string { return m.subs[0] }

func (m *matched) sub(i int) (string, error) {
	if i < 0 || i >= len(m.subs) {
		return "", fmt.Errorf("the key %q matched here has no capture group %d", m.subs[0], i)
	}
	return m.subs[i], nil
}

type step struct {
	tree any
	me   *matched
}

// walked is the path from the root to the current input level.
type walked struct{ steps []step }

func (w *walked) push(tree any, me *matched) { w.steps = append(w.steps, step{tree, me}) }
func (w *walked) pop()                       { w.steps = w.steps[:len(w.steps)-1] }
func (w *walked) last() *step                { return &w.steps[len(w.steps)-1] }

// fromEnd returns the step i levels up, or nil above the root.
func (w *walked) fromEnd(i int) *step {
	j := len(w.steps) - 1 - i
	if j < 0 || j >= len(w.steps) {
		return nil
	}
	return &w.steps[j]
}

// errEval is returned when a reference points above the root or at a
// capture group the matched key does not have: the write or match is
// skipped, as JOLT's IndexOutOfBounds would abort it.
var errEval = errors.New("reference out of range")

// pathElement is one key of a specification.
type pathElement interface {
	canonical() string
}

// matcher is a left-hand-side key.
type matcher interface {
	pathElement
	match(key string, w *walked) *matched
}

// evaluator is a right-hand-side key: it evaluates to an output key ("" and
// ok=false when there is none, which skips the write).
type evaluator interface {
	pathElement
	eval(w *walked) (string, bool)
}

// starMatcher is implemented by the * keys.
type starMatcher interface {
	matcher
	stringMatch(s string) bool
}

type literalPE struct{ key string }

func (p *literalPE) canonical() string { return strings.ReplaceAll(p.key, ".", `\.`) }
func (p *literalPE) eval(*walked) (string, bool) {
	return p.key, true
}
func (p *literalPE) match(key string, _ *walked) *matched {
	if key == p.key {
		return newMatched(key)
	}
	return nil
}

// ref is a &, $ or # reference: how many levels up and which capture group.
type ref struct {
	token     byte
	pathIndex int
	keyGroup  int
}

func parseRef(s string, token byte, withGroup bool) (ref, error) {
	r := ref{token: token}
	if s == "" || s[0] != token {
		return r, fmt.Errorf("invalid reference %q: it must start with %c", s, token)
	}
	meat := s[1:]
	if meat == "" {
		return r, nil
	}
	bad := func() (ref, error) { return r, fmt.Errorf("unable to parse the %c reference %q", token, s) }
	if withGroup && len(meat) >= 3 && meat[0] == '(' && meat[len(meat)-1] == ')' {
		parts := strings.Split(meat[1:len(meat)-1], ",")
		if len(parts) > 2 {
			return bad()
		}
		var err error
		if r.pathIndex, err = strconv.Atoi(strings.TrimSpace(parts[0])); err != nil {
			return bad()
		}
		if len(parts) == 2 {
			if r.keyGroup, err = strconv.Atoi(strings.TrimSpace(parts[1])); err != nil {
				return bad()
			}
		}
	} else {
		var err error
		if r.pathIndex, err = strconv.Atoi(meat); err != nil {
			return bad()
		}
	}
	if r.pathIndex < 0 || r.keyGroup < 0 {
		return r, fmt.Errorf("reference %q can not have a negative value", s)
	}
	return r, nil
}

func (r ref) canonical() string {
	if r.token == '#' {
		return "#" + strconv.Itoa(r.pathIndex)
	}
	return string(r.token) + "(" + strconv.Itoa(r.pathIndex) + "," + strconv.Itoa(r.keyGroup) + ")"
}

func (r ref) resolve(w *walked) (string, error) {
	s := w.fromEnd(r.pathIndex)
	if s == nil {
		return "", errEval
	}
	v, err := s.me.sub(r.keyGroup)
	if err != nil {
		return "", errEval
	}
	return v, nil
}

// ampPE is a key with & references: "&", "&1", "&(1,2)", "prefix-&1-suffix".
type ampPE struct {
	tokens []any // string or ref
	canon  string
}

func newAmp(key string) (*ampPE, error) {
	p := &ampPE{}
	var lit, canon strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c != '&' {
			lit.WriteByte(c)
			continue
		}
		if lit.Len() > 0 {
			p.tokens = append(p.tokens, lit.String())
			canon.WriteString(lit.String())
			lit.Reset()
		}
		end := i + 1
		for end < len(key) && (key[end] >= '0' && key[end] <= '9' || key[end] == '(' || key[end] == ')' || key[end] == ',') {
			end++
		}
		r, err := parseRef(key[i:end], '&', true)
		if err != nil {
			return nil, err
		}
		canon.WriteString(r.canonical())
		p.tokens = append(p.tokens, r)
		i = end - 1
	}
	if lit.Len() > 0 {
		p.tokens = append(p.tokens, lit.String())
		canon.WriteString(lit.String())
	}
	p.canon = canon.String()
	return p, nil
}

func (p *ampPE) canonical() string { return p.canon }

func (p *ampPE) eval(w *walked) (string, bool) {
	var b strings.Builder
	for _, t := range p.tokens {
		switch x := t.(type) {
		case string:
			b.WriteString(x)
		case ref:
			v, err := x.resolve(w)
			if err != nil {
				return "", false
			}
			b.WriteString(v)
		}
	}
	return b.String(), true
}

func (p *ampPE) match(key string, w *walked) *matched {
	if v, ok := p.eval(w); ok && v == key {
		return newMatched(v)
	}
	return nil
}

type arrayKind int

const (
	arrayAutoExpand arrayKind = iota
	arrayReference
	arrayHash
	arrayTranspose
	arrayExplicit
)

// arrayPE is a bracketed key: "[]", "[3]", "[&1]", "[#2]", "[@(1,idx)]".
type arrayPE struct {
	kind  arrayKind
	ref   ref
	tpe   *transposePE
	index string
	canon string
}

func newArray(key string) (*arrayPE, error) {
	if len(key) < 2 || key[0] != '[' || key[len(key)-1] != ']' {
		return nil, fmt.Errorf("invalid array key %q", key)
	}
	p := &arrayPE{}
	if len(key) == 2 {
		p.kind, p.canon = arrayAutoExpand, "[]"
		return p, nil
	}
	meat := key[1 : len(key)-1]
	var err error
	switch meat[0] {
	case '&':
		p.kind = arrayReference
		if p.ref, err = parseRef(meat, '&', true); err != nil {
			return nil, err
		}
		p.canon = "[" + p.ref.canonical() + "]"
	case '#':
		p.kind = arrayHash
		if p.ref, err = parseRef(meat, '#', false); err != nil {
			return nil, err
		}
		p.canon = "[" + p.ref.canonical() + "]"
	case '@':
		p.kind = arrayTranspose
		if p.tpe, err = parseTranspose(meat); err != nil {
			return nil, err
		}
		p.canon = "[" + p.tpe.canonical() + "]"
	default:
		idx, ok := nonNegativeInt(meat)
		if !ok {
			return nil, fmt.Errorf("bad explicit array index %q in key %q", meat, key)
		}
		p.kind, p.index, p.canon = arrayExplicit, idx, "["+idx+"]"
	}
	return p, nil
}

// nonNegativeInt returns s when it is a Java int >= 0.
func nonNegativeInt(s string) (string, bool) {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return "", false
	}
	return s, true
}

func (p *arrayPE) canonical() string { return p.canon }

func (p *arrayPE) explicitIndex() (int, bool) {
	if p.kind != arrayExplicit {
		return 0, false
	}
	n, _ := strconv.Atoi(p.index)
	return n, true
}

func (p *arrayPE) eval(w *walked) (string, bool) {
	switch p.kind {
	case arrayAutoExpand:
		return "[]", true
	case arrayExplicit:
		return p.index, true
	case arrayHash:
		s := w.fromEnd(p.ref.pathIndex)
		if s == nil {
			return "", false
		}
		return strconv.Itoa(s.me.hashCount), true
	case arrayTranspose:
		k, ok := p.tpe.eval(w)
		if !ok {
			return "", false
		}
		return nonNegativeInt(k)
	default: // reference
		k, err := p.ref.resolve(w)
		if err != nil {
			return "", false
		}
		return nonNegativeInt(k)
	}
}

func (p *arrayPE) match(key string, w *walked) *matched {
	v, ok := p.eval(w)
	if !ok || v != key {
		return nil
	}
	orig := w.last().me.origSize
	if orig < 0 {
		return nil
	}
	m := newMatched(v)
	m.origSize = orig
	return m
}

// atPE is the lone "@" key: the current input value.
type atPE struct{}

func (atPE) canonical() string { return "@" }
func (atPE) match(_ string, w *walked) *matched {
	return w.last().me // the parent's, so &0 and &1 both work below it
}

// dollarPE is a "$" key: the matched key itself as data.
type dollarPE struct{ ref ref }

func (p *dollarPE) canonical() string { return p.ref.canonical() }
func (p *dollarPE) eval(w *walked) (string, bool) {
	v, err := p.ref.resolve(w)
	return v, err == nil
}
func (p *dollarPE) match(_ string, w *walked) *matched {
	v, ok := p.eval(w)
	if !ok {
		return nil
	}
	return newMatched(v)
}

// hashPE is a "#literal" key: the literal as data.
type hashPE struct{ value string }

func newHash(key string) (*hashPE, error) {
	if strings.TrimSpace(key) == "" || key[0] != '#' || len(key) <= 1 {
		return nil, fmt.Errorf("invalid # key %q", key)
	}
	if key[1] == '(' {
		if key[len(key)-1] != ')' {
			return nil, fmt.Errorf("# key %q has mismatched parentheses", key)
		}
		return &hashPE{value: key[2 : len(key)-1]}, nil
	}
	return &hashPE{value: key[1:]}, nil
}

func (p *hashPE) canonical() string { return "#(" + p.value + ")" }
func (p *hashPE) match(string, *walked) *matched {
	return newMatched(p.value)
}

type starAllPE struct{}

func (starAllPE) canonical() string       { return "*" }
func (starAllPE) stringMatch(string) bool { return true }
func (starAllPE) match(key string, w *walked) *matched {
	m := newMatched(key)
	m.origSize = w.last().me.origSize
	return m
}

// starSinglePE is a key with one * beside literal text: "rating-*".
type starSinglePE struct{ key, prefix, suffix string }

func newStarSingle(key string) *starSinglePE {
	prefix, suffix, _ := strings.Cut(key, "*")
	return &starSinglePE{key: key, prefix: prefix, suffix: suffix}
}

func (p *starSinglePE) canonical() string { return p.key }
func (p *starSinglePE) stringMatch(s string) bool {
	return strings.HasPrefix(s, p.prefix) && strings.HasSuffix(s, p.suffix) && len(s) > len(p.prefix)+len(p.suffix)
}
func (p *starSinglePE) match(key string, _ *walked) *matched {
	if !p.stringMatch(key) {
		return nil
	}
	return newMatched(key, key[len(p.prefix):len(key)-len(p.suffix)])
}

// starDoublePE is a key with two *: "*-*", "a*b*".
type starDoublePE struct{ key, prefix, mid, suffix string }

func newStarDouble(key string) *starDoublePE {
	parts := strings.Split(key, "*")
	return &starDoublePE{key: key, prefix: parts[0], mid: parts[1], suffix: parts[2]}
}

func (p *starDoublePE) canonical() string { return p.key }

func (p *starDoublePE) midIndex(s string) int {
	start := len(p.prefix) + 1
	end := len(s) - len(p.suffix) - 1
	if start >= end {
		return -1
	}
	if i := strings.Index(s[start:end], p.mid); i >= 0 {
		return i + start
	}
	return -1
}

func (p *starDoublePE) stringMatch(s string) bool {
	return strings.HasPrefix(s, p.prefix) && strings.HasSuffix(s, p.suffix) && p.midIndex(s) > 0
}

func (p *starDoublePE) match(key string, _ *walked) *matched {
	if !p.stringMatch(key) {
		return nil
	}
	mid := p.midIndex(key)
	return newMatched(key, key[len(p.prefix):mid], key[mid+len(p.mid):len(key)-len(p.suffix)])
}

// starRegexPE is a key with three or more *: each is a lazy capture.
type starRegexPE struct {
	key string
	re  *regexp.Regexp
}

func newStarRegex(key string) (*starRegexPE, error) {
	parts := strings.Split(key, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	re, err := regexp.Compile("^" + strings.Join(parts, "(.+?)") + "$")
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", key, err)
	}
	return &starRegexPE{key: key, re: re}, nil
}

func (p *starRegexPE) canonical() string         { return p.key }
func (p *starRegexPE) stringMatch(s string) bool { return p.re.MatchString(s) }
func (p *starRegexPE) match(key string, _ *walked) *matched {
	m := p.re.FindStringSubmatch(key)
	if m == nil {
		return nil
	}
	return newMatched(key, m[1:]...)
}

// transposePE is "@(n,path)": the value found at path, n levels up the
// input, used as a key (or, on the left-hand side, as data).
type transposePE struct {
	key     string
	upLevel int
	sub     *traversal // nil: the tree n levels up itself
	canon   string
}

func parseTranspose(key string) (*transposePE, error) {
	if len(key) < 2 {
		return nil, fmt.Errorf("'@' key %q is too short", key)
	}
	if key[0] != '@' {
		return nil, fmt.Errorf("'@' key %q must start with '@'", key)
	}
	meat := key[1:]
	if strings.Contains(meat, "@") {
		return nil, fmt.Errorf("'@' key %q can not contain a nested '@'", key)
	}
	if strings.Contains(meat, "*") || strings.Contains(meat, "[]") {
		return nil, fmt.Errorf("'@' key %q can not contain the wildcards * and []", key)
	}
	if strings.HasPrefix(meat, "(") {
		if !strings.HasSuffix(meat, ")") {
			return nil, fmt.Errorf("'@' key %q starts with '(' but has no matching ')'", key)
		}
		meat = meat[1 : len(meat)-1]
	}
	p := &transposePE{key: key}
	sub := meat
	if meat != "" && meat[0] >= '0' && meat[0] <= '9' {
		i := 0
		for i < len(meat) && meat[i] >= '0' && meat[i] <= '9' {
			i++
		}
		if i < len(meat) && meat[i] != ',' {
			return nil, fmt.Errorf("'@' key %q: the level must be a number", key)
		}
		n, err := strconv.Atoi(meat[:i])
		if err != nil {
			return nil, fmt.Errorf("'@' key %q: the level must be a number", key)
		}
		p.upLevel = n
		sub = ""
		if i < len(meat) {
			sub = meat[i+1:]
		}
	}
	if sub == "" {
		p.canon = "@(" + strconv.Itoa(p.upLevel) + ",)"
		return p, nil
	}
	t, err := newTraversal(sub)
	if err != nil {
		return nil, err
	}
	p.sub = t
	p.canon = "@(" + strconv.Itoa(p.upLevel) + "," + t.canonical() + ")"
	return p, nil
}

func (p *transposePE) canonical() string { return p.canon }

// object returns the data the reference points at.
func (p *transposePE) object(w *walked) (any, bool) {
	s := w.fromEnd(p.upLevel)
	if s == nil {
		return nil, false
	}
	if p.sub == nil {
		return s.tree, true
	}
	return p.sub.read(s.tree, w)
}

func (p *transposePE) eval(w *walked) (string, bool) {
	v, ok := p.object(w)
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(int64(int32(x)), 10), true
	case float64:
		return strconv.FormatInt(int64(int32(x)), 10), true
	case bool:
		return strconv.FormatBool(x), true
	case string:
		return x, true
	}
	return "", false
}

func (p *transposePE) match(_ string, w *walked) *matched {
	return w.last().me
}

// parseKey is PathElementBuilder.parseSingleKeyLHS: the kind of key a
// specification key is.
func parseKey(orig string) (pathElement, error) {
	elementKey, inspect := orig, orig
	if strings.Contains(orig, `\`) {
		inspect = removeEscapedValues(orig)
		elementKey = removeEscapeChars(orig)
	}
	switch {
	case inspect == "@":
		return atPE{}, nil
	case inspect == "*":
		return starAllPE{}, nil
	case strings.HasPrefix(inspect, "["):
		if strings.Count(inspect, "[") != 1 || strings.Count(inspect, "]") != 1 {
			return nil, fmt.Errorf("invalid key %q: too many [] references", orig)
		}
		return newArray(elementKey)
	case strings.HasPrefix(inspect, "@") || strings.Contains(inspect, "@("):
		return parseTranspose(orig)
	case strings.Contains(inspect, "@"):
		return nil, fmt.Errorf("invalid key %q: '@' is only valid at the front", orig)
	case strings.Contains(inspect, "$"):
		r, err := parseRef(elementKey, '$', true)
		if err != nil {
			return nil, err
		}
		return &dollarPE{ref: r}, nil
	case strings.Contains(inspect, "["):
		if strings.Count(inspect, "[") != 1 || strings.Count(inspect, "]") != 1 {
			return nil, fmt.Errorf("invalid key %q: too many [] references", orig)
		}
		return newArray(elementKey)
	case strings.Contains(inspect, "&"):
		if strings.Contains(inspect, "*") {
			return nil, fmt.Errorf("invalid key %q: can not mix * with &", orig)
		}
		return newAmp(elementKey)
	case strings.Contains(inspect, "*"):
		switch strings.Count(inspect, "*") {
		case 1:
			return newStarSingle(elementKey), nil
		case 2:
			return newStarDouble(elementKey), nil
		}
		return newStarRegex(elementKey)
	case strings.Contains(inspect, "#"):
		return newHash(elementKey)
	}
	return &literalPE{key: elementKey}, nil
}

func parseMatcher(key string) (matcher, error) {
	pe, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	m, ok := pe.(matcher)
	if !ok {
		return nil, fmt.Errorf("%q is not a valid left-hand-side key", key)
	}
	return m, nil
}

// removeEscapedValues drops escaped characters (to see what kind of key it is).
func removeEscapedValues(s string) string {
	var b strings.Builder
	prevEscape := false
	for _, c := range s {
		if c == '\\' {
			prevEscape = !prevEscape
			continue
		}
		if !prevEscape {
			b.WriteRune(c)
		}
		prevEscape = false
	}
	return b.String()
}

// removeEscapeChars keeps escaped characters without their backslash.
func removeEscapeChars(s string) string {
	var b strings.Builder
	prevEscape := false
	for _, c := range s {
		if c == '\\' {
			if prevEscape {
				b.WriteRune(c)
				prevEscape = false
			} else {
				prevEscape = true
			}
			continue
		}
		b.WriteRune(c)
		prevEscape = false
	}
	return b.String()
}

// splitDotNotation is SpecStringParser.parseDotNotation over the sugared
// form: a.b[1].@(2,c) becomes ["a" "b" "[1]" "@(2,c)"].
func splitDotNotation(s string) ([]string, error) {
	s = fixLeadingBracketSugar(s)
	var out []string
	rs := []rune(s)
	i := 0
	var sb strings.Builder
	prevEscape := false
	for i < len(rs) {
		c := rs[i]
		i++
		currEscape := c == '\\' && !prevEscape
		switch {
		case prevEscape && c != '.' && c != '\\':
			sb.WriteRune('\\')
			sb.WriteRune(c)
		case c == '@':
			sb.WriteRune('@')
			at, n, err := parseAtElement(rs[i:], s)
			if err != nil {
				return nil, err
			}
			i += n
			sb.WriteString(at)
			cur := sb.String()
			if !(strings.Contains(cur, "[") && !strings.Contains(cur, "]")) {
				out = append(out, cur)
				sb.Reset()
			}
		case c == '.':
			if prevEscape {
				sb.WriteRune('.')
			} else if sb.Len() > 0 {
				out = append(out, sb.String())
				sb.Reset()
			}
		case !currEscape:
			sb.WriteRune(c)
		}
		prevEscape = currEscape
	}
	if sb.Len() > 0 {
		out = append(out, sb.String())
	}
	return out, nil
}

// parseAtElement reads what follows an '@' in dot notation and returns it
// with the number of runes consumed: "(1,a.b)" whole, or "x." as "(x)".
func parseAtElement(rs []rune, whole string) (string, int, error) {
	if len(rs) == 0 {
		return "", 0, nil
	}
	var sb strings.Builder
	i := 0
	c := rs[i]
	i++
	parens := false
	count := 0
	if c == '(' {
		parens = true
		count++
	} else if c == '.' {
		return "", 0, fmt.Errorf("unable to parse %q: invalid '@' element", whole)
	}
	sb.WriteRune(c)
	for i < len(rs) {
		c = rs[i]
		i++
		sb.WriteRune(c)
		if parens {
			if c == '(' {
				return "", 0, fmt.Errorf("unable to parse %q: too many '(' in an '@' element", whole)
			} else if c == ')' {
				count--
			}
			if count == 0 {
				return sb.String(), i, nil
			}
		} else if c == '.' {
			str := sb.String()
			return "(" + str[:len(str)-1] + ")", i, nil
		}
	}
	if parens && count != 0 {
		return "", 0, fmt.Errorf("invalid '@()' element in %q", whole)
	}
	return sb.String(), i, nil
}

func fixLeadingBracketSugar(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	rs := []rune(s)
	prev := rs[0]
	b.WriteRune(prev)
	for _, c := range rs[1:] {
		if c == '[' && prev != '\\' && prev != '@' && prev != '.' {
			b.WriteRune('.')
		}
		b.WriteRune(c)
		prev = c
	}
	return b.String()
}

// stepKind is how a traversal moves through one level.
type stepKind int

const (
	stepMap stepKind = iota
	stepArray
	stepAutoExpand
)

// traversal is a dot-notation path (PathEvaluatingTraversal): the
// right-hand side of shift, and the sub-path of @(n,path) references.
type traversal struct {
	elems []evaluator
	kinds []stepKind
	src   string
}

// newTraversal parses dot notation.
func newTraversal(dot string) (*traversal, error) {
	if (strings.Contains(dot, "*") && !strings.Contains(dot, `\*`)) || (strings.Contains(dot, "$") && !strings.Contains(dot, `\$`)) {
		return nil, fmt.Errorf("output path %q can not contain '*' or '$'", dot)
	}
	t := &traversal{src: dot}
	var keys []string
	if strings.TrimSpace(dot) != "" {
		var err error
		if keys, err = splitDotNotation(dot); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		pe, err := parseKey(k)
		if err != nil {
			return nil, err
		}
		if _, isAt := pe.(atPE); isAt {
			return nil, fmt.Errorf("'.@.' is not valid in the path %q", dot)
		}
		ev, ok := pe.(evaluator)
		if !ok {
			return nil, fmt.Errorf("%q is not valid in the path %q", k, dot)
		}
		t.elems = append(t.elems, ev)
		t.kinds = append(t.kinds, kindOf(pe.canonical()))
	}
	return t, nil
}

func kindOf(canon string) stepKind {
	switch {
	case canon == "[]":
		return stepAutoExpand
	case strings.HasPrefix(canon, "[") && strings.HasSuffix(canon, "]"):
		return stepArray
	}
	return stepMap
}

func (t *traversal) canonical() string {
	parts := make([]string, len(t.elems))
	for i, e := range t.elems {
		parts[i] = e.canonical()
	}
	return strings.Join(parts, ".")
}

func (t *traversal) evaluate(w *walked) ([]string, bool) {
	keys := make([]string, len(t.elems))
	for i, e := range t.elems {
		k, ok := e.eval(w)
		if !ok {
			return nil, false
		}
		keys[i] = k
	}
	return keys, true
}

// read follows the evaluated path through tree (SimpleTraversr.get).
func (t *traversal) read(tree any, w *walked) (any, bool) {
	keys, ok := t.evaluate(w)
	if !ok {
		return nil, false
	}
	return get(tree, t.kinds, keys)
}

func get(tree any, kinds []stepKind, keys []string) (any, bool) {
	if len(keys) == 0 {
		return tree, true
	}
	for i, k := range keys {
		var v any
		var ok bool
		switch kinds[i] {
		case stepMap:
			m, isMap := tree.(*omap)
			if !isMap {
				return nil, false
			}
			v, ok = m.get(k)
		case stepArray:
			l, isList := tree.(*list)
			if !isList {
				return nil, false
			}
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 {
				return nil, false
			}
			if n < len(l.a) {
				v, ok = l.a[n], true
			}
		default:
			return nil, false
		}
		if i == len(keys)-1 {
			return v, ok
		}
		if !ok || v == nil {
			return nil, false
		}
		tree = v
	}
	return nil, false
}

// write places data at the evaluated path in out (ShiftrTraversr.set):
// missing containers are created, and a value already at the final key
// turns into a list of every value written there.
func write(tree any, kinds []stepKind, keys []string, data any) {
	for i, k := range keys {
		final := i == len(keys)-1
		switch kinds[i] {
		case stepMap:
			m, ok := tree.(*omap)
			if !ok {
				return
			}
			cur, has := m.get(k)
			if final {
				m.put(k, merged(cur, has, data))
				return
			}
			if cur == nil {
				cur = newContainer(kinds[i+1])
				m.put(k, cur)
			}
			tree = cur
		case stepArray:
			l, ok := tree.(*list)
			if !ok {
				return
			}
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 {
				return
			}
			var cur any
			has := n < len(l.a)
			if has {
				cur = l.a[n]
			}
			if final {
				ensureSize(l, n)
				l.a[n] = merged(cur, has, data)
				return
			}
			if cur == nil {
				cur = newContainer(kinds[i+1])
				ensureSize(l, n)
				l.a[n] = cur
			}
			tree = cur
		case stepAutoExpand:
			l, ok := tree.(*list)
			if !ok {
				return
			}
			if final {
				l.a = append(l.a, data)
				return
			}
			cur := newContainer(kinds[i+1])
			l.a = append(l.a, cur)
			tree = cur
		}
	}
}

func merged(cur any, has bool, data any) any {
	if !has || cur == nil {
		return data
	}
	if l, ok := cur.(*list); ok {
		l.a = append(l.a, data)
		return l
	}
	return newList(cur, data)
}

func newContainer(k stepKind) any {
	if k == stepMap {
		return newMap(4)
	}
	return &list{}
}

func ensureSize(l *list, n int) {
	for len(l.a) <= n {
		l.a = append(l.a, nil)
	}
}
