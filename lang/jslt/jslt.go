// Package jslt is a pure-Go implementation of Schibsted's JSLT, the JSON
// query and transformation language (https://github.com/schibsted/jslt),
// used by the jslt_transform block to turn records into API payloads.
//
// Values follow the jsonv model: nil, bool, string, int64, float64, []any
// and *jsonv.Object. Like the Java reference implementation (which sits on
// Jackson) JSLT tells integers from decimals: 1 + 1 is 2 but 1 + 1.0 is 2.0,
// and AppendJSON prints decimals the way Jackson does (2.0, 1.5E10).
//
// The package does no I/O of its own: `import` goes through a caller-supplied
// ModuleResolver, now() through a clock and random() through a random
// source, so transformations are deterministic under test. A compiled Expr
// holds no mutable state and may be applied by many goroutines at once.
package jslt

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/connectplus/connectplus/jsonv"
)

// Error is a compile-time or run-time JSLT error. Line and Column locate the
// offending token or expression (1-based); Module names the imported module
// the error comes from, empty for the main query.
type Error struct {
	Line   int
	Column int
	Module string
	Msg    string
	Err    error // underlying cause, e.g. from a ModuleResolver
}

func (e *Error) Error() string {
	where := ""
	if e.Module != "" {
		where = "module " + e.Module + ", "
	}
	if e.Line > 0 {
		return fmt.Sprintf("jslt: %sline %d, column %d: %s", where, e.Line, e.Column, e.Msg)
	}
	return "jslt: " + where + e.Msg
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// ModuleResolver returns the JSLT source of the module named in an
// `import "name" as prefix` statement.
type ModuleResolver func(name string) (string, error)

// Option configures Compile.
type Option func(*config)

type config struct {
	resolver  ModuleResolver
	clock     func() time.Time
	random    func() float64
	maxDepth  int
	maxOutput int64
	zones     func(name string) (*time.Location, error)
	// variables, when not nil, are the only parameters a query may use
	// without defining them (WithVariables).
	variables map[string]bool
	// noFastPaths turns the evaluator's fast paths off: every object
	// constructor goes through objectNode.evalGeneral, every number() call
	// through the builtin argument stack. Only tests set it, to compare the
	// two ways on the same queries and inputs.
	noFastPaths bool
}

// Defaults for the resource bounds. The depth bound keeps recursive
// user functions far away from Go's fatal stack overflow; the output bound
// stops a small query from building gigabytes (e.g. "x" * 1000000000).
const (
	DefaultMaxDepth      = 1000
	DefaultMaxOutputSize = 64 << 20
)

// WithModuleResolver supplies the sources of imported modules. Without it
// any `import` is a compile error.
func WithModuleResolver(r ModuleResolver) Option { return func(c *config) { c.resolver = r } }

// WithVariables declares the parameters the caller will supply to Apply;
// a reference to any other variable the query does not define with let is
// then a compile error ("No such variable"), as in the reference
// implementation, instead of failing every Apply. Without this option every
// undefined variable is taken for a parameter.
func WithVariables(names ...string) Option {
	return func(c *config) {
		c.variables = make(map[string]bool, len(names))
		for _, n := range names {
			c.variables[n] = true
		}
	}
}

// WithClock sets the clock used by now(). Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithRandom sets the source of random() and uuid(): a function returning a
// float in [0, 1). It must be safe for concurrent use if the Expr is.
// Default math/rand/v2.
func WithRandom(r func() float64) Option { return func(c *config) { c.random = r } }

// WithMaxDepth bounds the nesting of user-defined function calls (and so
// recursion). Default DefaultMaxDepth.
func WithMaxDepth(n int) Option { return func(c *config) { c.maxDepth = n } }

// WithMaxOutputSize bounds the work of one Apply: every array element or
// object member built, every byte of a string built, every loop iteration
// and every user-function call counts 1. Exceeding it is a run-time error,
// so no query can run away with memory or time. Default
// DefaultMaxOutputSize.
func WithMaxOutputSize(n int64) Option { return func(c *config) { c.maxOutput = n } }

// WithLocationLoader resolves the time-zone names given to format-time and
// found by parse-time. Default time.LoadLocation (the system or embedded
// zone database); UTC, GMT and fixed offsets never reach the loader.
func WithLocationLoader(f func(name string) (*time.Location, error)) Option {
	return func(c *config) { c.zones = f }
}

// Expr is a compiled JSLT expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	cfg      *config
	body     node
	lets     []letBinding // module lets first, then the main query's
	nglobals int
	params   []paramSlot
	src      string
	regexes  *regexCache
	pool     sync.Pool // of *ctx
	hint     slabHint  // sizes of the slabs the last Apply used
}

type paramSlot struct {
	name string
	slot int
}

// Compile parses and compiles a JSLT query.
func Compile(src string, opts ...Option) (expr *Expr, err error) {
	cfg := &config{
		clock:     time.Now,
		random:    rand.Float64,
		maxDepth:  DefaultMaxDepth,
		maxOutput: DefaultMaxOutputSize,
		zones:     time.LoadLocation,
	}
	for _, o := range opts {
		o(cfg)
	}
	defer func() {
		if r := recover(); r != nil {
			expr = nil
			err = recovered(r)
		}
	}()
	c := newCompiler(cfg)
	return c.compileMain(src)
}

// MustCompile is Compile for queries known to be valid; it panics on error.
func MustCompile(src string, opts ...Option) *Expr {
	e, err := Compile(src, opts...)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the source the expression was compiled from.
func (e *Expr) String() string { return e.src }

// Apply evaluates the expression against input. params supplies the values
// of $variables not defined by the query itself (JSLT "variables"); a
// reference to a missing one is a run-time error. Values should be in the
// jsonv model; a top-level value that is not (a map[string]any, an int) is
// converted with jsonv.FromGo. The result may share structure with input
// and params; the caller owns it.
func (e *Expr) Apply(input any, params map[string]any) (result any, err error) {
	c := getCtx(e)
	defer putCtx(c)
	defer func() {
		if r := recover(); r != nil {
			result = nil
			err = recovered(r)
		}
	}()
	for _, p := range e.params {
		if v, ok := params[p.name]; ok {
			c.globals[p.slot] = normalize(v)
		}
	}
	input = normalize(input)
	evalLets(c, input, e.lets)
	return e.body.eval(c, input), nil
}

// recovered turns a panic from the evaluator into an error: *Error panics
// are the normal error path; anything else is a bug, reported with its
// stack rather than crashing the worker that ran the query.
func recovered(r any) error {
	if e, ok := r.(*Error); ok {
		return e
	}
	return &Error{Msg: fmt.Sprintf("internal error: %v\n%s", r, debug.Stack())}
}

// normalize converts a parameter from plain Go values (int, map[string]any
// ...) into the jsonv model; values already in the model are kept as is.
func normalize(v any) any {
	switch v.(type) {
	case nil, bool, string, int64, float64, []any, *jsonv.Object:
		return v
	}
	return jsonv.FromGo(v)
}
