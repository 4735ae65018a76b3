package server

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/connectplus/connectplus/obs"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// The observability routes answer a viewer with the organisation's
// figures: snapshot tiles, per-dataflow list figures, series, block-wise
// counts in document order, the error summary with search and block
// filter, and the drill-down from a run to a stored call; a bad window is
// a 400, another organisation's dataflow a 404.
func TestObservabilityRoutes(t *testing.T) {
	h := newHarness(t, sqliteURL(t))
	ctx := context.Background()
	tm := h.team()
	h.configs(tm)
	flow := createFlow(t, tm.editor, "Obs-Flow", flowDoc("Obs-Flow", "/in"))
	org, id := flow.Dataflow.OrgID, flow.Dataflow.ID
	now := h.clock.Now().UTC().Truncate(time.Minute)
	var b store.MetricsBatch
	for i := 1; i <= 3; i++ {
		at := now.Add(-time.Duration(i) * 10 * time.Minute)
		b.Counts = append(b.Counts,
			store.CountsPoint{MetricKey: store.MetricKey{OrgID: org, FlowID: id}, At: at, C: store.Counts{RecordsIn: 100, RecordsOut: 90, Failed: 10, Files: 1, UnitsIn: 1}},
			store.CountsPoint{MetricKey: store.MetricKey{OrgID: org, FlowID: id, Block: "write"}, At: at, C: store.Counts{UnitsIn: 100, UnitsOut: 90, Failed: 10}},
			store.CountsPoint{MetricKey: store.MetricKey{OrgID: org, FlowID: id, Block: "read"}, At: at, C: store.Counts{UnitsIn: 1, UnitsOut: 1}})
		var hc store.HTTPCounts
		for j := 0; j < 100; j++ {
			st := 200
			if j < 10 {
				st = 500
			}
			hc.Observe(st, 1, false, time.Duration(j+1)*time.Millisecond)
		}
		b.HTTP = append(b.HTTP, store.HTTPPoint{MetricKey: store.MetricKey{OrgID: org, FlowID: id, Block: "write"}, Endpoint: "POST https://api/x", At: at, H: hc})
		b.Errors = append(b.Errors,
			store.ErrorPoint{MetricKey: store.MetricKey{OrgID: org, FlowID: id, Block: "write"}, Code: 500, Message: "Internal Server Error", At: at, Count: 8},
			store.ErrorPoint{MetricKey: store.MetricKey{OrgID: org, FlowID: id, Block: "write"}, Code: 400, Message: "invalid mobile", At: at, Count: 2})
	}
	run := runstate.Run{ID: "run_obs_1", OrgID: org, FlowID: id, Status: runstate.RunPartial, Started: now}
	if err := h.st.UpsertRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		b.Requests = append(b.Requests, store.RequestLog{OrgID: org, FlowID: id, LineageID: run.ID, RequestID: fmt.Sprintf("%s-%d", run.ID, i), Block: "write",
			Endpoint: "POST https://api/x", Method: "POST", URL: "https://api/x", Seq: int64(i), At: now, Status: 200 + 300*(i%2), RequestBody: `{"i":1}`, ResponseBody: `{"ok":1}`})
	}
	if err := h.st.WriteMetrics(ctx, b); err != nil {
		t.Fatal(err)
	}
	v := tm.viewer

	var snap obs.Snapshot
	v.must(200, "GET", "/api/v1/observability/snapshot?window=1h", nil, &snap)
	if snap.ProcessedUnits != 300 || snap.Failed != 30 || snap.ErrorPct == nil || *snap.ErrorPct != 10 || snap.TopError == nil ||
		snap.TopError.Message != "Internal Server Error" || snap.Latency.P95 == nil || snap.RPM != 5 || snap.Calls5xx != 30 {
		t.Fatalf("snapshot %+v", snap)
	}
	if k := store.LatencyBucket(time.Duration(*snap.Latency.P95 * float64(time.Second))); k != store.LatencyBucket(95*time.Millisecond) {
		t.Fatalf("P95 %v s of 1..100 ms: bucket %d", *snap.Latency.P95, k)
	}
	var perf obs.Snapshot
	v.must(200, "GET", "/api/v1/dataflows/"+id+"/performance?window=1h", nil, &perf)
	if perf.ProcessedUnits != 300 || perf.AccuracyPct == nil || *perf.AccuracyPct != 90 {
		t.Fatalf("performance %+v", perf)
	}
	var figs []FlowFigures
	v.must(200, "GET", "/api/v1/observability/dataflows?window=1h", nil, &figs)
	if len(figs) != 1 || figs[0].FlowID != id || *figs[0].AccuracyPct != 90 {
		t.Fatalf("list figures %+v", figs)
	}
	var ser obs.Series
	q := url.Values{"from": {now.Add(-time.Hour).Format(time.RFC3339)}, "to": {now.Format(time.RFC3339)}, "step": {"10m"}}
	v.must(200, "GET", "/api/v1/dataflows/"+id+"/performance/series?"+q.Encode(), nil, &ser)
	if len(ser.Points) != 6 || ser.Points[3].RecordsIn != 100 || ser.Points[3].Calls != 100 || ser.Points[0].RecordsIn != 0 {
		t.Fatalf("series %+v", ser)
	}
	var blocks obs.BlockCounts
	v.must(200, "GET", "/api/v1/dataflows/"+id+"/performance/blocks?window=1h", nil, &blocks)
	if len(blocks.Blocks) != 2 || blocks.Blocks[0].Block != "read" || blocks.Blocks[1].Block != "write" || blocks.Blocks[1].Failed != 30 ||
		len(blocks.Blocks[1].Endpoints) != 1 || blocks.Blocks[1].Endpoints[0].Calls5xx != 30 || len(blocks.Blocks[1].Endpoints[0].Buckets.Counts) != store.LatencyBuckets {
		t.Fatalf("blocks %+v", blocks)
	}
	var es obs.ErrorSummary
	v.must(200, "GET", "/api/v1/dataflows/"+id+"/performance/errors?window=1h&search=MOBILE&block=write", nil, &es)
	if len(es.Errors) != 1 || es.Errors[0].Count != 6 || es.Errors[0].Code != 400 {
		t.Fatalf("errors %+v", es)
	}
	v.must(200, "GET", "/api/v1/observability/errors?window=1h&block=read", nil, &es)
	if len(es.Errors) != 0 {
		t.Fatalf("block filter: %+v", es)
	}
	var page RequestPage
	v.must(200, "GET", "/api/v1/runs/"+run.ID+"/requests?limit=2", nil, &page)
	if len(page.Items) != 2 || page.Next == "" || page.Items[0].RequestBody != "" {
		t.Fatalf("requests page %+v", page)
	}
	v.must(200, "GET", "/api/v1/runs/"+run.ID+"/requests?cursor="+page.Next, nil, &page)
	if len(page.Items) != 1 || page.Next != "" {
		t.Fatalf("second page %+v", page)
	}
	v.must(200, "GET", "/api/v1/runs/"+run.ID+"/requests?failed=true", nil, &page)
	if len(page.Items) != 2 {
		t.Fatalf("failed calls %+v", page)
	}
	var found []store.RequestLog
	v.must(200, "GET", "/api/v1/request-log?requestId="+run.ID+"-2", nil, &found)
	if len(found) != 1 || found[0].Seq != 2 {
		t.Fatalf("by request id %+v", found)
	}
	var call store.RequestLog
	v.must(200, "GET", fmt.Sprintf("/api/v1/request-log/%d", found[0].ID), nil, &call)
	if call.RequestBody != `{"i":1}` || call.ResponseBody != `{"ok":1}` || call.Status != 200 {
		t.Fatalf("call %+v", call)
	}

	if r := v.do("GET", "/api/v1/observability/snapshot?window=1000h", nil); r.code != 400 {
		t.Fatalf("window over 30 days: %d %s", r.code, r.body)
	}
	if r := v.do("GET", "/api/v1/dataflows/"+id+"/performance/series?window=1h&step=10s", nil); r.code != 400 {
		t.Fatalf("step under a minute: %d %s", r.code, r.body)
	}
	if r := v.do("GET", "/api/v1/observability/snapshot?flowId=flw_000000000000000000000000", nil); r.code != 404 {
		t.Fatalf("unknown dataflow: %d %s", r.code, r.body)
	}
}
