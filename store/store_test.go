package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func dialects(t *testing.T, fn func(t *testing.T, s *Store)) {
	for _, d := range []string{SQLite, Postgres} {
		t.Run(d, func(t *testing.T) {
			url := "sqlite://" + filepath.Join(t.TempDir(), "db.sqlite")
			if d == Postgres {
				url = testenv.Postgres(t).DSN
			}
			s, err := Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if s.Dialect() != d {
				t.Fatalf("dialect %s", s.Dialect())
			}
			fn(t, s)
		})
	}
}

func TestClaimsCheckpointsRuns(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		cp, ok, err := s.ClaimItem(ctx, "org/flow", "a.csv", "p1")
		if err != nil || !ok || cp != nil {
			t.Fatalf("fresh claim: %v %v %v", cp, ok, err)
		}
		if _, ok, _ := s.ClaimItem(ctx, "org/flow", "a.csv", "p2"); ok {
			t.Fatal("claimed by two owners")
		}
		if err := s.SaveCheckpoint(ctx, "org/flow", "a.csv", "p1", []byte(`{"line":42}`)); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveCheckpoint(ctx, "org/flow", "a.csv", "p2", []byte(`x`)); !errors.Is(err, ErrConflict) {
			t.Fatalf("foreign checkpoint: %v", err)
		}
		if err := s.ReleaseOwner(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		cp, ok, err = s.ClaimItem(ctx, "org/flow", "a.csv", "p2")
		if err != nil || !ok || string(cp) != `{"line":42}` {
			t.Fatalf("resume: %s %v %v", cp, ok, err)
		}
		if err := s.CompleteItem(ctx, "org/flow", "a.csv"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.ClaimItem(ctx, "org/flow", "a.csv", "p3"); ok {
			t.Fatal("done item claimed")
		}
		if _, ok, _ := s.ClaimItem(ctx, "org/flow", "b.csv", "p3"); !ok {
			t.Fatal("second item")
		}
		if err := s.ReleaseItem(ctx, "org/flow", "b.csv"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.ClaimItem(ctx, "org/flow", "b.csv", "p4"); !ok {
			t.Fatal("released item not claimable")
		}

		old := time.Now().Add(-48 * time.Hour)
		fin := time.Now()
		for _, r := range []runstate.Run{
			{ID: "r1", OrgID: "o", FlowID: "f", Status: runstate.RunSuccess, Started: old, Finished: &fin, BlockStats: []byte(`[{"block":"a"}]`)},
			{ID: "r2", OrgID: "o", FlowID: "f", Status: runstate.RunRunning, Started: time.Now(), StatusCodes: map[string]int64{"200": 3}},
		} {
			if err := s.UpsertRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		r2 := runstate.Run{ID: "r2", OrgID: "o", FlowID: "f", Status: runstate.RunSuccess, Started: time.Now(), RecordsIn: 5, Node: "node-2"}
		if err := s.UpsertRun(ctx, r2); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRun(ctx, "o", "r2")
		if err != nil || got.Status != runstate.RunSuccess || got.RecordsIn != 5 || got.Node != "node-2" {
			t.Fatalf("upsert: %+v %v", got, err)
		}
		if _, err := s.GetRun(ctx, "other", "r2"); !errors.Is(err, runstate.ErrNotFound) {
			t.Fatalf("other org run: %v", err)
		}
		runs, err := s.ListRuns(ctx, runstate.RunFilter{OrgID: "o", Since: time.Now().Add(-time.Hour)})
		if err != nil || len(runs) != 1 {
			t.Fatalf("since filter: %v %v", runs, err)
		}
		n, err := s.PurgeRuns(ctx, time.Now().Add(-24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
	})
}

func TestSQLitePaths(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{filepath.Join(dir, "a.db"), "sqlite:" + filepath.Join(dir, "b.db"), "sqlite://" + filepath.Join(dir, "sub", "c.db")} {
		s, err := Open(context.Background(), u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		s.Close()
	}
}

func TestRiverMigrationsAndTakeOver(t *testing.T) {
	dialects(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if s.Dialect() == Postgres {
			var n int
			if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_migration`).Scan(&n); err != nil || n == 0 {
				t.Fatalf("river migrations not applied: %d %v", n, err)
			}
			// A second server opening the same database applies nothing new.
			again, err := Open(ctx, s.URL())
			if err != nil {
				t.Fatal(err)
			}
			again.Close()
		}
		if _, ok, err := s.ClaimItem(ctx, "o/f", "x.csv", "node-a"); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if err := s.SaveCheckpoint(ctx, "o/f", "x.csv", "node-a", []byte(`{"n":7}`)); err != nil {
			t.Fatal(err)
		}
		cp, ok, err := s.TakeOverItem(ctx, "o/f", "x.csv", "node-b")
		if err != nil || !ok || string(cp) != `{"n":7}` {
			t.Fatalf("take over: %s %v %v", cp, ok, err)
		}
		if err := s.SaveCheckpoint(ctx, "o/f", "x.csv", "node-a", []byte(`{"n":8}`)); !errors.Is(err, ErrConflict) {
			t.Fatalf("the former holder must be fenced: %v", err)
		}
		if err := s.CompleteItem(ctx, "o/f", "x.csv"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.TakeOverItem(ctx, "o/f", "x.csv", "node-c"); ok {
			t.Fatal("a done item was taken over")
		}
	})
}
