package scheduler

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/runstate/memrepo"
	"github.com/connectplus/connectplus/sharedstore"
)

// TestResultFilesOnS3SharedStore: with an S3 shared store a deployment's
// result files are uploaded under results/<org>/<dataflow>/, the run
// refers to them by s3:// reference, the delivery ledger opens them from
// the bucket, and retention deletes them there (and nothing else).
func TestResultFilesOnS3SharedStore(t *testing.T) {
	srv := testenv.S3(t)
	srv.CreateBucket(t, "shared")
	ctx := context.Background()
	st, err := sharedstore.OpenS3(ctx, sharedstore.S3Config{URL: "s3://shared/c", Endpoint: srv.Endpoint, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	repo := memrepo.New()
	m, err := New(Options{Repo: repo, Registry: block.NewRegistry(), DataDir: t.TempDir(), Owner: "test", Shared: st, Retention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m.ctx = ctx
	d := runstate.Deployment{OrgID: "o1", FlowID: "f1", FlowName: "flow"}
	body := "id,status_code,error_message,entity_id\n1,200,,E1\n"
	ref, err := m.keepResult(d)(ctx, "lin1_result_1.csv", func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil })
	if err != nil {
		t.Fatal(err)
	}
	if ref != "s3://shared/c/results/o1/f1/lin1_result_1.csv" {
		t.Fatalf("reference %q", ref)
	}
	if got := string(srv.GetObject(t, "shared", "c/results/o1/f1/lin1_result_1.csv")); got != body {
		t.Fatalf("object holds %q", got)
	}
	fin := time.Now()
	if err := repo.UpsertRun(ctx, runstate.Run{ID: "lin1", OrgID: "o1", FlowID: "f1", FlowName: "flow", Status: runstate.RunSuccess,
		Started: fin, Finished: &fin, ResultName: "result_1.csv", ResultPath: ref}); err != nil {
		t.Fatal(err)
	}
	files, err := m.ledgerFor(d).ResultFiles(ctx, "flow")
	if err != nil || len(files) != 1 || files[0].Open == nil {
		t.Fatalf("ledger: %+v %v", files, err)
	}
	rc, err := files[0].Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != body {
		t.Fatalf("ledger file reads %q", b)
	}
	// Spool segments: lin2's file never finished (its dataflow was
	// deleted) and its newest segment is past retention — all of it goes;
	// lin3 is a long file still running: its first segment is as old, but
	// its newest is recent, so all of it stays. A block's own objects
	// (blocks/…, an http_read watermark) are not retention's.
	later := time.Now().Add(3 * time.Hour)
	for _, k := range []string{"spools/lin2/00000000000000000000.000000-5-0-16", "spools/lin2/00000000000000000005.000000-9-16-32",
		"spools/lin3/00000000000000000000.000000-5-0-16", "spools/lin3/00000000000000000005.000000-9-16-32", "blocks/abc/pull/watermark.json"} {
		srv.PutObject(t, "shared", "c/"+k, []byte("x"))
	}
	if err := os.Chtimes(srv.LocalPath("shared", "c/spools/lin3/00000000000000000005.000000-9-16-32"), later, later); err != nil {
		t.Fatal(err)
	}
	m.purge(ctx, time.Now().Add(2*time.Hour))
	keys, err := st.List(ctx, "")
	want := []string{"blocks/abc/pull/watermark.json", "spools/lin3/00000000000000000000.000000-5-0-16", "spools/lin3/00000000000000000005.000000-9-16-32"}
	if err != nil || strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("after purge the bucket holds %v (%v), want %v", keys, err, want)
	}
}
