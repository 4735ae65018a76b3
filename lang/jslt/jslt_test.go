package jslt

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // zone tests must not depend on the machine's zoneinfo

	"github.com/connectplus/connectplus/jsonv"
)

// tsvCase is one line of a testdata/*.tsv file: query, input, expected.
type tsvCase struct {
	line                   int
	query, input, expected string
	section                string
}

func loadTSV(t *testing.T, name string) []tsvCase {
	t.Helper()
	return loadTSVPath(t, "testdata/"+name)
}

func loadTSVPath(t *testing.T, name string) []tsvCase {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []tsvCase
	section := ""
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "== "):
			section = strings.TrimPrefix(line, "== ")
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			t.Fatalf("%s:%d: want 3 tab-separated fields, got %d", name, n, len(parts))
		}
		cases = append(cases, tsvCase{line: n, query: parts[0], input: parts[1], expected: parts[2], section: section})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func mustParse(t *testing.T, s string) any {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		return nil
	}
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	return v
}

// fixedOpts makes now() and random() deterministic for tests.
var fixedOpts = []Option{
	WithClock(func() time.Time { return time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC) }),
	WithRandom(func() float64 { return 0.25 }),
}

func run(query string, input any, params map[string]any, opts ...Option) (any, error) {
	e, err := Compile(query, append(append([]Option{}, fixedOpts...), opts...)...)
	if err != nil {
		return nil, err
	}
	return e.Apply(input, params)
}

// TestReference compares results as JSON values, as the reference's own
// harness does (Jackson equality: integers and decimals told apart, object
// key order not). It runs our cases, plus the reference implementation's
// suite converted to the same TSV format when JSLT_REFERENCE_TSV names it
// (the suite is not vendored: JSLT_REFERENCE_TSV=/path/reference.tsv go test
// ./lang/jslt -run Reference).
func TestReference(t *testing.T) {
	var cases []tsvCase
	for _, tc := range loadTSV(t, "extra.tsv") {
		// Our cases that use parameters or non-JSON output (Infinity) are
		// text-compared by TestExtra only.
		if _, err := jsonv.ParseString(tc.expected); err == nil && !strings.Contains(tc.query, "$") && !strings.Contains(tc.expected, "Infinity") && !strings.Contains(tc.expected, "NaN") {
			cases = append(cases, tc)
		}
	}
	if p := os.Getenv("JSLT_REFERENCE_TSV"); p != "" {
		cases = append(cases, loadTSVPath(t, p)...)
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%d:%s", tc.line, tc.query)
		input := mustParse(t, tc.input)
		got, err := run(tc.query, input, nil)
		switch tc.section {
		case "query", "output":
			if err != nil {
				t.Errorf("%s: unexpected error: %v", name, err)
				continue
			}
			if want := mustParse(t, tc.expected); !deepEqual(got, want) {
				t.Errorf("%s: got %s, want %s", name, AppendJSON(nil, got), AppendJSON(nil, want))
			}
		case "error":
			if err == nil {
				t.Errorf("%s: got %s, want error containing %q", name, AppendJSON(nil, got), tc.expected)
			} else if !strings.Contains(err.Error(), tc.expected) {
				t.Errorf("%s: error %q does not contain %q", name, err, tc.expected)
			}
			var je *Error
			if err != nil && !errors.As(err, &je) {
				t.Errorf("%s: error %T is not *jslt.Error", name, err)
			}
		default:
			t.Fatalf("unknown section %q", tc.section)
		}
	}
}

// TestExtra runs testdata/extra.tsv, our own cases; the expected output is
// compared as text, so key order and number formatting are checked too.
func TestExtra(t *testing.T) {
	cases := loadTSV(t, "extra.tsv")
	if len(cases) < 100 {
		t.Fatalf("only %d cases loaded", len(cases))
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%d:%s", tc.line, tc.query)
		input := mustParse(t, tc.input)
		got, err := run(tc.query, input, map[string]any{"p": "param", "n": int64(7)})
		switch tc.section {
		case "output":
			if err != nil {
				t.Errorf("%s: unexpected error: %v", name, err)
			} else if s := string(AppendJSON(nil, got)); s != tc.expected {
				t.Errorf("%s: got %s, want %s", name, s, tc.expected)
			}
		case "error":
			if err == nil {
				t.Errorf("%s: got %s, want error containing %q", name, AppendJSON(nil, got), tc.expected)
			} else if !strings.Contains(err.Error(), tc.expected) {
				t.Errorf("%s: error %q does not contain %q", name, err, tc.expected)
			}
		default:
			t.Fatalf("unknown section %q", tc.section)
		}
	}
}

// Cases from the reference suite that do not fit the one-line format.
func TestReferenceSpecial(t *testing.T) {
	tests := []struct {
		query  string
		input  any
		params map[string]any
		want   string
	}{
		{".foo\n// comment\nand false", mustParse(t, "{}"), nil, "false"},
		{"let foo = (5)\n2", mustParse(t, "{}"), nil, "2"},
		{"$foo", mustParse(t, "{}"), map[string]any{"foo": int64(42)}, "42"},
		{"number( $num )", mustParse(t, "{}"), map[string]any{"num": "22"}, "22"},
		{".foo", nil, nil, "null"},                     // empty input document
		{"$x + 1", nil, map[string]any{"x": 41}, "42"}, // Go ints are accepted in params
	}
	for _, tc := range tests {
		got, err := run(tc.query, tc.input, tc.params)
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if s := string(AppendJSON(nil, got)); s != tc.want {
			t.Errorf("%q: got %s, want %s", tc.query, s, tc.want)
		}
	}
}

func TestCompileErrorPositions(t *testing.T) {
	tests := []struct {
		query     string
		line, col int
		msg       string
	}{
		{"{\n  \"a\": 1,\n  \"b\": 2 for", 3, 10, "expected '}' but found 'for'"},
		{"[1, 2", 1, 6, "expected ']' but found end of input"},
		{".a +", 1, 5, "expected an expression but found end of input"},
		{"foo(1)", 1, 1, "No such function: 'foo'"},
		{"size(1, 2)", 1, 1, "Function 'size' needs 1-1 arguments, got 2"},
		{"{\"a\": 1, \"a\": 2}", 1, 10, "duplicate key 'a'"},
		{"\"\\q\"", 1, 1, "Unknown escape sequence"},
		{"test(., \"(\")", 1, 1, "Syntax error in regular expression '('"},
		{"[for (.) {* : .}]", 0, 0, ""}, // valid: matcher in a for body
		{"{\"a\": [{* : .}]}", 1, 9, "Object matcher used inside array"},
		{"1 < 2 < 3", 1, 7, "expected end of input but found '<'"},
		{"import \"x\" as x 1", 1, 8, "no module resolver"},
		{"5 -1", 1, 3, "expected end of input but found '-1'"},
		{"#", 1, 1, "unexpected character '#'"},
		{"\"abc", 1, 1, "unterminated string"},
		{"99999999999999999999", 1, 1, "integer out of range"},
	}
	for _, tc := range tests {
		_, err := Compile(tc.query)
		if tc.msg == "" {
			if err != nil {
				t.Errorf("%q: unexpected error %v", tc.query, err)
			}
			continue
		}
		var je *Error
		if !errors.As(err, &je) {
			t.Errorf("%q: want *Error, got %v", tc.query, err)
			continue
		}
		if je.Line != tc.line || je.Column != tc.col || !strings.Contains(je.Msg, tc.msg) {
			t.Errorf("%q: got line %d col %d %q, want line %d col %d containing %q", tc.query, je.Line, je.Column, je.Msg, tc.line, tc.col, tc.msg)
		}
	}
	_, err := Compile("{\n  \"a\": 1,\n  \"b\": 2 for")
	if want := "jslt: line 3, column 10: Parse error: expected '}' but found 'for'"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestRuntimeErrorPosition(t *testing.T) {
	e := MustCompile("{\n  \"a\": .x,\n  \"b\": if (.y) error(\"bad \" + .y) else 1\n}")
	if _, err := e.Apply(mustParse(t, `{"x":1}`), nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.Apply(mustParse(t, `{"x":1,"y":"thing"}`), nil)
	var je *Error
	if !errors.As(err, &je) || je.Line != 3 || je.Msg != "error: bad thing" {
		t.Fatalf("got %#v", err)
	}
	if err.Error() != "jslt: line 3, column 16: error: bad thing" {
		t.Errorf("got %q", err.Error())
	}
}

func TestImport(t *testing.T) {
	modules := map[string]string{
		"lib": `let greeting = "hello"
def greet(n) $greeting + " " + $n
def twice(x) $x * 2
def callsLocal(x) twice($x) + 1`,
		"body":   `import "lib" as l  {"wrapped": l:greet(.name)}`,
		"cycle":  `import "cycle2" as c .`,
		"cycle2": `import "cycle" as c .`,
		"bad":    `def f( 1`,
	}
	resolver := func(name string) (string, error) {
		if s, ok := modules[name]; ok {
			return s, nil
		}
		return "", errors.New("not found")
	}
	tests := []struct{ query, want string }{
		{`import "lib" as l l:greet("world")`, `"hello world"`},
		{`import "lib" as l [l:twice(2), l:callsLocal(3)]`, `[4,7]`},
		{`import "body" as b b({"name": "you"})`, `{"wrapped":"hello you"}`},
	}
	for _, tc := range tests {
		got, err := run(tc.query, nil, nil, WithModuleResolver(resolver))
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if s := string(AppendJSON(nil, got)); s != tc.want {
			t.Errorf("%s: got %s, want %s", tc.query, s, tc.want)
		}
	}
	for query, want := range map[string]string{
		`import "missing" as m 1`:               "Couldn't read resource missing: not found",
		`import "cycle" as c 1`:                 "already imported",
		`import "bad" as b 1`:                   "module bad, line 1",
		`import "lib" as l l:nope(1)`:           "No such function 'nope' in module 'l'",
		`import "lib" as l import "lib" as k 1`: "already imported",
	} {
		_, err := Compile(query, WithModuleResolver(resolver))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", query, err, want)
		}
	}
}

func TestRecursionBounded(t *testing.T) {
	e := MustCompile(`def f(n) if ($n > 0) f($n - 1) + 1 else 0  f(.)`, WithMaxDepth(50))
	if v, err := e.Apply(int64(49), nil); err != nil || v != int64(49) {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := e.Apply(int64(60), nil); err == nil || !strings.Contains(err.Error(), "nested deeper than 50") {
		t.Fatalf("got %v", err)
	}
	inf := MustCompile(`def loop(x) loop($x) loop(1)`)
	if _, err := inf.Apply(nil, nil); err == nil {
		t.Fatal("infinite recursion did not fail")
	}
}

func TestOutputBounded(t *testing.T) {
	for _, q := range []string{
		`"x" * 100000000`,
		`def grow(a) grow($a + $a) grow(["x","y"])`,
		`def grow(s) grow($s + $s) grow("ab")`,
	} {
		e, err := Compile(q, WithMaxOutputSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(nil, nil); err == nil {
			t.Errorf("%s: no error", q)
		}
	}
}

func TestDeepNestingBounded(t *testing.T) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	if _, err := Compile(deep); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Fatalf("got %v", err)
	}
	parens := strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000)
	if _, err := Compile(parens); err == nil {
		t.Fatal("deep parentheses accepted")
	}
}

func TestConcurrentApply(t *testing.T) {
	e := MustCompile(`let n = .n {"n": $n, "sq": $n * $n, "s": join([for (.items) string(.)], ","), "r": test(string($n), "^\\d+$")}`)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				n := int64(g*10000 + i)
				in := &jsonv.Object{Members: []jsonv.Member{{Key: "n", Value: n}, {Key: "items", Value: []any{n, "x"}}}}
				v, err := e.Apply(in, nil)
				if err != nil {
					errs <- err
					return
				}
				want := fmt.Sprintf(`{"n":%d,"sq":%d,"s":"%d,x","r":true}`, n, n*n, n)
				if got := string(AppendJSON(nil, v)); got != want {
					errs <- fmt.Errorf("got %s want %s", got, want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestClockAndRandom(t *testing.T) {
	got, err := run(`[now(), random(), uuid()]`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(AppendJSON(nil, got)); s != `[1.7092944E9,0.25,"40000000-4000-4000-8000-000040000000"]` {
		t.Errorf("got %s", s)
	}
}

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{2.0, "2.0"}, {-0.0, "0.0"}, {0.001, "0.001"}, {0.0001, "1.0E-4"}, {1e7, "1.0E7"},
		{1234567.5, "1234567.5"}, {1.5e300, "1.5E300"}, {int64(-3), "-3"},
		{"a\"\\\b\f\n\r\t\x01é\u2028", `"a\"\\\b\f\n\r\t\u0001é` + "\u2028" + `"`},
		{[]any{nil, true, false}, "[null,true,false]"},
	}
	for _, tc := range tests {
		if got := string(AppendJSON(nil, tc.v)); got != tc.want {
			t.Errorf("AppendJSON(%#v) = %s, want %s", tc.v, got, tc.want)
		}
	}
	v := mustParse(t, `{"a":1,"b":[1,{"c":2.5}],"d":{},"e":[]}`)
	want := "{\n  \"a\" : 1,\n  \"b\" : [ 1, {\n    \"c\" : 2.5\n  } ],\n  \"d\" : { },\n  \"e\" : [ ]\n}"
	if got := string(AppendJSONIndent(nil, v)); got != want {
		t.Errorf("indent:\n%s\nwant\n%s", got, want)
	}
}

// TestSpecPayload is the bulk customer payload of the spec (§3.2.1): a for
// loop over CSV records building the /v2/customers/bulk body.
func TestSpecPayload(t *testing.T) {
	q := `[ for (.) { "profiles": [ { "firstName": .firstname, "lastName": .lastname, "source": .source,
    "identifiers": [ { "type": .identifierType, "value": .value } ] } ],
  "loyaltyInfo": { "loyaltyType": .loyaltyType } } ]`
	in := mustParse(t, `[{"firstname":"John","lastname":"Doe","value":"919812345678","source":"INSTORE","loyaltyType":"loyalty","identifierType":"mobile","LINE_NO":"1"},
	{"firstname":"Jane","lastname":"","value":"jane@example.com","source":"INSTORE","loyaltyType":"loyalty","identifierType":"email"}]`)
	got, err := run(q, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"profiles":[{"firstName":"John","lastName":"Doe","source":"INSTORE","identifiers":[{"type":"mobile","value":"919812345678"}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}},` +
		`{"profiles":[{"firstName":"Jane","lastName":"","source":"INSTORE","identifiers":[{"type":"email","value":"jane@example.com"}]}],"loyaltyInfo":{"loyaltyType":"loyalty"}}]`
	if s := string(AppendJSON(nil, got)); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
}

func TestForeignValuesDoNotPanic(t *testing.T) {
	// Values outside the jsonv model must give a result or a JSLT error,
	// never a panic or an internal error.
	e := MustCompile(`[.a, size(.), . + 1, string(.), [for (.) .]]`)
	for _, in := range []any{struct{ X int }{1}, map[string]any{"a": 1}, []int{1, 2}, (*jsonv.Object)(nil)} {
		_, err := e.Apply(in, nil)
		var je *Error
		if err != nil && (!errors.As(err, &je) || strings.Contains(je.Msg, "internal error")) {
			t.Errorf("%T: %v", in, err)
		}
	}
	got, err := MustCompile(`[.a, size(.), string(.), [for (.) .]]`).Apply(map[string]any{"a": 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(AppendJSON(nil, got)); s != `[1,1,"{\"a\":1}",[{"key":"a","value":1}]]` {
		t.Errorf("got %s", s)
	}
}

// TestUndefinedVariable: with WithVariables, a variable neither defined by
// let nor declared is a compile error at its position (issue 13 item 6:
// $kind used to fail every record at run time).
func TestUndefinedVariable(t *testing.T) {
	const q = "let type = \"x\"\n{\"t\": $type, \"k\": $kind}"
	_, err := Compile(q, WithVariables())
	var je *Error
	if !errors.As(err, &je) || je.Line != 2 || je.Column != 19 || je.Msg != "No such variable 'kind'" {
		t.Fatalf("got %v, want line 2, column 19: No such variable 'kind'", err)
	}
	if _, err := Compile(q, WithVariables("kind")); err != nil {
		t.Fatalf("declared parameter: %v", err)
	}
	// Without the option an undefined variable stays a parameter.
	e, err := Compile(q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(nil, nil); err == nil || !strings.Contains(err.Error(), "No such variable 'kind'") {
		t.Fatalf("apply: got %v", err)
	}
	// Variables of functions and for loops are not parameters.
	if _, err := Compile("def f(a) $a + 1\n[for (.) let v = . f($v)]", WithVariables()); err != nil {
		t.Fatal(err)
	}
}

// A chain of + builds its string once but charges the output budget as
// each + would: 8 for the first, 12 for the second here.
func TestPlusChainBudget(t *testing.T) {
	in := jsonv.NewObject(1)
	in.Set("a", "xxxx")
	for _, tc := range []struct {
		max int64
		ok  bool
	}{{20, true}, {19, false}, {8, false}} {
		e := MustCompile(`.a + .a + .a`, WithMaxOutputSize(tc.max))
		got, err := e.Apply(in, nil)
		if (err == nil) != tc.ok {
			t.Fatalf("max %d: got %v, %v", tc.max, got, err)
		}
		if tc.ok && got != "xxxxxxxxxxxx" {
			t.Fatalf("max %d: got %v", tc.max, got)
		}
	}
}

// First slabs are sized for the smaller of the last two Applies' uses:
// exact for batches of one shape, small when batches and single records
// alternate (a single record's result then keeps no batch-sized slab).
func TestSlabHint(t *testing.T) {
	e := MustCompile(`[for (.) {"a": .a}]`)
	batch := func(n int) []any {
		b := make([]any, n)
		for i := range b {
			o := jsonv.NewObject(1)
			o.Set("a", "x")
			b[i] = o
		}
		return b
	}
	apply := func(n int) {
		t.Helper()
		if _, err := e.Apply(batch(n), nil); err != nil {
			t.Fatal(err)
		}
	}
	apply(50)
	apply(50)
	if got := e.hint.load().members; got != 50 {
		t.Fatalf("after two batches of 50: hint %d members", got)
	}
	apply(1)
	if got := e.hint.load().members; got != 1 {
		t.Fatalf("after a single record: hint %d members", got)
	}
	apply(50)
	if got := e.hint.load().members; got != 1 {
		t.Fatalf("alternating: hint %d members", got)
	}
	apply(50)
	if got := e.hint.load().members; got != 50 {
		t.Fatalf("settled again: hint %d members", got)
	}
}

// Field reads compare key pointers first (the records of a batch share
// their key strings); keys with other pointers, other orders and equal
// lengths but other bytes still resolve by their bytes.
func TestKeyPointerCache(t *testing.T) {
	e := MustCompile(`{"x": .ab, "y": .cd, "z": {"w": .ab}}`)
	mk := func(kv ...string) *jsonv.Object {
		o := jsonv.NewObject(len(kv) / 2)
		for i := 0; i < len(kv); i += 2 {
			o.Set(strings.Clone(kv[i]), kv[i+1])
		}
		return o
	}
	for range 3 {
		for _, tc := range []struct {
			in   *jsonv.Object
			want string
		}{
			{mk("ab", "1", "cd", "2"), `{"x":"1","y":"2","z":{"w":"1"}}`},
			{mk("cd", "3", "ab", "4"), `{"x":"4","y":"3","z":{"w":"4"}}`},
			{mk("xy", "5", "cd", "6"), `{"y":"6"}`},
			{mk("ab", "7"), `{"x":"7","z":{"w":"7"}}`},
			{mk(), `{}`},
		} {
			got, err := e.Apply(tc.in, nil)
			if err != nil || string(AppendJSON(nil, got)) != tc.want {
				t.Fatalf("%s: got %s, %v; want %s", AppendJSON(nil, tc.in), AppendJSON(nil, got), err, tc.want)
			}
		}
	}
}
