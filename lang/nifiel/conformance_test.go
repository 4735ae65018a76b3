package nifiel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the cases name zones; results must not depend on the machine's zoneinfo

	"github.com/connectplus/connectplus/lang/javatime"
)

// conformanceFile is one file of testdata/conformance: the assertions of
// one of Apache NiFi's test classes (or the examples of the Expression
// Language Guide), transcribed with their source.
type conformanceFile struct {
	Source  string            `json:"source"`
	Harness string            `json:"harness"`
	Cases   []conformanceCase `json:"cases"`
}

type conformanceCase struct {
	N          int                `json:"n"`
	Method     string             `json:"method"`
	Expr       string             `json:"expr"`
	Attrs      map[string]string  `json:"-"`
	RawAttrs   map[string]*string `json:"attrs"`
	State      map[string]string  `json:"state"`
	Params     json.RawMessage    `json:"params"`
	TZ         string             `json:"tz"`
	Now        int64              `json:"now"`
	Expect     *string            `json:"expect"`
	ExpectNull bool               `json:"-"`
	Type       string             `json:"type"`
	ResultType string             `json:"resultType"`
	OneOf      []string           `json:"oneOf"`
	Error      bool               `json:"error"`
	Valid      bool               `json:"valid"`
	Group      string             `json:"group"`
	API        string             `json:"api"`
	Section    string             `json:"section"`
	Pattern    string             `json:"pattern"`
	raw        map[string]json.RawMessage
}

// conformanceThreshold is the pass rate, in percent, below which
// TestConformance fails for each group; it only ever goes up.
var conformanceThreshold = map[string]float64{
	"nifi":     100,
	"nifi-2.x": 100,
	"total":    100,
}

// guideThreshold is the same ratchet for TestGuideExamples.
var guideThreshold = map[string]float64{
	"nifi":     100,
	"nifi-2.x": 100,
	"total":    100,
}

// TestConformance runs Apache NiFi's own assertions on expressions
// (testdata/conformance, transcribed from TestQuery and
// TestStandardPreparedQuery) and reports the pass rate of each group: the
// long-standing language and the functions NiFi 2.x added. Set
// NIFIEL_CONFORMANCE_FAILURES=1 to list every failing case.
func TestConformance(t *testing.T) {
	runConformanceSuite(t, "testdata/conformance/*.json", "NiFi Expression Language conformance (TestQuery, TestStandardPreparedQuery)", conformanceThreshold)
}

// TestGuideExamples runs every example of the Apache NiFi Expression
// Language Guide (testdata/guide) the same way and reports its pass rate.
func TestGuideExamples(t *testing.T) {
	runConformanceSuite(t, "testdata/guide/*.json", "NiFi Expression Language Guide examples", guideThreshold)
}

func runConformanceSuite(t *testing.T, glob, title string, threshold map[string]float64) {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	sort.Strings(files)
	listFailures := os.Getenv("NIFIEL_CONFORMANCE_FAILURES") != ""
	pass := map[string]int{}
	count := map[string]int{}
	perFile := map[string][2]int{}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Source string            `json:"source"`
			Cases  []json.RawMessage `json:"cases"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if f.Source == "" || len(f.Cases) == 0 {
			t.Fatalf("%s: no source or no cases", path)
		}
		base := strings.TrimSuffix(filepath.Base(path), ".json")
		for _, raw := range f.Cases {
			var c conformanceCase
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if err := json.Unmarshal(raw, &c.raw); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			// A Java null in the test's attribute map is a missing attribute.
			c.Attrs = map[string]string{}
			for k, v := range c.RawAttrs {
				if v != nil {
					c.Attrs[k] = *v
				}
			}
			if v, ok := c.raw["expect"]; ok && string(v) == "null" {
				c.ExpectNull = true
			}
			if _, ok := threshold[c.Group]; !ok {
				t.Fatalf("%s #%d: unknown group %q", path, c.N, c.Group)
			}
			count[c.Group]++
			pf := perFile[base]
			pf[1]++
			if msg := runConformanceCase(c); msg == "" {
				pass[c.Group]++
				pf[0]++
			} else if listFailures {
				t.Logf("FAIL %s #%d %s%s %q: %s", base, c.N, c.Method, c.Section, c.Expr, msg)
			}
			perFile[base] = pf
		}
	}
	var report strings.Builder
	var total, totalPass int
	groups := make([]string, 0, len(count))
	for g := range count {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		pct := 100 * float64(pass[g]) / float64(count[g])
		fmt.Fprintf(&report, "group %-10s %5d/%-5d %6.2f%%\n", g, pass[g], count[g], pct)
		if pct < threshold[g] {
			t.Errorf("group %s: pass rate %.2f%% is below the threshold %.2f%%", g, pct, threshold[g])
		}
		total += count[g]
		totalPass += pass[g]
	}
	pct := 100 * float64(totalPass) / float64(total)
	fmt.Fprintf(&report, "%-16s %5d/%-5d %6.2f%%\n", "total", totalPass, total, pct)
	names := make([]string, 0, len(perFile))
	for n := range perFile {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&report, "  file %-28s %5d/%-5d\n", n, perFile[n][0], perFile[n][1])
	}
	t.Logf("%s:\n%s", title, report.String())
	if pct < threshold["total"] {
		t.Errorf("total pass rate %.2f%% is below the threshold %.2f%%", pct, threshold["total"])
	}
}

// runConformanceCase returns "" when the case passes, else why not.
func runConformanceCase(c conformanceCase) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("panic: %v", r)
		}
	}()
	params, err := conformanceParams(c.Params)
	if err != nil {
		return err.Error()
	}
	loc := time.UTC
	if c.TZ != "" {
		l, ok := javatime.ResolveZone(c.TZ, nil)
		if !ok {
			return "unknown zone " + c.TZ
		}
		loc = l
	}
	opts := []Option{WithLocation(loc)}
	if c.Now != 0 {
		now := time.UnixMilli(c.Now)
		opts = append(opts, WithClock(func() time.Time { return now }))
	}
	if c.State != nil {
		state := c.State
		opts = append(opts, WithState(func(k string) (string, bool) { v, ok := state[k]; return v, ok }))
	}
	x, err := compileFor(c.API, c.Expr, opts)
	switch {
	case c.Valid:
		if err != nil {
			return "compile error: " + err.Error()
		}
		return ""
	case c.Error:
		if err != nil {
			return ""
		}
		if _, err := x.Evaluate(WithParameterContext(MapLookup(c.Attrs), params)); err != nil {
			return ""
		}
		v, _ := x.Evaluate(WithParameterContext(MapLookup(c.Attrs), params))
		return fmt.Sprintf("got %q (%s), want an error", v.String(), v.Type())
	}
	if err != nil {
		return "compile error: " + err.Error()
	}
	if c.Expect == nil && !c.ExpectNull && c.OneOf == nil && c.Type == "" && c.ResultType != "" {
		// Query.getResultType: the static type only.
		if !typeMatches(x.Type(), c.ResultType) {
			return fmt.Sprintf("static type %s, want %s", x.Type(), c.ResultType)
		}
		return ""
	}
	v, err := x.Evaluate(WithParameterContext(MapLookup(c.Attrs), params))
	if err != nil {
		return "evaluation error: " + err.Error()
	}
	switch {
	case c.ExpectNull:
		if !v.IsNull() {
			return fmt.Sprintf("got %q (%s), want null", v.String(), v.Type())
		}
	case c.Expect != nil:
		if s := v.String(); s != *c.Expect {
			return fmt.Sprintf("got %q, want %q", s, *c.Expect)
		}
	case c.OneOf != nil:
		s := v.String()
		found := false
		for _, o := range c.OneOf {
			found = found || o == s
		}
		if !found {
			return fmt.Sprintf("got %q, want one of %q", s, c.OneOf)
		}
	}
	if c.Pattern != "" && !regexp.MustCompile(c.Pattern).MatchString(v.String()) {
		return fmt.Sprintf("got %q, want a match of %s", v.String(), c.Pattern)
	}
	if c.Type != "" && !typeMatches(v.Type(), c.Type) {
		return fmt.Sprintf("result type %s, want %s", v.Type(), c.Type)
	}
	if c.ResultType != "" && !typeMatches(v.Type(), c.ResultType) {
		return fmt.Sprintf("result type %s, want %s", v.Type(), c.ResultType)
	}
	return ""
}

// compileFor compiles src through the entry point matching the NiFi API
// the case exercises.
func compileFor(api, src string, opts []Option) (*Expr, error) {
	switch api {
	case "", "prepare", "validateSurrounding":
		// Query.prepare / evaluateExpressions, and validateExpression(value,
		// true): text with any number of embedded expressions.
		return Compile(src, opts...)
	case "compile":
		return CompileQuery(src, opts...)
	case "validate":
		// validateExpression(value, false): exactly one expression, nothing
		// around it.
		return CompileExpression(src, append(opts, RejectUnterminated())...)
	}
	return nil, fmt.Errorf("unknown api %q", api)
}

// conformanceParams decodes a case's parameter context: name to value, or
// to {"value", "sensitive"}.
func conformanceParams(raw json.RawMessage) (ParameterLookup, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("params: %v", err)
	}
	ps := Parameters{}
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			ps[k] = Parameter{Value: s}
			continue
		}
		var p struct {
			Value     string `json:"value"`
			Sensitive bool   `json:"sensitive"`
		}
		if err := json.Unmarshal(v, &p); err != nil {
			return nil, fmt.Errorf("params %s: %v", k, err)
		}
		ps[k] = Parameter{Value: p.Value, Sensitive: p.Sensitive}
	}
	return ps, nil
}

// typeMatches compares a type with the name a case gives: ours (Number,
// Decimal, ...) or NiFi's ResultType (WHOLE_NUMBER, DECIMAL, NUMBER: either).
func typeMatches(got Type, want string) bool {
	switch want {
	case "Number", "WHOLE_NUMBER":
		return got == TypeNumber
	case "Decimal", "DECIMAL":
		return got == TypeDecimal
	case "NUMBER":
		return got == TypeNumber || got == TypeDecimal
	case "String", "STRING":
		return got == TypeString
	case "Boolean", "BOOLEAN":
		return got == TypeBoolean
	case "Date", "DATE":
		return got == TypeDate
	case "Instant", "INSTANT":
		return got == TypeInstant
	}
	return false
}
