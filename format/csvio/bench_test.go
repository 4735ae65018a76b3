package csvio

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/bench/gen"
)

// benchInput is the perf-anchors transaction data set: 200k rows generated
// in memory, or the file named by $CSVIO_BENCH_FILE (e.g. a 5M-row file from
// `gencsv -rows 5000000 -o /tmp/tx5m.csv`).
func benchInput(b *testing.B) []byte {
	if p := os.Getenv("CSVIO_BENCH_FILE"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	var buf bytes.Buffer
	if _, err := gen.WriteTransactions(&buf, 200000, 42); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// cpuTime is this process's user+system CPU time. The benchmark machine is
// shared, so wall-clock MB/s swings with other tenants; CPU-time MB/s is
// what the code costs (GC workers included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkReader(b *testing.B) {
	data := benchInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rows := 0
	cpu0 := cpuTime()
	defer func() {
		cpu := (cpuTime() - cpu0).Seconds()
		b.ReportMetric(float64(len(data))*float64(b.N)/1e6/cpu, "MB/cpu-s")
	}()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), Options{TrimBOM: true})
		rows = 0
		for {
			row, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if len(row.Fields) != 15 {
				b.Fatalf("line %d: %d fields", row.Line, len(row.Fields))
			}
			rows++
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkEncodingCSV is the standard library on the same input, for scale.
func BenchmarkEncodingCSV(b *testing.B) {
	data := benchInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkWriter(b *testing.B) {
	rec := []string{"BN10000006", "2025-11-12 07:11:36", "ST1068", "919542607933", "EX3622008", "Ananya", "Nair", "ananya949@cap.test", "5393.05", "0.00", "5393.05", "UPI", "paid", "3", "promo BOGO, 2nd at 50%"}
	w := NewWriter(io.Discard, ',')
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
}
