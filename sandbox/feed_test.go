package sandbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func ids(t *testing.T, data any) []int64 {
	t.Helper()
	arr, ok := data.([]any)
	if !ok {
		t.Fatalf("data is %T", data)
	}
	out := make([]int64, len(arr))
	for i, e := range arr {
		out[i] = int64(e.(map[string]any)["id"].(float64))
	}
	return out
}

func checkAll(t *testing.T, got []int64, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from+1 {
		t.Fatalf("got %d records, want %d..%d", len(got), from, to)
	}
	for i, id := range got {
		if id != from+int64(i) {
			t.Fatalf("record %d has id %d, want %d", i, id, from+int64(i))
		}
	}
}

// TestFeedPaginatesInEveryStyle walks the feed to its end in each style and
// gets every record exactly once.
func TestFeedPaginatesInEveryStyle(t *testing.T) {
	e := newEnv(t, Config{FeedSize: 23})
	var all []int64
	for page := 1; ; page++ {
		m := e.expect(e.do("GET", "/x/feed/page?size=10&page="+itoa(page), ""), 200).obj()
		all = append(all, ids(t, m["data"])...)
		if m["hasMore"] != true {
			if m["totalPages"].(float64) != 3 || page != 3 {
				t.Fatalf("page %d of %v", page, m["totalPages"])
			}
			break
		}
	}
	checkAll(t, all, 1, 23)

	all = nil
	for off := 0; ; off += 10 {
		m := e.expect(e.do("GET", "/x/feed/offset?limit=10&offset="+itoa(off), ""), 200).obj()
		got := ids(t, m["data"])
		if len(got) == 0 {
			break
		}
		all = append(all, got...)
	}
	checkAll(t, all, 1, 23)

	all = nil
	cursor := ""
	for {
		m := e.expect(e.do("POST", "/x/feed/cursor", `{"limit": 10, "cursor": "`+cursor+`"}`), 200).obj()
		all = append(all, ids(t, m["data"])...)
		next, _ := m["meta"].(map[string]any)["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	checkAll(t, all, 1, 23)

	all = nil
	path := "/x/feed/link?size=10"
	for path != "" {
		r := e.expect(e.do("GET", path, ""), 200)
		all = append(all, ids(t, r.body)...)
		path = ""
		if l := r.header.Get("Link"); l != "" {
			path = strings.TrimPrefix(strings.SplitN(l, ">", 2)[0], "<")
		}
	}
	checkAll(t, all, 1, 23)
	if n := len(e.s.FeedServed()); n != 3+4+3+3 {
		t.Fatalf("served %d pages", n)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestFeedUpdatedSinceAndGrowth: an incremental pull sees only what changed.
func TestFeedUpdatedSinceAndGrowth(t *testing.T) {
	e := newEnv(t, Config{FeedSize: 20})
	since := FeedUpdatedAt(15).Format(time.RFC3339)
	m := e.expect(e.do("GET", "/x/feed/offset?updatedSince="+since, ""), 200).obj()
	checkAll(t, ids(t, m["data"]), 16, 20)
	e.s.AddFeed(5)
	m = e.expect(e.do("GET", "/x/feed/offset?updatedSince="+itoa(int(FeedUpdatedAt(20).UnixMilli())), ""), 200).obj()
	checkAll(t, ids(t, m["data"]), 21, 25)
	if m["pagination"].(map[string]any)["total"].(float64) != 5 {
		t.Fatalf("total %v", m["pagination"])
	}
	e.expect(e.do("GET", "/x/feed/offset?updatedSince=yesterday", ""), 400)
	e.expect(e.do("GET", "/x/feed/cursor?cursor=forged", ""), 400)
	e.expect(e.do("GET", "/x/feed/sideways", ""), 404)
}

// TestFeedGetsFaults: an endpoint rule makes the feed answer 429 with Retry-After.
func TestFeedGetsFaults(t *testing.T) {
	e := newEnv(t, Config{Faults: FaultConfig{Endpoints: map[string]FaultRule{"/x/feed/page": {Rate429: 1, RetryAfterSeconds: 3}}}})
	r := e.do("GET", "/x/feed/page", "")
	if r.status != 429 || r.header.Get("Retry-After") != "3" {
		t.Fatalf("status %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	e.expect(e.do("GET", "/x/feed/offset", ""), 200)
	if len(e.s.FeedServed()) != 1 {
		t.Fatal("a faulted request must serve nothing")
	}
}
