package preview

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
)

func load(t *testing.T, name string, edit func(string) string) *dataflow.Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if edit != nil {
		text = edit(text)
	}
	doc, err := dataflow.Parse([]byte(text), name)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", "data", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// liveHost stands for the real API: a preview must never reach it.
func liveHost(t *testing.T) (string, *atomic.Int64) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(500)
	}))
	t.Cleanup(ts.Close)
	return ts.URL, &hits
}

func find(t *testing.T, r *Result, name string) BlockView {
	t.Helper()
	for _, b := range r.Blocks {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no block %q in %+v", name, r.Blocks)
	return BlockView{}
}

func run(t *testing.T, doc *dataflow.Document, data []byte, max int) *Result {
	t.Helper()
	tmp := t.TempDir()
	res, err := Run(context.Background(), Request{Doc: doc, Registry: all.Registry(), Sample: data, SampleName: "customers.csv",
		MaxRecords: max, CompileExpr: exprs.Compiler(nil, nil), TempRoot: tmp})
	if err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Fatalf("the preview left %d entries in its temp root", len(left))
	}
	return res
}

// The bulk customers example: every block shows its records, the API block
// shows the exact bulk request, failed records carry their reasons, and
// the real host configured in apiBaseUrl is never called.
func TestPreviewBulkCustomers(t *testing.T) {
	host, hits := liveHost(t)
	doc := load(t, "bulk_add_customers.yaml", func(s string) string {
		return strings.ReplaceAll(s, "https://eu.api.capillarytech.com", host)
	})
	res := run(t, doc, sample(t, "customers_with_errors.csv"), 0)
	if hits.Load() != 0 {
		t.Fatalf("the real host got %d requests", hits.Load())
	}
	read := find(t, res, "read")
	if read.Replaced != repSample || len(read.Out["success"]) != 1 || !strings.HasPrefix(read.Out["success"][0].Text, "firstname,lastname") {
		t.Fatalf("read: %+v", read)
	}
	conv := find(t, res, "convert")
	if conv.RecordsOut != 5 || len(conv.Out["success"]) == 0 {
		t.Fatalf("convert: %+v", conv)
	}
	var first map[string]any
	if err := json.Unmarshal(conv.Out["success"][0].Records[0], &first); err != nil || first["firstname"] == nil || first["identifierType"] == nil {
		t.Fatalf("convert record: %s %v", conv.Out["success"][0].Records[0], err)
	}
	post := find(t, res, "post")
	if post.Replaced != repSandbox {
		t.Fatalf("post replaced %q", post.Replaced)
	}
	var bulk *HTTPReq
	for i, r := range post.Requests {
		if strings.HasPrefix(r.URL, "/v2/customers/bulk") {
			bulk = &post.Requests[i]
		}
	}
	if bulk == nil || bulk.Method != "POST" || !strings.Contains(bulk.Body, `"firstName":"`) {
		t.Fatalf("requests: %+v", post.Requests)
	}
	if len(post.Failed) == 0 {
		t.Fatalf("the sandbox rejects the bad email; post: %+v", post)
	}
	for _, f := range post.Failed {
		if f.Reason == "" || f.Line == 0 {
			t.Fatalf("failure without reason or line: %+v", f)
		}
	}
	if res.Counts.In != 5 || res.Counts.In != res.Counts.Delivered+res.Counts.Failed+res.Counts.Filtered {
		t.Fatalf("counts %+v", res.Counts)
	}
	if len(res.Files) != 1 || !strings.Contains(res.Files[0].Result, "status_code") {
		t.Fatalf("files %+v", res.Files)
	}
	warned := false
	for _, w := range res.Warnings {
		warned = warned || strings.Contains(w, "capillary_client_key")
	}
	if !warned {
		t.Fatalf("missing configs are warnings: %v", res.Warnings)
	}
}

// The transactions example through JSLT, and a sample cut to MaxRecords.
func TestPreviewTruncatesSample(t *testing.T) {
	host, hits := liveHost(t)
	doc := load(t, "add_transactions.yaml", func(s string) string {
		return strings.ReplaceAll(s, "https://eu.api.capillarytech.com", host)
	})
	var b strings.Builder
	b.WriteString(strings.SplitN(string(sample(t, "transactions.csv")), "\n", 2)[0] + "\n")
	lines := strings.Split(strings.TrimSpace(string(sample(t, "transactions.csv"))), "\n")[1:]
	for i := 0; i < 100; i++ {
		fmt.Fprintln(&b, strings.Replace(lines[i%len(lines)], lines[i%len(lines)][:1], lines[i%len(lines)][:1], 1))
	}
	res := run(t, doc, []byte(b.String()), 7)
	if !res.Truncated || res.Counts.In != 7 {
		t.Fatalf("truncated %v, in %d", res.Truncated, res.Counts.In)
	}
	if hits.Load() != 0 {
		t.Fatalf("the real host got %d requests", hits.Load())
	}
	for _, bv := range res.Blocks {
		if n := shown(bv.In); n > 7 {
			t.Fatalf("%s shows %d records", bv.Name, n)
		}
	}
}

func TestPreviewRefusesLargeSample(t *testing.T) {
	doc := load(t, "bulk_add_customers.yaml", nil)
	_, err := Run(context.Background(), Request{Doc: doc, Registry: all.Registry(), Sample: make([]byte, MaxSampleBytes+1)})
	if err != ErrSampleTooLarge {
		t.Fatalf("got %v", err)
	}
}

func TestCutRecordsKeepsQuotedNewlines(t *testing.T) {
	in := "a,b\n1,\"x\ny\"\n2,z\n3,w\n"
	got, cut := cutRecords([]byte(in), 2)
	if !cut || string(got) != "a,b\n1,\"x\ny\"\n2,z\n" {
		t.Fatalf("%q %v", got, cut)
	}
	if _, cut := cutRecords([]byte(in), 3); cut {
		t.Fatal("nothing to cut")
	}
}
