package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// slowRecon holds a background save of records until release is closed.
type slowRecon struct {
	*store.Store
	release chan struct{}
}

func (s *slowRecon) SaveReconciliationChunked(ctx context.Context, r runstate.Reconciliation, records func(yield func(runstate.ReconRecord) error) error) error {
	<-s.release
	return s.Store.SaveReconciliationChunked(ctx, r, records)
}

// TestLargeReconciliationReportSavedInBackground: a report with more
// records than ReconSyncRecords is visible as soon as RecordReport returns
// (status saving, final totals) while its records are stored in the
// background, then finished with every record; the records and pending
// files are removed once stored. A report left pending by a stopped
// process is stored at the next start (resumePendingReports). A small
// report is stored before RecordReport returns.
func TestLargeReconciliationReportSavedInBackground(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	repo := &slowRecon{Store: st, release: make(chan struct{})}
	shared := t.TempDir()
	m, err := New(Options{Repo: repo, Registry: block.NewRegistry(), DataDir: t.TempDir(), SharedDir: shared, Owner: "test", ReconSyncRecords: 100})
	if err != nil {
		t.Fatal(err)
	}
	m.ctx = ctx
	dep := runstate.Deployment{OrgID: "org_1", FlowID: "flw_1", FlowName: "reconcile", Version: 1}
	rec := m.reportsFor(dep)
	work := t.TempDir()
	report := func(lineage string, n int) block.ReportDoc {
		var lines strings.Builder
		for i := 0; i < n; i++ {
			b, _ := json.Marshal(runstate.ReconRecord{Line: int64(i + 2), Kind: runstate.ReconMissing, Key: map[string]string{"bill_number": fmt.Sprint("B", i)}})
			lines.Write(append(b, '\n'))
		}
		records := filepath.Join(work, lineage+".records.jsonl")
		os.WriteFile(records, []byte(lines.String()), 0o600)
		results := filepath.Join(work, lineage+".csv")
		os.WriteFile(results, []byte("bill_number,CAP_API_STATUS\n"), 0o600)
		doc, _ := json.Marshal(map[string]any{"file": "bills.csv", "source": "sandbox", "entityType": "regular_transaction_line_items",
			"totals": runstate.ReconTotals{Rows: int64(n), Expected: int64(n), Missing: int64(n)}, "differences": []any{}})
		return block.ReportDoc{LineageID: lineage, Block: "map_fields", Kind: "reconciliation", File: "bills.csv", Doc: doc, Results: results, Records: records}
	}
	// Large: RecordReport returns while the records wait.
	big := report("lin_big", 500)
	rec.RecordReport(big)
	os.Remove(big.Records) // the block removes its work files once RecordReport returns
	id := ReconciliationID("org_1", "flw_1", "lin_big", "map_fields")
	got, err := st.GetReconciliation(ctx, "org_1", id)
	if err != nil || got.Status != runstate.ReconSaving || got.Totals.Missing != 500 || got.Records != 0 {
		t.Fatalf("while saving: %+v %v", got, err)
	}
	close(repo.release)
	m.bg.Wait()
	got, err = st.GetReconciliation(ctx, "org_1", id)
	if err != nil || got.Status != runstate.ReconFinished || got.Records != 500 || got.ResultPath == "" {
		t.Fatalf("saved: %+v %v", got, err)
	}
	dir := filepath.Join(shared, "results", "org_1", "flw_1", "reconciliations")
	if left, _ := filepath.Glob(filepath.Join(dir, "*.json*")); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	// Small: stored before RecordReport returns.
	rec.RecordReport(report("lin_small", 50))
	if got, err := st.GetReconciliation(ctx, "org_1", ReconciliationID("org_1", "flw_1", "lin_small", "map_fields")); err != nil || got.Status != runstate.ReconFinished || got.Records != 50 {
		t.Fatalf("small: %+v %v", got, err)
	}
	// Left pending by a stopped process: stored at the next start.
	p := report("lin_left", 300)
	r := runstate.Reconciliation{ID: ReconciliationID("org_1", "flw_1", "lin_left", "map_fields"), OrgID: "org_1", FlowID: "flw_1", FlowName: "reconcile",
		RunID: "lin_left", Block: "map_fields", Started: time.Now(), Finished: time.Now(), Totals: runstate.ReconTotals{Missing: 300}, Status: runstate.ReconSaving}
	if err := st.SaveReconciliation(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(dir, r.ID+".records.jsonl")
	if err := os.Rename(p.Records, kept); err != nil {
		t.Fatal(err)
	}
	if err := writePending(filepath.Join(dir, r.ID+pendingSuffix), pendingReport{Reconciliation: r, Records: kept}); err != nil {
		t.Fatal(err)
	}
	m.resumePendingReports()
	m.bg.Wait()
	if got, err := st.GetReconciliation(ctx, "org_1", r.ID); err != nil || got.Status != runstate.ReconFinished || got.Records != 300 {
		t.Fatalf("resumed: %+v %v", got, err)
	}
}
