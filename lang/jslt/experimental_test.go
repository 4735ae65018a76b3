package jslt

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

const expImport = `import "http://jslt.schibsted.com/2018/experimental" as exp `

func TestExperimentalGroupBy(t *testing.T) {
	cases := []struct{ query, input, want string }{
		// java.util.HashMap order: "b" (98) before "aa" (3104 -> bucket 0).
		{expImport + `exp:group-by(., .k, .v)`, `[{"k":"b","v":1},{"k":"aa","v":2},{"k":"b","v":3}]`, `[{"key":"aa","values":[2]},{"key":"b","values":[1,3]}]`},
		// Integers hash as themselves: 17 lands in bucket 1, before 3.
		{expImport + `exp:group-by(., ., 1)`, `[3, 17, 3]`, `[{"key":17,"values":[1]},{"key":3,"values":[1,1]}]`},
		// 1 and 1.0 are different Jackson nodes, so different groups; 1.0
		// hashes to 0x3FF00000, bucket 0.
		{expImport + `exp:group-by(., ., .)`, `[1, 1.0]`, `[{"key":1.0,"values":[1.0]},{"key":1,"values":[1]}]`},
		{expImport + `exp:group-by(., .key, .value)`, `{"x": 1}`, `[{"key":"x","values":[1]}]`},
		{expImport + `exp:group-by(.missing, ., .)`, `{}`, `null`},
		// The prefix is the importer's choice.
		{`import "http://jslt.schibsted.com/2018/experimental" as x x:group-by([], ., .)`, `{}`, `[]`},
	}
	for _, c := range cases {
		got, err := run(c.query, mustParse(t, c.input), nil)
		if err != nil {
			t.Errorf("%s: %v", c.query, err)
			continue
		}
		if s := string(AppendJSON(nil, got)); s != c.want {
			t.Errorf("%s on %s: got %s, want %s", c.query, c.input, s, c.want)
		}
	}
}

func TestExperimentalErrors(t *testing.T) {
	for query, want := range map[string]string{
		expImport + `exp:group-by(., .)`:                     "needs 3-3 arguments",
		expImport + `exp:nope(.)`:                            "No such function 'nope'",
		expImport + `exp:group-by("s", ., .)`:                `Can't group-by on "s"`,
		`import "experimental" as exp exp:group-by(., ., .)`: "no module resolver",
	} {
		if _, err := run(query, nil, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", query, err, want)
		}
	}
}

// The experimental URI is the built-in module: the resolver, which might
// map URIs to files, is never asked for it.
func TestExperimentalNeverResolved(t *testing.T) {
	resolver := func(name string) (string, error) {
		return "", errors.New("resolver called for " + name)
	}
	got, err := run(expImport+`exp:group-by(., ., .)`, mustParse(t, `["a"]`), nil, WithModuleResolver(resolver))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(AppendJSON(nil, got)); s != `[{"key":"a","values":["a"]}]` {
		t.Fatalf("got %s", s)
	}
}

func TestDuplicateVariable(t *testing.T) {
	for _, query := range []string{
		`let other = 5 let other = 2 $other + 5`,
		`def test(obj) let other = 0 let other = "oops" $obj + $other test(10)`,
		`def test(other) let other = 0 $other test(10)`,
		`[for (.) let a = 1 let a = 2 $a]`,
		`{let a = 1 let a = 2 "x": $a}`,
	} {
		_, err := Compile(query)
		var je *Error
		if err == nil || !errors.As(err, &je) || !strings.Contains(err.Error(), "Duplicate variable declaration") {
			t.Errorf("%s: got %v, want a duplicate variable declaration error", query, err)
		}
	}
	// Shadowing in an inner scope is allowed.
	got, err := run(`let v = 1 [for ([1,2]) let v = 2 . + $v]`, nil, nil)
	if err != nil || string(AppendJSON(nil, got)) != "[3,4]" {
		t.Fatalf("shadowing: got %v, %v", got, err)
	}
}

func TestNumberWithoutIntegerPart(t *testing.T) {
	for in, want := range map[string]string{`".5"`: "0.5", `"-.513"`: "-0.513", `".1E2"`: "10.0", `"-.1E2"`: "-10.0", `"1e2"`: "100.0", `"-1.5e2"`: "-150.0"} {
		got, err := run(`number(`+in+`)`, nil, nil)
		if err != nil || string(AppendJSON(nil, got)) != want {
			t.Errorf("number(%s): got %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{`"."`, `"-"`, `"-.e2"`, `"e2"`, `".5."`, `"1.e2"`} {
		if got, err := run(`number(`+in+`)`, nil, nil); err == nil {
			t.Errorf("number(%s): got %v, want an error", in, got)
		}
	}
}

// TestJavaHashMapOrder checks the model against what java.util.HashMap
// printed for 40 string keys "k"+(i*7919%1000), i = 0..39 (two resizes).
func TestJavaHashMapOrder(t *testing.T) {
	var keys []string
	var hashes []int32
	for i := 0; i < 40; i++ {
		k := "k" + strconv.Itoa(i*7919%1000)
		keys = append(keys, k)
		hashes = append(hashes, javaStringHash(k))
	}
	var got []string
	for _, i := range javaHashMapOrder(hashes) {
		got = append(got, keys[i])
	}
	want := "k947 k408 k704 k190 k56 k380 k165 k461 k785 k246 k542 k489 k841 k866 k327 k623 k109 k922 k838 k0 k84 k919 k3 k271 k28 k570 k352 k299 k651 k595 k433 k894 k732 k676 k137 k514 k975 k813 k757 k218"
	if s := strings.Join(got, " "); s != want {
		t.Fatalf("got  %s\nwant %s", s, want)
	}
}
