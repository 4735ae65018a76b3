package jslt

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/jsonv"
)

// conformanceFile is one file of testdata/conformance: the cases of one
// test resource of the reference implementation, transcribed with the
// source it came from.
type conformanceFile struct {
	Source  string            `json:"source"`
	Harness string            `json:"harness"`
	Cases   []conformanceCase `json:"cases"`
	// Modules are the module files the cases import, by name.
	Modules map[string]string `json:"modules"`
}

type conformanceCase struct {
	N         int             `json:"n"` // position in the source file, 1-based
	Query     string          `json:"query"`
	Input     string          `json:"input"`
	Output    *string         `json:"output"`
	Error     *string         `json:"error"`
	Variables json.RawMessage `json:"variables"`
}

// conformanceThreshold is the pass rate, in percent, below which
// TestConformance fails for each group; it only ever goes up.
var conformanceThreshold = map[string]float64{
	"query-tests":                     100,
	"query-tests-yaml":                100,
	"function-tests":                  100,
	"experimental-tests":              100,
	"function-declaration-tests-yaml": 100,
	"query-error-tests":               100,
	"function-error-tests":            100,
	"json-parse-tests":                100,
	"json-parse-error-tests":          100,
	"total":                           100,
}

// TestConformance runs the reference implementation's own test resources
// (testdata/conformance, transcribed from schibsted/jslt), judged the way
// its harnesses judge them, and reports the pass rate of each group. Set
// JSLT_CONFORMANCE_FAILURES=1 to list every failing case.
func TestConformance(t *testing.T) {
	files, err := filepath.Glob("testdata/conformance/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	sort.Strings(files)
	listFailures := os.Getenv("JSLT_CONFORMANCE_FAILURES") != ""
	var total, totalPass int
	var report strings.Builder
	for _, path := range files {
		group := strings.TrimSuffix(filepath.Base(path), ".json")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var f conformanceFile
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if f.Source == "" || len(f.Cases) == 0 {
			t.Fatalf("%s: no source or no cases", path)
		}
		pass := 0
		for _, c := range f.Cases {
			if msg := runConformanceCase(group, c, f.Modules); msg == "" {
				pass++
			} else if listFailures {
				t.Logf("FAIL %s #%d %q: %s", group, c.N, c.Query, msg)
			}
		}
		total += len(f.Cases)
		totalPass += pass
		pct := 100 * float64(pass) / float64(len(f.Cases))
		fmt.Fprintf(&report, "%-32s %4d/%-4d %6.2f%%\n", group, pass, len(f.Cases), pct)
		min, ok := conformanceThreshold[group]
		if !ok {
			t.Errorf("%s: no threshold for group %q", path, group)
		}
		if pct < min {
			t.Errorf("%s: pass rate %.2f%% is below the threshold %.2f%%", group, pct, min)
		}
	}
	pct := 100 * float64(totalPass) / float64(total)
	fmt.Fprintf(&report, "%-32s %4d/%-4d %6.2f%%\n", "total", totalPass, total, pct)
	t.Logf("JSLT conformance (schibsted/jslt test resources):\n%s", report.String())
	if pct < conformanceThreshold["total"] {
		t.Errorf("total pass rate %.2f%% is below the threshold %.2f%%", pct, conformanceThreshold["total"])
	}
}

// runConformanceCase returns "" when the case passes, else why not.
func runConformanceCase(group string, c conformanceCase, modules map[string]string) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("panic: %v", r)
		}
	}()
	switch group {
	case "json-parse-tests":
		// JsonParseTest: the JSON text compiled as a query yields what
		// Jackson parses from it.
		want, err := jsonv.ParseString(c.Query)
		if err != nil {
			return "reference JSON does not parse: " + err.Error()
		}
		got, err := run(c.Query, nil, nil)
		if err != nil {
			return "error: " + err.Error()
		}
		if !deepEqual(reparse(got), want) {
			return fmt.Sprintf("got %s, want %s", AppendJSON(nil, got), c.Query)
		}
		return ""
	case "json-parse-error-tests":
		// JsonParseErrorTest: compiling the text as a query fails.
		if _, err := Compile(c.Query); err == nil {
			return "compiled without error"
		}
		return ""
	}
	// An empty input is what Jackson reads from "": a missing node, which
	// JSLT treats as null.
	var input any
	if strings.TrimSpace(c.Input) != "" {
		v, err := jsonv.ParseString(c.Input)
		if err != nil {
			return "bad input JSON: " + err.Error()
		}
		input = v
	}
	var params map[string]any
	if len(c.Variables) > 0 {
		v, err := jsonv.Parse(c.Variables)
		if err != nil {
			return "bad variables: " + err.Error()
		}
		params = map[string]any{}
		for _, m := range v.(*jsonv.Object).Members {
			params[m.Key] = m.Value
		}
	}
	var opts []Option
	if modules != nil {
		opts = append(opts, WithModuleResolver(func(name string) (string, error) {
			if src, ok := modules[name]; ok {
				return src, nil
			}
			return "", fmt.Errorf("no module %q", name)
		}))
	}
	got, err := run(c.Query, input, params, opts...)
	switch {
	case c.Error != nil:
		if err == nil {
			return fmt.Sprintf("got %s, want an error containing %q", AppendJSON(nil, got), *c.Error)
		}
		if !strings.Contains(err.Error(), *c.Error) {
			return fmt.Sprintf("error %q does not contain %q", err, *c.Error)
		}
		return ""
	case c.Output != nil:
		if err != nil {
			return "error: " + err.Error()
		}
		want, perr := jsonv.ParseString(*c.Output)
		if perr != nil {
			return "bad expected JSON: " + perr.Error()
		}
		if !deepEqual(reparse(got), want) {
			return fmt.Sprintf("got %s, want %s", AppendJSON(nil, got), *c.Output)
		}
		return ""
	}
	return "case has neither output nor error"
}

// reparse serialises and parses a result again, as the reference harness
// does (so an int and a long of the same value are equal).
func reparse(v any) any {
	r, err := jsonv.Parse(AppendJSON(nil, v))
	if err != nil {
		return v
	}
	return r
}
