// Package javascript runs user JavaScript over records, in-process and
// sandboxed, with github.com/dop251/goja (ECMAScript 5.1 and most of
// ES2015+, no I/O of its own).
//
// A script defines one function (transform by default) that takes the
// records of a batch and a context object and returns the new records.
// The sandbox: the runtime gets nothing from the host — no require, no
// filesystem, network, process or timers (setTimeout and friends do not
// exist), only the ECMAScript built-ins and a console whose output goes to
// the caller's log function. Every call runs in a fresh runtime, so one
// batch cannot leave state for the next, and under limits: a time limit
// (vm.Interrupt when it passes), a memory bound (the heap's growth during
// the call is sampled and the call interrupted beyond it; the built-ins
// that allocate in one step from a number — String.prototype.repeat,
// padStart, padEnd, Array.prototype.fill and Array.from — refuse sizes
// past the bound first) and a call-stack depth.
//
// Errors carry the script's line and column: syntax errors from Compile,
// exceptions, timeouts and the memory bound from Call.
package javascript

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"

	"github.com/connectplus/connectplus/jsonv"
)

// FileName is the name scripts have in positions and stack traces.
const FileName = "script.js"

// Error is a script error located in the script.
type Error struct {
	Line, Column int // 1-based; 0 when unknown
	Msg          string
	// Kind is "syntax", "exception", "timeout", "memory", "stack" or "result".
	Kind string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return "script: line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": " + e.Msg
	}
	return "script: " + e.Msg
}

// Program is a compiled script. It is immutable and safe for concurrent
// use: every Call gets its own runtime.
type Program struct {
	prg  *goja.Program
	fn   string
	src  string
	body string
}

// Compile parses and compiles src, which must declare the function named
// fn at its top level (function fn(…) {…}, or const/let/var fn = …).
func Compile(src, fn string) (*Program, error) {
	f, err := parser.ParseFile(nil, FileName, src, 0)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, &Error{Line: list[0].Position.Line, Column: list[0].Position.Column, Msg: list[0].Message, Kind: "syntax"}
		}
		return nil, &Error{Msg: err.Error(), Kind: "syntax"}
	}
	if !declares(f, fn) {
		return nil, &Error{Line: 1, Column: 1, Msg: fmt.Sprintf("the script must define the function %s(records, context) at its top level", fn), Kind: "syntax"}
	}
	prg, err := goja.CompileAST(f, false)
	if err != nil {
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) && ce.File != nil {
			p := ce.File.Position(ce.Offset)
			return nil, &Error{Line: p.Line, Column: p.Column, Msg: ce.Message, Kind: "syntax"}
		}
		return nil, &Error{Msg: err.Error(), Kind: "syntax"}
	}
	return &Program{prg: prg, fn: fn, src: src}, nil
}

// String returns the script's source.
func (p *Program) String() string { return p.src }

// declares reports whether the program declares name at its top level.
func declares(f *ast.Program, name string) bool {
	for _, st := range f.Body {
		switch s := st.(type) {
		case *ast.FunctionDeclaration:
			if s.Function != nil && s.Function.Name != nil && s.Function.Name.Name.String() == name {
				return true
			}
		case *ast.VariableStatement:
			if bindsName(s.List, name) {
				return true
			}
		case *ast.LexicalDeclaration:
			if bindsName(s.List, name) {
				return true
			}
		}
	}
	return false
}

func bindsName(list []*ast.Binding, name string) bool {
	for _, b := range list {
		if id, ok := b.Target.(*ast.Identifier); ok && id.Name.String() == name {
			return true
		}
	}
	return false
}

// Limits bound one Call.
type Limits struct {
	// Timeout is the time the call may run (default 5 s).
	Timeout time.Duration
	// MaxMemory bounds how much the heap may grow during the call, in
	// bytes (default 256 MiB), and sizes the one-step allocations allowed.
	MaxMemory int64
	// MaxStack is the call-stack depth (default 1000).
	MaxStack int
	// Log receives console.log/info/warn/error lines (nil: discarded).
	Log func(level, msg string)
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = 5 * time.Second
	}
	if l.MaxMemory <= 0 {
		l.MaxMemory = 256 << 20
	}
	if l.MaxStack <= 0 {
		l.MaxStack = 1000
	}
	return l
}

// interrupt reasons.
type stopReason struct{ kind, msg string }

// Call runs the function over records (jsonv values) with ctxObj (a jsonv
// value, usually an object) as its second argument and returns its result
// as a jsonv value.
func (p *Program) Call(ctx context.Context, records []any, ctxObj any, lim Limits) (any, error) {
	lim = lim.withDefaults()
	vm := goja.New()
	vm.SetMaxCallStackSize(lim.MaxStack)
	if err := sandbox(vm, lim); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	defer close(stop)
	go watch(ctx, vm, lim, stop)

	if _, err := vm.RunProgram(p.prg); err != nil {
		return nil, scriptError(err)
	}
	fv := vm.Get(p.fn)
	fn, ok := goja.AssertFunction(fv)
	if !ok {
		return nil, &Error{Line: 1, Column: 1, Msg: fmt.Sprintf("%s is not a function", p.fn), Kind: "exception"}
	}
	arr := make([]any, len(records))
	for i, r := range records {
		arr[i] = toJS(vm, r)
	}
	res, err := fn(goja.Undefined(), vm.NewArray(arr...), toJS(vm, ctxObj))
	if err != nil {
		return nil, scriptError(err)
	}
	budget := lim.MaxMemory
	out, err := fromJS(vm, res, 0, &budget)
	if err != nil {
		return nil, &Error{Msg: err.Error(), Kind: "result"}
	}
	return out, nil
}

// watch interrupts vm when the time limit passes, ctx ends or the heap
// grows past the bound, until stop closes.
func watch(ctx context.Context, vm *goja.Runtime, lim Limits, stop <-chan struct{}) {
	deadline := time.NewTimer(lim.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	base := heapBytes()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			vm.Interrupt(stopReason{"timeout", "stopped: " + ctx.Err().Error()})
			return
		case <-deadline.C:
			vm.Interrupt(stopReason{"timeout", "the call ran longer than its time limit of " + lim.Timeout.String()})
			return
		case <-tick.C:
			if grown := heapBytes() - base; grown > lim.MaxMemory {
				vm.Interrupt(stopReason{"memory", fmt.Sprintf("the call used more than its memory limit of %d MiB", lim.MaxMemory>>20)})
				return
			}
		}
	}
}

// heapBytes is the memory held by heap objects (live and not yet swept),
// read without stopping the world.
func heapBytes() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// sandbox installs console and the size checks of the one-step allocators.
func sandbox(vm *goja.Runtime, lim Limits) error {
	console := vm.NewObject()
	for _, level := range []string{"log", "info", "warn", "error", "debug"} {
		level := level
		_ = console.Set(level, func(call goja.FunctionCall) goja.Value {
			if lim.Log != nil {
				parts := make([]string, len(call.Arguments))
				for i, a := range call.Arguments {
					parts[i] = a.String()
				}
				lim.Log(level, strings.Join(parts, " "))
			}
			return goja.Undefined()
		})
	}
	if err := vm.Set("console", console); err != nil {
		return err
	}
	// A char is two bytes in goja's UTF-16 strings, an array element at
	// least a word: cap the sizes these built-ins create in one native step
	// (which vm.Interrupt cannot stop).
	maxChars := lim.MaxMemory / 2
	maxElems := lim.MaxMemory / 16
	guard := `(function (maxChars, maxElems) {
  "use strict";
  var repeat = String.prototype.repeat, padStart = String.prototype.padStart, padEnd = String.prototype.padEnd;
  var fill = Array.prototype.fill, from = Array.from;
  function tooLong(n) { return new RangeError("string of " + n + " characters exceeds the script's memory limit"); }
  Object.defineProperty(String.prototype, "repeat", { value: function (count) {
    var n = String(this).length * Math.floor(Number(count));
    if (n > maxChars) throw tooLong(n);
    return repeat.call(this, count);
  }, writable: true, configurable: true });
  Object.defineProperty(String.prototype, "padStart", { value: function (len, fillStr) {
    if (Number(len) > maxChars) throw tooLong(len);
    return padStart.call(this, len, fillStr);
  }, writable: true, configurable: true });
  Object.defineProperty(String.prototype, "padEnd", { value: function (len, fillStr) {
    if (Number(len) > maxChars) throw tooLong(len);
    return padEnd.call(this, len, fillStr);
  }, writable: true, configurable: true });
  Object.defineProperty(Array.prototype, "fill", { value: function () {
    if (this.length > maxElems) throw new RangeError("array of " + this.length + " elements exceeds the script's memory limit");
    return fill.apply(this, arguments);
  }, writable: true, configurable: true });
  Object.defineProperty(Array, "from", { value: function (items) {
    if (items != null && Number(items.length) > maxElems) throw new RangeError("array of " + items.length + " elements exceeds the script's memory limit");
    return from.apply(this, arguments);
  }, writable: true, configurable: true });
})`
	v, err := vm.RunString(guard)
	if err != nil {
		return fmt.Errorf("script sandbox: %w", err)
	}
	f, _ := goja.AssertFunction(v)
	if _, err := f(goja.Undefined(), vm.ToValue(maxChars), vm.ToValue(maxElems)); err != nil {
		return fmt.Errorf("script sandbox: %w", err)
	}
	return nil
}

// scriptError turns a goja error into an *Error at the script position
// where it happened (the innermost frame inside the script).
func scriptError(err error) error {
	e := &Error{Kind: "exception", Msg: err.Error()}
	var stack []goja.StackFrame
	var ie *goja.InterruptedError
	var so *goja.StackOverflowError
	var ex *goja.Exception
	switch {
	case errors.As(err, &ie):
		e.Kind, e.Msg = "timeout", fmt.Sprint(ie.Value())
		if r, ok := ie.Value().(stopReason); ok {
			e.Kind, e.Msg = r.kind, r.msg
		}
		stack = ie.Stack()
	case errors.As(err, &so):
		e.Kind, e.Msg = "stack", "maximum call stack size exceeded (deep or endless recursion)"
		stack = so.Stack()
	case errors.As(err, &ex):
		e.Msg = exceptionMessage(ex)
		stack = ex.Stack()
	}
	for _, f := range stack {
		if f.SrcName() == FileName {
			if pos := f.Position(); pos.Line > 0 {
				e.Line, e.Column = pos.Line, pos.Column
				break
			}
		}
	}
	return e
}

// exceptionMessage is "Name: message" of a thrown Error, or the thrown
// value as text.
func exceptionMessage(ex *goja.Exception) string {
	v := ex.Value()
	if v == nil {
		return ex.Error()
	}
	if o, ok := v.(*goja.Object); ok {
		name, msg := o.Get("name"), o.Get("message")
		if msg != nil && !goja.IsUndefined(msg) {
			if name != nil && !goja.IsUndefined(name) {
				return name.String() + ": " + msg.String()
			}
			return msg.String()
		}
	}
	return "uncaught " + v.String()
}

// toJS converts a jsonv value into a goja value, keeping key order.
func toJS(vm *goja.Runtime, v any) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case *jsonv.Object:
		o := vm.NewObject()
		if x != nil {
			for _, m := range x.Members {
				_ = o.Set(m.Key, toJS(vm, m.Value))
			}
		}
		return o
	case []any:
		elems := make([]any, len(x))
		for i, e := range x {
			elems[i] = toJS(vm, e)
		}
		return vm.NewArray(elems...)
	}
	return vm.ToValue(v)
}

// maxDepth bounds the nesting of a result.
const maxDepth = 200

// fromJS converts a result into a jsonv value, charging its size to
// budget (the memory bound) so a huge result cannot be copied out.
func fromJS(vm *goja.Runtime, v goja.Value, depth int, budget *int64) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("the result is nested deeper than %d levels (a cycle?)", maxDepth)
	}
	if *budget -= 16; *budget < 0 {
		return nil, errors.New("the result is larger than the script's memory limit")
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	switch x := v.Export().(type) {
	case string:
		if *budget -= int64(len(x)); *budget < 0 {
			return nil, errors.New("the result is larger than the script's memory limit")
		}
		return x, nil
	case bool:
		return x, nil
	case int64:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil // JSON has no NaN or Infinity; JSON.stringify writes null
		}
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
		return x, nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return v.String(), nil
	}
	if _, isFn := goja.AssertFunction(o); isFn {
		return nil, errors.New("the result holds a function, which JSON cannot carry")
	}
	if o.ClassName() == "Array" {
		n := o.Get("length").ToInteger()
		out := make([]any, 0, max(0, min(n, 1<<20)))
		for i := int64(0); i < n; i++ {
			e, err := fromJS(vm, o.Get(strconv.FormatInt(i, 10)), depth+1, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	if js := o.Get("toJSON"); js != nil && !goja.IsUndefined(js) {
		if f, ok := goja.AssertFunction(js); ok {
			r, err := f(o)
			if err != nil {
				return nil, scriptError(err)
			}
			return fromJS(vm, r, depth+1, budget)
		}
	}
	keys := o.Keys()
	res := jsonv.NewObject(len(keys))
	for _, k := range keys {
		val := o.Get(k)
		if val != nil && !goja.IsUndefined(val) {
			if _, isFn := goja.AssertFunction(val); isFn {
				continue // JSON.stringify skips functions
			}
		}
		if goja.IsUndefined(val) {
			continue
		}
		e, err := fromJS(vm, val, depth+1, budget)
		if err != nil {
			return nil, err
		}
		res.Members = append(res.Members, jsonv.Member{Key: k, Value: e})
	}
	return res, nil
}
