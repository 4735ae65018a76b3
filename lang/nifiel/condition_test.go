package nifiel

import (
	"errors"
	"strings"
	"testing"
)

// TestCompileConditionRejectsTypos: the three typos of issue 13 item 2 used
// to compile into constant text (or a String) and filter every record.
func TestCompileConditionRejectsTypos(t *testing.T) {
	for _, tc := range []struct {
		src, want string
		col       int
	}{
		{"${header_value:equals('paid')", "expected '}' to close the expression", 30},
		{"${header_value:equals('paid)}", "unterminated string literal", 23},
		{"${header_value:toUpper()}", "must yield a Boolean, but this expression yields a String", 1},
		{"${amount:toNumber()}", "yields a Number", 1},
		{"paid", "found only text", 1},
		{"x ${a:isEmpty()}", "no text around it", 1},
		{"${a:equalz('paid')}", "unknown function 'equalz'", 5},
	} {
		_, err := CompileCondition(tc.src)
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: got %v, want a compile error", tc.src, err)
			continue
		}
		if !strings.Contains(ce.Msg, tc.want) || ce.Line != 1 || ce.Column != tc.col {
			t.Errorf("%s: got %d:%d %q, want 1:%d %q", tc.src, ce.Line, ce.Column, ce.Msg, tc.col, tc.want)
		}
	}
	for _, ok := range []string{
		"${header_value:equals('paid'):or(${header_value:equals('refunded')})}",
		"${header_value:notNull()}",
		"${header_value:isEmpty():not()}",
	} {
		if _, err := CompileCondition(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestRejectUnterminated: Compile keeps NiFi's literal reading of an
// unclosed ${ (the guide's escaping table); with RejectUnterminated it is a
// located syntax error, while complete and escaped expressions still work.
func TestRejectUnterminated(t *testing.T) {
	const typo = "out_${filename:substringBefore('.').csv"
	x, err := Compile(typo)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := x.EvalString(nil); s != typo {
		t.Fatalf("default: got %q", s)
	}
	_, err = Compile(typo, RejectUnterminated())
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 1 || ce.Column != 36 {
		t.Fatalf("strict: got %v", err)
	}
	for src, want := range map[string]string{
		"out_${filename}.csv": "out_a.csv",
		"cost $$${x}":         "cost $",
		"price: $5":           "price: $5",
		"$${literal}":         "${literal}",
	} {
		x, err := Compile(src, RejectUnterminated())
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if s, _ := x.EvalString(MapLookup{"filename": "a"}); s != want {
			t.Errorf("%s: got %q, want %q", src, s, want)
		}
	}
}
