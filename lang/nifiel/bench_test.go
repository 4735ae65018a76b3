package nifiel

import (
	"fmt"
	"testing"
)

// benchAttrs is a typical record of 15 attributes.
func benchAttrs() MapLookup {
	m := MapLookup{
		"status":    "refunded",
		"bill_date": "2024-03-15 13:45:10",
		"filename":  "orders_20240315.csv",
		"path":      "/incoming/orders",
	}
	for i := len(m); i < 15; i++ {
		m[fmt.Sprintf("field_%02d", i)] = fmt.Sprintf("value %d", i)
	}
	return m
}

// BenchmarkEvalBoolOr is the filter condition the performance requirement
// names: at least 5 million evaluations per second, with no allocations.
func BenchmarkEvalBoolOr(b *testing.B) {
	x := MustCompile("${status:equals('paid'):or(${status:equals('refunded')})}")
	attrs := benchAttrs()
	var lookup Lookup = attrs
	b.ReportAllocs()
	for b.Loop() {
		ok, err := x.EvalBool(lookup)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkEvalDateReformat(b *testing.B) {
	x := MustCompile("${bill_date:toDate('yyyy-MM-dd HH:mm:ss'):format('yyyyMMdd')}")
	attrs := benchAttrs()
	b.ReportAllocs()
	for b.Loop() {
		s, err := x.EvalString(attrs)
		if err != nil || s != "20240315" {
			b.Fatal(s, err)
		}
	}
}

func BenchmarkEvalStringTemplate(b *testing.B) {
	x := MustCompile("merged_${filename:substringBefore('.'):toUpper()}_${path:substringAfterLast('/')}.csv")
	attrs := benchAttrs()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := x.EvalString(attrs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("${status:equals('paid'):or(${status:equals('refunded')})}"); err != nil {
			b.Fatal(err)
		}
	}
}
