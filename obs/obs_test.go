package obs

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/internal/testenv"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/secrets/redact"
	"github.com/connectplus/connectplus/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a settable clock for the recorder.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestQuantileFromBuckets(t *testing.T) {
	var h [store.LatencyBuckets]int64
	if _, ok := Quantile(h, 0.95); ok {
		t.Fatal("quantile of nothing")
	}
	// 100 calls of 3 ms: every quantile lies in 3 ms's bucket.
	h[store.LatencyBucket(3*time.Millisecond)] = 100
	for _, q := range []float64{0.5, 0.95, 0.99} {
		d, _ := Quantile(h, q)
		if store.LatencyBucket(d) != store.LatencyBucket(3*time.Millisecond) {
			t.Fatalf("q%.2f = %v", q, d)
		}
	}
	// Random latencies: the bucket quantile is within one bucket of the
	// exact one.
	rng := rand.New(rand.NewPCG(1, 2))
	var samples []time.Duration
	h = [store.LatencyBuckets]int64{}
	for i := 0; i < 5000; i++ {
		d := time.Duration(rng.ExpFloat64() * float64(40*time.Millisecond))
		samples = append(samples, d)
		h[store.LatencyBucket(d)]++
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
		exact := samples[int(q*float64(len(samples)))-1]
		got, _ := Quantile(h, q)
		if d := store.LatencyBucket(got) - store.LatencyBucket(exact); d < -1 || d > 1 {
			t.Fatalf("q%.2f: %v from buckets, %v exact", q, got, exact)
		}
	}
}

func TestParseWindowAndStep(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	w, err := ParseWindow(get(nil), now)
	if err != nil || w.To.Sub(w.From) != 24*time.Hour {
		t.Fatalf("default window %+v %v", w, err)
	}
	if _, err := ParseWindow(get(map[string]string{"window": "800h"}), now); !errors.Is(err, ErrBadWindow) {
		t.Fatalf("window over 30 days: %v", err)
	}
	w, err = ParseWindow(get(map[string]string{"from": "2025-03-01T10:00:00Z", "to": "2025-03-01T11:00:00Z"}), now)
	if err != nil || w.To.Sub(w.From) != time.Hour {
		t.Fatalf("custom range %+v %v", w, err)
	}
	if st, _ := ParseStep("", w); st != time.Minute {
		t.Fatalf("auto step for 1 h: %v", st)
	}
	if _, err := ParseStep("30s", w); err == nil {
		t.Fatal("sub-minute step accepted")
	}
}

// Events fed to the recorder reach the store at their minute, and the
// queries read them back: snapshot tiles, series, block-wise counts with
// endpoints, error summary, and the request log with credentials
// removed, secrets redacted and bodies truncated.
func TestRecorderToQueries(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	red := redact.New()
	red.Add("s3cr3t-value-123")
	clk := &clock{t: time.Date(2025, 3, 1, 10, 0, 5, 0, time.UTC)}
	rec := NewRecorder(Options{Store: st, Now: clk.Now, Redactor: red, RequestBodyLimit: 64})
	dep := runstate.Deployment{OrgID: "o1", FlowID: "f1", FlowName: "customers"}
	calls := rec.Calls(dep)

	rec.LineageStarted(dep, false)
	rec.Progress(dep, 1234)
	for i := 0; i < 10; i++ {
		status := 200
		if i >= 8 {
			status = 503
		}
		calls.RecordCall(&block.Call{Block: "post", Endpoint: "POST https://api/v2/customers", Method: "POST", URL: "https://api/v2/customers?k=s3cr3t-value-123",
			RequestID: "L1-" + string(rune('0'+i)), LineageID: "L1", Seq: int64(i + 1), Latency: time.Duration(i+1) * 10 * time.Millisecond,
			Attempts: 1, Status: status, Exhausted: status == 503,
			RequestHeader: http.Header{"Authorization": {"Bearer abc"}, "X-Cap-Request-Id": {"L1-1"}},
			RequestBody:   []byte(`{"name":"s3cr3t-value-123","pad":"` + strings.Repeat("x", 100) + `"}`), ResponseBody: []byte(`{"ok":true}`)})
	}
	clk.Set(clk.Now().Add(time.Minute))
	rec.LineageDone(dep, engine.LineageResult{ID: "L1", Source: "read", Status: engine.StatusPartial,
		Counts:  block.Outcomes{In: 10, Delivered: 8, Failed: 2, RetryExhausted: 2},
		Blocks:  []engine.BlockCounts{{Name: "read", In: 1, Out: 1}, {Name: "post", In: 10, Out: 8, Failed: 2}},
		Errors:  []engine.ErrorCount{{Block: "post", Code: 503, Message: "Service Unavailable", Count: 2}},
		Started: clk.Now().Add(-time.Minute), Finished: clk.Now()})
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	q := NewQuerier(st)
	w := Window{From: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC)}
	s, err := q.Snapshot(ctx, "o1", nil, w)
	if err != nil {
		t.Fatal(err)
	}
	if s.ProcessedUnits != 10 || s.Failed != 2 || s.ErrorPct == nil || *s.ErrorPct != 20 || s.FilesPicked != 1 || s.FilesPartial != 1 || s.BytesRead != 1234 {
		t.Fatalf("snapshot %+v", s)
	}
	if s.TopError == nil || s.TopError.Message != "Service Unavailable" || s.TopError.Count != 2 || s.Calls5xx != 2 || s.Latency.P95 == nil {
		t.Fatalf("snapshot top error / calls %+v", s)
	}
	if s.RPM != 0.083 { // 10 records in 120 minutes
		t.Fatalf("rpm %v", s.RPM)
	}
	if other, _ := q.Snapshot(ctx, "o2", nil, w); other.ProcessedUnits != 0 || other.Calls != 0 {
		t.Fatalf("another organisation sees o1's figures: %+v", other)
	}
	ser, err := q.Series(ctx, "o1", []string{"f1"}, nil, Window{From: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 1, 10, 3, 0, 0, time.UTC)}, time.Minute)
	if err != nil || len(ser.Points) != 3 || ser.Points[0].Calls != 10 || ser.Points[1].RecordsIn != 10 || ser.Points[1].Failed != 2 {
		t.Fatalf("series %+v %v", ser, err)
	}
	bc, err := q.Blocks(ctx, "o1", "f1", []string{"read", "post"}, w)
	if err != nil || len(bc.Blocks) != 2 || bc.Blocks[0].Block != "read" || bc.Blocks[1].Failed != 2 || bc.Blocks[1].Errors != 2 ||
		len(bc.Blocks[1].Endpoints) != 1 || bc.Blocks[1].Endpoints[0].Calls5xx != 2 {
		t.Fatalf("blocks %+v %v", bc, err)
	}
	reqs, err := q.Requests(ctx, "o1", "L1", "", true, 0, 0)
	if err != nil || len(reqs) != 2 {
		t.Fatalf("failed requests %+v %v", reqs, err)
	}
	full, err := q.Request(ctx, "o1", itoa(reqs[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(full.RequestBody+full.URL+full.RequestHeaders, "s3cr3t") || strings.Contains(full.RequestHeaders, "abc") ||
		!strings.Contains(full.RequestHeaders, "Authorization: "+Redacted) || !full.Truncated || len(full.RequestBody) > 64 {
		t.Fatalf("stored request not cleaned: %+v", full)
	}
	if _, err := q.Request(ctx, "o2", itoa(reqs[0].ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another organisation read a request: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
