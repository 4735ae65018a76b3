package javascript

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/jsonv"
)

func parse(t *testing.T, s string) any {
	t.Helper()
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustCompile(t *testing.T, src string) *Program {
	t.Helper()
	p, err := Compile(src, "transform")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTransformsABatch(t *testing.T) {
	p := mustCompile(t, `
function transform(records, context) {
  return records.map(function (r) {
    return { mobile: r.mobile, points: Number(r.points) * 2, source: context.attributes.source, tags: ["a", "b"] };
  });
}`)
	got, err := p.Call(context.Background(), []any{parse(t, `{"mobile":"9198","points":"21"}`), parse(t, `{"mobile":"9199","points":"1.5"}`)},
		parse(t, `{"attributes":{"source":"INSTORE"}}`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"mobile":"9198","points":42,"source":"INSTORE","tags":["a","b"]},{"mobile":"9199","points":3,"source":"INSTORE","tags":["a","b"]}]`
	if s := string(jsonv.Marshal(got)); s != want {
		t.Fatalf("got  %s\nwant %s", s, want)
	}
}

func scriptErr(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *Error", err, err)
	}
	return e
}

func TestCompileErrorsHaveLineAndColumn(t *testing.T) {
	_, err := Compile("function transform(records) {\n  return records.map(r => {\n    r.x = ;\n  });\n}", "transform")
	if e := scriptErr(t, err); e.Line != 3 || e.Column != 11 || e.Kind != "syntax" {
		t.Fatalf("got %+v", e)
	}
	_, err = Compile("function other(records) { return records }", "transform")
	if e := scriptErr(t, err); !strings.Contains(e.Msg, "transform(records, context)") {
		t.Fatalf("got %+v", e)
	}
	for _, ok := range []string{"const transform = (rs) => rs", "var transform = function (rs) { return rs }", "let transform = rs => rs"} {
		if _, err := Compile(ok, "transform"); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestExceptionsHaveLineAndColumn(t *testing.T) {
	p := mustCompile(t, "function transform(records) {\n  records.forEach(function (r) {\n    if (!r.mobile) throw new Error('mobile missing');\n  });\n  return records;\n}")
	_, err := p.Call(context.Background(), []any{parse(t, `{}`)}, nil, Limits{})
	if e := scriptErr(t, err); e.Line != 3 || e.Column != 26 || e.Msg != "Error: mobile missing" || e.Kind != "exception" {
		t.Fatalf("got %+v", e)
	}
	p = mustCompile(t, "function transform(records) {\n  return records[0].a.b.c;\n}")
	_, err = p.Call(context.Background(), []any{parse(t, `{}`)}, nil, Limits{})
	if e := scriptErr(t, err); e.Line != 2 || !strings.Contains(e.Msg, "TypeError") {
		t.Fatalf("got %+v", e)
	}
}

// TestSandboxHasNoIO: nothing of the host is reachable.
func TestSandboxHasNoIO(t *testing.T) {
	for _, probe := range []string{"require", "setTimeout", "setInterval", "process", "fetch", "XMLHttpRequest", "Deno", "module", "os"} {
		p := mustCompile(t, "function transform() { return typeof "+probe+"; }")
		got, err := p.Call(context.Background(), nil, nil, Limits{})
		if err != nil || got != "undefined" {
			t.Errorf("typeof %s = %v (%v), want undefined", probe, got, err)
		}
	}
	// console goes to the caller's log.
	var lines []string
	p := mustCompile(t, `function transform(rs) { console.log("seen", rs.length); return rs; }`)
	if _, err := p.Call(context.Background(), []any{nil}, nil, Limits{Log: func(level, msg string) { lines = append(lines, level+" "+msg) }}); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0] != "log seen 1" {
		t.Fatalf("log %v", lines)
	}
}

func TestTimeLimitInterruptsAnEndlessLoop(t *testing.T) {
	p := mustCompile(t, "function transform(records) {\n  var i = 0;\n  while (true) { i++; }\n}")
	start := time.Now()
	_, err := p.Call(context.Background(), nil, nil, Limits{Timeout: 100 * time.Millisecond})
	e := scriptErr(t, err)
	if e.Kind != "timeout" || e.Line != 3 || !strings.Contains(e.Msg, "time limit") {
		t.Fatalf("got %+v", e)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("interrupted only after %v", el)
	}
}

func TestMemoryBound(t *testing.T) {
	p := mustCompile(t, "function transform(records) {\n  var keep = [];\n  for (;;) { keep.push('x'.repeat(1000) + keep.length); }\n}")
	_, err := p.Call(context.Background(), nil, nil, Limits{MaxMemory: 32 << 20, Timeout: time.Minute})
	if e := scriptErr(t, err); e.Kind != "memory" || e.Line != 3 {
		t.Fatalf("got %+v", e)
	}
	// One-step allocations are refused before they happen.
	for _, src := range []string{"'x'.repeat(1e9)", "''.padStart(1e9)", "new Array(1e9).fill(0)", "Array.from({length: 1e9})"} {
		p := mustCompile(t, "function transform() { return "+src+"; }")
		_, err := p.Call(context.Background(), nil, nil, Limits{MaxMemory: 32 << 20})
		if e := scriptErr(t, err); !strings.Contains(e.Msg, "RangeError") || !strings.Contains(e.Msg, "memory limit") {
			t.Errorf("%s: got %+v", src, e)
		}
	}
	// A result too large to copy out (or to build) is refused too.
	p = mustCompile(t, "function transform() { var a = []; for (var i = 0; i < 100000; i++) a.push('0123456789'); return a; }")
	if _, err := p.Call(context.Background(), nil, nil, Limits{MaxMemory: 1 << 20}); !strings.Contains(scriptErr(t, err).Msg, "memory limit") {
		t.Fatalf("got %v", err)
	}
}

func TestRecursionIsBounded(t *testing.T) {
	p := mustCompile(t, "function f(n) { return f(n + 1); }\nfunction transform() { return f(0); }")
	if e := scriptErr(t, func() error { _, err := p.Call(context.Background(), nil, nil, Limits{}); return err }()); e.Kind != "stack" {
		t.Fatalf("got %+v", e)
	}
}

func TestEveryCallIsFresh(t *testing.T) {
	p := mustCompile(t, "var calls = 0;\nfunction transform() { calls++; globalThis.leak = (globalThis.leak || 0) + 1; return [calls, globalThis.leak]; }")
	for i := 0; i < 2; i++ {
		got, err := p.Call(context.Background(), nil, nil, Limits{})
		if err != nil || string(jsonv.Marshal(got)) != "[1,1]" {
			t.Fatalf("call %d: %s %v", i, jsonv.Marshal(got), err)
		}
	}
}

func TestResultConversion(t *testing.T) {
	p := mustCompile(t, `function transform() {
  return { z: 1, a: 0.5, d: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), n: null, u: undefined, nan: NaN, f: function () {}, nested: { b: [true, "x"] } };
}`)
	got, err := p.Call(context.Background(), nil, nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"z":1,"a":0.5,"d":"2026-01-02T03:04:05Z","n":null,"nan":null,"nested":{"b":[true,"x"]}}`
	if s := string(jsonv.Marshal(got)); s != want {
		t.Fatalf("got  %s\nwant %s", s, want)
	}
	p = mustCompile(t, `function transform() { var a = {}; a.self = a; return a; }`)
	if _, err := p.Call(context.Background(), nil, nil, Limits{}); scriptErr(t, err).Kind != "result" {
		t.Fatalf("a cycle: %v", err)
	}
}
