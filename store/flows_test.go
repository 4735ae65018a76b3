package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/connectplus/connectplus/runstate"
)

// TestListDataflowsSort checks each order, both directions, that the order
// is applied before pagination (pages concatenate to the whole list), and
// the per-row latest version state and last run.
func TestListDataflowsSort(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for _, o := range []string{"org_a", "org_b"} {
			if err := s.CreateOrg(ctx, Org{ID: o, Name: o, TimeZone: "UTC", CreatedAt: base}); err != nil {
				t.Fatal(err)
			}
		}
		// name, status, updated (hours after base), last run (hours after
		// base, 0: never run).
		flows := []struct {
			id, name, status string
			updated, run     int
		}{
			{"f1", "delta", "Active", 3, 0},
			{"f2", "alpha", "Paused", 1, 5},
			{"f3", "charlie", "Stopped", 4, 2},
			{"f4", "bravo", "Active", 2, 9},
			{"f5", "echo", "Paused", 5, 0},
		}
		for _, f := range flows {
			at := base.Add(time.Duration(f.updated) * time.Hour)
			if err := s.CreateDataflow(ctx, Dataflow{ID: f.id, OrgID: "org_a", Name: f.name, Status: f.status, CreatedBy: "u", CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateVersion(ctx, Version{ID: f.id + "v1", FlowID: f.id, OrgID: "org_a", Number: 1, State: StateLive, Document: "x", CreatedBy: "u", CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
			if f.run > 0 {
				// An older run first: the list shows the latest.
				for i, h := range []int{f.run - 1, f.run} {
					st := runstate.RunSuccess
					if i == 1 {
						st = runstate.RunFailure
					}
					if err := s.UpsertRun(ctx, runstate.Run{ID: f.id + "r" + string(rune('0'+i)), OrgID: "org_a", FlowID: f.id, Status: st, Started: base.Add(time.Duration(h) * time.Hour)}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		// A Draft on top of f2's Live version; another organisation's run of
		// the same flow id must not count.
		if err := s.CreateVersion(ctx, Version{ID: "f2v2", FlowID: "f2", OrgID: "org_a", Number: 2, State: StateDraft, Document: "x", CreatedBy: "u", CreatedAt: base, UpdatedAt: base}); err != nil {
			t.Fatal(err)
		}
		if err := s.UpsertRun(ctx, runstate.Run{ID: "other", OrgID: "org_b", FlowID: "f1", Status: runstate.RunSuccess, Started: base.Add(100 * time.Hour)}); err != nil {
			t.Fatal(err)
		}

		ids := func(fs []Dataflow) []string {
			out := []string{}
			for _, f := range fs {
				out = append(out, f.ID)
			}
			return out
		}
		for _, c := range []struct {
			sort string
			desc bool
			want []string
		}{
			{"", false, []string{"f2", "f4", "f3", "f1", "f5"}},
			{FlowSortName, true, []string{"f5", "f1", "f3", "f4", "f2"}},
			// Ties (two Active, two Paused) by name.
			{FlowSortStatus, false, []string{"f4", "f1", "f2", "f5", "f3"}},
			{FlowSortStatus, true, []string{"f3", "f2", "f5", "f4", "f1"}},
			// Never run first ascending (by name), last descending.
			{FlowSortLastRun, false, []string{"f1", "f5", "f3", "f2", "f4"}},
			{FlowSortLastRun, true, []string{"f4", "f2", "f3", "f1", "f5"}},
			{FlowSortUpdated, false, []string{"f2", "f4", "f1", "f3", "f5"}},
			{FlowSortUpdated, true, []string{"f5", "f3", "f1", "f4", "f2"}},
		} {
			all, more, err := s.ListDataflows(ctx, FlowFilter{OrgID: "org_a", Sort: c.sort, Desc: c.desc, Limit: 50})
			if err != nil || more {
				t.Fatalf("%s desc=%v: %v more=%v", c.sort, c.desc, err, more)
			}
			if got := ids(all); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s desc=%v: %v, want %v", c.sort, c.desc, got, c.want)
			}
			var paged []Dataflow
			for off := 0; ; off += 2 {
				p, more, err := s.ListDataflows(ctx, FlowFilter{OrgID: "org_a", Sort: c.sort, Desc: c.desc, Limit: 2, Offset: off})
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, p...)
				if !more {
					break
				}
			}
			if got := ids(paged); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s desc=%v paged: %v, want %v", c.sort, c.desc, got, c.want)
			}
		}
		// Sorting combines with the filters.
		p, _, err := s.ListDataflows(ctx, FlowFilter{OrgID: "org_a", Status: "Paused", Sort: FlowSortLastRun, Desc: true})
		if err != nil || !reflect.DeepEqual(ids(p), []string{"f2", "f5"}) {
			t.Fatalf("filtered sort: %v %v", ids(p), err)
		}

		all, _, err := s.ListDataflows(ctx, FlowFilter{OrgID: "org_a"})
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]Dataflow{}
		for _, f := range all {
			by[f.ID] = f
		}
		if f := by["f2"]; f.LatestState != StateDraft || f.LatestVersion != 2 || f.LiveVersion != 1 {
			t.Errorf("f2 versions: latest v%d %q live v%d", f.LatestVersion, f.LatestState, f.LiveVersion)
		}
		if f := by["f4"]; f.LastRun == nil || f.LastRun.ID != "f4r1" || f.LastRun.Status != runstate.RunFailure || !f.LastRun.Started.Equal(base.Add(9*time.Hour)) {
			t.Errorf("f4 last run: %+v", f.LastRun)
		}
		if f := by["f1"]; f.LastRun != nil {
			t.Errorf("f1 never ran in its organisation, last run %+v", f.LastRun)
		}
		if g, err := s.GetDataflow(ctx, "org_a", "f3"); err != nil || g.LatestState != StateLive {
			t.Errorf("get: %q %v", g.LatestState, err)
		}

		if _, _, err := s.ListDataflows(ctx, FlowFilter{OrgID: "org_a", Sort: "name; DROP TABLE runs"}); !errors.Is(err, ErrBadSort) {
			t.Fatalf("bad sort: %v", err)
		}
	})
}
