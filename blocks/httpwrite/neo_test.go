package httpwrite

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/sandbox"
)

func buildNeo(t *testing.T, spec *block.Spec, values map[string]string) *neo {
	t.Helper()
	raw := map[string]any{}
	for k, v := range values {
		if f, ok := spec.Field(k); ok && f.Secret {
			raw[k] = map[string]any{"$config": "secret." + k}
			continue
		}
		raw[k] = v
	}
	cfg, probs := spec.CompileConfig(raw, mapResolver(values), exprs.NewStep(exprs.Options{}))
	if len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	b, err := spec.New(cfg, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	n := b.(*neo)
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func runNeo(t *testing.T, n *neo, docs ...string) *capture {
	t.Helper()
	out := newCapture()
	u := &block.Unit{Attrs: block.Attributes{block.AttrRequestID: "req-1"}, Batch: objBatch(t, docs...)}
	if err := n.Process(context.Background(), u, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNeoCallsXNeoOnTheSandbox: the Neo dataflow's name becomes
// /x/neo/<name>, the batch is its body, and the answer is passed on.
func TestNeoCallsXNeoOnTheSandbox(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{})
	defer ts.Close()
	n := buildNeo(t, NeoSpec, sandboxValues(ts, s, map[string]string{"Enter url": "feedback_js"}))
	out := runNeo(t, n, `{"a":1}`, `{"a":2}`)
	recs := out.records(block.RelSuccess)
	if len(recs) != 1 || len(recs[0].Members) != 1 {
		t.Fatalf("an object answer is one payload for the batch: %d records", len(recs))
	}
	ans := recs[0].Value.(*jsonv.Object)
	if name, _ := ans.Get("name"); name != "feedback_js" {
		t.Fatalf("answer %s", jsonv.Marshal(ans))
	}
	if body, _ := ans.Get("body"); string(jsonv.Marshal(body)) != `[{"a":1},{"a":2}]` {
		t.Fatalf("Neo received %s", jsonv.Marshal(body))
	}
	if st := s.Stats(); st.Entities["neo"] != 1 || st.Requests["POST /x/neo/{name...}"]["200"] != 1 {
		t.Fatalf("sandbox stats %+v", st)
	}
}

// TestNeoSplitResponseMapsElementsToRecords: an array answer of the batch's
// length gives record i element i; Split Response false keeps the answer whole.
func TestNeoSplitResponseMapsElementsToRecords(t *testing.T) {
	rec, ts := newRecorder(t, func(int, *http.Request, []byte) (int, http.Header, string) {
		return 200, nil, `[{"id":"x1"},{"id":"x2"}]`
	})
	n := buildNeo(t, NeoSpec, map[string]string{"apiBaseUrl": ts.URL, "authType": "none", "neoDataflow": "/x/neo/enrich"})
	recs := runNeo(t, n, `{"a":1}`, `{"a":2}`).records(block.RelSuccess)
	if len(recs) != 2 || string(jsonv.Marshal(recs[1].Value)) != `{"id":"x2"}` || recs[1].Seq != 2 {
		t.Fatalf("records %+v", recs)
	}
	if r := rec.all()[0]; r.url != "/x/neo/enrich" || r.body != `[{"a":1},{"a":2}]` || r.header.Get(RequestIDHeader) != "req-1-1" {
		t.Fatalf("request %+v", r)
	}
	whole := buildNeo(t, NeoSpec, map[string]string{"apiBaseUrl": ts.URL, "authType": "none", "neoDataflow": "enrich", "splitResponse": "false"})
	recs = runNeo(t, whole, `{"a":1}`, `{"a":2}`).records(block.RelSuccess)
	if len(recs) != 1 || string(jsonv.Marshal(recs[0].Value)) != `[{"id":"x1"},{"id":"x2"}]` {
		t.Fatalf("records %+v", recs)
	}
}

// TestNeoV2RetryCodes: 5xx are retried up to Max Retry, Extra No Retry
// Error Codes are not, and Extra Retry Error Codes add codes to retry.
func TestNeoV2RetryCodes(t *testing.T) {
	flaky := func(code int, failures int) func(int, *http.Request, []byte) (int, http.Header, string) {
		return func(n int, _ *http.Request, _ []byte) (int, http.Header, string) {
			if n < failures {
				return code, nil, `{"status":{"success":false}}`
			}
			return 200, nil, `[{"ok":true}]`
		}
	}
	base := func(url string, extra map[string]string) map[string]string {
		v := map[string]string{"apiBaseUrl": url, "authType": "none", "neoDataflow": "f", "retryBackoff": "1ms", "maxRetryBackoff": "5ms"}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	for _, c := range []struct {
		name      string
		code      int
		failures  int
		extra     map[string]string
		requests  int
		delivered bool
	}{
		{"5xx retried", 500, 2, nil, 3, true},
		{"no retry code", 500, 2, map[string]string{"Extra No Retry Error Codes": "500"}, 1, false},
		{"max retry bound", 503, 10, map[string]string{"Max Retry": "2"}, 3, false},
		{"4xx not retried by default", 408, 1, nil, 1, false},
		{"extra retry code", 408, 1, map[string]string{"Extra Retry Error Codes": "408"}, 2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, ts := newRecorder(t, flaky(c.code, c.failures))
			n := buildNeo(t, NeoV2Spec, base(ts.URL, c.extra))
			out := runNeo(t, n, `{"a":1}`)
			if got := len(rec.all()); got != c.requests {
				t.Fatalf("%d requests, want %d", got, c.requests)
			}
			ok, bad := out.records(block.RelSuccess), out.records(block.RelFailure)
			if c.delivered != (len(ok) == 1) || c.delivered == (len(bad) == 1) {
				t.Fatalf("success %d failure %d", len(ok), len(bad))
			}
			if !c.delivered && (bad[0].Outcome.Code != c.code || !strings.Contains(bad[0].Outcome.Message, "neo")) {
				t.Fatalf("outcome %+v", bad[0].Outcome)
			}
		})
	}
}

func TestNeoPath(t *testing.T) {
	for in, want := range map[string]string{"flow": "/x/neo/flow", "x/neo/flow": "/x/neo/flow", "/x/neo/flow": "/x/neo/flow",
		"https://neo.example.com/x/neo/flow": "https://neo.example.com/x/neo/flow"} {
		if got := neoPath(in); got != want {
			t.Errorf("neoPath(%q) = %q, want %q", in, got, want)
		}
	}
}
