package engine

import (
	"os"
	"testing"

	"github.com/connectplus/connectplus/block"
)

// benchLineage is a lineage whose spooler writes to io.Discard.
func benchLineage() *lineage {
	l := &lineage{flow: &Flow{}, id: "bench", states: map[string][]byte{},
		delim: ',', report: "all", sorted: true, header: []string{"a", "b", "c"}}
	for _, f := range []**os.File{&l.spool, &l.index} {
		var err error
		if *f, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
			panic(err)
		}
	}
	l.startSpooler(1, nil, nil)
	return l
}

// BenchmarkTerminal is the flagship job's record accounting: batches of
// 100 records of which every third is filtered, the filtered ones made
// terminal before the delivered ones of the two batches before them are
// acknowledged (as the filter's and the destination's workers do), and
// every row going through the spooler.
func BenchmarkTerminal(b *testing.B) {
	l := benchLineage()
	const size = 100
	mk := func(first int64) (kept, dropped *block.Batch) {
		kept, dropped = &block.Batch{}, &block.Batch{}
		for i := int64(0); i < size; i++ {
			r := block.Record{Seq: first + i, Line: first + i + 1, Cols: []string{"x", "y", "z"}, Raw: "x,y,z"}
			if i%3 == 1 {
				r.Outcome = block.Outcome{Status: block.Filtered, Block: "paid", Message: "filtered by paid"}
				dropped.Records = append(dropped.Records, r)
			} else {
				r.Outcome = block.Outcome{Status: block.Delivered, Code: 200, EntityID: "e1"}
				kept.Records = append(kept.Records, r)
			}
		}
		return kept, dropped
	}
	type pair struct{ kept, dropped *block.Batch }
	const ring = 64
	var batches [ring]pair
	for i := range batches {
		k, d := mk(int64(i*size + 1))
		batches[i] = pair{k, d}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var lag []*block.Batch
	for i := 0; i < b.N; i++ {
		p := batches[i%ring]
		if i >= ring {
			// Renumber the batch past the records already counted.
			for _, bt := range []*block.Batch{p.kept, p.dropped} {
				for k := range bt.Records {
					bt.Records[k].Seq += ring * size
					bt.Records[k].Line += ring * size
				}
			}
		}
		l.terminal(p.dropped, block.Filtered, "paid")
		lag = append(lag, p.kept)
		if len(lag) > 2 {
			l.terminalWithState(lag[0], block.Delivered, "post", nil)
			lag = lag[1:]
		}
	}
	for _, k := range lag {
		l.terminalWithState(k, block.Delivered, "post", nil)
	}
	l.mu.Lock()
	l.flushPendingLocked()
	l.mu.Unlock()
	l.stopSpooler()
	b.StopTimer()
	if want := int64(b.N * size); l.counts.Delivered+l.counts.Filtered != want || l.watermark != want {
		b.Fatalf("counted %d+%d, watermark %d, want %d", l.counts.Delivered, l.counts.Filtered, l.watermark, want)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/record")
}

// BenchmarkFinishRecord is finishRecord alone (no spooler): per batch of
// 100 records every third ends first, the rest after the next batch's.
func BenchmarkFinishRecord(b *testing.B) {
	l := &lineage{flow: &Flow{}, id: "bench", states: map[string][]byte{}, report: "all"}
	l.pendingRows = make([]spoolRec, 0, 256)
	filtered := block.Outcome{Status: block.Filtered, Block: "paid", Message: "filtered by paid"}
	delivered := block.Outcome{Status: block.Delivered, Code: 200}
	var r block.Record
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		base := int64(i) * 100
		for j := int64(1); j <= 100; j += 3 {
			r.Seq = base + j + 1
			l.finishRecord(&r, &filtered)
		}
		l.pendingRows = l.pendingRows[:0]
		if i == 0 {
			continue
		}
		for j := int64(1); j <= 100; j++ {
			if j%3 != 2 {
				r.Seq = base - 100 + j
				l.finishRecord(&r, &delivered)
			}
		}
		l.pendingRows = l.pendingRows[:0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/record")
}

// BenchmarkSpoolRows is the spooler writing result rows in sequence (the
// common case: a row whose records before it are written), to /dev/null.
func BenchmarkSpoolRows(b *testing.B) {
	l := benchLineage()
	l.stopSpooler()
	rec := spoolRec{cols: []string{"B-000123", "2026-12-07 10:00:00", "paid"}, raw: "B-000123,2026-12-07 10:00:00,paid",
		o: block.Outcome{Status: block.Delivered, Code: 200, EntityID: "123456"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rec.seq, rec.line = int64(i+1), int64(i+2)
		writeSpoolRec(l, &rec)
	}
	l.flushSpool()
}
