package jsonpath

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/jsonv"
)

func mustJSON(t testing.TB, s string) any {
	t.Helper()
	v, err := jsonv.ParseString(s)
	if err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	return v
}

const bulkResponse = `{
  "result": {
    "errors": {"data": [{"id": 1, "code": 8015}, {"id": 2, "code": 8016}]},
    "success": {"data": [{"id": 3}, {"id": 4}]}
  },
  "errors": [{"code": 400, "message": "bad mobile"}, {"code": 401, "message": "bad email"}],
  "Id": 77,
  "status": {"code": 200, "message": "ok"},
  "customers": {"id": "c-9"}
}`

// TestConnectPlusForms covers the paths from the spec (§2.5.1, §4.7) as users
// write them, including the non-RFC "$.[" form.
func TestConnectPlusForms(t *testing.T) {
	lines := `[{"LINE_NO": 1, "x": "a"}, {"LINE_NO": 2, "x": "b"}]`
	cases := []struct {
		path, doc, want string
	}{
		{"$.[*]", lines, `[{"LINE_NO":1,"x":"a"},{"LINE_NO":2,"x":"b"}]`},
		{"$.*", lines, `[{"LINE_NO":1,"x":"a"},{"LINE_NO":2,"x":"b"}]`},
		{"$", lines, `[[{"LINE_NO":1,"x":"a"},{"LINE_NO":2,"x":"b"}]]`},
		{"$[0].LINE_NO", lines, `[1]`},
		{"$.[0].LINE_NO", lines, `[1]`},
		{"$[*].LINE_NO", lines, `[1,2]`},
		{"$.['errors'].*.code", bulkResponse, `[400,401]`},
		{"$.['errors'].*.message", bulkResponse, `["bad mobile","bad email"]`},
		{"$['errors'][*].code", bulkResponse, `[400,401]`},
		{"$.Id", bulkResponse, `[77]`},
		{"$.status.code", bulkResponse, `[200]`},
		{"$.status.message", bulkResponse, `["ok"]`},
		{"$.customers.id", bulkResponse, `["c-9"]`},
		{"$.error.code", bulkResponse, `[]`},
		{"$.customer-id", `{"customer-id": 5}`, `[5]`},
		{"$..code", bulkResponse, `[8015,8016,400,401,200]`},
		{"$.result.errors.data[?@.code > 8015].id", bulkResponse, `[2]`},
		{"$..[?(@.code == 400)].message", bulkResponse, `["bad mobile"]`},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			p, err := Compile(c.path)
			if err != nil {
				t.Fatal(err)
			}
			got := p.Query(mustJSON(t, c.doc))
			if got == nil {
				got = []any{}
			}
			if s := string(jsonv.Marshal(got)); s != c.want {
				t.Fatalf("got %s, want %s", s, c.want)
			}
		})
	}
}

func TestStrictRejectsConnectPlusForms(t *testing.T) {
	for _, src := range []string{"$.[*]", "$.['errors'].*.code", "$.customer-id"} {
		if _, err := CompileStrict(src); err == nil {
			t.Errorf("CompileStrict(%q) succeeded; it is not RFC 9535 syntax", src)
		}
		if _, err := Compile(src); err != nil {
			t.Errorf("Compile(%q): %v", src, err)
		}
	}
}

func TestCompileMulti(t *testing.T) {
	doc := mustJSON(t, bulkResponse)
	cases := []struct{ src, want string }{
		{"$.result.errors.data.*,$.result.success.data.*", `[{"id":1,"code":8015},{"id":2,"code":8016},{"id":3},{"id":4}]`},
		{"$.result.success.data.*, $.result.errors.data.*", `[{"id":3},{"id":4},{"id":1,"code":8015},{"id":2,"code":8016}]`},
		{"$['errors'][0,1].code", `[400,401]`},            // comma inside brackets is a union
		{"$[?@.x == 'a,b'],$.Id", `[77]`},                 // comma inside a quoted literal
		{"$.Id,$[?(@.code == 1 || @.code == 2)]", `[77]`}, // parentheses
		{"$.['errors'].*.code", `[400,401]`},
	}
	for _, c := range cases {
		p, err := CompileMulti(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		got := p.Query(doc)
		if s := string(jsonv.Marshal(got)); s != c.want {
			t.Errorf("%s: got %s, want %s", c.src, s, c.want)
		}
	}
	for _, src := range []string{"$.a,", ",$.a", "$.a,,$.b", "$.a,$.b[", "$.a, x"} {
		if _, err := CompileMulti(src); err == nil {
			t.Errorf("CompileMulti(%q) succeeded, want error", src)
		}
	}
	// The position of an error in the second path is relative to the whole list.
	_, err := CompileMulti("$.a, $.b[")
	var pe *Error
	if !errors.As(err, &pe) || pe.Pos != 8 {
		t.Fatalf("got %v, want an *Error at offset 8", err)
	}
	// A single path through Compile suggests CompileMulti.
	if _, err := Compile("$.a,$.b"); err == nil || !strings.Contains(err.Error(), "CompileMulti") {
		t.Fatalf("got %v, want a hint about CompileMulti", err)
	}
}

func TestCompileErrorsHavePositions(t *testing.T) {
	cases := []struct {
		src  string
		pos  int
		frag string
	}{
		{"", 0, "must start with '$'"},
		{"a.b", 0, "must start with '$'"},
		{" $", 0, "leading whitespace"},
		{"$ ", 1, "trailing whitespace"},
		{"$.a[", 3, "unclosed '['"},
		{"$[1 2]", 4, "expected ',' or ']'"},
		{"$[?@.a ==]", 9, "expected a literal"},
		{"$[?length(@.a)]", 3, "must be compared"},
		{"$[?foo(@.a)]", 3, "unknown function foo()"},
		{"$[?@.* == 1]", 3, "singular query"},
		{"$[01]", 2, "leading zeros"},
		{"$['abc", 2, "unterminated string"},
		{"$[?(@.a]", 7, "expected ')'"},
		{"$[?1]", 3, "literal cannot be used as a test"},
		{"$.", 2, "expected a member name"},
	}
	for _, c := range cases {
		_, err := CompileStrict(c.src)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%q: got %v, want *Error", c.src, err)
			continue
		}
		if pe.Pos != c.pos || !strings.Contains(pe.Msg, c.frag) {
			t.Errorf("%q: got offset %d %q, want offset %d containing %q", c.src, pe.Pos, pe.Msg, c.pos, c.frag)
		}
	}
}

func TestDeepNestingIsAnError(t *testing.T) {
	src := "$[?" + strings.Repeat("(", 200) + "@.a" + strings.Repeat(")", 200) + "]"
	if _, err := Compile(src); err == nil || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("got %v", err)
	}
}

// A non-bare function argument used to be re-parsed from its start, which
// is exponential in the nesting depth; 40 levels would never finish.
func TestNestedFunctionArgumentsParseLinearly(t *testing.T) {
	src := "$[?" + strings.Repeat("length(", 40) + "@" + strings.Repeat(")==1", 40) + "]"
	start := time.Now()
	_, err := Compile(src)
	if err == nil || !strings.Contains(err.Error(), "not a logical expression") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("compile took %v", d)
	}
}

func TestQueryLocatedNormalizedPaths(t *testing.T) {
	doc := mustJSON(t, `{"a":[{"b":1},{"b":2}],"it's":{"\n\u0001":3}}`)
	p := MustCompile("$..*")
	var got []string
	for _, n := range p.QueryLocated(doc) {
		got = append(got, n.Path+"="+string(jsonv.Marshal(n.Value)))
	}
	want := []string{
		`$['a']=[{"b":1},{"b":2}]`,
		`$['it\'s']={"\n\u0001":3}`,
		`$['a'][0]={"b":1}`,
		`$['a'][1]={"b":2}`,
		`$['a'][0]['b']=1`,
		`$['a'][1]['b']=2`,
		`$['it\'s']['\n\u0001']=3`,
	}
	// Pre-order: the wildcard's results at each node come before the walk
	// moves into that node's children.
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s", strings.Join(got, "\n"))
	}
}

func TestFirst(t *testing.T) {
	doc := mustJSON(t, bulkResponse)
	if v, ok := MustCompile("$['errors'][*].code").First(doc); !ok || v != int64(400) {
		t.Fatalf("got %v %v", v, ok)
	}
	if v, ok := MustCompile("$.status.code").First(doc); !ok || v != int64(200) {
		t.Fatalf("got %v %v", v, ok)
	}
	if _, ok := MustCompile("$.nothing[*]").First(doc); ok {
		t.Fatal("found something in nothing")
	}
	p, _ := CompileMulti("$.missing,$.Id")
	if v, ok := p.First(doc); !ok || v != int64(77) {
		t.Fatalf("multi First: got %v %v", v, ok)
	}
}

func TestSet(t *testing.T) {
	cases := []struct{ doc, path, value, want string }{
		{`{}`, "$.a", `1`, `{"a":1}`},
		{`null`, "$.a.b", `"x"`, `{"a":{"b":"x"}}`},
		{`{"a":{"b":1,"c":2}}`, "$.a.b", `[1]`, `{"a":{"b":[1],"c":2}}`},
		{`{"a":[1,2,3]}`, "$.a[-1]", `9`, `{"a":[1,2,9]}`},
		{`{"a":[1,2,3]}`, "$.a[3]", `4`, `{"a":[1,2,3,4]}`},
		{`{"a":[{"x":1}]}`, "$['a'][0].y", `2`, `{"a":[{"x":1,"y":2}]}`},
		{`{"a":1}`, "$", `"root"`, `"root"`},
	}
	for _, c := range cases {
		got, err := Set(mustJSON(t, c.doc), MustCompile(c.path), mustJSON(t, c.value))
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if s := string(jsonv.Marshal(got)); s != c.want {
			t.Errorf("Set %s on %s: got %s, want %s", c.path, c.doc, s, c.want)
		}
	}
	for _, c := range []struct{ doc, path string }{
		{`{"a":[1]}`, "$.a[5]"},
		{`{"a":"str"}`, "$.a.b"},
		{`{"a":{}}`, "$.a[0]"},
		{`[1]`, "$[*]"},
		{`{}`, "$..a"},
	} {
		if _, err := Set(mustJSON(t, c.doc), MustCompile(c.path), int64(1)); err == nil {
			t.Errorf("Set %s on %s succeeded, want error", c.path, c.doc)
		}
	}
}

func TestDelete(t *testing.T) {
	cases := []struct{ doc, path, want string }{
		{`{"a":1,"b":2}`, "$.a", `{"b":2}`},
		{`{"a":[1,2,3,4]}`, "$.a[1,3]", `{"a":[1,3]}`},
		{`{"a":[1,2,3,4]}`, "$.a[?@ > 2]", `{"a":[1,2]}`},
		{`[{"x":1,"y":2},{"x":3}]`, "$[*].x", `[{"y":2},{}]`},
		{`{"a":{"a":{"b":1}},"b":2}`, "$..b", `{"a":{"a":{}}}`},
		{`{"a":[[1,2],[3]]}`, "$.a[*][0]", `{"a":[[2],[]]}`},
		{`{"a":1}`, "$.zzz", `{"a":1}`},
		{`{"a":1}`, "$", `null`},
	}
	for _, c := range cases {
		got, err := Delete(mustJSON(t, c.doc), MustCompile(c.path))
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if s := string(jsonv.Marshal(got)); s != c.want {
			t.Errorf("Delete %s on %s: got %s, want %s", c.path, c.doc, s, c.want)
		}
	}
}

func TestConcurrentQueries(t *testing.T) {
	p := MustCompile("$.values[?match(@, 'b.?b') || search(@, $.re)]")
	doc := mustJSON(t, `{"re":"z+","values":["bab","zz","q","bb"]}`)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if s := string(jsonv.Marshal(p.Query(doc))); s != `["bab","zz","bb"]` {
					errs <- s
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Fatalf("concurrent query got %s", s)
	}
}

func TestIRegexpRejectsNonStandardSyntax(t *testing.T) {
	for _, pat := range []string{`(?i)a`, `a*?`, `\d`, `a{2}{3}`, `[[:alpha:]]`, `\p{Greek}`, `(a`, `a)`, `[]`, `x{,2}`} {
		if _, err := compileIRegexp(pat, true); err == nil {
			t.Errorf("%q accepted; it is not an I-Regexp", pat)
		}
	}
	for _, pat := range []string{`a.c`, `[a-z]+`, `\p{Lu}\P{L}`, `(ab|cd){1,3}`, `a\.b`, `[^\]]`} {
		if _, err := compileIRegexp(pat, false); err != nil {
			t.Errorf("%q rejected: %v", pat, err)
		}
	}
}

func TestWorkBudgetStopsExponentialQueries(t *testing.T) {
	// A 3-wide, 9-deep tree: $..*..*..*..*..* has far more results than
	// MaxSteps, so the walk must stop early instead of running for hours.
	var build func(d int) any
	build = func(d int) any {
		if d == 0 {
			return int64(d)
		}
		return []any{build(d - 1), build(d - 1), build(d - 1)}
	}
	doc := build(9)
	p := MustCompile("$" + strings.Repeat("..*", 5))
	start := time.Now()
	got := p.Query(doc)
	if len(got) == 0 || len(got) > MaxSteps {
		t.Fatalf("got %d nodes", len(got))
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestIsSingularAndString(t *testing.T) {
	if !MustCompile("$.a[0]['b']").IsSingular() || MustCompile("$.a[*]").IsSingular() {
		t.Fatal("IsSingular wrong")
	}
	if s := MustCompile("$.a").String(); s != "$.a" {
		t.Fatal(s)
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"$", "$.a", "$.[*]", "$..a[?@.b == 'x' && !(@.c < 2)]", "$[1:2:-1]",
		"$[?match(@.a, 'a.*')]", "$['\\u263a']", "$[?count(@..*)>2]", "$.a,$.b", "$[?value(@.*)==4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Pos < 0 || pe.Pos > len(src) {
				t.Fatalf("bad error for %q: %v", src, err)
			}
		} else if p.String() != src {
			t.Fatal("String() differs from source")
		}
		_, _ = CompileStrict(src)
		_, _ = CompileMulti(src)
	})
}

func FuzzQuery(f *testing.F) {
	f.Add("$..*", `{"a":[1,{"b":2}],"c":"d"}`)
	f.Add("$[?@.a > 1]", `[{"a":1},{"a":2},{"a":"x"}]`)
	f.Add("$[::-1]", `[1,2,3]`)
	f.Add("$[?search(@, $.r)]", `{"r":"(","x":"y"}`)
	f.Fuzz(func(t *testing.T, src, doc string) {
		p, err := Compile(src)
		if err != nil {
			return
		}
		// A small budget keeps exponential paths cheap so the fuzzer keeps
		// exploring instead of grinding through millions of nodes.
		p.maxSteps = 20000
		v, err := jsonv.ParseString(doc)
		if err != nil {
			return
		}
		vals := p.Query(v)
		if len(vals) > 1000 {
			// Exponential paths hit the MaxSteps budget; locating and
			// deleting a million nodes per input would stall the fuzzer.
			return
		}
		nodes := p.QueryLocated(v)
		if len(vals) != len(nodes) {
			t.Fatalf("%q: Query found %d, QueryLocated %d", src, len(vals), len(nodes))
		}
		for i, n := range nodes {
			if i == 50 {
				break // checking every node of a huge result would dominate the run
			}
			if !jsonv.Equal(n.Value, vals[i]) {
				t.Fatalf("%q: node %d differs", src, i)
			}
			// A normalized path is itself a valid singular path to the node.
			np, err := CompileStrict(n.Path)
			if err != nil {
				t.Fatalf("normalized path %q does not compile: %v", n.Path, err)
			}
			if got, ok := np.First(v); !ok || !jsonv.Equal(got, n.Value) {
				t.Fatalf("normalized path %q does not lead back to its node", n.Path)
			}
		}
		if _, ok := p.First(v); ok != (len(vals) > 0) {
			t.Fatalf("%q: First disagrees with Query", src)
		}
		if p.IsSingular() {
			_, _ = Set(v, p, "x")
		}
		_, _ = Delete(v, p)
	})
}

func benchDoc(b *testing.B) any {
	var sb strings.Builder
	sb.WriteString(`{"response":[`)
	for i := range 100 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"LINE_NO":%d,"entity":{"id":%d,"status":"ok"},"code":200}`, i+1, i)
	}
	sb.WriteString(`]}`)
	return mustJSON(b, sb.String())
}

func BenchmarkIndexName(b *testing.B) {
	doc := benchDoc(b)
	arr, _ := doc.(*jsonv.Object).Get("response")
	p := MustCompile("$[0].LINE_NO")
	b.ReportAllocs()
	for b.Loop() {
		if len(p.Query(arr)) != 1 {
			b.Fatal("no result")
		}
	}
}

func BenchmarkWildcardEntity(b *testing.B) {
	doc := benchDoc(b)
	p := MustCompile("$.response[*].entity")
	b.ReportAllocs()
	for b.Loop() {
		if len(p.Query(doc)) != 100 {
			b.Fatal("wrong count")
		}
	}
}
