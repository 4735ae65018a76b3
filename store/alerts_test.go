package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestAlertsStore(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		if err := s.CreateOrg(ctx, Org{ID: "org_a", Name: "a", TimeZone: "UTC", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		r := AlertRule{ID: "alr_1", OrgID: "org_a", Name: "5xx", Platform: "dataflow", Metric: "failure_pct", Enabled: true,
			Endpoint: "POST https://api.example.com/v2/customers", Definition: json.RawMessage(`{"window":"10m"}`), CreatedBy: "system", UpdatedBy: "system", CreatedAt: now, UpdatedAt: now}
		if ok, err := s.EnsureAlertRule(ctx, r); err != nil || !ok {
			t.Fatalf("seed: %v %v", ok, err)
		}
		if ok, err := s.EnsureAlertRule(ctx, r); err != nil || ok {
			t.Fatalf("second seed inserted: %v %v", ok, err)
		}
		got, err := s.GetAlertRule(ctx, "org_a", "alr_1")
		if err != nil || string(got.Definition) != `{"window":"10m"}` || got.Revision != 1 || got.Endpoint != r.Endpoint {
			t.Fatalf("get rule %+v %v", got, err)
		}
		stale := got
		got.Definition = json.RawMessage(`{"window":"5m"}`)
		if err := s.UpdateAlertRule(ctx, &got); err != nil || got.Revision != 2 {
			t.Fatalf("update: %v", err)
		}
		if err := s.UpdateAlertRule(ctx, &stale); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale update: %v", err)
		}

		// One open issue per rule and dataflow.
		is := AlertIssue{ID: "iss_1", OrgID: "org_a", RuleID: "alr_1", RuleName: "5xx", FlowID: "f1", Metric: "failure_pct", Priority: "Critical",
			Status: IssueActive, Value: 30, Threshold: 1, OpenedAt: now, LastViolationAt: now}
		if err := s.OpenAlertIssue(ctx, is); err != nil {
			t.Fatal(err)
		}
		dup := is
		dup.ID = "iss_2"
		if err := s.OpenAlertIssue(ctx, dup); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("second open issue: %v", err)
		}
		open, err := s.OpenAlertIssueFor(ctx, "alr_1", "f1")
		if err != nil || open.ID != "iss_1" {
			t.Fatalf("open issue %+v %v", open, err)
		}
		open.Status, open.ClosedAt = IssueClosed, &now
		if err := s.UpdateAlertIssue(ctx, &open); err != nil {
			t.Fatal(err)
		}
		if err := s.OpenAlertIssue(ctx, dup); err != nil {
			t.Fatalf("new issue after closing: %v", err)
		}
		list, err := s.ListAlertIssues(ctx, IssueFilter{OrgID: "org_a", Status: IssueClosed})
		if err != nil || len(list) != 1 || list[0].ClosedAt == nil {
			t.Fatalf("closed issues kept: %+v %v", list, err)
		}

		// A slot is claimed once.
		ok1, err1 := s.ClaimSlot(ctx, "eval", "alr_1/f1", 42, "node-a", now)
		ok2, err2 := s.ClaimSlot(ctx, "eval", "alr_1/f1", 42, "node-b", now)
		if err1 != nil || err2 != nil || !ok1 || ok2 {
			t.Fatalf("claims %v %v %v %v", ok1, ok2, err1, err2)
		}
		if n, err := s.PruneSlots(ctx, now.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("prune slots %d %v", n, err)
		}
	})
}
