package jslt

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/jsonv"
)

// bulkCustomerQuery is the bulk "add customer" payload of the spec
// (§3.2.1, §4.6), widened to ten mapped fields: one /v2/customers/bulk
// element per CSV record.
const bulkCustomerQuery = `[ for (.) {
  "profiles": [ {
    "firstName": .firstname,
    "lastName": .lastname,
    "email": .email,
    "source": .source,
    "accountId": .account_id,
    "identifiers": [
      { "type": "mobile", "value": .mobile },
      { "type": "email", "value": .email },
      { "type": "externalId", "value": .external_id }
    ],
    "fields": { "city": .city, "gender": .gender }
  } ],
  "loyaltyInfo": { "loyaltyType": "loyalty" },
  "extendedFields": { "dob": .dob }
} ]`

// csvBatch builds what convert_csv_to_json emits for a group of n rows:
// an array of flat objects with string values.
func csvBatch(n int) []any {
	cols := []string{"firstname", "lastname", "email", "mobile", "source", "account_id", "external_id", "city", "gender", "dob", "LINE_NO"}
	batch := make([]any, n)
	for i := range batch {
		o := jsonv.NewObject(len(cols))
		for _, c := range cols {
			o.Set(c, fmt.Sprintf("%s-%d", c, i))
		}
		batch[i] = o
	}
	return batch
}

// BenchmarkBulkCustomerPayload transforms batches of 100 records and
// reports records/s and allocations per record (the figures the
// jslt_transform block cares about).
func BenchmarkBulkCustomerPayload(b *testing.B) {
	benchApply(b, MustCompile(bulkCustomerQuery), csvBatch(100))
}

// BenchmarkFlagshipApply is the flagship's query (three number()s) through
// the general evaluator, for the cases the row template does not take
// (something downstream reads the values).
func BenchmarkFlagshipApply(b *testing.B) {
	batch := make([]any, 100)
	for i := range batch {
		batch[i] = rowInput(rowNames, []string{"B123456", "2026-01-02 10:11:12", "1234.50", "10", "1244.50", "919800000000", "card", "S001", "paid"})
	}
	benchApply(b, MustCompile(flagshipQuery), batch)
}

// benchApply applies e to batch b.N times, reporting records/s (wall) and
// records/cpu-s.
func benchApply(b *testing.B, e *Expr, batch []any) {
	if out, err := e.Apply(batch, nil); err != nil || len(out.([]any)) != len(batch) {
		b.Fatalf("bad result: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := e.Apply(batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	records := float64(b.N) * float64(len(batch))
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	// On a shared machine wall time undercounts; CPU time (with -cpu 1,
	// including the GC work the run causes) shows the one-core rate.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(records/cpu.Seconds(), "records/cpu-s")
	}
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the CPU time (user + system) consumed by the process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBulkCustomerPayloadAllocs reports allocations per record
// separately, since testing.B's allocs/op counts per batch.
func BenchmarkBulkCustomerPayloadAllocs(b *testing.B) {
	e := MustCompile(bulkCustomerQuery)
	batch := csvBatch(100)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := e.Apply(batch, nil); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(allocs/100, "allocs/record")
	for i := 0; i < b.N; i++ {
		if _, err := e.Apply(batch, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompile measures compiling the payload query.
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Compile(bulkCustomerQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFunctions exercises a function-heavy per-record transform.
func BenchmarkFunctions(b *testing.B) {
	e := MustCompile(`[for (.) {
  "name": uppercase(.firstname) + " " + lowercase(.lastname),
  "ok": test(.mobile, "^mobile-\\d+$"),
  "parts": split(.dob, "-"),
  "n": number(fallback(.missing, "42")),
  "id": sha256-hex(.external_id)
}]`)
	batch := csvBatch(100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Apply(batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "records/s")
}
