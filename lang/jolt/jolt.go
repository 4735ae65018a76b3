// Package jolt is a pure-Go implementation of JOLT (bazaarvoice/jolt), the
// JSON-to-JSON transformation language of NiFi's JoltTransformJSON and of
// Connect+'s jolt_transform block.
//
// A specification is a chain (Chainr): a JSON array of
// {"operation": ..., "spec": ...} entries applied in order. The operations
// are shift, default, remove, sort, cardinality and modify-overwrite-beta,
// modify-default-beta, modify-define-beta with JOLT's stock functions. The
// semantics follow JOLT 0.1.x, down to its wildcard precedence, & / $ / # /
// @ references and array handling; the package's conformance test runs
// JOLT's own test resources.
//
// Compile reports specification errors with the line and column of the
// offending key, so the block's validation can point into the editor.
// A compiled *Transform is immutable and safe for concurrent use.
package jolt

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a specification or transform error. Line and Column (1-based)
// locate it in the specification text; they are 0 for transform errors.
type Error struct {
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return "jolt: line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": " + e.Msg
	}
	return "jolt: " + e.Msg
}

func errorAt(line, col int, format string, a ...any) *Error {
	return &Error{Line: line, Column: col, Msg: fmt.Sprintf(format, a...)}
}

// operation is one compiled entry of a chain.
type operation interface {
	apply(in any) (any, error)
}

// contextual is implemented by the modify operations, which may read a
// context (^name in their functions' arguments).
type contextual interface {
	applyContext(in, context any) (any, error)
}

// Transform is a compiled JOLT chain.
type Transform struct {
	ops []operation
	src string
}

// Compile compiles a chain specification.
func Compile(spec string) (*Transform, error) {
	n, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	t := &Transform{src: spec}
	switch n.kind {
	case 'a':
		for _, e := range n.elems {
			op, err := compileEntry(e)
			if err != nil {
				return nil, err
			}
			t.ops = append(t.ops, op)
		}
	case 'o':
		if _, ok := lookup(n, "operation"); !ok {
			return nil, errorAt(n.line, n.col, `a JOLT specification is a chain: an array of {"operation": ..., "spec": ...} entries (this object has no "operation")`)
		}
		op, err := compileEntry(n)
		if err != nil {
			return nil, err
		}
		t.ops = append(t.ops, op)
	default:
		return nil, errorAt(n.line, n.col, `a JOLT specification is an array of {"operation": ..., "spec": ...} entries, got %s`, n.kindName())
	}
	return t, nil
}

// CompileOperation compiles the spec of a single operation (what JOLT's
// own test resources hold): op is an operation name as in a chain.
func CompileOperation(op, spec string) (*Transform, error) {
	n, err := parseSpec(spec)
	if err != nil {
		return nil, err
	}
	o, err := compileOp(op, n, n.line, n.col)
	if err != nil {
		return nil, err
	}
	return &Transform{ops: []operation{o}, src: spec}, nil
}

// String returns the specification text.
func (t *Transform) String() string { return t.src }

// Apply runs the chain over input, a jsonv value (the input is not
// changed), and returns the result as a jsonv value.
func (t *Transform) Apply(input any) (any, error) { return t.ApplyContext(input, nil) }

// ApplyContext is Apply with a context for the modify operations' ^name
// arguments (a jsonv object, or nil).
func (t *Transform) ApplyContext(input, context any) (any, error) {
	v := fromJSON(input)
	ctx := fromJSON(context)
	for i, op := range t.ops {
		var err error
		if c, ok := op.(contextual); ok {
			v, err = c.applyContext(v, ctx)
		} else {
			v, err = op.apply(v)
		}
		if err != nil {
			if len(t.ops) > 1 {
				return nil, &Error{Msg: fmt.Sprintf("operation %d: %s", i+1, strings.TrimPrefix(err.Error(), "jolt: "))}
			}
			return nil, err
		}
	}
	return toJSON(v), nil
}

func lookup(n *node, key string) (*member, bool) {
	for i := range n.members {
		if n.members[i].key == key {
			return &n.members[i], true
		}
	}
	return nil, false
}

func compileEntry(e *node) (operation, error) {
	if e.kind != 'o' {
		return nil, errorAt(e.line, e.col, `a chain entry must be an object {"operation": ..., "spec": ...}, got %s`, e.kindName())
	}
	om, ok := lookup(e, "operation")
	if !ok {
		return nil, errorAt(e.line, e.col, `chain entry without "operation"`)
	}
	if om.val.kind != 's' {
		return nil, errorAt(om.val.line, om.val.col, `"operation" must be a string, got %s`, om.val.kindName())
	}
	for _, m := range e.members {
		if m.key != "operation" && m.key != "spec" {
			return nil, errorAt(m.line, m.col, "unknown key %q in a chain entry (only \"operation\" and \"spec\")", m.key)
		}
	}
	sm, hasSpec := lookup(e, "spec")
	name := canonicalOp(om.val.str)
	if name == "" {
		return nil, errorAt(om.val.line, om.val.col, "unknown JOLT operation %q (shift, default, remove, sort, cardinality, modify-overwrite-beta, modify-default-beta, modify-define-beta)", om.val.str)
	}
	if !hasSpec {
		if name == "sort" {
			return sortOp{}, nil
		}
		return nil, errorAt(e.line, e.col, "the %s operation needs a \"spec\"", name)
	}
	return compileOp(name, sm.val, sm.line, sm.col)
}

// canonicalOp maps a chain operation name (short or Java class) to its
// short name, or "" when unknown.
func canonicalOp(op string) string {
	switch op {
	case "shift", "com.bazaarvoice.jolt.Shiftr":
		return "shift"
	case "default", "com.bazaarvoice.jolt.Defaultr":
		return "default"
	case "remove", "com.bazaarvoice.jolt.Removr":
		return "remove"
	case "sort", "com.bazaarvoice.jolt.Sortr":
		return "sort"
	case "cardinality", "com.bazaarvoice.jolt.CardinalityTransform":
		return "cardinality"
	case "modify-overwrite-beta", "com.bazaarvoice.jolt.Modifier$Overwritr":
		return "modify-overwrite-beta"
	case "modify-default-beta", "com.bazaarvoice.jolt.Modifier$Defaultr":
		return "modify-default-beta"
	case "modify-define-beta", "com.bazaarvoice.jolt.Modifier$Definr":
		return "modify-define-beta"
	}
	return ""
}

func compileOp(name string, spec *node, line, col int) (operation, error) {
	return compileOpWith(name, spec, line, col, functions)
}

// compileOpWith compiles with a function table for the modify operations.
func compileOpWith(name string, spec *node, line, col int, fns map[string]function) (operation, error) {
	switch canonicalOp(name) {
	case "shift":
		return compileShift(spec)
	case "default":
		return compileDefault(spec)
	case "remove":
		return compileRemove(spec)
	case "sort":
		return sortOp{}, nil
	case "cardinality":
		return compileCardinality(spec)
	case "modify-overwrite-beta":
		return compileModify(spec, modeOverwrite, fns)
	case "modify-default-beta":
		return compileModify(spec, modeDefault, fns)
	case "modify-define-beta":
		return compileModify(spec, modeDefine, fns)
	}
	return nil, errorAt(line, col, "unknown JOLT operation %q", name)
}

// specChildren builds the children of an object spec, unwrapping the
// "a|b" sugar into one child per alternative and refusing two keys with the
// same canonical form.
func specChildren(n *node, op string, build func(key string, line, col int, v *node) (child, error)) ([]child, error) {
	var out []child
	seen := map[string]bool{}
	for _, m := range n.members {
		for _, k := range splitOr(m.key) {
			ch, err := build(k, m.line, m.col, m.val)
			if err != nil {
				return nil, err
			}
			canon := ch.element().canonical()
			if seen[canon] {
				return nil, errorAt(m.line, m.col, "%s: duplicate key %q (canonical form %s)", op, k, canon)
			}
			seen[canon] = true
			out = append(out, ch)
		}
	}
	return out, nil
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// splitOr splits "a|b" as Java's String.split("\\|") does: trailing empty
// alternatives are dropped.
func splitOr(key string) []string {
	parts := strings.Split(key, "|")
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}
