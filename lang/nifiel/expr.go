// Package nifiel implements Apache NiFi's Expression Language.
//
// A NiFi property value is literal text with embedded expressions, such as
// "merged_${now():format('yyyy-MM-dd')}.csv" or
// "${status:equals('paid'):or(${status:equals('refunded')})}". Compile parses
// such a value once; the resulting *Expr evaluates it against a flow file's
// attributes any number of times, concurrently, without allocating on the
// common boolean paths.
//
// The package follows the NiFi Expression Language Guide: attribute
// references (plain, quoted and computed), literals, `$$` escaping, chained
// functions, embedded expressions, '#' comments, the String / Number /
// Decimal / Date / Boolean / Instant types with NiFi's coercions and null
// handling, and every function group of the guide. Dates use Java
// SimpleDateFormat patterns (package javatime); regular expressions use Go's
// RE2 engine after translating common Java syntax.
//
// The library performs no I/O and keeps no global mutable state: the clock,
// time zone, host name, IP address, state and randomness come from Options.
package nifiel

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// Lookup supplies attribute values. Get reports false for a missing
// attribute, which NiFi treats as null.
type Lookup interface {
	Get(name string) (string, bool)
}

// Ranger is implemented by Lookups that can enumerate their attributes. The
// multi-attribute functions anyMatchingAttribute and allMatchingAttributes
// need it. Range stops when fn returns false.
type Ranger interface {
	Range(fn func(name, value string) bool)
}

// MapLookup is a Lookup (and Ranger) over a map.
type MapLookup map[string]string

// Get returns the attribute's value.
func (m MapLookup) Get(name string) (string, bool) {
	v, ok := m[name]
	return v, ok
}

// Range calls fn for every attribute, in no particular order.
func (m MapLookup) Range(fn func(name, value string) bool) {
	for k, v := range m {
		if !fn(k, v) {
			return
		}
	}
}

// StateLookup returns the value a processor keeps in its state under key,
// for getStateValue.
type StateLookup func(key string) (string, bool)

// Option configures compilation and evaluation.
type Option func(*config)

type config struct {
	loc       *time.Location
	now       func() time.Time
	hostname  string
	fqdn      string
	ip        string
	thread    string
	state     StateLookup
	loadZone  func(string) (*time.Location, error)
	rand      io.Reader
	maxDepth  int
	maxResult int
	// strictBraces makes a ${ without its closing brace a syntax error.
	strictBraces bool
	// params is the parameter context of #{name} when the Lookup has none.
	params ParameterLookup
	// noParams blocks parameters: set for what evaluateELString compiles,
	// as NiFi's ParametersDisabledEvaluationContext.
	noParams bool
}

// DefaultMaxDepth bounds the nesting of embedded expressions.
const DefaultMaxDepth = 100

// DefaultMaxResultSize bounds strings built by repeat, padLeft, padRight and
// the like, so that an expression cannot exhaust memory.
const DefaultMaxResultSize = 10 << 20

// WithLocation sets the time zone dates are parsed, formatted and rendered
// in when an expression names none (NiFi uses the JVM's zone). Default UTC.
func WithLocation(loc *time.Location) Option {
	return func(c *config) {
		if loc != nil {
			c.loc = loc
		}
	}
}

// WithClock sets the clock now() reads. Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithHostname sets what hostname() returns. Default "localhost".
func WithHostname(name string) Option { return func(c *config) { c.hostname = name } }

// WithFQDN sets what hostname(true) returns. Default: the host name.
func WithFQDN(name string) Option { return func(c *config) { c.fqdn = name } }

// WithIP sets what ip() returns. Default "127.0.0.1".
func WithIP(ip string) Option { return func(c *config) { c.ip = ip } }

// WithThreadName sets what thread() returns. Default "main".
func WithThreadName(name string) Option { return func(c *config) { c.thread = name } }

// WithState sets the state getStateValue reads. Without it getStateValue
// returns null.
func WithState(s StateLookup) Option { return func(c *config) { c.state = s } }

// WithZoneLoader sets how region time-zone names (America/New_York) are
// resolved. Default time.LoadLocation.
func WithZoneLoader(load func(string) (*time.Location, error)) Option {
	return func(c *config) {
		if load != nil {
			c.loadZone = load
		}
	}
}

// WithRandom sets the source of randomness for UUID(). Default crypto/rand.
func WithRandom(r io.Reader) Option { return func(c *config) { c.rand = r } }

// WithMaxDepth sets the nesting limit for embedded expressions.
func WithMaxDepth(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxDepth = n
		}
	}
}

// WithMaxResultSize sets the size limit, in bytes, of strings built by
// repeat, padLeft, padRight and string concatenation.
func WithMaxResultSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxResult = n
		}
	}
}

// RejectUnterminated makes a ${ without its closing '}' a syntax error
// located where the expression goes wrong. NiFi keeps such text literally
// ("Unescaped $$${5 because no closing brace"), which silently turns a typo
// such as "${status:equals('paid')" into constant text; Connect+ compiles
// every property with this option.
func RejectUnterminated() Option { return func(c *config) { c.strictBraces = true } }

func newConfig(opts []Option) *config {
	c := &config{
		loc:       time.UTC,
		now:       time.Now,
		hostname:  "localhost",
		ip:        "127.0.0.1",
		thread:    "main",
		maxDepth:  DefaultMaxDepth,
		maxResult: DefaultMaxResultSize,
	}
	for _, o := range opts {
		o(c)
	}
	if c.fqdn == "" {
		c.fqdn = c.hostname
	}
	return c
}

// Expr is a compiled property value. It is safe for concurrent use.
type Expr struct {
	src   string
	cfg   *config
	text  string // the value when there is no expression
	root  node   // the single expression when the value is nothing else
	parts []strNode
	kind  Type
	seq   *atomic.Int64   // nextInt counter, shared by evaluateELString sub-expressions
	refs  map[string]bool // the parameters referenced
}

// Compile parses a NiFi property value: literal text with embedded ${...}
// expressions and $$ escapes.
func Compile(src string, opts ...Option) (*Expr, error) {
	return compileWith(src, newConfig(opts), new(atomic.Int64))
}

// CompileExpression parses a value that must be exactly one ${...}
// expression, such as a filter condition.
func CompileExpression(src string, opts ...Option) (*Expr, error) {
	x, err := Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	if x.root == nil {
		return nil, &Error{Offset: 0, Line: 1, Column: 1, Msg: "expected a single ${...} expression", Source: src}
	}
	return x, nil
}

// CompileQuery parses src the way NiFi's Query.compile does: one ${...}
// expression, which whitespace and '#' comments (each ending with a line
// break, as NiFi's COMMENT token) may surround. An unterminated ${ is a
// syntax error.
func CompileQuery(src string, opts ...Option) (*Expr, error) {
	opts = append(opts[:len(opts):len(opts)], RejectUnterminated())
	start := skipHidden(src, 0)
	relocate := func(err error) error {
		var ce *Error
		if errors.As(err, &ce) {
			off := ce.Offset + start
			line, col := position(src, off)
			return &Error{Offset: off, Line: line, Column: col, Msg: ce.Msg, Source: src}
		}
		return err
	}
	if !strings.HasPrefix(src[start:], "${") {
		line, col := position(src, start)
		return nil, &Error{Offset: start, Line: line, Column: col, Msg: "expected a single ${...} expression", Source: src}
	}
	end := matchBrace(src, start+1)
	if end < 0 {
		_, err := Compile(src[start:], opts...)
		if err == nil {
			err = &Error{Msg: "'${' has no closing '}'"}
		}
		return nil, relocate(err)
	}
	if rest := skipHidden(src, end+1); rest != len(src) {
		line, col := position(src, rest)
		return nil, &Error{Offset: rest, Line: line, Column: col, Msg: fmt.Sprintf("unexpected text %q after the expression", src[rest:]), Source: src}
	}
	x, err := Compile(src[start:end+1], opts...)
	if err != nil {
		return nil, relocate(err)
	}
	x.src = src
	return x, nil
}

// skipHidden returns the offset of the first byte at or after i that is
// neither whitespace nor inside a '#' comment ended by a line break.
func skipHidden(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case '#':
			nl := strings.IndexByte(s[i:], '\n')
			if isParamStart(s, i) || nl < 0 {
				return i
			}
			i += nl + 1
		default:
			return i
		}
	}
	return i
}

// CompileCondition parses a condition the way NiFi's RouteOnAttribute
// validates its routing properties: the value must be exactly one ${...}
// expression (an unterminated ${ is a syntax error, text around it is not
// allowed) and its result type must be Boolean. A condition that does not
// yield a Boolean would otherwise route every flow file the same way.
func CompileCondition(src string, opts ...Option) (*Expr, error) {
	opts = append(opts[:len(opts):len(opts)], RejectUnterminated())
	x, err := Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	if x.root == nil {
		if x.parts == nil {
			return nil, &Error{Offset: 0, Line: 1, Column: 1, Msg: "a condition is one ${...} expression, found only text", Source: src}
		}
		return nil, &Error{Offset: 0, Line: 1, Column: 1, Msg: "a condition is exactly one ${...} expression, with no text around it", Source: src}
	}
	if t := x.Type(); t != TypeBoolean {
		off := strings.Index(src, "${")
		line, col := position(src, off)
		return nil, &Error{Offset: off, Line: line, Column: col, Source: src,
			Msg: fmt.Sprintf("a condition must yield a Boolean, but this expression yields a %s; end it with a boolean function such as equals('paid'), isEmpty() or notNull()", t)}
	}
	return x, nil
}

// position returns the 1-based line and byte column of offset off in src.
func position(src string, off int) (line, col int) {
	line, col = 1, 1
	for i := 0; i < off && i < len(src); i++ {
		if src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// MustCompile is Compile for values known to be valid; it panics otherwise.
func MustCompile(src string, opts ...Option) *Expr {
	x, err := Compile(src, opts...)
	if err != nil {
		panic(err)
	}
	return x
}

func compileWith(src string, cfg *config, seq *atomic.Int64) (*Expr, error) {
	c := &compiler{src: src, cfg: cfg, seq: seq, refs: map[string]bool{}}
	parts, err := c.template(src, 0)
	if err != nil {
		return nil, err
	}
	parts = c.withParams(parts)
	x := &Expr{src: src, cfg: cfg, seq: seq, kind: TypeString, refs: c.refs}
	switch {
	case len(parts) == 0:
		x.text = ""
	case len(parts) == 1 && parts[0].lit:
		x.text = parts[0].text
	case len(parts) == 1:
		x.root = parts[0].n
		x.kind = x.root.kind()
	default:
		x.parts = make([]strNode, len(parts))
		for i, p := range parts {
			if p.lit {
				x.parts[i] = constString(p.text)
			} else {
				x.parts[i] = toStr(p.n)
			}
		}
	}
	return x, nil
}

// withParams resolves the parameter references (#{name}) in the literal
// text of a property value, as NiFi's Query.prepare does: a sensitive
// parameter resolves only when the value holds no expression.
func (c *compiler) withParams(parts []part) []part {
	hasExpr := false
	for _, p := range parts {
		hasExpr = hasExpr || !p.lit
	}
	var out []part
	for _, p := range parts {
		if !p.lit || !strings.Contains(p.text, "#{") {
			out = append(out, p)
			continue
		}
		out = append(out, c.splitParams(p.text, !hasExpr)...)
	}
	return out
}

// Source returns the property value the Expr was compiled from.
func (x *Expr) Source() string { return x.src }

// HasExpressions reports whether the value contains any ${...} expression
// or parameter reference: whether its value can differ from its text.
func (x *Expr) HasExpressions() bool { return x.root != nil || x.parts != nil }

// Type returns the static result type: the expression's type when the value
// is a single expression, otherwise String.
func (x *Expr) Type() Type {
	if x.kind == typeAnyNumber {
		return TypeNumber
	}
	return x.kind
}

func (x *Expr) env(attrs Lookup) env {
	if attrs == nil {
		attrs = MapLookup(nil)
	}
	return env{attrs: attrs, cfg: x.cfg, seq: x.seq}
}

// recovered converts a panic escaping an evaluation into an error, so that a
// bug in a function can never take the caller down.
func recovered(r any) error {
	return fmt.Errorf("nifiel: internal error during evaluation: %v", r)
}

// Evaluate evaluates the value. A single expression keeps its type; text with
// embedded expressions is a String.
func (x *Expr) Evaluate(attrs Lookup) (v Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = Null, recovered(r)
		}
	}()
	e := x.env(attrs)
	if x.root != nil {
		return x.root.eval(e)
	}
	if x.parts == nil {
		return StringValue(x.text), nil
	}
	s, err := x.concat(e)
	if err != nil {
		return Null, err
	}
	return StringValue(s), nil
}

func (x *Expr) concat(e env) (string, error) {
	var b strings.Builder
	for _, p := range x.parts {
		s, _, err := p.str(e)
		if err != nil {
			return "", err
		}
		if b.Len()+len(s) > x.cfg.maxResult {
			return "", fmt.Errorf("nifiel: result exceeds %d bytes: %w", x.cfg.maxResult, ErrResultTooLarge)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// EvalString evaluates the value and renders it as NiFi does.
func (x *Expr) EvalString(attrs Lookup) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = "", recovered(r)
		}
	}()
	e := x.env(attrs)
	switch {
	case x.root != nil:
		if sn, ok := x.root.(strNode); ok && x.root.kind() == TypeString {
			s, _, err = sn.str(e)
			return s, err
		}
		v, err := x.root.eval(e)
		if err != nil {
			return "", err
		}
		return v.String(), nil
	case x.parts == nil:
		return x.text, nil
	}
	return x.concat(e)
}

// EvalBool evaluates the value as a condition, the way NiFi routes on it:
// true only when the result is Boolean true or text equal to "true" in any
// case. A null result is false.
func (x *Expr) EvalBool(attrs Lookup) (b bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = false, recovered(r)
		}
	}()
	if bn, ok := x.root.(boolNode); ok && x.root.kind() == TypeBoolean {
		b, ok, err := bn.boolean(x.env(attrs))
		return b && ok, err
	}
	s, err := x.EvalString(attrs)
	if err != nil {
		return false, err
	}
	return strings.EqualFold(s, "true"), nil
}

// Error is a compile error: the position in the source and what was wrong
// or expected there.
type Error struct {
	Offset int    // byte offset in the source
	Line   int    // 1-based line
	Column int    // 1-based column, in bytes
	Msg    string // what was expected or wrong
	Source string // the source compiled
}

func (e *Error) Error() string {
	return fmt.Sprintf("position %d (line %d, column %d): %s", e.Offset, e.Line, e.Column, e.Msg)
}

// EvalError is an evaluation failure of one function.
type EvalError struct {
	Func   string // function name
	Offset int    // byte offset of the call in the source
	Err    error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("function '%s' at position %d: %v", e.Func, e.Offset, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// ErrResultTooLarge is wrapped by errors of functions whose result would
// exceed the configured maximum size.
var ErrResultTooLarge = errors.New("result too large")
