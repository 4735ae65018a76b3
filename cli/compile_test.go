package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/dataflow"
)

// mutateExample writes examples/name with each old→new replacement applied
// (each must match) and returns its path.
func mutateExample(t *testing.T, name, dir string, repl ...string) string {
	t.Helper()
	path := exampleIn(t, name, dir)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(s, repl[i]) {
			t.Fatalf("%s does not contain %q", name, repl[i])
		}
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type validateReport struct {
	Valid    bool               `json:"valid"`
	Problems []dataflow.Problem `json:"problems"`
	Error    string             `json:"error"`
}

func validateJSON(t *testing.T, flow string) validateReport {
	t.Helper()
	stdout, stderr, _ := runCLI(t, "validate", "--json", flow)
	var reps []validateReport
	if err := json.Unmarshal([]byte(stdout), &reps); err != nil || len(reps) != 1 {
		t.Fatalf("validate --json: %v\n%s\n%s", err, stdout, stderr)
	}
	return reps[0]
}

const paidFilter = `filterCondition: "${header_value:equals('paid'):or(${header_value:equals('refunded')})}"`

// TestValidateAndRunAgreeOnCompileErrors: every expression `run` refuses,
// `validate` reports first, with the block, the field path and the
// line:column inside the expression, and run refuses with the same
// problems (issue 13 items 2, 3 and 6; issue 15). Before the fix validate
// said "valid" for all of them and the filter typos ran "successfully",
// filtering every record.
func TestValidateAndRunAgreeOnCompileErrors(t *testing.T) {
	const jslt = `"billAmount": number(.bill_amount),`
	cases := []struct {
		name      string
		repl      []string
		path      string
		block     string
		line, col int
		msg       string
	}{
		{"filter missing brace", []string{paidFilter, `filterCondition: "${header_value:equals('paid')"`}, "blocks[3].config.filterCondition", "paid", 1, 30, "expected '}'"},
		{"filter unterminated string", []string{paidFilter, `filterCondition: "${header_value:equals('paid)}"`}, "blocks[3].config.filterCondition", "paid", 1, 23, "unterminated string literal"},
		{"filter not boolean", []string{paidFilter, `filterCondition: "${header_value:toUpper()}"`}, "blocks[3].config.filterCondition", "paid", 1, 1, "must yield a Boolean"},
		{"unknown NiFi function", []string{paidFilter, `filterCondition: "${header_value:equalz('paid')}"`}, "blocks[3].config.filterCondition", "paid", 1, 16, "unknown function 'equalz'"},
		{"NiFi arity", []string{paidFilter, `filterCondition: "${header_value:equals('paid','x')}"`}, "blocks[3].config.filterCondition", "paid", 1, 16, "function 'equals' takes"},
		{"NiFi date pattern", []string{paidFilter, `filterCondition: "${now():format('yyyy-MM-dd qqqq'):equals('x')}"`}, "blocks[3].config.filterCondition", "paid", 1, 9, "qqqq"},
		{"JSLT parse error", []string{`"storeCode": .store_code`, `"storeCode": .store_code,,`}, "blocks[2].config.transformation", "transform", 12, 30, "Parse error"},
		{"unknown JSLT function", []string{jslt, `"billAmount": numbr(.bill_amount),`}, "blocks[2].config.transformation", "transform", 5, 19, "No such function: 'numbr'"},
		{"JSLT arity", []string{jslt, `"billAmount": number(),`}, "blocks[2].config.transformation", "transform", 5, 19, "Function 'number' needs 1-2 arguments, got 0"},
		{"undefined JSLT variable", []string{jslt, `"billAmount": number(.bill_amount), "kind": $kind,`}, "blocks[2].config.transformation", "transform", 5, 49, "No such variable 'kind'"},
		{"relation condition", []string{"    relations: [paid]", "    relations: [{to: paid, on: \"${header_value:equals('paid'}\"}]"}, "blocks[2].relations[0].on", "transform", 1, 29, "invalid relation condition"},
	}
	data := filepath.Join(repoRoot(t), "examples", "data", "transactions.csv")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			flow := mutateExample(t, "add_transactions.yaml", dir, tc.repl...)
			rep := validateJSON(t, flow)
			if rep.Valid || len(rep.Problems) != 1 {
				t.Fatalf("validate: want exactly one problem, got %+v", rep)
			}
			p := rep.Problems[0]
			if p.Path != tc.path || p.Block != tc.block || p.ExprPos == nil || *p.ExprPos != (dataflow.Position{Line: tc.line, Column: tc.col}) || !strings.Contains(p.Message, tc.msg) || p.Pos == nil {
				t.Fatalf("validate: got %+v (expression at %v), want %s (%s) at %d:%d with %q", p, p.ExprPos, tc.path, tc.block, tc.line, tc.col, tc.msg)
			}
			_, stderr, code := runCLI(t, "run", flow, "--sandbox", "--input", data, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress")
			if code != ExitError || !strings.Contains(stderr, p.Error()) {
				t.Fatalf("run: exit %d, want %d with validate's problem %q\n%s", code, ExitError, p.Error(), stderr)
			}
		})
	}
	// Every problem is reported at once.
	dir := t.TempDir()
	flow := mutateExample(t, "add_transactions.yaml", dir, paidFilter, `filterCondition: "${header_value:equalz('paid')}"`, jslt, `"billAmount": numbr(.bill_amount),`)
	if rep := validateJSON(t, flow); len(rep.Problems) != 2 {
		t.Fatalf("want both problems, got %+v", rep.Problems)
	}
}

// TestValidateAndRunAgreeOnExamples: for every dataflow in examples/,
// validate's verdict is run's: a valid example runs (exit is not "could not
// start"), an invalid one is refused by run with the same problems.
func TestValidateAndRunAgreeOnExamples(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(repoRoot(t), "examples", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	data := filepath.Join(repoRoot(t), "examples", "data")
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			flow := exampleIn(t, name, dir)
			rep := validateJSON(t, flow)
			input := filepath.Join(data, "customers.csv")
			if strings.Contains(name, "transaction") || strings.Contains(name, "jsonl") {
				input = filepath.Join(data, "transactions.csv")
			}
			_, stderr, code := runCLI(t, "run", flow, "--sandbox", "--input", input, "--result-dir", dir, "--checkpoint-dir", filepath.Join(dir, "cp"), "--no-progress")
			switch {
			case rep.Valid && code == ExitError:
				t.Fatalf("validate says valid but run refused it:\n%s", stderr)
			case !rep.Valid && code != ExitError:
				t.Fatalf("validate found %+v but run exited %d", rep.Problems, code)
			case !rep.Valid:
				for _, pr := range rep.Problems {
					if !strings.Contains(stderr, pr.Error()) {
						t.Errorf("run does not report validate's problem %q:\n%s", pr.Error(), stderr)
					}
				}
			}
		})
	}
}
