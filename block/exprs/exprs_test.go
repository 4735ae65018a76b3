package exprs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
)

func TestCompilerEvaluatesAgainstAttributes(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	compile := Compiler(kolkata, func() time.Time { return now })
	x, err := compile("out_${filename:substringBefore('.')}_${now():format('yyyyMMdd-HH')}.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.EvalString(block.Attributes{"filename": "tx.csv"})
	if err != nil || got != "out_tx_20261122-15.csv" {
		t.Fatalf("got %q %v", got, err)
	}
	b, err := compile("${status:equals('paid')}")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.EvalBool(block.Attributes{"status": "paid"}); !ok {
		t.Fatal("condition")
	}
	if err := Check("${a:noSuchFunction()}"); err == nil {
		t.Fatal("unknown function accepted")
	}
}

type configs map[string]string

func (c configs) Resolve(name string) (string, error) {
	if v, ok := c[name]; ok {
		return v, nil
	}
	return "", errors.New("not found")
}

// secretConfigs marks names starting with "secret" as secrets.
type secretConfigs struct{ configs }

func (s secretConfigs) IsSecret(name string) (bool, error) {
	return strings.HasPrefix(name, "secret"), nil
}

// TestParameterReferencesResolveExtensionConfigurations: #{name} in a NiFi
// field names an Extension Configuration, resolved by the compile step.
func TestParameterReferencesResolveExtensionConfigurations(t *testing.T) {
	spec := &block.Spec{
		Type: "t_params", Label: "T", Class: block.ClassExecutor, Input: block.KindRecords, Output: block.KindRecords,
		Fields: []block.Field{
			{Key: "outputFileName", Label: "Name", Type: block.TypeString, SupportsExpressions: true},
			{Key: "filterCondition", Label: "Condition", Type: block.TypeString, Lang: block.LangNiFiCondition},
		},
		New: func(*block.Config, *block.Env) (block.Block, error) { return nil, nil },
	}
	res := secretConfigs{configs{"region": "eu", "status_paid": "paid", "secret_pw": "hunter2"}}
	step := NewStep(Options{})
	cfg, probs := spec.CompileConfig(map[string]any{
		"outputFileName":  "out_#{region}_${filename:toUpper()}.csv",
		"filterCondition": "${status:equals(#{status_paid})}",
	}, res, step)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	name := cfg.Compiled("outputFileName").(block.Expr)
	if s, err := name.EvalString(block.Attributes{"filename": "a"}); err != nil || s != "out_eu_A.csv" {
		t.Errorf("outputFileName = %q, %v", s, err)
	}
	cond := cfg.Compiled("filterCondition").(block.Expr)
	if ok, err := cond.EvalBool(block.Attributes{"status": "paid"}); err != nil || !ok {
		t.Errorf("filterCondition = %v, %v", ok, err)
	}
	for src, want := range map[string]string{
		"out_#{missing}.csv":       "parameter #{missing}: not found",
		"out_#{secret_pw}.csv":     "names a secret Extension Configuration",
		"${#{secret_pw}:length()}": "names a secret Extension Configuration",
	} {
		_, probs := spec.CompileConfig(map[string]any{"outputFileName": src}, res, step)
		if len(probs) != 1 || !strings.Contains(probs[0].Message, want) {
			t.Errorf("%s: %v, want %q", src, probs, want)
		}
	}
	// Without a resolver (validation of shape only) a reference is not
	// checked and evaluates to nothing, as NiFi without a parameter context.
	cfg, probs = spec.CompileConfig(map[string]any{"outputFileName": "out_#{region}.csv"}, nil, step)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if s, _ := cfg.Compiled("outputFileName").(block.Expr).EvalString(block.Attributes{}); s != "out_.csv" {
		t.Errorf("unresolved = %q", s)
	}
}
