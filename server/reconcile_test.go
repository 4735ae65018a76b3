package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/runstate"
)

// TestReconciliationAPI reads what the runtime keeps about a dataflow's
// reconciliations: the list per dataflow (newest first, paged), one report
// with its totals and the source that answered, its records paged in file
// order and by kind (mismatches with their field differences), the results
// file download, and precise refusals (an unknown kind, a results file
// purged, another dataflow's id).
func TestReconciliationAPI(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		tm := h.team()
		ctx := context.Background()
		flow := createFlow(t, tm.editor, "Reconcile", flowDoc("Reconcile", "/in"))
		other := createFlow(t, tm.editor, "Other", flowDoc("Other", "/in2"))
		id := flow.Dataflow.ID
		results := filepath.Join(t.TempDir(), "bills.csv")
		if err := os.WriteFile(results, []byte("bill_no,amount,CAP_API_STATUS\nB1,10,0\nB2,20,1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Second)
		for i, missing := range []int{250, 0} {
			r := runstate.Reconciliation{ID: fmt.Sprintf("rcn_%d", i), OrgID: flow.Dataflow.OrgID, FlowID: id, FlowName: "Reconcile", Version: 1,
				RunID: fmt.Sprintf("lin_%d", i), Block: "map_fields", File: "bills.csv", Source: "sandbox", Entity: "regular_transaction_line_items",
				Started: t0.Add(time.Duration(i) * time.Hour), Finished: t0.Add(time.Duration(i)*time.Hour + time.Second),
				Totals:    runstate.ReconTotals{Rows: 300, Expected: 300, Present: int64(300 - missing), Missing: int64(missing), Mismatched: 1},
				MatchedOn: []string{"bill_number", "bill_date"}, Compared: []string{"bill_amount"}, LookupRequests: 5}
			if i == 0 {
				r.ResultName, r.ResultPath = "bills.csv", results
			}
			err := h.st.SaveReconciliation(ctx, r, func(yield func(runstate.ReconRecord) error) error {
				for j := 0; j < missing; j++ {
					if err := yield(runstate.ReconRecord{Line: int64(j + 2), Kind: runstate.ReconMissing, Key: map[string]string{"bill_number": fmt.Sprintf("B%d", j)}}); err != nil {
						return err
					}
				}
				return yield(runstate.ReconRecord{Line: 301, Kind: runstate.ReconMismatch, EntityID: "77", Key: map[string]string{"bill_number": "B299"},
					Fields: []runstate.ReconField{{Field: "bill_amount", Column: "amount", Source: "10.00", Destination: "12.50"}}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		base := "/api/v1/reconciliations/rcn_0"
		var list control.Page[runstate.Reconciliation]
		tm.viewer.must(200, "GET", "/api/v1/dataflows/"+id+"/reconciliations?limit=1", nil, &list)
		if len(list.Items) != 1 || list.Items[0].ID != "rcn_1" || list.Next != "1" {
			t.Fatalf("first page: %+v", list)
		}
		list = control.Page[runstate.Reconciliation]{}
		tm.viewer.must(200, "GET", "/api/v1/dataflows/"+id+"/reconciliations?limit=1&cursor=1", nil, &list)
		if len(list.Items) != 1 || list.Items[0].ID != "rcn_0" || list.Next != "" {
			t.Fatalf("second page: %+v", list)
		}
		list = control.Page[runstate.Reconciliation]{}
		tm.viewer.must(200, "GET", "/api/v1/dataflows/"+id+"/reconciliations?runId=lin_0", nil, &list)
		if len(list.Items) != 1 || list.Items[0].ID != "rcn_0" {
			t.Fatalf("by run: %+v", list)
		}
		tm.viewer.must(200, "GET", "/api/v1/dataflows/"+other.Dataflow.ID+"/reconciliations", nil, &list)
		if len(list.Items) != 0 {
			t.Fatalf("another dataflow lists %+v", list)
		}
		var rec runstate.Reconciliation
		r := tm.viewer.must(200, "GET", base, nil, &rec)
		if rec.Totals.Missing != 250 || rec.Totals.Expected != 300 || rec.Totals.Mismatched != 1 || rec.Source != "sandbox" || rec.Records != 251 ||
			rec.RunID != "lin_0" || rec.ResultName != "bills.csv" || strings.Contains(string(r.body), results) || !strings.Contains(string(r.body), `"status":"finished"`) {
			t.Fatalf("report: %+v\n%s", rec, r.body)
		}
		// A large report whose records are still being stored says so.
		if err := h.st.SetReconciliationStatus(ctx, "rcn_1", runstate.ReconSaving); err != nil {
			t.Fatal(err)
		}
		tm.viewer.must(200, "GET", "/api/v1/reconciliations/rcn_1", nil, &rec)
		if rec.Status != runstate.ReconSaving {
			t.Fatalf("saving: %+v", rec)
		}
		var page control.Page[runstate.ReconRecord]
		tm.viewer.must(200, "GET", base+"/records?limit=100&cursor=200", nil, &page)
		if len(page.Items) != 51 || page.Next != "" || page.Items[0].Key["bill_number"] != "B200" || page.Items[50].Fields[0].Destination != "12.50" {
			t.Fatalf("records page: %d %+v", len(page.Items), page.Next)
		}
		page = control.Page[runstate.ReconRecord]{}
		tm.viewer.must(200, "GET", base+"/records?kind=mismatch", nil, &page)
		if len(page.Items) != 1 || page.Items[0].EntityID != "77" || page.Items[0].Fields[0].Field != "bill_amount" {
			t.Fatalf("mismatches: %+v", page)
		}
		tm.viewer.must(200, "GET", base+"/records?kind=missing&limit=500", nil, &page)
		if len(page.Items) != 250 {
			t.Fatalf("missing: %d", len(page.Items))
		}
		if r := tm.viewer.do("GET", base+"/records?kind=lost", nil); r.code != 400 || !strings.Contains(string(r.body), "kind must be") {
			t.Fatalf("unknown kind: %d %s", r.code, r.body)
		}
		r = tm.viewer.must(200, "GET", base+"/results", nil, nil)
		if string(r.body) != "bill_no,amount,CAP_API_STATUS\nB1,10,0\nB2,20,1\n" || !strings.Contains(r.hdr.Get("Content-Disposition"), "reconciled_bills.csv") {
			t.Fatalf("results: %s %v", r.body, r.hdr)
		}
		if r := tm.viewer.do("GET", "/api/v1/reconciliations/rcn_1/results", nil); r.code != 404 {
			t.Fatalf("no results file: %d %s", r.code, r.body)
		}
		os.Remove(results)
		if r := tm.viewer.do("GET", base+"/results", nil); r.code != 404 {
			t.Fatalf("purged results file: %d %s", r.code, r.body)
		}
		if r := tm.viewer.do("GET", "/api/v1/reconciliations/rcn_none", nil); r.code != 404 {
			t.Fatalf("unknown id: %d", r.code)
		}
	})
}
