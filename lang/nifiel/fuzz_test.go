package nifiel

import (
	"strings"
	"testing"
	"time"
)

var fuzzSeeds = []string{
	"${status:equals('paid'):or(${status:equals('refunded')})}",
	"${bill_date:toDate('yyyy-MM-dd HH:mm:ss'):format('yyyyMMdd')}",
	"$$${abc} $${x} ${'a b'} ${${name}}",
	"#{p} ##{p} ###{p} ${#{'p q'}:append(#{p})} #{'a'b'} #{",
	"# c\n${# c\n a #e\n}",
	"${allMatchingAttributes('.*'):length():gt(2):count()}",
	"${json:jsonPath('$.a[?(@.b == 1)].c')}",
	"${x:replaceAll('(a+)+b', '$1')}",
	"${x:matches('\\p{Alpha}*+')}",
	"${literal(1e308):multiply(10):toNumber()}",
	"${x:substring(1, 3):padLeft(5, 'ab'):repeat(2)}",
	"${x:getDelimitedField(2, ';')}",
	"${now():toInstant():formatInstant('uuuu-MM-dd', 'UTC')}",
	"${x # comment\n:toUpper()}",
	"${x:evaluateELString()}",
	"${x:toRadix(36, 8):fromRadix(36)}",
	"${x:escapeHtml4():unescapeHtml4():urlEncode():urlDecode()}",
}

func fuzzAttrs(v string) MapLookup {
	return MapLookup{
		"status": v, "x": v, "name": "x", "abc": v, "bill_date": v,
		"json": `{"a":[{"b":1,"c":"d"}]}`, "a b": v,
	}
}

// FuzzCompile checks that compiling never panics or hangs and that errors
// carry a position inside the source.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		x, err := Compile(src)
		if err != nil {
			ce, ok := err.(*Error)
			if !ok {
				t.Fatalf("Compile(%q) returned %T, want *Error", src, err)
			}
			if ce.Offset < 0 || ce.Offset > len(src) {
				t.Fatalf("Compile(%q) error offset %d out of range", src, ce.Offset)
			}
			return
		}
		if !x.HasExpressions() && !strings.Contains(src, "$") && !strings.Contains(src, "#{") {
			s, err := x.EvalString(nil)
			if err != nil || s != src {
				t.Fatalf("literal %q evaluated to %q, %v", src, s, err)
			}
		}
	})
}

// FuzzEvaluate evaluates fuzzed expressions against fuzzed attribute values;
// evaluation must return (possibly an error) and never panic.
func FuzzEvaluate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "paid")
		f.Add(s, "2024-03-15 13:45:10")
	}
	f.Fuzz(func(t *testing.T, src, value string) {
		x, err := Compile(src, WithMaxResultSize(1<<16), WithClock(func() time.Time { return fixedNow }))
		if err != nil {
			return
		}
		attrs := fuzzAttrs(value)
		v, err := x.Evaluate(attrs)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("Evaluate(%q) panicked: %v", src, err)
			}
			return
		}
		_ = v.String()
		if _, err := x.EvalBool(attrs); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("EvalBool(%q) panicked: %v", src, err)
		}
	})
}
