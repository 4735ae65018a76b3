package httpwrite

import (
	"net/http"
	"sync"
	"testing"

	"github.com/connectplus/connectplus/block"
)

type callLog struct {
	mu    sync.Mutex
	calls []block.Call
}

func (c *callLog) RecordCall(x *block.Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp := *x
	cp.RequestBody = append([]byte(nil), x.RequestBody...)
	cp.ResponseBody = append([]byte(nil), x.ResponseBody...)
	cp.RequestHeader = x.RequestHeader.Clone()
	c.calls = append(c.calls, cp)
}

// Every finished request reaches Env.Calls once, after its retries, with
// the endpoint label of the configured template (not the expanded URL),
// the request id, lineage and sequence of its record, and both bodies.
func TestCallsReported(t *testing.T) {
	_, ts := newRecorder(t, func(n int, r *http.Request, body []byte) (int, http.Header, string) {
		if r.Header.Get(RequestIDHeader) == "L1-2" {
			return 503, nil, `{"status":{"code":503,"message":"busy"}}`
		}
		return 200, nil, `{"status":{"code":200}}`
	})
	log := &callLog{}
	w := build(t, Spec, map[string]string{
		"apiEndPoint": "/v2/customer/$userId?x=1", "apiBaseUrl": ts.URL + "/", "authType": "bearer", "bearerToken": "tok-1",
		"bulkSupport": "false", "maxRetries": "2", "retryBackoff": "1ms", "maxRetryBackoff": "2ms",
	}, testEnv(func(e *block.Env) { e.Calls = log }))
	u := &block.Unit{Attrs: block.Attributes{block.AttrLineageID: "L1"}, Batch: objBatch(t, `{"a":1}`, `{"a":2}`)}
	u.Batch.Records[0].Attrs = block.Attributes{"userId": "u1"}
	u.Batch.Records[1].Attrs = block.Attributes{"userId": "u2"}
	process(t, w, u)
	if len(log.calls) != 2 {
		t.Fatalf("%d calls reported", len(log.calls))
	}
	by := map[string]block.Call{}
	for _, c := range log.calls {
		by[c.RequestID] = c
	}
	ok, bad := by["L1-1"], by["L1-2"]
	if want := "POST " + ts.URL + "/v2/customer/{…}"; ok.Endpoint != want || bad.Endpoint != want {
		t.Fatalf("endpoint %q, want %q", ok.Endpoint, want)
	}
	if ok.Status != 200 || ok.Attempts != 1 || ok.Seq != 1 || ok.LineageID != "L1" || string(ok.RequestBody) != `{"a":1}` || ok.Block != "post" {
		t.Fatalf("success call %+v", ok)
	}
	if bad.Status != 503 || bad.Attempts != 3 || !bad.Exhausted || bad.Seq != 2 || string(bad.ResponseBody) != `{"status":{"code":503,"message":"busy"}}` {
		t.Fatalf("failed call %+v", bad)
	}
	if bad.Latency <= 0 || bad.Latency < ok.Latency {
		t.Fatalf("latencies %v %v: the retried call waited longer", ok.Latency, bad.Latency)
	}
	if bad.RequestHeader.Get("Authorization") == "" {
		t.Fatal("the recorder is given the header as sent (it drops credentials itself)")
	}
}
