package jslt

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/jsonv"
)

// plainQueries are object constructors and number() calls the plain-object path takes
// (static keys, no let, no matcher), nested in every way a payload
// template nests them, plus ones it does not take, so that both paths
// meet in one query.
var plainQueries = []string{
	bulkCustomerQuery,
	flagshipQuery,
	`[for (.) {"a": .a, "b": .b, "c": {"d": .c, "e": "lit", "f": null, "g": 1.5e10, "h": {}, "i": []}, "j": [.a, {"k": .missing}], "l": .o.k}]`,
	`{"a": .a, "b": "x", "c": 0, "d": false, "e": -0.0, "f": .b, "g": .c, "h": .d, "i": .e, "j": .f, "k": .g}`,
	`{"x": .a + "-" + .b, "y": if (.c) .c else .d, "z": number(.n, 0), "w": [for (.arr) {"v": .}], "u": {"t": .o}}`,
	`{"o": {"p": .missing, "q": {"r": .missing}}, "s": {}, "t": [], "u": {"v": .a}}`,
	`{"a": .a, "b": {"a": .a, "b": {"a": .a}}, * : .}`,
	`{let x = .b "a": .a, "b": $x}`,
	`[for (.) {"first": .k0, "last": .k69, "mid": .k33, "none": .k70}]`,
	`{"a": .a.b.c, "b": .arr[0], "c": .arr[-1:], "d": fallback(.missing, .a, "z")}`,
	`[for (.) {"n": number(.a), "m": number(.b, .c), "k": number(.n, 0) + 1, "e": number(.e, number(.f))}]`,
	`{"n": number(.a, .missing.x), "s": string(number(.b, "none")), "m": number(number(.c, 1))}`,
	`number(.)`, `[for (.) number(., -1)]`,
}

// randomValue is any JSON value: nulls, booleans, integers and decimals
// (exponents, the extremes), strings with escapes, control characters,
// invalid UTF-8 and non-BMP characters, and shallow containers, empty
// ones included.
func randomValue(r *rand.Rand, depth int) any {
	switch r.IntN(12) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return []int64{0, 1, -1, 255, 256, 1 << 40, -1 << 62}[r.IntN(7)]
	case 3:
		return []float64{0.5, -0.0, 1e300, 1.5e-10, 2.0, 1e7, 123456.789}[r.IntN(7)]
	case 4:
		if depth > 0 {
			a := make([]any, r.IntN(3))
			for i := range a {
				a[i] = randomValue(r, depth-1)
			}
			return a
		}
		return []any{}
	case 5:
		if depth > 0 {
			return randomRecord(r, depth-1, nil)
		}
		return jsonv.NewObject(0)
	}
	return []string{"", "x", "héllo", "a\"b\\c", "tab\there", "\x00\x1f", "\xff\xfe", "\u2028", "😀", "12", "1e5", "-.5E2"}[r.IntN(12)]
}

// recordKeys are the keys of random records: the queries' fields and
// others, so that fields are present, absent and at varying positions.
var recordKeys = []string{"a", "b", "c", "d", "e", "f", "g", "n", "o", "arr", "mobile", "email", "firstname",
	"lastname", "source", "account_id", "external_id", "city", "gender", "dob", "bill_amount", "discount"}

// randomRecord is an object of random members. Keys come from keys when
// given (one header shared by the records of a batch, as CSV records
// share their key strings) and are freshly allocated otherwise, so that
// keyNode's pointer cache both hits and misses.
func randomRecord(r *rand.Rand, depth int, keys []string) *jsonv.Object {
	if keys == nil {
		perm := r.Perm(len(recordKeys))
		keys = make([]string, r.IntN(len(recordKeys)+1))
		for i := range keys {
			keys[i] = strings.Clone(recordKeys[perm[i]])
		}
	}
	o := jsonv.NewObject(len(keys))
	for _, k := range keys {
		o.Set(k, randomValue(r, depth))
	}
	return o
}

// randomBatch is what the queries run over: a batch of records sharing a
// header, records of their own layouts, a wide record (more members than
// the direct scan takes), or a value that is not an object at all.
func randomBatch(r *rand.Rand) any {
	switch r.IntN(6) {
	case 0:
		return randomValue(r, 2)
	case 1:
		wide := jsonv.NewObject(70)
		for i := range 70 {
			wide.Set("k"+strconv.Itoa(i), randomValue(r, 1))
		}
		return []any{wide, wide}
	}
	var header []string
	if r.IntN(2) == 0 {
		header = recordKeys[:r.IntN(len(recordKeys)+1)]
	}
	batch := make([]any, r.IntN(6))
	for i := range batch {
		if r.IntN(10) == 0 {
			batch[i] = randomValue(r, 1)
		} else {
			batch[i] = randomRecord(r, 2, header)
		}
	}
	return batch
}

// compileBoth compiles q both ways: with the evaluator's fast paths and
// without (every object on evalGeneral, number() through the builtin
// argument stack).
func compileBoth(t testing.TB, q string) (plain, general *Expr) {
	plain, err := Compile(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	general, err = Compile(q, func(c *config) { c.noFastPaths = true })
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return plain, general
}

// sameResult fails unless both Exprs give the same JSON, or the same
// error, for input. Each Expr is applied twice, so that the second Apply
// runs with the layout hints and key pointers the first one left.
func sameResult(t testing.TB, q string, plain, general *Expr, input any) {
	t.Helper()
	for range 2 {
		pv, perr := plain.Apply(input, nil)
		gv, gerr := general.Apply(input, nil)
		if (perr == nil) != (gerr == nil) || (perr != nil && perr.Error() != gerr.Error()) {
			t.Fatalf("%s on %s: fast-path error %v, general error %v", q, AppendJSON(nil, input), perr, gerr)
		}
		if p, g := string(AppendJSON(nil, pv)), string(AppendJSON(nil, gv)); p != g {
			t.Fatalf("%s on %s:\nfast    %s\ngeneral %s", q, AppendJSON(nil, input), p, g)
		}
	}
}

// TestFastPathsMatchGeneral checks the fast paths (plain objects: members
// by index, the inlined field read at the layout hint, literals without a
// call; number() without the argument stack) against the general
// evaluation on random inputs.
func TestFastPathsMatchGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 26))
	for _, q := range append(plainQueries, rowQueries...) {
		plain, general := compileBoth(t, q)
		for range 300 {
			in := randomBatch(r)
			sameResult(t, q, plain, general, in)
			if b, ok := in.([]any); ok {
				for _, rec := range b {
					sameResult(t, q, plain, general, rec)
				}
			}
		}
	}
}

// FuzzFastPaths compares the two ways on arbitrary JSON input.
func FuzzFastPaths(f *testing.F) {
	exprs := make([][2]*Expr, len(plainQueries))
	for i, q := range plainQueries {
		exprs[i][0], exprs[i][1] = compileBoth(f, q)
	}
	for _, in := range []string{`[{"a": "x", "b": null, "c": {}, "d": []}]`, `{"a": 1e5, "o": {"k": "\u00e9"}}`, `[1, "s", null]`,
		`[{"firstname": "a", "email": "\"q\"", "dob": -0.0}, {"email": 1.5E-10}]`, `{"arr": [[], {}, null]}`} {
		for i := range exprs {
			f.Add(uint8(i), in)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data string) {
		input, err := jsonv.ParseString(data)
		if err != nil {
			return
		}
		i := int(which) % len(exprs)
		sameResult(t, plainQueries[i], exprs[i][0], exprs[i][1], input)
	})
}
