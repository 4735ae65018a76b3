package httpwrite

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/sandbox"
	"github.com/connectplus/connectplus/sharedstore"
)

// TestReadResumesOnAnotherNodeFromTheSharedStore: with a shared store on
// S3 (Env.Objects, versitygw) the pull's progress, pages and watermark are
// objects every node reads. Node A's pull dies after page 2; node B, with
// an empty state directory of its own, lists the same pull and continues
// at page 3 (pages 1 and 2 not fetched again); the next scheduled pull, on
// node C, starts from the watermark B stored; the completed pulls leave no
// pages behind.
func TestReadResumesOnAnotherNodeFromTheSharedStore(t *testing.T) {
	srv := testenv.S3(t)
	srv.CreateBucket(t, "shared")
	ctx := context.Background()
	store, err := sharedstore.OpenS3(ctx, sharedstore.S3Config{URL: "s3://shared/cluster", Endpoint: srv.Endpoint, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	objects := block.ObjectsUnder(store, "blocks/flow/pull/")
	node := func() *block.Env {
		env := readerEnv(t, t.TempDir()) // each node its own state directory
		env.Objects = objects
		return env
	}
	s, ts := sandbox.NewTestServer(sandbox.Config{FeedSize: 45})
	defer ts.Close()
	target, _ := url.Parse(ts.URL)
	proxy := &flaky{target: target, after: 2}
	pts := httptest.NewServer(proxy)
	defer pts.Close()
	values := feedValues(ts, s, map[string]string{
		"apiBaseUrl": pts.URL, "apiEndPoint": "/x/feed/page", "paginationType": "page", "recordsPath": "$.data[*]",
		"maxRetries": "1", "incrementalField": "$.updatedAt", "incrementalParam": "updatedSince",
	})
	a := buildReader(t, values, node())
	items, err := a.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Open(ctx, items[0]); err == nil || !strings.Contains(err.Error(), "page 3") {
		t.Fatalf("Open while the API is down: %v", err)
	}
	// Node A dies; node B gets the file job.
	proxy.broken.Store(false)
	proxy.after = 0
	b := buildReader(t, values, node())
	again, err := b.List(ctx)
	if err != nil || len(again) != 1 || again[0].Key != items[0].Key {
		t.Fatalf("node B listed %v (%v), want node A's pull %s", again, err, items[0].Key)
	}
	u, err := b.Open(ctx, again[0])
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, readIDs(t, u), 1, 45)
	var froms []int64
	for _, p := range s.FeedServed() {
		froms = append(froms, p.From)
	}
	if len(froms) != 5 || froms[2] != 21 || froms[4] != 41 {
		t.Fatalf("pages served (first ids) %v, want 1 11 21 31 41: node B fetched a stored page again", froms)
	}
	if err := b.Finish(ctx, again[0], &block.Completion{}); err != nil {
		t.Fatal(err)
	}
	// The next pull, on node C, sends the watermark node B stored.
	s.AddFeed(5)
	c := buildReader(t, values, node())
	ids, next := pullOnce(t, c)
	wantIDs(t, ids, 46, 50)
	if want := sandbox.FeedUpdatedAt(45).Format(time.RFC3339); next.Attrs[AttrPullWatermark] != want || next.Attrs[AttrPullID] != "2" {
		t.Fatalf("node C's pull: watermark %q, id %q; want %s and 2", next.Attrs[AttrPullWatermark], next.Attrs[AttrPullID], want)
	}
	keys, err := objects.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "watermark.json" {
		t.Fatalf("objects left after the pulls completed: %v (want only the watermark)", keys)
	}
}
