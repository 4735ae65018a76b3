package httpwrite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/sandbox"
)

const benchBatch = 100

var benchHeader = block.NewHeader([]string{"identifierType", "identifierValue", "source", "type", "billNumber", "billAmount", "billingDate", "storeCode", "notes"})

// benchUnit is a convert_csv_to_json-style batch: header once, rows as
// columns (about 190 bytes of JSON per record).
func benchUnit(start int) *block.Unit {
	b := &block.Batch{Header: benchHeader, Records: make([]block.Record, benchBatch)}
	for i := range b.Records {
		n := start + i
		b.Records[i] = block.Record{Seq: int64(n + 1), Line: int64(n + 2), Cols: []string{
			"mobile", "9198" + strconv.Itoa(10000000+n%977), "INSTORE", "REGULAR", "BILL-" + strconv.Itoa(n), strconv.Itoa(n%500 + 1),
			"2025-04-11T11:00:00+05:30", "store_till_001", "bench record",
		}}
	}
	return &block.Unit{Attrs: block.Attributes{block.AttrRequestID: "bench"}, Batch: b}
}

func resetOutcomes(u *block.Unit) {
	for i := range u.Batch.Records {
		u.Batch.Records[i].Outcome = block.Outcome{}
	}
}

// cannedAnswer is a Capillary bulk answer with one entity per record.
func cannedAnswer() []byte {
	var b strings.Builder
	b.WriteString(`{"response":[`)
	for i := range benchBatch {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"entityId":%d,"errors":[],"warnings":[]}`, 100000001+i)
	}
	b.WriteString(`],"totalCount":100,"failureCount":0}`)
	return []byte(b.String())
}

// discard is an Output that only counts.
type discard struct{ delivered, failed int }

func (d *discard) Emit(_ context.Context, rel string, u *block.Unit) error {
	if rel == block.RelFailure {
		d.failed += len(u.Batch.Records)
	}
	return nil
}
func (d *discard) Ack(u *block.Unit, _ []byte) { d.delivered += len(u.Batch.Records) }
func (d *discard) Progress(int64)              {}

func benchWriter(b *testing.B, base string, extra map[string]string) *writer {
	v := map[string]string{
		"apiEndPoint": "/v2/transactions/bulk", "apiBaseUrl": base, "authType": "none", "rate": "100000000", "timeUnit": "SECONDS",
		"responseSplitPath": "$.response[*]",
		"parsePathMap":      `{"status_code":"$.['errors'].*.code","error_message":"$.['errors'].*.message","entity_id":"$.entityId"}`,
	}
	for k, x := range extra {
		v[k] = x
	}
	w, err := tryBuild(Spec, v, testEnv())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Close() })
	return w
}

func reportRecords(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}

// BenchmarkBulkCannedSink: batches of 100 records to a local sink that reads
// the body and answers a canned per-entity array. One unit at a time (the
// engine today runs one Process per block) and four at once (what
// Spec.Concurrency would give).
func BenchmarkBulkCannedSink(b *testing.B) {
	ans := cannedAnswer()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(ans)))
		_, _ = w.Write(ans)
	}))
	defer ts.Close()
	b.Run("serial", func(b *testing.B) {
		w := benchWriter(b, ts.URL, nil)
		u := benchUnit(0)
		out := &discard{}
		b.ReportAllocs()
		for b.Loop() {
			resetOutcomes(u)
			if err := w.Process(context.Background(), u, out); err != nil {
				b.Fatal(err)
			}
		}
		if out.failed != 0 {
			b.Fatalf("%d failed", out.failed)
		}
		reportRecords(b, out.delivered)
	})
	b.Run("parallel4", func(b *testing.B) {
		w := benchWriter(b, ts.URL, nil)
		b.ReportAllocs()
		b.SetParallelism(2) // 2 × GOMAXPROCS(2) = 4 units in flight
		total := 0
		ch := make(chan int, 64)
		b.RunParallel(func(pb *testing.PB) {
			u := benchUnit(0)
			out := &discard{}
			for pb.Next() {
				resetOutcomes(u)
				if err := w.Process(context.Background(), u, out); err != nil {
					b.Error(err)
					return
				}
			}
			ch <- out.delivered
		})
		close(ch)
		for n := range ch {
			total += n
		}
		reportRecords(b, total)
	})
}

// BenchmarkBulkSandboxCountOnly: the same against the Capillary sandbox in
// count-only mode, which validates every transaction (the sandbox, not the
// block, is the bottleneck here).
func BenchmarkBulkSandboxCountOnly(b *testing.B) {
	s, ts := sandbox.NewTestServer(sandbox.Config{CountOnly: true, DisableAuth: true})
	defer ts.Close()
	w := benchWriter(b, ts.URL, nil)
	out := &discard{}
	next := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		u := benchUnit(next) // fresh bill numbers: no duplicate rejections
		next += benchBatch
		b.StartTimer()
		if err := w.Process(context.Background(), u, out); err != nil {
			b.Fatal(err)
		}
	}
	if out.failed != 0 || s.Stats().Duplicates != 0 {
		b.Fatalf("%d failed, %d duplicates", out.failed, s.Stats().Duplicates)
	}
	reportRecords(b, out.delivered)
}

// BenchmarkBlockCPU is the block's own work per batch without the network:
// encode the body into a pooled buffer, parse the canned answer, split it
// and derive 100 outcomes.
func BenchmarkBlockCPU(b *testing.B) {
	w := benchWriter(b, "http://127.0.0.1:1", nil)
	u := benchUnit(0)
	ans := cannedAnswer()
	res := result{status: 200, body: &ans}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		bufp := getBuf()
		*bufp = u.Batch.AppendJSON(*bufp)
		req, err := w.newRequest(u, bulkLookup{u}, nil, w.requestID(u, 1, 0, -1), *bufp)
		if err != nil || len(req.body) == 0 {
			b.Fatal(err)
		}
		putBuf(bufp)
		outs, _ := w.bulkOutcomes(&res, benchBatch)
		if len(outs) != benchBatch || outs[99].EntityID != "100000100" {
			b.Fatalf("outcomes %d", len(outs))
		}
		for i := range outs {
			u.Batch.Records[i].Outcome = outs[i]
		}
		n += benchBatch
	}
	reportRecords(b, n)
}

// BenchmarkBulkOutcomes is the split of a 100-entity bulk answer into
// outcomes alone (bulkOutcomes on the raw path).
func BenchmarkBulkOutcomes(b *testing.B) {
	w := benchWriter(b, "http://127.0.0.1:1", nil)
	ans := cannedAnswer()
	res := result{status: 200, body: &ans}
	b.ReportAllocs()
	for b.Loop() {
		outs, _ := w.bulkOutcomes(&res, benchBatch)
		if len(outs) != benchBatch || outs[99].EntityID != "100000100" {
			b.Fatalf("outcomes %d", len(outs))
		}
	}
}

// BenchmarkNewRequest is building a bulk request's URL, headers and id.
func BenchmarkNewRequest(b *testing.B) {
	w := benchWriter(b, "http://127.0.0.1:1", nil)
	u := benchUnit(0)
	body := []byte("[]")
	b.ReportAllocs()
	for b.Loop() {
		req, err := w.newRequest(u, bulkLookup{u}, nil, w.requestID(u, 1, 0, -1), body)
		if err != nil || len(req.body) == 0 {
			b.Fatal(err)
		}
	}
}
