package jolt

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/jsonv"
)

// The conformance suite runs JOLT's own test resources (testdata/, copied
// from bazaarvoice/jolt@990aee9 jolt-core/src/test/resources/json) the way
// the upstream Java tests do: the case lists below are those of
// ShiftrTest, DefaultrTest, RemovrTest, SortrTest,
// CardinalityTransformTest and ModifierTest.

var (
	shiftrCases = []string{"arrayExample", "arrayMismatch", "bucketToPrefixSoup", "declaredOutputArray",
		"escapeAllTheThings", "escapeAllTheThings2", "explicitArrayKey", "filterParallelArrays", "filterParents1",
		"filterParents2", "filterParents3", "firstSample", "hashDefault", "identity", "inputArrayToPrefix",
		"invertMap", "json-ld-escaping", "keyref", "lhsAmpMatch", "listKeys", "mapToList", "mapToList2",
		"mergeParallelArrays1_and-transpose", "mergeParallelArrays2_and-do-not-transpose",
		"mergeParallelArrays3_and-filter", "multiPlacement", "objectToArray", "passNullThru", "passThru",
		"pollaxman_218_duplicate_speclines_bug", "prefixDataToArray", "prefixedData", "prefixSoupToBuckets",
		"queryMappingXform", "shiftToTrash", "simpleLHSEscape", "simpleRHSEscape", "singlePlacement",
		"specialKeys", "transposeArrayContents1", "transposeArrayContents2", "transposeComplex1",
		"transposeComplex2", "transposeComplex3_both-sides-multipart", "transposeComplex4_lhs-multipart-rhs-sugar",
		"transposeComplex5_at-logic-with-embedded-array-lookups", "transposeComplex6_rhs-complex-at",
		"transposeComplex7_coerce-int-string-conversion", "transposeComplex8_coerce-boolean-string-conversion",
		"transposeComplex9_lookup_an_array_index", "transposeInverseMap1", "transposeInverseMap2",
		"transposeLHS1", "transposeLHS2", "transposeLHS3", "transposeNestedLookup", "transposeSimple1",
		"transposeSimple2", "transposeSimple3", "wildcards", "wildcardSelfAndRef", "wildcardsWithOr"}
	defaultrCases = []string{"arrayMismatch1", "arrayMismatch2", "defaultNulls", "expansionOnly", "firstSample",
		"identity", "nestedArrays1", "nestedArrays2", "orOrdering", "photosArray", "starsOfStars", "topLevelIsArray",
		"__deepCopyTest"}
	removrCases = []string{"firstSample", "boundaryConditions", "removrWithWildcardSupport", "multiStarSupport",
		"starDoublePathElementBoundaryConditions", "array_canPassThruNestedArrays", "array_canHandleTopLevelArray",
		"array_nonStarInArrayDoesNotDie", "array_removeAnArrayIndex", "array_removeJsonArrayFields"}
	cardinalityCases = []string{"oneLiteralTestData", "manyLiteralTestData", "starTestData", "atTestData"}
	modifierCases    = []string{"mapLiteral", "mapLiteralWithNullInput", "mapLiteralWithMissingInput",
		"mapLiteralWithEmptyInput", "arrayElementAt", "arrayLiteral", "arrayLiteralWithNullInput",
		"arrayLiteralWithEmptyInput", "arrayLiteralWithMissingInput", "simple", "simpleArray", "arrayObject",
		"simpleMapNullToArray", "simpleMapRuntimeNull", "simpleLookup", "complexLookup", "simpleArrayLookup",
		"complexArrayLookup", "valueCheckSimpleArray", "valueCheckSimpleArrayNullInput",
		"valueCheckSimpleArrayEmptyInput", "valueCheckSimpleMap", "valueCheckSimpleMapNullInput",
		"valueCheckSimpleMapEmptyInput", "simpleMapOpOverride", "simpleArrayOpOverride", "testListOfFunction"}
	// ModifierTest.getFunctionTests and getSquashTests: file and mode.
	functionCases = [][2]string{{"stringsSplitTest", "OVERWRITR"}, {"padStringsTest", "OVERWRITR"},
		{"stringsTests", "OVERWRITR"}, {"mathTests", "OVERWRITR"}, {"arrayTests", "OVERWRITR"},
		{"sizeTests", "OVERWRITR"}, {"labelsLookupTest", "DEFAULTR"}, {"valueTests", "OVERWRITR"},
		{"squashNullsTests", "OVERWRITR"}, {"deleteDuplicatesTests", "OVERWRITR"}}
)

var modeOps = map[string]string{"OVERWRITR": "modify-overwrite-beta", "DEFAULTR": "modify-default-beta", "DEFINR": "modify-define-beta"}

func loadUnit(t testing.TB, rel string) *node {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	n, err := parseSpec(string(b))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return n
}

func field(n *node, key string) *node {
	if m, ok := lookup(n, key); ok {
		return m.val
	}
	return nil
}

// testFunctions is the stock table plus the two label functions
// ModifierTest registers for labelsLookupTest: the value labelled by the
// smallest (largest) integer key of a map.
func testFunctions() map[string]function {
	fns := make(map[string]function, len(functions)+2)
	for k, v := range functions {
		fns[k] = v
	}
	label := func(isMax bool) function {
		return func(args []any) opt {
			if len(args) == 0 {
				return none // Java's args[0] throws; the evaluator yields nothing
			}
			m, ok := args[0].(*omap)
			if !ok {
				return none
			}
			best := int64(math.MaxInt32)
			if isMax {
				best = math.MinInt32
			}
			for _, k := range m.keys {
				if v, err := strconv.ParseInt(k, 10, 32); err == nil && (isMax && v > best || !isMax && v < best) {
					best = v
				}
			}
			v, _ := m.get(strconv.FormatInt(best, 10))
			return some(v)
		}
	}
	fns["minLabelComputation"] = label(false)
	fns["maxLabelComputation"] = label(true)
	return fns
}

// conformanceCase is one upstream test: run returns "" when it passes.
type conformanceCase struct {
	name string
	run  func(t testing.TB) string
}

// diffyCase runs one file against one operation; ok is false when the
// file has no expectation for it (ModifierTest skips those modes too).
func diffyCase(t testing.TB, dir, name, op, expectedKey string, orderOblivious bool) (conformanceCase, bool) {
	if field(loadUnit(t, dir+"/"+name+".json"), expectedKey) == nil {
		return conformanceCase{}, false
	}
	return conformanceCase{name: dir + "/" + name + "/" + op, run: func(t testing.TB) string {
		unit := loadUnit(t, dir+"/"+name+".json")
		expected := field(unit, expectedKey)
		o, err := compileOpWith(op, field(unit, "spec"), 1, 1, testFunctions())
		if err != nil {
			return "compile: " + err.Error()
		}
		var in any
		if n := field(unit, "input"); n != nil {
			in = n.value()
		}
		var got any
		if c, ok := o.(contextual); ok {
			var ctx any
			if n := field(unit, "context"); n != nil {
				ctx = n.value()
			}
			got, err = c.applyContext(in, ctx)
		} else {
			got, err = o.apply(in)
		}
		if err != nil {
			return "apply: " + err.Error()
		}
		want := expected.value()
		if ok := diffy(want, got, orderOblivious); !ok {
			return "got  " + string(jsonv.Marshal(toJSON(got))) + "\nwant " + string(jsonv.Marshal(toJSON(want)))
		}
		return ""
	}}, true
}

func failingSpecCase(name, op string, spec func(t testing.TB) *node) conformanceCase {
	return conformanceCase{name: name + "/" + op, run: func(t testing.TB) string {
		n := spec(t)
		if _, err := compileOp(op, n, 1, 1); err == nil {
			return "the spec compiled; JOLT rejects it"
		}
		return ""
	}}
}

func allCases(t testing.TB) []conformanceCase {
	var cs []conformanceCase
	add := func(c conformanceCase, ok bool) {
		if ok {
			cs = append(cs, c)
		}
	}
	for _, c := range shiftrCases {
		add(diffyCase(t, "shiftr", c, "shift", "expected", false))
	}
	for _, c := range defaultrCases {
		add(diffyCase(t, "defaultr", c, "default", "expected", false))
	}
	for _, c := range removrCases {
		add(diffyCase(t, "removr", c, "remove", "expected", false))
	}
	for _, c := range cardinalityCases {
		add(diffyCase(t, "cardinality", c, "cardinality", "expected", false))
	}
	for _, c := range modifierCases {
		for _, mode := range []string{"OVERWRITR", "DEFAULTR", "DEFINR"} {
			add(diffyCase(t, "modifier", c, modeOps[mode], mode, true))
		}
	}
	for _, c := range functionCases {
		squash := strings.HasPrefix(c[0], "squash") || strings.HasPrefix(c[0], "delete")
		add(diffyCase(t, "modifier/functions", c[0], modeOps[c[1]], c[1], !squash))
	}
	cs = append(cs, conformanceCase{name: "sortr/simple", run: func(t testing.TB) string {
		in := loadUnit(t, "sortr/simple/input.json").value()
		want := loadUnit(t, "sortr/simple/output.json").value()
		got, _ := sortOp{}.apply(in)
		if !diffy(want, got, false) {
			return "sorted tree differs"
		}
		if msg := sameOrder(got, want); msg != "" {
			return msg
		}
		return ""
	}})
	cs = append(cs, failingSpecCase("removr/negativeTestCases", "remove", func(t testing.TB) *node {
		return field(loadUnit(t, "removr/negativeTestCases.json"), "spec")
	}))
	cs = append(cs, failingSpecCase("cardinality/failCardinalityType", "cardinality", func(t testing.TB) *node {
		return field(loadUnit(t, "cardinality/failCardinalityType.json"), "spec")
	}))
	cs = append(cs, failingSpecCase("defaultr/throwExceptionOnBadSpec", "default", func(t testing.TB) *node {
		n, err := parseSpec(`{ "tuna*": "marlin" }`)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}))
	bad := loadUnit(t, "modifier/validation/specThatShouldFail.json")
	for i, spec := range bad.elems {
		for _, mode := range []string{"OVERWRITR", "DEFAULTR", "DEFINR"} {
			spec := spec
			cs = append(cs, failingSpecCase("modifier/validation/specThatShouldFail["+strconv.Itoa(i)+"]", modeOps[mode], func(testing.TB) *node { return spec }))
		}
	}
	return cs
}

// diffy is JOLT's Diffy: objects compare without order, arrays in order
// (or as multisets when orderOblivious), numbers within their own type.
func diffy(want, got any, orderOblivious bool) bool {
	switch w := want.(type) {
	case *omap:
		g, ok := got.(*omap)
		if !ok || g.len() != w.len() {
			return false
		}
		for _, k := range w.keys {
			gv, ok := g.get(k)
			if !ok || !diffy(w.vals[k], gv, orderOblivious) {
				return false
			}
		}
		return true
	case *list:
		g, ok := got.(*list)
		if !ok || len(g.a) != len(w.a) {
			return false
		}
		if !orderOblivious {
			for i := range w.a {
				if !diffy(w.a[i], g.a[i], false) {
					return false
				}
			}
			return true
		}
		used := make([]bool, len(g.a))
	next:
		for _, wv := range w.a {
			for j, gv := range g.a {
				if !used[j] && diffy(wv, gv, true) {
					used[j] = true
					continue next
				}
			}
			return false
		}
		return true
	}
	return want == got
}

func sameOrder(got, want any) string {
	g, ok1 := got.(*omap)
	w, ok2 := want.(*omap)
	if ok1 && ok2 {
		for i := range g.keys {
			if i >= len(w.keys) || g.keys[i] != w.keys[i] {
				return "out of order key " + g.keys[i]
			}
			if msg := sameOrder(g.vals[g.keys[i]], w.vals[w.keys[i]]); msg != "" {
				return msg
			}
		}
	}
	gl, ok1 := got.(*list)
	wl, ok2 := want.(*list)
	if ok1 && ok2 {
		for i := range gl.a {
			if msg := sameOrder(gl.a[i], wl.a[i]); msg != "" {
				return msg
			}
		}
	}
	return ""
}

// TestConformance runs every upstream case as a subtest.
func TestConformance(t *testing.T) {
	for _, c := range allCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if msg := c.run(t); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestConformancePassRate reports the pass rate per operation family and
// requires all of JOLT's own cases to pass.
func TestConformancePassRate(t *testing.T) {
	pass, total := map[string]int{}, map[string]int{}
	var failed []string
	for _, c := range allCases(t) {
		family := strings.SplitN(c.name, "/", 2)[0]
		total[family]++
		if c.run(t) == "" {
			pass[family]++
		} else {
			failed = append(failed, c.name)
		}
	}
	families := make([]string, 0, len(total))
	for f := range total {
		families = append(families, f)
	}
	sort.Strings(families)
	p, n := 0, 0
	for _, f := range families {
		t.Logf("%-12s %3d/%3d", f, pass[f], total[f])
		p += pass[f]
		n += total[f]
	}
	t.Logf("JOLT conformance: %d/%d cases pass (%.1f%%)", p, n, 100*float64(p)/float64(n))
	if p != n {
		t.Errorf("failing cases: %s", strings.Join(failed, ", "))
	}
}

// TestDiffyDetectsDifferences guards the harness: a changed expectation,
// a number of another type and a reordered array all fail.
func TestDiffyDetectsDifferences(t *testing.T) {
	parse := func(s string) any {
		n, err := parseSpec(s)
		if err != nil {
			t.Fatal(err)
		}
		return n.value()
	}
	base := parse(`{"a": [1, 2], "b": {"c": "x"}}`)
	if !diffy(base, parse(`{"b": {"c": "x"}, "a": [1, 2]}`), false) {
		t.Error("key order must not matter")
	}
	for _, other := range []string{`{"a": [2, 1], "b": {"c": "x"}}`, `{"a": [1, 2], "b": {"c": "y"}}`,
		`{"a": [1, 2.0], "b": {"c": "x"}}`, `{"a": [1, 2]}`} {
		if diffy(base, parse(other), false) {
			t.Errorf("%s compared equal to the base", other)
		}
	}
	if !diffy(base, parse(`{"a": [2, 1], "b": {"c": "x"}}`), true) {
		t.Error("order-oblivious comparison must accept a reordered array")
	}
}
