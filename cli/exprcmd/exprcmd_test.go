package exprcmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/lang/nifiel"
)

func execute(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestExpr(t *testing.T) {
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "attrs.json")
	if err := os.WriteFile(jsonFile, []byte(`{"status":"refunded","amount":100,"flag":true,"gone":null,"nested":{"a":1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"boolean", "", []string{"${status:equals('paid'):or(${status:equals('refunded')})}", "--attr", "status=paid"}, "true\n"},
		{"json attrs", "", []string{"${status:equals('refunded')}", "--attrs-json", jsonFile}, "true\n"},
		{"attr overrides json", "", []string{"${status}", "--attrs-json", jsonFile, "--attr", "status=x"}, "x\n"},
		{"json number kept as text", "", []string{"${amount:plus(1)}", "--attrs-json", jsonFile}, "101\n"},
		{"json null is missing", "", []string{"${gone:isNull()}", "--attrs-json", jsonFile}, "true\n"},
		{"nested json", "", []string{"${nested:jsonPath('$.a')}", "--attrs-json", jsonFile}, "1\n"},
		{"stdin json", `{"a":"b"}`, []string{"${a:toUpper()}", "--attrs-json", "-"}, "B\n"},
		{"decimal", "", []string{"${amount:toDecimal():multiply(1.5)}", "--attr", "amount=100"}, "150.0\n"},
		{"type", "", []string{"${amount:toDecimal()}", "--attr", "amount=100", "--type"}, "100.0\ntype: Decimal\n"},
		{"null", "", []string{"${missing}", "--type"}, "\ntype: Null\n"},
		{"template", "", []string{"merged_${now():format('yyyy-MM-dd')}.csv", "--now", "2024-03-15T23:30:00Z", "--tz", "Asia/Kolkata"}, "merged_2024-03-16.csv\n"},
		{"date rendering", "", []string{"${now()}", "--now", "2024-03-15T13:45:10Z"}, "Fri Mar 15 13:45:10 UTC 2024\n"},
		{"escape", "", []string{"$${x}"}, "${x}\n"},
		{"value with equals and comma", "", []string{"${q}", "--attr", "q=a=b,c"}, "a=b,c\n"},
		{"condition", "", []string{"--condition", "${header_value:equals('paid')}", "--attr", "header_value=paid"}, "true\n"},
		{"dollar without brace", "", []string{"price $5"}, "price $5\n"},
		{"parameters", "", []string{"#{region}_${#{'Batch Size'}:plus(1)}", "--param", "region=eu", "-p", "Batch Size=49"}, "eu_50\n"},
		{"escaped parameter", "", []string{"##{region}"}, "#{region}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := execute(t, c.stdin, c.args...)
			if err != nil {
				t.Fatalf("error %v (stderr %q)", err, errOut)
			}
			if out != c.want {
				t.Errorf("stdout = %q, want %q", out, c.want)
			}
		})
	}
}

func TestExprFailures(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"syntax", []string{"${status:equals('a' 'b')}"}, "expected ')' after arguments of function 'equals'"},
		{"unknown function", []string{"${a:shout()}"}, "unknown function 'shout'"},
		{"evaluation", []string{"${d:toDate('yyyy-MM-dd')}", "--attr", "d=yesterday"}, "cannot parse attribute value as a date"},
		{"bad attr", []string{"${a}", "--attr", "novalue"}, "want NAME=VALUE"},
		{"bad param", []string{"#{a}", "--param", "novalue"}, "want NAME=VALUE"},
		{"bad tz", []string{"${a}", "--tz", "Mars/Olympus"}, "unknown time zone"},
		{"bad now", []string{"${now()}", "--now", "yesterday"}, "--now"},
		{"missing file", []string{"${a}", "--attrs-json", "/nonexistent/attrs.json"}, "reading --attrs-json"},
		{"no expression", []string{}, "accepts 1 arg"},
		// Issue 13 item 2: these used to be echoed back as literal text.
		{"unterminated", []string{"${header_value:equals('paid')", "--attr", "header_value=paid"}, "line 1, column 30): expected '}' to close the expression"},
		{"unterminated string", []string{"${header_value:equals('paid)}", "--attr", "header_value=paid"}, "line 1, column 23): unterminated string literal"},
		{"condition not boolean", []string{"--condition", "${header_value:toUpper()}"}, "a condition must yield a Boolean, but this expression yields a String"},
		{"condition with text", []string{"--condition", "x${a:isEmpty()}"}, "no text around it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := execute(t, "", c.args...)
			if err == nil {
				t.Fatalf("succeeded with %q", out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
			if !strings.Contains(errOut, c.want) {
				t.Errorf("stderr %q does not show the error", errOut)
			}
			if strings.Contains(errOut, "Usage:") {
				t.Errorf("usage printed on a runtime error: %q", errOut)
			}
		})
	}
	if _, _, err := execute(t, "not json", "${a}", "--attrs-json", "-"); err == nil {
		t.Error("invalid JSON on stdin accepted")
	}
}

func TestHelp(t *testing.T) {
	out, _, err := execute(t, "", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--attr", "--attrs-json", "--type", "--tz", "--param", "Examples:", "connectplus expr"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	// Every supported function is listed with NiFi's signature.
	for _, d := range nifiel.Functions() {
		if !strings.Contains(out, "    "+d.Signature()) {
			t.Errorf("help lacks %s", d.Signature())
		}
	}
}
