package all

import (
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
)

// TestExpressionFieldsDeclareTheirLanguage: the fields whose values blocks
// compile say so, so the compile step that validation runs compiles them
// (issue 15). additionalHeaders and jobParameters hold NiFi text inside
// JSON; before, validation never compiled jobParameters and compiled
// additionalHeaders as one string, escapes and all.
func TestExpressionFieldsDeclareTheirLanguage(t *testing.T) {
	r := Registry()
	for typ, fields := range map[string]map[string]block.Lang{
		"filter_on_condition":                     {"filterCondition": block.LangNiFiCondition},
		"filter_on_condition_hidden":              {"filterCondition": block.LangNiFiCondition},
		"jslt_transform":                          {"transformation": block.LangJSLT},
		"jolt_transform":                          {"joltTransformation": block.LangJOLT},
		"script_transform":                        {"script": block.LangJavaScript},
		"http_write":                              {"additionalHeaders": block.LangNiFiJSON, "apiEndPoint": block.LangNiFi},
		"databricks_job_trigger_and_status_check": {"jobParameters": block.LangNiFiJSON},
		"transform_header_data":                   {"outputFileName": block.LangNiFi},
		"s3_write":                                {"s3ObjectKey": block.LangNiFi},
		"sftp_write":                              {"outputFileName": block.LangNiFi},
	} {
		s, ok := r.Lookup(typ)
		if !ok {
			t.Fatalf("no %s", typ)
		}
		for key, want := range fields {
			f, ok := s.Field(key)
			if !ok || f.Language() != want {
				t.Errorf("%s.%s: language %q, want %q", typ, key, f.Language(), want)
			}
		}
	}
}

// TestCompileStepChecksEveryLanguageField: for every block type, a typo in
// any field with a language is a compile problem on that field, located
// inside the expression.
func TestCompileStepChecksEveryLanguageField(t *testing.T) {
	step := exprs.NewStep(exprs.Options{})
	bad := map[block.Lang]string{
		block.LangNiFi:          "out_${filename:substringBefore('.').csv",
		block.LangNiFiCondition: "${status:equals('paid')",
		block.LangNiFiJSON:      `{"X-File": "${filename:equalz('a')}"}`,
		block.LangJSLT:          `{"a": $undefined}`,
		block.LangJOLT:          `[{"operation": "shift", "spec": {"a": "b.*"}}]`,
		block.LangJavaScript:    "function transform(r) { return r.; }",
	}
	n := 0
	for _, s := range Registry().Specs() {
		for i := range s.Fields {
			f := &s.Fields[i]
			src, ok := bad[f.Language()]
			if !ok {
				continue
			}
			n++
			c := block.NewConfig(s, map[string]string{f.Key: src})
			var found bool
			for _, p := range c.CompileWith(step) {
				if p.Path == f.Key && p.Expr != nil && p.Expr.Line == 1 {
					found = true
				}
			}
			if !found {
				t.Errorf("%s.%s (%s): %q compiled without a located problem", s.Type, f.Key, f.Language(), src)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d language fields", n)
	}
	// The doc form of a date-stamped name is compiled the way the block
	// reads it: its ${ } restored.
	s, _ := Registry().Lookup("transform_header_data")
	c := block.NewConfig(s, map[string]string{"outputFileName": "merge_now():format('yyyy-MM-dd qqqq').csv"})
	if probs := c.CompileWith(step); len(probs) != 1 || !strings.Contains(probs[0].Message, "qqqq") {
		t.Fatalf("doc-form name: %+v", probs)
	}
}
