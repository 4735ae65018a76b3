package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
)

// A reconciliation is kept with every one of its records (more than one
// INSERT's worth), paged in file order and by kind, listed per dataflow
// newest first, replaced when its run reports again, invisible to another
// organisation, and purged with the runs of its time.
func TestReconciliations(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		rec := func(id string, at time.Time, missing int) (runstate.Reconciliation, []runstate.ReconRecord) {
			r := runstate.Reconciliation{ID: id, OrgID: "org_1", FlowID: "flw_1", FlowName: "reconcile", Version: 2, RunID: "lin_" + id, Block: "map_fields",
				File: "bills.csv", Source: "sandbox", Entity: "regular_transaction_line_items", DiffPath: "/results", Started: at, Finished: at.Add(time.Second),
				Totals:    runstate.ReconTotals{Rows: 1000, Expected: 1000, Present: int64(1000 - missing), Missing: int64(missing), Mismatched: 1},
				MatchedOn: []string{"bill_number"}, Compared: []string{"bill_amount"}, LookupRequests: 1, ResultName: "bills.csv", ResultPath: "/data/x.csv"}
			var recs []runstate.ReconRecord
			for i := 0; i < missing; i++ {
				recs = append(recs, runstate.ReconRecord{Line: int64(2 + i*3), Kind: runstate.ReconMissing, Key: map[string]string{"bill_number": fmt.Sprintf("B%d", i)}})
			}
			recs = append(recs, runstate.ReconRecord{Line: 9999, Kind: runstate.ReconMismatch, EntityID: "42",
				Fields: []runstate.ReconField{{Field: "bill_amount", Column: "bill_amount", Source: "10.00", Destination: "12.50"}}})
			return r, recs
		}
		each := func(recs []runstate.ReconRecord) func(func(runstate.ReconRecord) error) error {
			return func(yield func(runstate.ReconRecord) error) error {
				for _, r := range recs {
					if err := yield(r); err != nil {
						return err
					}
				}
				return nil
			}
		}
		first, recs := rec("rcn_1", t0, 450)
		if err := s.SaveReconciliation(ctx, first, each(recs)); err != nil {
			t.Fatal(err)
		}
		second, recs2 := rec("rcn_2", t0.Add(time.Hour), 0)
		if err := s.SaveReconciliation(ctx, second, each(recs2)); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetReconciliation(ctx, "org_1", "rcn_1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Records != 451 || got.Totals.Missing != 450 || got.Totals.Present != 550 || got.Source != "sandbox" || got.MatchedOn[0] != "bill_number" ||
			!got.Finished.Equal(t0.Add(time.Second)) || got.ResultPath != "/data/x.csv" {
			t.Fatalf("get: %+v", got)
		}
		list, err := s.ListReconciliations(ctx, "org_1", "flw_1", "", 10, 0)
		if err != nil || len(list) != 2 || list[0].ID != "rcn_2" || list[1].ID != "rcn_1" {
			t.Fatalf("list: %+v %v", list, err)
		}
		if byRun, err := s.ListReconciliations(ctx, "org_1", "flw_1", "lin_rcn_2", 10, 0); err != nil || len(byRun) != 1 || byRun[0].ID != "rcn_2" {
			t.Fatalf("by run: %+v %v", byRun, err)
		}
		page, err := s.ListReconRecords(ctx, runstate.ReconFilter{OrgID: "org_1", ID: "rcn_1", Limit: 100, Offset: 400})
		if err != nil || len(page) != 51 || page[0].Key["bill_number"] != "B400" || page[50].Kind != runstate.ReconMismatch || page[50].Fields[0].Destination != "12.50" {
			t.Fatalf("page: %d %+v %v", len(page), page, err)
		}
		mm, err := s.ListReconRecords(ctx, runstate.ReconFilter{OrgID: "org_1", ID: "rcn_1", Kind: runstate.ReconMismatch})
		if err != nil || len(mm) != 1 || mm[0].EntityID != "42" {
			t.Fatalf("mismatches: %+v %v", mm, err)
		}
		// Another organisation sees nothing.
		if _, err := s.GetReconciliation(ctx, "org_2", "rcn_1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other org get: %v", err)
		}
		if _, err := s.ListReconRecords(ctx, runstate.ReconFilter{OrgID: "org_2", ID: "rcn_1"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other org records: %v", err)
		}
		if l, _ := s.ListReconciliations(ctx, "org_2", "", "", 10, 0); len(l) != 0 {
			t.Fatalf("other org list: %+v", l)
		}
		// A resumed run reports again: the second report replaces the first.
		again, recs3 := rec("rcn_1", t0, 3)
		if err := s.SaveReconciliation(ctx, again, each(recs3)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetReconciliation(ctx, "org_1", "rcn_1"); got.Records != 4 || got.Totals.Missing != 3 {
			t.Fatalf("replaced: %+v", got)
		}
		// Purged with the runs of its time.
		if _, err := s.PurgeRuns(ctx, t0.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetReconciliation(ctx, "org_1", "rcn_1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("purged: %v", err)
		}
		if _, err := s.GetReconciliation(ctx, "org_1", "rcn_2"); err != nil {
			t.Fatalf("kept: %v", err)
		}
	})
}

// TestSaveReconciliationChunked: a large reconciliation is visible at once
// with status saving, its records are stored in several transactions (in
// file order, seq continuing across them) while it stays readable, and the
// last one sets the count and status finished; saving it again replaces it.
func TestSaveReconciliationChunked(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := runstate.Reconciliation{ID: "rcn_big", OrgID: "org_1", FlowID: "flw_1", FlowName: "reconcile", RunID: "lin_1", Block: "map_fields",
			Started: time.Now(), Finished: time.Now(), Totals: runstate.ReconTotals{Rows: 50000, Expected: 50000, Missing: recordsPerTx*2 + 7}, Status: runstate.ReconSaving}
		n := recordsPerTx*2 + 7
		var seenSaving bool
		err := s.SaveReconciliationChunked(ctx, r, func(yield func(runstate.ReconRecord) error) error {
			for i := 0; i < n; i++ {
				if i == recordsPerTx+1 {
					// Mid-save: visible, saving, the first transaction's
					// records readable.
					got, err := s.GetReconciliation(ctx, "org_1", "rcn_big")
					if err != nil || got.Status != runstate.ReconSaving || got.Totals.Missing != int64(n) {
						t.Errorf("mid-save: %+v %v", got, err)
					}
					recs, err := s.ListReconRecords(ctx, runstate.ReconFilter{OrgID: "org_1", ID: "rcn_big", Offset: recordsPerTx - 1, Limit: 10})
					if err != nil || len(recs) != 1 || recs[0].Line != int64(recordsPerTx+1) {
						t.Errorf("mid-save records: %+v %v", recs, err)
					}
					seenSaving = true
				}
				if err := yield(runstate.ReconRecord{Line: int64(i + 2), Kind: runstate.ReconMissing, Key: map[string]string{"bill_number": fmt.Sprintf("B%d", i)}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || !seenSaving {
			t.Fatal(err)
		}
		got, err := s.GetReconciliation(ctx, "org_1", "rcn_big")
		if err != nil || got.Status != runstate.ReconFinished || got.Records != int64(n) {
			t.Fatalf("finished: %+v %v", got, err)
		}
		recs, err := s.ListReconRecords(ctx, runstate.ReconFilter{OrgID: "org_1", ID: "rcn_big", Offset: n - 2, Limit: 10})
		if err != nil || len(recs) != 2 || recs[1].Line != int64(n+1) {
			t.Fatalf("last records: %+v %v", recs, err)
		}
		if err := s.SetReconciliationStatus(ctx, "rcn_big", runstate.ReconFailed); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetReconciliation(ctx, "org_1", "rcn_big"); got.Status != runstate.ReconFailed {
			t.Fatalf("status: %+v", got)
		}
		if err := s.SetReconciliationStatus(ctx, "rcn_none", runstate.ReconFailed); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown: %v", err)
		}
		// Saved again (a retry): replaced, not appended.
		if err := s.SaveReconciliationChunked(ctx, r, func(yield func(runstate.ReconRecord) error) error {
			return yield(runstate.ReconRecord{Line: 2, Kind: runstate.ReconMissing})
		}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetReconciliation(ctx, "org_1", "rcn_big"); got.Records != 1 || got.Status != runstate.ReconFinished {
			t.Fatalf("again: %+v", got)
		}
	})
}

// BenchmarkSaveReconciliation keeps a reconciliation of 100,000 missing
// records (SQLite): what a large faulty file costs the runtime when its
// report comes in.
func BenchmarkSaveReconciliation(b *testing.B) {
	benchSave(b, "sqlite://"+filepath.Join(b.TempDir(), "db.sqlite"), (*Store).SaveReconciliation)
}

// BenchmarkSaveReconciliationChunked is the background save of a large
// report: the same records in transactions of recordsPerTx, on SQLite and
// PostgreSQL.
func BenchmarkSaveReconciliationChunked(b *testing.B) {
	for _, d := range []string{SQLite, Postgres} {
		b.Run(d, func(b *testing.B) {
			url := "sqlite://" + filepath.Join(b.TempDir(), "db.sqlite")
			if d == Postgres {
				url = testenv.Postgres(b).DSN
			}
			benchSave(b, url, (*Store).SaveReconciliationChunked)
		})
	}
}

// benchSave times save (one of the Store's reconciliation saves) keeping
// 100,000 missing records.
func benchSave(b *testing.B, url string, save func(*Store, context.Context, runstate.Reconciliation, func(yield func(runstate.ReconRecord) error) error) error) {
	ctx := context.Background()
	s, err := Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100000
	for i := 0; i < b.N; i++ {
		r := runstate.Reconciliation{ID: "rcn_bench", OrgID: "org_1", FlowID: "flw_1", Started: time.Now(), Finished: time.Now()}
		err := save(s, ctx, r, func(yield func(runstate.ReconRecord) error) error {
			for j := 0; j < n; j++ {
				if err := yield(runstate.ReconRecord{Line: int64(j + 2), Kind: runstate.ReconMissing, Key: map[string]string{"bill_number": fmt.Sprintf("BILL-%08d", j)}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
