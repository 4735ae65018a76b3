package csvjson

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/connectplus/connectplus/bench/gen"
	"github.com/connectplus/connectplus/block"
)

// Benchmarks run on 200k generated transaction rows (the perf-anchors data
// set), or on the file named by $CSVJSON_BENCH_FILE, e.g.
//
//	go run ./bench/cmd/gencsv -rows 5000000 -o /tmp/tx5m.csv
//	CSVJSON_BENCH_FILE=/tmp/tx5m.csv go test -run '^$' -bench . -benchtime 1x ./blocks/csvjson

func benchFile(b *testing.B) (*block.File, int64) {
	if p := os.Getenv("CSVJSON_BENCH_FILE"); p != "" {
		f, err := block.LocalFile("bench.csv", p)
		if err != nil {
			b.Fatal(err)
		}
		return f, f.Size
	}
	var buf bytes.Buffer
	if _, err := gen.WriteTransactions(&buf, 200000, 42); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	return block.NewFile("bench.csv", int64(len(data)), func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}), int64(len(data))
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countOutput counts records and drops them.
type countOutput struct{ records int64 }

// Emit counts input rows: records plus the rows merged into them.
func (o *countOutput) Emit(_ context.Context, _ string, u *block.Unit) error {
	for i := range u.Batch.Records {
		o.records += 1 + int64(len(u.Batch.Records[i].Members))
	}
	return nil
}
func (o *countOutput) Ack(*block.Unit, []byte) {}
func (o *countOutput) Progress(int64)          {}

// jsonlOutput hands batches to another goroutine that writes JSON Lines,
// the shape of file_read → convert_csv_to_json → file_write.
type jsonlOutput struct {
	ch      chan *block.Batch
	wg      sync.WaitGroup
	records int64
}

func newJSONL(w io.Writer) *jsonlOutput {
	o := &jsonlOutput{ch: make(chan *block.Batch, 64)}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		bw := bufio.NewWriterSize(w, 1<<20)
		var buf []byte
		for b := range o.ch {
			buf = buf[:0]
			for i := range b.Records {
				buf = b.AppendRecordJSON(buf, i)
				buf = append(buf, '\n')
			}
			bw.Write(buf)
			o.records += int64(len(b.Records))
		}
		bw.Flush()
	}()
	return o
}

func (o *jsonlOutput) Emit(_ context.Context, _ string, u *block.Unit) error {
	o.ch <- u.Batch
	return nil
}
func (o *jsonlOutput) Ack(*block.Unit, []byte) {}
func (o *jsonlOutput) Progress(int64)          {}
func (o *jsonlOutput) close()                  { close(o.ch); o.wg.Wait() }

func benchRun(b *testing.B, cfg map[string]any, mk func() (block.Output, func() int64)) {
	f, size := benchFile(b)
	blk := newTestBlock(b, cfg, &block.Env{Block: "bench", WorkDir: b.TempDir()})
	b.SetBytes(size)
	b.ReportAllocs()
	var rows int64
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime()
	for b.Loop() {
		out, count := mk()
		u := &block.Unit{Attrs: block.Attributes{block.AttrFilename: "bench.csv"}, File: f}
		if err := blk.Process(context.Background(), u, out); err != nil {
			b.Fatal(err)
		}
		rows = count()
	}
	cpu := (cpuTime() - cpu0).Seconds()
	runtime.ReadMemStats(&m1)
	total := float64(rows) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "rows/s")
	// The machine is shared: CPU time is what the code costs.
	b.ReportMetric(total/cpu, "rows/cpu-s")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/total, "allocs/row")
}

// BenchmarkParseToBatch is the block alone: parse, build batches, emit.
func BenchmarkParseToBatch(b *testing.B) {
	benchRun(b, map[string]any{"groupSize": 100}, func() (block.Output, func() int64) {
		o := &countOutput{}
		return o, func() int64 { return o.records }
	})
}

// BenchmarkToJSONLines adds a JSON Lines encoder on another goroutine.
func BenchmarkToJSONLines(b *testing.B) {
	dst := io.Discard
	if p := os.Getenv("CSVJSON_BENCH_OUT"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		dst = f
	}
	benchRun(b, map[string]any{"groupSize": 100}, func() (block.Output, func() int64) {
		o := newJSONL(dst)
		return o, func() int64 { o.close(); return o.records }
	})
}

// BenchmarkGroupBy sorts and groups by store (1000 keys).
func BenchmarkGroupBy(b *testing.B) {
	benchRun(b, map[string]any{"groupSize": 100, "groupBy": "store_code"}, func() (block.Output, func() int64) {
		o := &countOutput{}
		return o, func() int64 { return o.records }
	})
}
