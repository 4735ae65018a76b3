package obs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/connectplus/connectplus/store"
)

// ErrBadWindow marks a window or step the queries refuse.
var ErrBadWindow = errors.New("bad window")

// MaxWindow is the longest window a query may ask for (the retention).
const MaxWindow = 30 * 24 * time.Hour

// Window is a half-open time range [From, To).
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// ParseWindow reads a window from query values: from and to (RFC 3339,
// a custom range), or window (a Go duration ending now, default 24h).
func ParseWindow(get func(string) string, now time.Time) (Window, error) {
	w := Window{To: now}
	if f, t := get("from"), get("to"); f != "" || t != "" {
		if f == "" {
			return w, fmt.Errorf("%w: from is required with to", ErrBadWindow)
		}
		from, err := time.Parse(time.RFC3339, f)
		if err != nil {
			return w, fmt.Errorf("%w: from: %v", ErrBadWindow, err)
		}
		w.From = from
		if t != "" {
			to, err := time.Parse(time.RFC3339, t)
			if err != nil {
				return w, fmt.Errorf("%w: to: %v", ErrBadWindow, err)
			}
			w.To = to
		}
	} else {
		d := 24 * time.Hour
		if v := get("window"); v != "" {
			var err error
			if d, err = time.ParseDuration(v); err != nil {
				return w, fmt.Errorf("%w: window: %v", ErrBadWindow, err)
			}
		}
		w.From = now.Add(-d)
	}
	w.From, w.To = w.From.UTC(), w.To.UTC()
	switch {
	case !w.To.After(w.From):
		return w, fmt.Errorf("%w: the window ends before it starts", ErrBadWindow)
	case w.To.Sub(w.From) > MaxWindow+time.Minute:
		return w, fmt.Errorf("%w: at most 30 days (720h)", ErrBadWindow)
	}
	return w, nil
}

// ParseStep reads step (a Go duration, at least 1m) or picks one giving
// about 60 points, in whole minutes (whole hours from 6 h up).
func ParseStep(v string, w Window) (time.Duration, error) {
	if v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%w: step: %v", ErrBadWindow, err)
		}
		if d < time.Minute || d%time.Minute != 0 {
			return 0, fmt.Errorf("%w: step must be whole minutes, at least 1m", ErrBadWindow)
		}
		if w.To.Sub(w.From)/d > 2000 {
			return 0, fmt.Errorf("%w: more than 2000 steps", ErrBadWindow)
		}
		return d, nil
	}
	d := (w.To.Sub(w.From) / 60).Truncate(time.Minute)
	if d >= 6*time.Hour {
		d = d.Truncate(time.Hour)
	}
	return max(d, time.Minute), nil
}

// Percentiles are latencies in seconds read from a histogram; nil when
// nothing was measured.
type Percentiles struct {
	P50 *float64 `json:"p50"`
	P90 *float64 `json:"p90"`
	P95 *float64 `json:"p95"`
	P99 *float64 `json:"p99"`
}

// Quantile reads quantile q (0..1) from histogram buckets: the bucket
// holding the q-th call, interpolated linearly between its bounds. Calls
// in the last (unbounded) bucket read as its lower bound.
func Quantile(hist [store.LatencyBuckets]int64, q float64) (time.Duration, bool) {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var cum int64
	for k, n := range hist {
		if n == 0 {
			continue
		}
		if float64(cum+n) >= rank {
			lo := time.Duration(0)
			if k > 0 {
				lo = store.LatencyBound(k - 1)
			}
			hi := store.LatencyBound(k)
			if hi == 0 { // the unbounded bucket
				return lo, true
			}
			frac := (rank - float64(cum)) / float64(n)
			frac = math.Min(math.Max(frac, 0), 1)
			return lo + time.Duration(frac*float64(hi-lo)), true
		}
		cum += n
	}
	return store.LatencyBound(store.LatencyBuckets - 2), true
}

// PercentilesOf reads P50, P90, P95 and P99 from a histogram.
func PercentilesOf(hist [store.LatencyBuckets]int64) Percentiles {
	get := func(q float64) *float64 {
		d, ok := Quantile(hist, q)
		if !ok {
			return nil
		}
		s := math.Round(d.Seconds()*1e6) / 1e6
		return &s
	}
	return Percentiles{P50: get(0.50), P90: get(0.90), P95: get(0.95), P99: get(0.99)}
}

// Querier answers the observability API from the store.
type Querier struct {
	st *store.Store
}

// NewQuerier returns a Querier over st.
func NewQuerier(st *store.Store) *Querier { return &Querier{st: st} }

// Snapshot is the System Snapshot (and a dataflow's overall performance):
// the four tiles and the figures behind them.
type Snapshot struct {
	Window
	// ProcessedUnits: records handled in the window (input count).
	ProcessedUnits int64 `json:"processedUnits"`
	Delivered      int64 `json:"delivered"` // output count
	Filtered       int64 `json:"filtered"`
	Failed         int64 `json:"failed"`
	Warnings       int64 `json:"warnings"`
	RetryExhausted int64 `json:"retryExhausted"`
	// ErrorPct = failed ÷ processed × 100; AccuracyPct = delivered ÷
	// processed × 100 (nil without input).
	ErrorPct    *float64 `json:"errorPct"`
	AccuracyPct *float64 `json:"accuracyPct"`
	// TopError is the most frequent error message in the window.
	TopError *store.ErrorRow `json:"topError"`
	// Latency percentiles (seconds) of destination API calls; P95 is the
	// P95 Latency tile.
	Latency Percentiles `json:"latency"`
	// RPM: processed records per minute over the window.
	RPM          float64 `json:"rpm"`
	FilesPicked  int64   `json:"filesPicked"`
	Files        int64   `json:"files"`
	FilesFailed  int64   `json:"filesFailed"`
	FilesPartial int64   `json:"filesPartial"`
	BytesRead    int64   `json:"bytesRead"`
	Calls        int64   `json:"calls"`
	Calls4xx     int64   `json:"calls4xx"`
	Calls5xx     int64   `json:"calls5xx"`
}

func pct(n, d int64) *float64 {
	if d <= 0 {
		return nil
	}
	v := math.Round(float64(n)/float64(d)*100*1000) / 1000
	return &v
}

// Snapshot sums an organisation's dataflows (or those of flowIDs) over w.
func (q *Querier) Snapshot(ctx context.Context, orgID string, flowIDs []string, w Window) (Snapshot, error) {
	s := Snapshot{Window: w}
	total := ""
	if len(flowIDs) == 0 {
		// The organisation's aggregate rows: one per bucket, whatever the
		// number of dataflows.
		flowIDs = []string{store.AllFlows}
	}
	f := store.MetricFilter{OrgID: orgID, FlowIDs: flowIDs, Block: &total, From: w.From, To: w.To}
	rows, err := q.st.SumCounts(ctx, f)
	if err != nil {
		return s, err
	}
	for _, r := range rows {
		s.ProcessedUnits += r.RecordsIn
		s.Delivered += r.RecordsOut
		s.Filtered += r.Filtered
		s.Failed += r.Failed
		s.Warnings += r.Warnings
		s.RetryExhausted += r.RetryExhausted
		s.FilesPicked += r.UnitsIn
		s.Files += r.Files
		s.FilesFailed += r.FilesFailed
		s.FilesPartial += r.FilesPartial
		s.BytesRead += r.Bytes
	}
	f.Block = nil
	hs, err := q.st.SumHTTP(ctx, f)
	if err != nil {
		return s, err
	}
	var hist store.HTTPCounts
	for _, h := range hs {
		hist.Add(h.HTTPCounts)
	}
	s.Calls, s.Calls4xx, s.Calls5xx = hist.Calls, hist.S4xx, hist.S5xx
	s.Latency = PercentilesOf(hist.Hist)
	s.ErrorPct = pct(s.Failed, s.ProcessedUnits)
	s.AccuracyPct = pct(s.Delivered, s.ProcessedUnits)
	if mins := w.To.Sub(w.From).Minutes(); mins > 0 {
		s.RPM = math.Round(float64(s.ProcessedUnits)/mins*1000) / 1000
	}
	errs, err := q.st.ErrorSummary(ctx, store.ErrorFilter{MetricFilter: f, Limit: 1})
	if err != nil {
		return s, err
	}
	if len(errs) > 0 {
		s.TopError = &errs[0]
	}
	return s, nil
}

// Point is one step of a dataflow's (or the organisation's) time series.
type Point struct {
	At             time.Time   `json:"at"`
	RecordsIn      int64       `json:"recordsIn"`
	RecordsOut     int64       `json:"recordsOut"`
	Filtered       int64       `json:"filtered"`
	Failed         int64       `json:"failed"`
	Warnings       int64       `json:"warnings"`
	RetryExhausted int64       `json:"retryExhausted"`
	FilesPicked    int64       `json:"filesPicked"`
	Files          int64       `json:"files"`
	BytesRead      int64       `json:"bytesRead"`
	ErrorPct       *float64    `json:"errorPct"`
	RPM            float64     `json:"rpm"`
	Calls          int64       `json:"calls"`
	Calls2xx       int64       `json:"calls2xx"`
	Calls4xx       int64       `json:"calls4xx"`
	Calls5xx       int64       `json:"calls5xx"`
	Latency        Percentiles `json:"latency"`
}

// Series is a time series answer.
type Series struct {
	Window
	Step   string  `json:"step"`
	Points []Point `json:"points"`
}

// Series returns per-step figures of flowIDs (all of the organisation's
// when empty) over w; block, when set, narrows to one block.
func (q *Querier) Series(ctx context.Context, orgID string, flowIDs []string, block *string, w Window, step time.Duration) (Series, error) {
	out := Series{Window: w, Step: step.String()}
	if len(flowIDs) == 0 && block == nil {
		flowIDs = []string{store.AllFlows}
	}
	pts, err := q.st.Series(ctx, store.MetricFilter{OrgID: orgID, FlowIDs: flowIDs, Block: block, From: w.From, To: w.To}, step)
	if err != nil {
		return out, err
	}
	out.Points = make([]Point, 0, len(pts))
	for _, p := range pts {
		c, h := p.Counts, p.HTTP
		pt := Point{At: p.At, RecordsIn: c.RecordsIn, RecordsOut: c.RecordsOut, Filtered: c.Filtered, Failed: c.Failed, Warnings: c.Warnings,
			RetryExhausted: c.RetryExhausted, FilesPicked: c.UnitsIn, Files: c.Files, BytesRead: c.Bytes,
			ErrorPct: pct(c.Failed, c.RecordsIn), RPM: math.Round(float64(c.RecordsIn)/step.Minutes()*1000) / 1000,
			Calls: h.Calls, Calls2xx: h.S2xx, Calls4xx: h.S4xx, Calls5xx: h.S5xx, Latency: PercentilesOf(h.Hist)}
		if block != nil && *block != "" {
			// A block's own rows count units, not the dataflow's records.
			pt.RecordsIn, pt.RecordsOut = c.UnitsIn, c.UnitsOut
			pt.ErrorPct = pct(c.Failed, c.UnitsIn)
		}
		out.Points = append(out.Points, pt)
	}
	return out, nil
}

// Endpoint is one destination endpoint's calls over a window.
type Endpoint struct {
	Endpoint   string      `json:"endpoint"`
	Calls      int64       `json:"calls"`
	Calls2xx   int64       `json:"calls2xx"`
	Calls3xx   int64       `json:"calls3xx"`
	Calls4xx   int64       `json:"calls4xx"`
	Calls5xx   int64       `json:"calls5xx"`
	NoAnswer   int64       `json:"noAnswer"`
	Attempts   int64       `json:"attempts"`
	Exhausted  int64       `json:"retryExhausted"`
	AvgSeconds *float64    `json:"avgSeconds"`
	Latency    Percentiles `json:"latency"`
	// Buckets is the latency histogram: Counts[k] calls took at most
	// Bounds[k] seconds (the last count has no bound).
	Buckets Histogram `json:"histogram"`
}

// Histogram is latency bucket counts with their upper bounds (seconds).
type Histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []int64   `json:"counts"`
}

func histogramOf(h [store.LatencyBuckets]int64) Histogram {
	out := Histogram{Bounds: make([]float64, 0, store.LatencyBuckets-1), Counts: h[:]}
	for k := 0; k < store.LatencyBuckets-1; k++ {
		out.Bounds = append(out.Bounds, store.LatencyBound(k).Seconds())
	}
	return out
}

// BlockRow is one block's counts over a window (block-wise performance).
type BlockRow struct {
	Block     string     `json:"block"`
	In        int64      `json:"in"`
	Out       int64      `json:"out"`
	Filtered  int64      `json:"filtered"`
	Failed    int64      `json:"failed"`
	Errors    int64      `json:"errors"` // failed records in the error summary
	Endpoints []Endpoint `json:"endpoints,omitempty"`
}

// BlockCounts is the block-wise table of one dataflow.
type BlockCounts struct {
	Window
	FlowID string     `json:"flowId"`
	Blocks []BlockRow `json:"blocks"`
}

// Blocks returns one dataflow's per-block counts and endpoints over w, in
// the order given (the document's), then any other block by name.
func (q *Querier) Blocks(ctx context.Context, orgID, flowID string, order []string, w Window) (BlockCounts, error) {
	out := BlockCounts{Window: w, FlowID: flowID, Blocks: []BlockRow{}}
	f := store.MetricFilter{OrgID: orgID, FlowIDs: []string{flowID}, From: w.From, To: w.To}
	rows, err := q.st.SumCounts(ctx, f)
	if err != nil {
		return out, err
	}
	by := map[string]*BlockRow{}
	get := func(name string) *BlockRow {
		if b := by[name]; b != nil {
			return b
		}
		b := &BlockRow{Block: name}
		by[name] = b
		return b
	}
	for _, r := range rows {
		if r.Block == "" {
			continue
		}
		b := get(r.Block)
		b.In, b.Out, b.Filtered, b.Failed = r.UnitsIn, r.UnitsOut, r.Filtered, r.Failed
	}
	hs, err := q.st.SumHTTP(ctx, f)
	if err != nil {
		return out, err
	}
	for _, h := range hs {
		e := Endpoint{Endpoint: h.Endpoint, Calls: h.Calls, Calls2xx: h.S2xx, Calls3xx: h.S3xx, Calls4xx: h.S4xx, Calls5xx: h.S5xx,
			NoAnswer: h.NoAnswer, Attempts: h.Attempts, Exhausted: h.Exhausted, Latency: PercentilesOf(h.Hist), Buckets: histogramOf(h.Hist)}
		if h.Calls > 0 {
			avg := math.Round(float64(h.LatencyMicros)/float64(h.Calls)) / 1e6
			e.AvgSeconds = &avg
		}
		b := get(h.Block)
		b.Endpoints = append(b.Endpoints, e)
	}
	errs, err := q.st.ErrorSummary(ctx, store.ErrorFilter{MetricFilter: f})
	if err != nil {
		return out, err
	}
	for _, e := range errs {
		get(e.Block).Errors += e.Count
	}
	rank := map[string]int{}
	for i, n := range order {
		rank[n] = i + 1
	}
	for _, b := range by {
		if b.Block == "" {
			continue
		}
		sort.Slice(b.Endpoints, func(i, j int) bool { return b.Endpoints[i].Endpoint < b.Endpoints[j].Endpoint })
		out.Blocks = append(out.Blocks, *b)
	}
	sort.Slice(out.Blocks, func(i, j int) bool {
		ri, rj := rank[out.Blocks[i].Block], rank[out.Blocks[j].Block]
		switch {
		case ri != rj && ri != 0 && rj != 0:
			return ri < rj
		case ri != rj:
			return ri != 0
		}
		return out.Blocks[i].Block < out.Blocks[j].Block
	})
	return out, nil
}

// ErrorSummary is the error summary answer.
type ErrorSummary struct {
	Window
	Errors []store.ErrorRow `json:"errors"`
}

// Errors lists failed records by dataflow, block, code and message.
func (q *Querier) Errors(ctx context.Context, orgID string, flowIDs []string, block *string, search string, limit int, w Window) (ErrorSummary, error) {
	out := ErrorSummary{Window: w}
	rows, err := q.st.ErrorSummary(ctx, store.ErrorFilter{MetricFilter: store.MetricFilter{OrgID: orgID, FlowIDs: flowIDs, Block: block, From: w.From, To: w.To},
		Search: search, Limit: limit})
	if err != nil {
		return out, err
	}
	if rows == nil {
		rows = []store.ErrorRow{}
	}
	out.Errors = rows
	return out, nil
}

// Requests lists the stored calls of one lineage (a run), oldest first.
func (q *Querier) Requests(ctx context.Context, orgID, lineageID, requestID string, failedOnly bool, limit int, after int64) ([]store.RequestLog, error) {
	rs, err := q.st.ListRequests(ctx, store.RequestFilter{OrgID: orgID, LineageID: lineageID, RequestID: requestID, FailedOnly: failedOnly, Limit: limit, AfterID: after})
	if rs == nil {
		rs = []store.RequestLog{}
	}
	return rs, err
}

// Request reads one stored call with its (truncated, redacted) bodies.
func (q *Querier) Request(ctx context.Context, orgID, id string) (store.RequestLog, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return store.RequestLog{}, fmt.Errorf("request %q: %w", id, store.ErrNotFound)
	}
	return q.st.GetRequest(ctx, orgID, n)
}
