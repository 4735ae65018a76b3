package jsltcmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func execute(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestQueryFromArgumentAndStdin(t *testing.T) {
	out, _, err := execute(t, `{"a": {"b": 2.0}, "n": 3}`, `{"b": .a.b, "sum": .n + 1, "d": .n / 2}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"b":2.0,"sum":4,"d":1.5}` + "\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestQueryFileInputFileAndPretty(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("lib.jslt", `def full(r) $r.firstname + " " + $r.lastname`)
	q := write("q.jslt", `import "lib.jslt" as lib
[ for (.) { "profiles": [ { "name": lib:full(.), "identifiers": [ {"type": "mobile", "value": .mobile} ] } ],
  "loyaltyInfo": { "loyaltyType": "loyalty" } } ]`)
	in := write("in.json", `[{"firstname":"John","lastname":"Doe","mobile":"919812345678"}]`)
	out, _, err := execute(t, "", "@"+q, in, "--pretty")
	if err != nil {
		t.Fatal(err)
	}
	want := `[ {
  "profiles" : [ {
    "name" : "John Doe",
    "identifiers" : [ {
      "type" : "mobile",
      "value" : "919812345678"
    } ]
  } ],
  "loyaltyInfo" : {
    "loyaltyType" : "loyalty"
  }
} ]
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestParams(t *testing.T) {
	out, _, err := execute(t, "{}", `[$s, $j, $j.k]`, "--param", "s=a=b", "--param-json", `j={"k":[1,2.5]}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `["a=b",{"k":[1,2.5]},[1,2.5]]` + "\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	for _, args := range [][]string{{"1", "--param", "noequals"}, {"1", "--param-json", "x={"}} {
		if _, _, err := execute(t, "", args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestErrorsExitNonZero(t *testing.T) {
	tests := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"{}", []string{"{\n \"a\": 1 for"}, "jslt: line 2, column 9: Parse error: expected '}' but found 'for'"},
		{"{}", []string{`error("boom")`}, "jslt: line 1, column 1: error: boom"},
		{"{}", []string{`$missing`}, "No such variable 'missing'"},
		{"{oops", []string{"."}, "parsing input"},
		{"", []string{"@/nonexistent/q.jslt"}, "reading query"},
	}
	for _, tc := range tests {
		out, errOut, err := execute(t, tc.stdin, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got error %v, want %q", tc.args, err, tc.want)
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
		if strings.Contains(errOut, "Usage:") {
			t.Errorf("%v: usage printed on a query error", tc.args)
		}
		if out != "" {
			t.Errorf("%v: unexpected output %q", tc.args, out)
		}
	}
}

func TestQueryFileErrorNamesFile(t *testing.T) {
	q := filepath.Join(t.TempDir(), "bad.jslt")
	if err := os.WriteFile(q, []byte("\n\n  .a +"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := execute(t, "{}", "@"+q)
	if err == nil || !strings.Contains(err.Error(), "bad.jslt: jslt: line 3, column 7") {
		t.Errorf("got %v", err)
	}
}

func TestEmptyInputIsNull(t *testing.T) {
	out, _, err := execute(t, "  \n", `is-null(.)`)
	if err != nil || out != "true\n" {
		t.Errorf("got %q, %v", out, err)
	}
	out, _, err = execute(t, "", `. == null`)
	if err != nil || out != "true\n" {
		t.Errorf("got %q, %v", out, err)
	}
}

func TestHelp(t *testing.T) {
	out, _, err := execute(t, "", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"QUERY_OR_@FILE", "--param-json", "--pretty", "Examples:"} {
		if !strings.Contains(out, s) {
			t.Errorf("help lacks %q", s)
		}
	}
}

func TestArgCount(t *testing.T) {
	if _, _, err := execute(t, ""); err == nil {
		t.Error("no arguments accepted")
	}
	if _, _, err := execute(t, "", ".", "a", "b"); err == nil {
		t.Error("three arguments accepted")
	}
}
