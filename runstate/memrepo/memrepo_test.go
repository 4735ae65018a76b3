package memrepo

import (
	"context"
	"testing"
	"time"

	"github.com/connectplus/connectplus/runstate"
)

func TestClaimsAndRuns(t *testing.T) {
	ctx := context.Background()
	r := New()
	cp, ok, err := r.ClaimItem(ctx, "f", "i", "a")
	if err != nil || !ok || cp != nil {
		t.Fatalf("first claim: %v %v %v", cp, ok, err)
	}
	if _, ok, _ := r.ClaimItem(ctx, "f", "i", "b"); ok {
		t.Fatal("claimed twice by different owners")
	}
	_ = r.SaveCheckpoint(ctx, "f", "i", "a", []byte("cp"))
	if cp, ok, _ := r.ClaimItem(ctx, "f", "i", "a"); !ok || string(cp) != "cp" {
		t.Fatal("same owner resumes with its checkpoint")
	}
	_ = r.ReleaseOwner(ctx, "a")
	if _, ok, _ := r.ClaimItem(ctx, "f", "i", "b"); !ok {
		t.Fatal("released claim not taken over")
	}
	_ = r.CompleteItem(ctx, "f", "i")
	if _, ok, _ := r.ClaimItem(ctx, "f", "i", "b"); ok {
		t.Fatal("completed item claimed again")
	}
	now := time.Now()
	_ = r.UpsertRun(ctx, runstate.Run{ID: "r1", OrgID: "o", FlowID: "f", Started: now.Add(-48 * time.Hour)})
	_ = r.UpsertRun(ctx, runstate.Run{ID: "r2", OrgID: "o", FlowID: "f", Status: runstate.RunSuccess, Started: now})
	runs, _ := r.ListRuns(ctx, runstate.RunFilter{OrgID: "o", Status: runstate.RunSuccess})
	if len(runs) != 1 || runs[0].ID != "r2" {
		t.Fatalf("filter: %+v", runs)
	}
	if n, _ := r.PurgeRuns(ctx, now.Add(-24*time.Hour)); n != 1 {
		t.Fatalf("purged %d", n)
	}
	if _, err := r.GetRun(ctx, "o", "r1"); err != runstate.ErrNotFound {
		t.Fatal("purged run still there")
	}
}
