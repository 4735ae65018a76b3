package scheduler

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// BenchmarkRecordLargeReport keeps a reconciliation report of 1,000,000
// missing records (SQLite): block-wait-s is how long the diff_tool block
// waits in RecordReport, stored-s until every record is stored (the
// background save included).
func BenchmarkRecordLargeReport(b *testing.B) {
	const n = 1000000
	ctx := context.Background()
	work := b.TempDir()
	records := filepath.Join(work, "records.jsonl")
	f, _ := os.Create(records)
	w := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		line, _ := json.Marshal(runstate.ReconRecord{Line: int64(i + 2), Kind: runstate.ReconMissing, Key: map[string]string{"bill_number": fmt.Sprintf("BILL-%08d", i)}})
		w.Write(append(line, '\n'))
	}
	w.Flush()
	f.Close()
	results := filepath.Join(work, "results.csv")
	os.WriteFile(results, []byte("bill_number,CAP_API_STATUS\n"), 0o600)
	doc, _ := json.Marshal(map[string]any{"file": "bills.csv", "source": "sandbox", "entityType": "regular_transaction_line_items",
		"totals": runstate.ReconTotals{Rows: n, Expected: n, Missing: n}, "differences": []any{}})
	var wait, stored time.Duration
	for i := 0; i < b.N; i++ {
		st, err := store.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "db.sqlite"))
		if err != nil {
			b.Fatal(err)
		}
		m, err := New(Options{Repo: st, Registry: block.NewRegistry(), DataDir: b.TempDir(), Owner: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		m.ctx = ctx
		rec := m.reportsFor(runstate.Deployment{OrgID: "org_1", FlowID: "flw_1", FlowName: "reconcile", Version: 1})
		t0 := time.Now()
		rec.RecordReport(block.ReportDoc{LineageID: fmt.Sprint("lin_", i), Block: "map_fields", Kind: "reconciliation", File: "bills.csv", Doc: doc, Results: results, Records: records})
		wait += time.Since(t0)
		m.bg.Wait()
		stored += time.Since(t0)
		got, err := st.GetReconciliation(ctx, "org_1", ReconciliationID("org_1", "flw_1", fmt.Sprint("lin_", i), "map_fields"))
		if err != nil || got.Records != n {
			b.Fatalf("%+v %v", got, err)
		}
		st.Close()
	}
	b.ReportMetric(wait.Seconds()/float64(b.N), "block-wait-s")
	b.ReportMetric(stored.Seconds()/float64(b.N), "stored-s")
}
