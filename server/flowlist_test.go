package server

import (
	"context"
	"testing"
	"time"
	_ "time/tzdata" // the test names a zone; it must not depend on the machine's zoneinfo

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// GET /dataflows sorts before paginating (sort=-lastRun pages through the
// whole list in order), rejects an unknown sort, and gives every row its
// last run, latest version state and today's figures (since midnight in
// the organisation's time zone; yesterday's metrics do not count).
func TestListFlowsSortAndFigures(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		ctx := context.Background()
		tm := h.team()
		var ids []string
		org := ""
		for _, n := range []string{"List-C", "List-A", "List-B"} {
			// Each create is its own request: updatedAt (microseconds) grows.
			res := createFlow(t, tm.editor, n, flowDoc(n, "/in/"+n))
			ids, org = append(ids, res.Dataflow.ID), res.Dataflow.OrgID
		}
		now := h.clock.Now()
		sod := startOfDay(now, "UTC")
		// List-A ran last, List-C before it, List-B never.
		for i, r := range []runstate.Run{
			{ID: "run_c", OrgID: org, FlowID: ids[0], Status: runstate.RunSuccess, Started: now.Add(-2 * time.Hour)},
			{ID: "run_a", OrgID: org, FlowID: ids[1], Status: runstate.RunPartial, Started: now.Add(-time.Hour)},
		} {
			if err := h.st.UpsertRun(ctx, r); err != nil {
				t.Fatal(i, err)
			}
		}
		total := func(flow string, at time.Time, in, out, failed int64) store.CountsPoint {
			return store.CountsPoint{MetricKey: store.MetricKey{OrgID: org, FlowID: flow}, At: at, C: store.Counts{RecordsIn: in, RecordsOut: out, Failed: failed}}
		}
		b := store.MetricsBatch{Counts: []store.CountsPoint{
			total(ids[0], sod, 200, 150, 50),
			total(ids[0], sod.Add(-time.Minute), 1000, 0, 1000), // yesterday
			// A block's row is not the dataflow's total.
			{MetricKey: store.MetricKey{OrgID: org, FlowID: ids[0], Block: "write"}, At: sod, C: store.Counts{RecordsIn: 7}},
		}}
		if err := h.st.WriteMetrics(ctx, b); err != nil {
			t.Fatal(err)
		}

		var all control.Page[FlowListItem]
		tm.viewer.must(200, "GET", "/api/v1/dataflows?sort=-lastRun", nil, &all)
		got := []string{}
		for _, f := range all.Items {
			got = append(got, f.Name)
		}
		if len(got) != 3 || got[0] != "List-A" || got[1] != "List-C" || got[2] != "List-B" {
			t.Fatalf("sort=-lastRun: %v", got)
		}
		a, c, bb := all.Items[0], all.Items[1], all.Items[2]
		if a.LastRun == nil || a.LastRun.ID != "run_a" || a.LastRun.Status != runstate.RunPartial || bb.LastRun != nil {
			t.Fatalf("last runs: %+v %+v", a.LastRun, bb.LastRun)
		}
		if a.LatestState != store.StateDraft || a.LatestVersion != 1 {
			t.Fatalf("latest version: v%d %q", a.LatestVersion, a.LatestState)
		}
		if c.Today == nil || c.Today.RecordsIn != 200 || c.Today.Failed != 50 || c.Today.ErrorPct == nil || *c.Today.ErrorPct != 25 || *c.Today.AccuracyPct != 75 {
			t.Fatalf("List-C today: %+v", c.Today)
		}
		if a.Today == nil || a.Today.RecordsIn != 0 || a.Today.ErrorPct != nil {
			t.Fatalf("List-A today (no metrics): %+v", a.Today)
		}

		var p1, p2 control.Page[FlowListItem]
		tm.viewer.must(200, "GET", "/api/v1/dataflows?sort=-lastRun&limit=2", nil, &p1)
		tm.viewer.must(200, "GET", "/api/v1/dataflows?sort=-lastRun&limit=2&cursor="+p1.Next, nil, &p2)
		if len(p1.Items) != 2 || p1.Items[0].Name != "List-A" || p1.Items[1].Name != "List-C" || len(p2.Items) != 1 || p2.Items[0].Name != "List-B" || p2.Next != "" {
			t.Fatalf("pages: %+v / %+v", p1, p2)
		}
		tm.viewer.must(200, "GET", "/api/v1/dataflows?sort=name", nil, &all)
		if all.Items[0].Name != "List-A" || all.Items[2].Name != "List-C" {
			t.Fatalf("sort=name: %+v", all.Items)
		}
		tm.viewer.must(200, "GET", "/api/v1/dataflows?sort=-updated", nil, &all)
		if all.Items[0].Name != "List-B" {
			t.Fatalf("sort=-updated: first %s", all.Items[0].Name)
		}
		r := tm.viewer.do("GET", "/api/v1/dataflows?sort=size", nil)
		if r.code != 400 || r.errCode(t) != "invalid_parameter" {
			t.Fatalf("unknown sort: %d %s", r.code, r.body)
		}
	})
}

func TestStartOfDay(t *testing.T) {
	now := time.Date(2026, 5, 1, 20, 10, 0, 0, time.UTC)
	for zone, want := range map[string]time.Time{
		"UTC":          time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		"":             time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		"Nowhere/Else": time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC),
		// 20:10 UTC is 01:40 on 2 May in India (UTC+05:30).
		"Asia/Kolkata": time.Date(2026, 5, 1, 18, 30, 0, 0, time.UTC),
		// 13:10 on 1 May in Los Angeles (UTC-07:00 in May).
		"America/Los_Angeles": time.Date(2026, 5, 1, 7, 0, 0, 0, time.UTC),
	} {
		if got := startOfDay(now, zone); !got.Equal(want) {
			t.Errorf("%q: %v, want %v", zone, got.UTC(), want)
		}
	}
}
