package server

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectplus/connectplus/blocks/all"
	"github.com/connectplus/connectplus/dataflow"
	"github.com/connectplus/connectplus/quartz"
)

// POST /api/v1/preview: the bulk customers example on its sample, with the
// real API host replaced by a live loopback server that must never be hit;
// then the error statuses the route promises.
func TestPreviewRoute(t *testing.T) {
	h := newHarnessWith(t, sqliteURL(t), harnessOptions{registry: all.Registry(),
		validate: dataflow.ValidateOptions{CronCheck: quartz.Check}})
	tm := h.team()
	var hits atomic.Int64
	real := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer real.Close()
	docText, err := os.ReadFile("../examples/bulk_add_customers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(docText), "https://eu.api.capillarytech.com", real.URL)
	sample, err := os.ReadFile("../examples/data/customers_with_errors.csv")
	if err != nil {
		t.Fatal(err)
	}
	var out PreviewResponse
	tm.viewer.must(200, "POST", "/api/v1/preview", map[string]any{"document": doc, "format": "yaml", "sample": string(sample), "sampleName": "customers.csv"}, &out)
	if hits.Load() != 0 {
		t.Fatalf("the real host got %d requests", hits.Load())
	}
	if out.Result == nil || len(out.Blocks) != 4 || out.Counts.In != 5 {
		t.Fatalf("preview: %+v", out)
	}
	post := out.Blocks[3]
	if post.Name != "post" || post.Replaced != "sandbox" || len(post.Requests) == 0 || len(post.Failed) == 0 {
		t.Fatalf("post block: %+v", post)
	}
	// The configs the document names do not exist: warnings, not errors.
	warned := 0
	for _, p := range out.Problems {
		if p.Severity != "warning" {
			t.Fatalf("problem %+v", p)
		}
		warned++
	}
	if warned == 0 {
		t.Fatalf("no warning for the missing configurations: %+v", out.Problems)
	}

	// A document with errors: 422 and its problems; nothing runs.
	bad := strings.Replace(doc, `fileRegex: '.*\.csv'`, `fileRegex: '[unclosed'`, 1)
	r := tm.viewer.do("POST", "/api/v1/preview", map[string]any{"document": bad, "sample": string(sample)})
	var unproc PreviewResponse
	r.decode(t, &unproc)
	if r.code != 422 || len(unproc.Problems) == 0 || unproc.Result != nil {
		t.Fatalf("bad document: %d %s", r.code, r.body)
	}
	// Over 5 MB of sample: 413 naming the limit.
	big := strings.Repeat("x", 5<<20+1)
	if r := tm.editor.do("POST", "/api/v1/preview", map[string]any{"document": doc, "sample": big}); r.code != 413 || !strings.Contains(string(r.body), "5 MB") {
		t.Fatalf("big sample: %d %.200s", r.code, r.body)
	}
	// No sample: 400.
	if r := tm.editor.do("POST", "/api/v1/preview", map[string]any{"document": doc}); r.code != 400 {
		t.Fatalf("no sample: %d", r.code)
	}
	// At most 10 a minute per user (the viewer has used 2): then 429 with
	// Retry-After; another user is not affected; a minute later it works.
	for i := 0; i < 8; i++ {
		if r := tm.viewer.do("POST", "/api/v1/preview", map[string]any{"document": doc, "sample": string(sample)}); r.code != 200 {
			t.Fatalf("call %d: %d %s", i+3, r.code, r.body)
		}
	}
	r = tm.viewer.do("POST", "/api/v1/preview", map[string]any{"document": doc, "sample": string(sample)})
	if r.code != 429 || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("11th call: %d %v", r.code, r.hdr)
	}
	if r := tm.admin.do("POST", "/api/v1/preview", map[string]any{"document": doc, "sample": string(sample)}); r.code != 200 {
		t.Fatalf("another user: %d", r.code)
	}
	h.clock.Advance(61 * time.Second)
	if r := tm.viewer.do("POST", "/api/v1/preview", map[string]any{"document": doc, "sample": string(sample)}); r.code != 200 {
		t.Fatalf("after a minute: %d", r.code)
	}
	// Anonymous: 401.
	if r := h.anon().do("POST", "/api/v1/preview", map[string]any{"document": doc, "sample": "a"}); r.code != 401 {
		t.Fatalf("anonymous: %d", r.code)
	}
}
