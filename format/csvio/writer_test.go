package csvio

import (
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	cases := []struct {
		name     string
		delim    byte
		sanitize bool
		crlf     bool
		rows     [][]string
		want     string
	}{
		{"plain", ',', false, false, [][]string{{"a", "b"}, {"1", "2"}}, "a,b\n1,2\n"},
		{"quoting", ',', false, false, [][]string{{"a,b", `say "hi"`, "x\ny", "r\rs"}}, "\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\"r\rs\"\n"},
		{"spaces", ',', false, false, [][]string{{" lead", "trail ", "mid dle"}}, "\" lead\",\"trail \",mid dle\n"},
		{"empty", ',', false, false, [][]string{{"", ""}, {""}}, ",\n\"\"\n"},
		{"pipe", '|', false, false, [][]string{{"a,b", "c|d"}}, "a,b|\"c|d\"\n"},
		{"crlf", ',', false, true, [][]string{{"a"}}, "a\r\n"},
		{"formulas kept by default", ',', false, false, [][]string{{"=SUM(A1)", "-5"}}, "=SUM(A1),-5\n"},
		{"formulas sanitized", ',', true, false, [][]string{{"=SUM(A1)", "+1", "-5", "@x", "\tt", "ok", `=HYPERLINK("x")`}}, "\"'=SUM(A1)\",\"'+1\",\"'-5\",\"'@x\",\"'\tt\",ok,\"'=HYPERLINK(\"\"x\"\")\"\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sb strings.Builder
			w := NewWriter(&sb, c.delim)
			w.SanitizeFormulas = c.sanitize
			w.UseCRLF = c.crlf
			for _, r := range c.rows {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if sb.String() != c.want {
				t.Errorf("got %q want %q", sb.String(), c.want)
			}
		})
	}
	if err := NewWriter(&strings.Builder{}, '"').Write([]string{"a"}); err == nil {
		t.Error("a quote delimiter must be rejected")
	}
}
