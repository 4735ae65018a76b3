package jslt

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/jsonv"
)

// fuzzOpts keep fuzzed queries small: shallow recursion, little work.
var fuzzOpts = []Option{
	WithMaxDepth(50),
	WithMaxOutputSize(1 << 16),
	WithClock(func() time.Time { return time.Unix(0, 0) }),
	WithRandom(func() float64 { return 0.5 }),
	WithModuleResolver(func(name string) (string, error) {
		if name == "m" {
			return `def f(x) [$x, $x] .`, nil
		}
		return "", errors.New("no such module")
	}),
}

var fuzzInput = mustParseFuzz(`{"a": 1, "b": [1, 2.5, "x", null, {"c": true}], "s": "héllo, wörld", "o": {"k": "v", "n": -3}, "e": {}, "z": []}`)

func mustParseFuzz(s string) any {
	v, err := jsonv.ParseString(s)
	if err != nil {
		panic(err)
	}
	return v
}

// checkErr fails unless err is nil or a *Error: anything else means a
// panic escaped as an internal error.
func checkErr(t *testing.T, query string, err error) {
	var je *Error
	if err != nil && (!errors.As(err, &je) || strings.HasPrefix(je.Msg, "internal error")) {
		t.Fatalf("query %q: unexpected error %v", query, err)
	}
}

func seedQueries(f *testing.F) {
	for _, s := range []string{
		".", ".a", ".b[1:]", `.s[-3]`, `{"x": .a, * : .}`, `[for (.b) . if (.)]`,
		`{for (.o) .key : .value}`, `let x = 1 def f(y) $y + $x f(.a)`, `import "m" as m m:f(.)`,
		`if (.a) "y" else "n"`, `.a | [., .]`, `"x" * 3 + string(1.5)`, `split(.s, ",\\s*")`,
		`format-time(0, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "UTC")`, `parse-time("2020-01-01", "yyyy-MM-dd")`,
		`capture(.s, "(?<w>\\w+)")`, `replace(.s, "l+", "L")`, `def r(n) if ($n > 0) r($n - 1) else 0 r(10)`,
		`{"a": {"b": {* - k : .}}}`, `sum([1, 2.0]) / 0`, `[1,2,3][-1:]`, `zip-with-index(.b)`,
		`def f(x) f($x) + f($x) f(1)`, `parse-url("http://a:1/b?c=d#e")`, `hash-int(.)`, `uuid(1, 2)`,
	} {
		f.Add(s)
	}
}

// FuzzCompile feeds arbitrary text to the compiler and runs whatever
// compiles: nothing may panic, hang or grow without bound.
func FuzzCompile(f *testing.F) {
	seedQueries(f)
	f.Fuzz(func(t *testing.T, query string) {
		if len(query) > 4096 {
			return
		}
		e, err := Compile(query, fuzzOpts...)
		checkErr(t, query, err)
		if err != nil {
			return
		}
		v, err := e.Apply(fuzzInput, map[string]any{"p": int64(1)})
		checkErr(t, query, err)
		if err == nil {
			_ = AppendJSON(nil, v)
			_ = AppendJSONIndent(nil, v)
		}
	})
}

// FuzzApply runs fixed queries over arbitrary JSON input.
func FuzzApply(f *testing.F) {
	queries := []string{
		`.`, `[for (.) {* : .}]`, `{* : .}`, `[for (.) . + 1]`, `{for (.) .key : .value}`,
		`string(.) + to-json(.)`, `size(.)`, `flatten(array(.))`, `[.[0], .[-1], .[1:2]]`,
		`sum(.)`, `join(., ",")`, `contains(1, .)`, `. == .`, `. < 1`, `number(.)`,
		`from-json(string(.))`, `format-time(., "yyyy-MM-dd HH:mm:ss.SSS z")`, `parse-time(., "yyyy-MM-dd HH:mm:ssXXX")`,
		`test(., "a|b")`, `split(., "")`, `replace(., "[0-9]", "#")`, `uppercase(.)`, `hash-int(.)`,
		`all(.)`, `any(.)`, `zip(., .)`, `index-of(., 1)`, `min(., 1)`, `max(., "a")`, `round(.)`,
		`get-key(., "a", 0)`, `parse-url(.)`, `trim(.)`, `sha256-hex(.)`, `mod(., 3)`, `. * 2`, `. / 3`,
		`. + "a" + .`, `1 + . + "x" + . - 1`, `[for (.) . + . + ""]`, `{"a": .a, "b": [.b, {"c": .a.b}], "d": {}}`,
		`[for (.) {"k": .k, "n": number(.n, 0) + 1, "s": string(.k) + "-" + lowercase(.s)}]`,
	}
	compiled := make([]*Expr, len(queries))
	for i, q := range queries {
		compiled[i] = MustCompile(q, fuzzOpts...)
	}
	for _, in := range []string{`{}`, `[1, 2, 3]`, `"2020-01-02 03:04:05+01:00"`, `{"a": [1, {"b": null}]}`, `1.5e300`, `-0`, `"http://x/?a=1"`, `[[[]]]`} {
		for i := range queries {
			f.Add(uint8(i), in)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data string) {
		input, err := jsonv.ParseString(data)
		if err != nil {
			return
		}
		e := compiled[int(which)%len(compiled)]
		v, err := e.Apply(input, nil)
		checkErr(t, e.String(), err)
		if err == nil {
			_ = AppendJSON(nil, v)
		}
	})
}
