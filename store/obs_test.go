package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestLatencyBuckets(t *testing.T) {
	if LatencyBucket(0) != 0 || LatencyBucket(time.Millisecond) != 0 {
		t.Fatal("1 ms is bucket 0")
	}
	if k := LatencyBucket(time.Millisecond + 1); k != 1 {
		t.Fatalf("just over 1 ms: bucket %d", k)
	}
	if k := LatencyBucket(2 * time.Millisecond); k != 2 {
		t.Fatalf("2 ms: bucket %d", k)
	}
	if k := LatencyBucket(time.Hour); k != LatencyBuckets-1 {
		t.Fatalf("1 h: bucket %d", k)
	}
	for k := 1; k < LatencyBuckets-1; k++ {
		if LatencyBound(k) <= LatencyBound(k-1) {
			t.Fatalf("bounds not increasing at %d", k)
		}
	}
}

func TestPlanCoversWindowOnce(t *testing.T) {
	from := time.Date(2025, 3, 1, 22, 17, 0, 0, time.UTC)
	to := from.Add(50*time.Hour + 5*time.Minute)
	var covered int64
	prev := bucketStart(from, ResMinute)
	for _, s := range plan(from, to) {
		if s.from != prev {
			t.Fatalf("gap or overlap at %d (want %d): %+v", s.from, prev, plan(from, to))
		}
		if s.from%s.res != 0 || s.to%s.res != 0 {
			t.Fatalf("unaligned segment %+v", s)
		}
		covered += s.to - s.from
		prev = s.to
	}
	if covered != int64((50*time.Hour+5*time.Minute)/time.Second) {
		t.Fatalf("covered %d s", covered)
	}
	if p := plan(from, to); len(p) != 4 || p[1].res != ResHour || p[2].res != ResDay || p[2].to-p[2].from != 2*ResDay {
		t.Fatalf("plan %+v: want minutes, an hour, two days, minutes", p)
	}
}

func TestMetricsWriteQueryPrune(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2025, 3, 1, 10, 0, 30, 0, time.UTC)
		total := ""
		var b MetricsBatch
		for i := 0; i < 90; i++ { // 90 minutes: 10:00 .. 11:29
			at := t0.Add(time.Duration(i) * time.Minute)
			b.Counts = append(b.Counts,
				CountsPoint{MetricKey: MetricKey{"o", "f1", total}, At: at, C: Counts{RecordsIn: 10, RecordsOut: 9, Failed: 1, Files: 1}},
				CountsPoint{MetricKey: MetricKey{"o", "f1", "api"}, At: at, C: Counts{UnitsIn: 10, UnitsOut: 9, Failed: 1}},
				CountsPoint{MetricKey: MetricKey{"o2", "g", total}, At: at, C: Counts{RecordsIn: 1000}})
			var h HTTPCounts
			h.Observe(200, 1, false, 3*time.Millisecond)
			h.Observe(503, 4, true, 40*time.Millisecond)
			b.HTTP = append(b.HTTP, HTTPPoint{MetricKey: MetricKey{"o", "f1", "api"}, Endpoint: "POST /v2/customers", At: at, H: h})
			b.Errors = append(b.Errors, ErrorPoint{MetricKey: MetricKey{"o", "f1", "api"}, Code: 503, Message: "Service Unavailable", At: at, Count: 1})
		}
		b.Requests = []RequestLog{{OrgID: "o", FlowID: "f1", LineageID: "L1", RequestID: "L1-1", Block: "api", Endpoint: "POST /v2/customers",
			Method: "POST", URL: "http://x/v2/customers", Seq: 1, At: t0, LatencyMicros: 3000, Status: 503, Attempts: 4, Exhausted: true,
			RequestBody: `{"a":1}`, ResponseBody: `{"err":"busy"}`}}
		// Two writers adding to the same buckets compose.
		if err := s.WriteMetrics(ctx, b); err != nil {
			t.Fatal(err)
		}
		b.Requests = nil
		if err := s.WriteMetrics(ctx, b); err != nil {
			t.Fatal(err)
		}
		blk := ""
		win := MetricFilter{OrgID: "o", Block: &blk, From: t0.Add(-30 * time.Second), To: t0.Add(90*time.Minute - 30*time.Second)}
		rows, err := s.SumCounts(ctx, win)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].RecordsIn != 2*90*10 || rows[0].Failed != 2*90 || rows[0].Files != 180 {
			t.Fatalf("sum over 90 min: %+v", rows)
		}
		// The organisation aggregate holds the same totals in one series.
		agg := win
		agg.FlowIDs = []string{AllFlows}
		if rows, err := s.SumCounts(ctx, agg); err != nil || len(rows) != 1 || rows[0].RecordsIn != 2*90*10 || rows[0].FlowID != AllFlows {
			t.Fatalf("organisation aggregate: %+v %v", rows, err)
		}
		// A window of 10:15 .. 10:45 reads minute rows only.
		part := win
		part.From, part.To = t0.Add(15*time.Minute-30*time.Second), t0.Add(45*time.Minute-30*time.Second)
		rows, _ = s.SumCounts(ctx, part)
		if len(rows) != 1 || rows[0].RecordsIn != 2*30*10 {
			t.Fatalf("sum over 30 min: %+v", rows)
		}
		hs, err := s.SumHTTP(ctx, MetricFilter{OrgID: "o", From: win.From, To: win.To})
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) != 1 || hs[0].Calls != 360 || hs[0].S5xx != 180 || hs[0].Hist[LatencyBucket(3*time.Millisecond)] != 180 || hs[0].Exhausted != 180 {
			t.Fatalf("http: %+v", hs)
		}
		all := win
		all.Block = nil
		ser, err := s.Series(ctx, all, 30*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(ser) != 3 || ser[0].Counts.RecordsIn != 600 || ser[2].HTTP.Calls != 120 {
			t.Fatalf("series: %+v", ser)
		}
		hourly := win
		hourly.From, hourly.To = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		ser, err = s.Series(ctx, hourly, time.Hour)
		if err != nil || len(ser) != 2 || ser[0].Counts.RecordsIn != 1200 || ser[1].Counts.RecordsIn != 600 {
			t.Fatalf("hourly series: %+v %v", ser, err)
		}
		es, err := s.ErrorSummary(ctx, ErrorFilter{MetricFilter: MetricFilter{OrgID: "o", From: win.From, To: win.To}, Search: "unavail"})
		if err != nil || len(es) != 1 || es[0].Count != 180 || es[0].Code != 503 || es[0].Block != "api" {
			t.Fatalf("errors: %+v %v", es, err)
		}
		if es, _ := s.ErrorSummary(ctx, ErrorFilter{MetricFilter: MetricFilter{OrgID: "o", From: win.From, To: win.To}, Search: "100%"}); len(es) != 0 {
			t.Fatalf("search is literal: %+v", es)
		}
		reqs, err := s.ListRequests(ctx, RequestFilter{OrgID: "o", LineageID: "L1"})
		if err != nil || len(reqs) != 1 || reqs[0].RequestBody != "" {
			t.Fatalf("requests: %+v %v", reqs, err)
		}
		full, err := s.GetRequest(ctx, "o", reqs[0].ID)
		if err != nil || full.ResponseBody != `{"err":"busy"}` || !full.Exhausted {
			t.Fatalf("request: %+v %v", full, err)
		}
		if _, err := s.GetRequest(ctx, "o2", reqs[0].ID); err == nil {
			t.Fatal("another organisation read the request")
		}

		// Pruning at 12:00 with minutes kept 1 h: minute rows before 11:00
		// go, 11:00.. stay; hour and day rows stay.
		now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		eleven := time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC).Unix()
		newer := func() (n int) {
			if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM obs_counts WHERE res = 60 AND at >= `+fmt.Sprint(eleven)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := newer()
		if _, err := s.PruneMetrics(ctx, now, MetricsRetention{Minute: time.Hour, Hour: 30 * 24 * time.Hour, Day: 30 * 24 * time.Hour, Requests: time.Hour}); err != nil {
			t.Fatal(err)
		}
		var oldest int64
		if err := s.DB().QueryRowContext(ctx, `SELECT MIN(at) FROM obs_counts WHERE res = 60`).Scan(&oldest); err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC).Unix(); oldest != want {
			t.Fatalf("oldest minute after prune %s, want 11:00", time.Unix(oldest, 0).UTC())
		}
		if after := newer(); after != before || before != 30*5 { // 3 series and 2 organisation aggregates
			t.Fatalf("pruning removed newer minute rows: %d before, %d after", before, after)
		}
		if rows, _ := s.SumCounts(ctx, hourly); len(rows) != 1 || rows[0].RecordsIn != 1800 {
			t.Fatalf("hour rows after pruning minutes: %+v", rows)
		}
		if reqs, _ := s.ListRequests(ctx, RequestFilter{OrgID: "o"}); len(reqs) != 0 {
			t.Fatalf("request log not pruned: %+v", reqs)
		}
	})
}
