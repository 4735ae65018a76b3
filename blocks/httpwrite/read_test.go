package httpwrite

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/block/exprs"
	"github.com/connectplus/connectplus/jsonv"
	"github.com/connectplus/connectplus/sandbox"
)

// buildReader runs the compile step (as validation and the engine do) and
// builds an http_read instance.
func buildReader(t *testing.T, values map[string]string, env *block.Env) *reader {
	t.Helper()
	raw := map[string]any{}
	for k, v := range values {
		if f, ok := ReadSpec.Field(k); ok && f.Secret {
			raw[k] = map[string]any{"$config": "secret." + k}
			continue
		}
		raw[k] = v
	}
	cfg, probs := ReadSpec.CompileConfig(raw, mapResolver(values), exprs.NewStep(exprs.Options{}))
	if len(probs) > 0 {
		t.Fatalf("config problems: %v", probs)
	}
	b, err := ReadSpec.New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	r := b.(*reader)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func readerEnv(t *testing.T, stateDir string) *block.Env {
	env := testEnv()
	env.Block = "pull"
	env.StateDir = stateDir
	return env
}

func feedValues(ts *httptest.Server, s *sandbox.Server, extra map[string]string) map[string]string {
	v := sandboxValues(ts, s, nil)
	v["pageSize"] = "10"
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// pullOnce runs one scheduled pull: List, Open, read the file, Finish.
func pullOnce(t *testing.T, r *reader) ([]int64, *block.Unit) {
	t.Helper()
	ctx := context.Background()
	items, err := r.List(ctx)
	if err != nil || len(items) != 1 {
		t.Fatalf("List: %v %v", items, err)
	}
	u, err := r.Open(ctx, items[0])
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ids := readIDs(t, u)
	if err := r.Finish(ctx, items[0], &block.Completion{}); err != nil {
		t.Fatal(err)
	}
	return ids, u
}

func readIDs(t *testing.T, u *block.Unit) []int64 {
	t.Helper()
	rc, err := u.File.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonv.Parse(b)
	if err != nil {
		t.Fatalf("the pull's file is not JSON: %v\n%s", err, b)
	}
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("the pull's file is a %s", jsonv.TypeName(v))
	}
	out := make([]int64, len(arr))
	for i, e := range arr {
		id, _ := e.(*jsonv.Object).Get("id")
		out[i] = id.(int64)
	}
	return out
}

func wantIDs(t *testing.T, got []int64, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from+1 {
		t.Fatalf("got %d records %v, want ids %d..%d", len(got), got, from, to)
	}
	for i, id := range got {
		if id != from+int64(i) {
			t.Fatalf("record %d: id %d, want %d (got %v)", i, id, from+int64(i), got)
		}
	}
}

// TestReadPaginatesInEveryStyle pulls the sandbox feed to its end with each
// pagination type: every record once, in order, and no page fetched twice.
func TestReadPaginatesInEveryStyle(t *testing.T) {
	for _, c := range []struct {
		style, endpoint string
		extra           map[string]string
		pages           int
	}{
		{"page", "/x/feed/page", map[string]string{"paginationType": "page", "recordsPath": "$.data[*]"}, 3},
		{"offset", "/x/feed/offset", map[string]string{"paginationType": "offset", "recordsPath": "$.data[*]"}, 3},
		{"cursor", "/x/feed/cursor", map[string]string{"paginationType": "cursor", "recordsPath": "$.data[*]", "cursorPath": "$.meta.nextCursor"}, 3},
		{"cursor-post-body", "/x/feed/cursor", map[string]string{"paginationType": "cursor", "recordsPath": "$.data[*]", "cursorPath": "$.meta.nextCursor",
			"apiMethod": "POST", "paramsIn": "body"}, 3},
		{"link", "/x/feed/link", map[string]string{"paginationType": "link"}, 3},
	} {
		t.Run(c.style, func(t *testing.T) {
			s, ts := sandbox.NewTestServer(sandbox.Config{FeedSize: 23})
			defer ts.Close()
			extra := map[string]string{"apiEndPoint": c.endpoint}
			for k, v := range c.extra {
				extra[k] = v
			}
			r := buildReader(t, feedValues(ts, s, extra), readerEnv(t, t.TempDir()))
			ids, u := pullOnce(t, r)
			wantIDs(t, ids, 1, 23)
			if got := len(s.FeedServed()); got != c.pages {
				t.Fatalf("served %d pages, want %d: %+v", got, c.pages, s.FeedServed())
			}
			if u.Attrs[AttrRecordCount] != "23" || !strings.HasPrefix(u.Attrs[block.AttrFilename], "api_pull_") {
				t.Fatalf("attributes %v", u.Attrs)
			}
		})
	}
}

// TestReadEndCondition: the Gen-1 "API Iteration End Condition" ends the
// pull on the answer that says so, and with pagination none the call is
// repeated (the endpoint reading pull.page) until it holds.
func TestReadEndCondition(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{FeedSize: 20})
	defer ts.Close()
	r := buildReader(t, feedValues(ts, s, map[string]string{
		"apiEndPoint": "/x/feed/page", "paginationType": "page", "recordsPath": "$.data[*]",
		"endCondition": "${response.hasMore:equals('false')}",
	}), readerEnv(t, t.TempDir()))
	ids, _ := pullOnce(t, r)
	wantIDs(t, ids, 1, 20)
	// Page 2 is full (10 of 10), so the page rule alone would ask for a
	// third, empty page; the condition stops at page 2.
	if got := len(s.FeedServed()); got != 2 {
		t.Fatalf("served %d pages: %+v", got, s.FeedServed())
	}

	s2, ts2 := sandbox.NewTestServer(sandbox.Config{FeedSize: 12})
	defer ts2.Close()
	r2 := buildReader(t, feedValues(ts2, s2, map[string]string{
		"apiEndPoint": "/x/feed/page?size=5&page=${pull.page}", "recordsPath": "$.data[*]",
		"API Iteration End Condition": "${response.page:ge(${response.totalPages})}", "NEO API METHOD": "GET",
	}), readerEnv(t, t.TempDir()))
	ids, _ = pullOnce(t, r2)
	wantIDs(t, ids, 1, 12)
	if got := len(s2.FeedServed()); got != 3 {
		t.Fatalf("served %d pages", got)
	}
}

// TestReadIncrementalWatermark: the second scheduled run fetches only the
// records added since the first completed, and the watermark survives a
// new process (a new block instance on the same state directory).
func TestReadIncrementalWatermark(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{FeedSize: 30})
	defer ts.Close()
	dir := t.TempDir()
	values := feedValues(ts, s, map[string]string{
		"apiEndPoint": "/x/feed/offset", "paginationType": "offset", "recordsPath": "$.data[*]",
		"incrementalField": "$.updatedAt", "incrementalParam": "updatedSince",
	})
	ids, first := pullOnce(t, buildReader(t, values, readerEnv(t, dir)))
	wantIDs(t, ids, 1, 30)
	if first.Attrs[AttrPullWatermark] != "" {
		t.Fatalf("first pull sent watermark %q", first.Attrs[AttrPullWatermark])
	}
	s.AddFeed(7)
	ids, second := pullOnce(t, buildReader(t, values, readerEnv(t, dir)))
	wantIDs(t, ids, 31, 37)
	if want := sandbox.FeedUpdatedAt(30).Format(time.RFC3339); second.Attrs[AttrPullWatermark] != want {
		t.Fatalf("second pull watermark %q, want %q", second.Attrs[AttrPullWatermark], want)
	}
	if second.Attrs[AttrPullID] != "2" {
		t.Fatalf("pull id %q", second.Attrs[AttrPullID])
	}
	// Nothing new: an empty pull, and the watermark stays.
	ids, _ = pullOnce(t, buildReader(t, values, readerEnv(t, dir)))
	if len(ids) != 0 {
		t.Fatalf("third pull got %v", ids)
	}
	s.AddFeed(1)
	ids, _ = pullOnce(t, buildReader(t, values, readerEnv(t, dir)))
	wantIDs(t, ids, 38, 38)
}

// flaky proxies to the sandbox and, while broken, answers every feed call
// with 503 (the API down).
type flaky struct {
	target *url.URL
	broken atomic.Bool
	calls  atomic.Int64
	after  int64 // break once this many feed calls went through (0: never)
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/x/feed/") {
		if n := f.calls.Add(1); f.after > 0 && n > f.after {
			f.broken.Store(true)
		}
		if f.broken.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"errors":[{"code":503,"message":"down"}]}`))
			return
		}
	}
	httputil.NewSingleHostReverseProxy(f.target).ServeHTTP(w, r)
}

// TestReadResumesFromTheLastCompletedPage: a pull that dies after page 2
// (the API goes down; the process is then replaced) continues at page 3 on
// the next run: pages 1 and 2 are not fetched again, no record is lost or
// repeated, and the watermark only advances once the pull completes.
func TestReadResumesFromTheLastCompletedPage(t *testing.T) {
	s, ts := sandbox.NewTestServer(sandbox.Config{FeedSize: 45})
	defer ts.Close()
	target, _ := url.Parse(ts.URL)
	proxy := &flaky{target: target, after: 2}
	pts := httptest.NewServer(proxy)
	defer pts.Close()
	dir := t.TempDir()
	values := feedValues(ts, s, map[string]string{
		"apiBaseUrl": pts.URL, "apiEndPoint": "/x/feed/page", "paginationType": "page", "recordsPath": "$.data[*]",
		"maxRetries": "1", "incrementalField": "$.id", "incrementalParam": "sinceId",
	})
	ctx := context.Background()
	r1 := buildReader(t, values, readerEnv(t, dir))
	items, err := r1.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r1.Open(ctx, items[0]); err == nil || !strings.Contains(err.Error(), "page 3") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Open while the API is down: %v", err)
	}
	// The process dies here (no Finish). A new one lists the same pull.
	proxy.broken.Store(false)
	proxy.after = 0
	r2 := buildReader(t, values, readerEnv(t, dir))
	again, err := r2.List(ctx)
	if err != nil || len(again) != 1 || again[0].Key != items[0].Key {
		t.Fatalf("after the crash List gave %v (%v), want the same pull %s", again, err, items[0].Key)
	}
	u, err := r2.Open(ctx, again[0])
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, readIDs(t, u), 1, 45)
	var froms []int64
	for _, p := range s.FeedServed() {
		froms = append(froms, p.From)
	}
	if want := []int64{1, 11, 21, 31, 41}; len(froms) != len(want) || froms[2] != 21 || froms[4] != 41 {
		t.Fatalf("pages served (first ids) %v, want %v: a completed page was fetched again", froms, want)
	}
	// This run fails downstream as a whole: the pull stays, as a new
	// attempt, and its stored pages are not fetched again.
	if err := r2.Finish(ctx, again[0], &block.Completion{Err: io.ErrUnexpectedEOF}); err != nil {
		t.Fatal(err)
	}
	third, _ := r2.List(ctx)
	if third[0].Key == again[0].Key || !strings.HasSuffix(third[0].Key, "pull-1-1") {
		t.Fatalf("a failed pull must come back as a new attempt, got %s", third[0].Key)
	}
	u, err = r2.Open(ctx, third[0])
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, readIDs(t, u), 1, 45)
	if n := len(s.FeedServed()); n != 5 {
		t.Fatalf("the retried pull fetched again: %d pages served", n)
	}
	if err := r2.Finish(ctx, third[0], &block.Completion{}); err != nil {
		t.Fatal(err)
	}
	wm, _ := r2.state.watermark()
	if wm.Value != "45" || wm.LastPull != 1 {
		t.Fatalf("watermark %+v", wm)
	}
}

// TestReadHonoursRetryAfterAndRetries: a 429 waits what Retry-After says,
// a 503 is retried, and the pull still gets every record once.
func TestReadHonoursRetryAfterAndRetries(t *testing.T) {
	var first time.Time
	rec, ts := newRecorder(t, func(n int, r *http.Request, body []byte) (int, http.Header, string) {
		switch n {
		case 0:
			first = time.Now()
			return 429, http.Header{"Retry-After": {"1"}}, `{"errors":[{"code":429}]}`
		case 1:
			return 503, nil, `{}`
		}
		if r.URL.Query().Get("page") == "2" {
			return 200, nil, `{"items":[{"id":3}]}`
		}
		return 200, nil, `{"items":[{"id":1},{"id":2}]}`
	})
	r := buildReader(t, map[string]string{
		"apiBaseUrl": ts.URL, "authType": "none", "apiEndPoint": "/feed", "paginationType": "page",
		"pageSize": "2", "recordsPath": "$.items[*]", "retryBackoff": "5ms", "maxRetryBackoff": "20ms", "rate": "100000",
	}, readerEnv(t, t.TempDir()))
	ids, _ := pullOnce(t, r)
	wantIDs(t, ids, 1, 3)
	reqs := rec.all()
	if len(reqs) != 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	if wait := reqs[1].at.Sub(first); wait < 900*time.Millisecond {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", wait)
	}
	if q := reqs[3].url; !strings.Contains(q, "page=2") || !strings.Contains(q, "size=2") {
		t.Fatalf("second page request %s", q)
	}
}

// TestReadFailsOnAPIError: a 4xx is not retried and fails the pull with
// the API's message; the watermark does not move.
func TestReadFailsOnAPIError(t *testing.T) {
	rec, ts := newRecorder(t, func(int, *http.Request, []byte) (int, http.Header, string) {
		return 400, nil, `{"errors":[{"code":400,"message":"bad filter"}]}`
	})
	r := buildReader(t, map[string]string{"apiBaseUrl": ts.URL, "authType": "none", "apiEndPoint": "/feed"}, readerEnv(t, t.TempDir()))
	items, _ := r.List(context.Background())
	if _, err := r.Open(context.Background(), items[0]); err == nil || !strings.Contains(err.Error(), "bad filter") {
		t.Fatalf("got %v", err)
	}
	if len(rec.all()) != 1 {
		t.Fatalf("a 400 was retried: %d requests", len(rec.all()))
	}
}

// TestReadValidation: the checks validation runs.
func TestReadValidation(t *testing.T) {
	for _, c := range []struct {
		values map[string]any
		path   string
	}{
		{map[string]any{"apiEndPoint": "/a", "authType": "none", "paginationType": "cursor"}, "cursorPath"},
		{map[string]any{"apiEndPoint": "/a", "authType": "none", "incrementalField": "$.updatedAt"}, "incrementalParam"},
		{map[string]any{"apiEndPoint": "/a", "authType": "none", "recordsPath": "$.data[["}, "recordsPath"},
		{map[string]any{"apiEndPoint": "/a", "authType": "none", "endCondition": "${response.done:equals('true')"}, "endCondition"},
		{map[string]any{"apiEndPoint": "/a", "authType": "none", "paramsIn": "body"}, "paramsIn"},
	} {
		_, probs := ReadSpec.CompileConfig(c.values, nil, exprs.NewStep(exprs.Options{}))
		found := false
		for _, p := range probs {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("%v: problems %v, want one on %s", c.values, probs, c.path)
		}
	}
}
