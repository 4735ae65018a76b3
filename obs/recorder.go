// Package obs is Connect+'s observability: a Recorder that the runtime
// feeds (lineage results, bytes read, every API call a destination makes)
// and that adds them up per organisation, dataflow, block and minute in
// memory, flushing them to the store's minute, hour and day rows; a
// retention job that prunes them; and the queries behind the System
// Snapshot, the Performance tab, the error summary and request
// drill-down, with P50/P90/P95/P99 read from stored latency histograms.
package obs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/secrets/redact"
	"github.com/connectplus/connectplus/store"
)

// Options configure a Recorder.
type Options struct {
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock metrics are bucketed by (tests move it).
	Now func() time.Time
	// FlushInterval is how often buffered metrics are written (10 s).
	FlushInterval time.Duration
	// Retention is how long hour and day rows are kept (30 days);
	// MinuteRetention how long minute rows are (3 days); RequestRetention
	// how long the request log is (7 days).
	Retention        time.Duration
	MinuteRetention  time.Duration
	RequestRetention time.Duration
	// PruneInterval is how often the retention job runs (1 h).
	PruneInterval time.Duration
	// RequestBodyLimit truncates stored request and response bodies
	// (4096 bytes); RequestsPerLineage bounds the successful and, apart,
	// the failed calls stored per source file (1000 each; 0 keeps the
	// default, a negative value stores none).
	RequestBodyLimit   int
	RequestsPerLineage int
	// Redactor removes decrypted secret values from what is stored.
	Redactor *redact.Redactor
	// OnLineage, when set, is told of every completed file too (alerts:
	// file notifications, after-each-run reports). It must not block.
	OnLineage func(d runstate.Deployment, r engine.LineageResult)
}

// Recorder accumulates runtime events into per-minute metrics.
type Recorder struct {
	opts Options
	log  *slog.Logger
	prom *promMetrics

	mu       sync.Mutex
	counts   map[countKey]*store.Counts
	http     map[httpKey]*store.HTTPCounts
	errs     map[errKey]int64
	reqs     []store.RequestLog
	quota    map[string]*lineageQuota
	flushing sync.Mutex
}

type countKey struct {
	org, flow, block string
	minute           int64
}

type httpKey struct {
	org, flow, block, endpoint string
	minute                     int64
}

type errKey struct {
	org, flow, block, msg string
	code                  int
	minute                int64
}

type lineageQuota struct {
	ok, failed int
	seen       time.Time
}

// maxBufferedRequests bounds the request log held while the store is
// unreachable; older entries are dropped first.
const maxBufferedRequests = 50000

// NewRecorder returns a Recorder; call Run to flush and prune in the
// background, or Flush and Prune directly.
func NewRecorder(opts Options) *Recorder {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 10 * time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.MinuteRetention <= 0 {
		opts.MinuteRetention = 3 * 24 * time.Hour
	}
	if opts.MinuteRetention > opts.Retention {
		opts.MinuteRetention = opts.Retention
	}
	if opts.RequestRetention <= 0 {
		opts.RequestRetention = 7 * 24 * time.Hour
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = time.Hour
	}
	if opts.RequestBodyLimit <= 0 {
		opts.RequestBodyLimit = 4096
	}
	if opts.RequestsPerLineage == 0 {
		opts.RequestsPerLineage = 1000
	}
	r := &Recorder{opts: opts, log: opts.Logger, prom: newPromMetrics()}
	r.reset()
	return r
}

func (r *Recorder) reset() {
	r.counts = map[countKey]*store.Counts{}
	r.http = map[httpKey]*store.HTTPCounts{}
	r.errs = map[errKey]int64{}
	r.reqs = nil
	if r.quota == nil {
		r.quota = map[string]*lineageQuota{}
	}
}

func minuteOf(t time.Time) int64 {
	s := t.UTC().Unix()
	return s - s%60
}

func (r *Recorder) countsLocked(org, flow, blk string, minute int64) *store.Counts {
	k := countKey{org, flow, blk, minute}
	c := r.counts[k]
	if c == nil {
		c = &store.Counts{}
		r.counts[k] = c
	}
	return c
}

// LineageStarted counts a source file picked up (not a resumed one).
func (r *Recorder) LineageStarted(d runstate.Deployment, resumed bool) {
	if resumed {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.countsLocked(d.OrgID, d.FlowID, "", minuteOf(r.opts.Now())).UnitsIn++
}

// Progress counts bytes read from a source.
func (r *Recorder) Progress(d runstate.Deployment, bytes int64) {
	if bytes <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.countsLocked(d.OrgID, d.FlowID, "", minuteOf(r.opts.Now())).Bytes += bytes
}

// LineageDone adds a finished source file's records, per-block counts and
// error summary to the minute it finished in.
func (r *Recorder) LineageDone(d runstate.Deployment, res engine.LineageResult) {
	r.prom.lineage(d, res)
	if r.opts.OnLineage != nil {
		r.opts.OnLineage(d, res)
	}
	m := minuteOf(r.opts.Now())
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.quota, res.ID)
	t := r.countsLocked(d.OrgID, d.FlowID, "", m)
	c := res.Counts
	t.RecordsIn += c.In
	t.RecordsOut += c.Delivered
	t.Filtered += c.Filtered
	t.Failed += c.Failed
	t.RetryExhausted += c.RetryExhausted
	t.Warnings += res.Warnings
	t.Files++
	switch res.Status {
	case engine.StatusSuccess, engine.StatusPartial:
		t.UnitsOut++
	}
	switch res.Status {
	case engine.StatusFailure:
		t.FilesFailed++
	case engine.StatusPartial:
		t.FilesPartial++
	}
	if !res.Finished.IsZero() && !res.Started.IsZero() {
		t.BusyMicros += res.Finished.Sub(res.Started).Microseconds()
	}
	for _, b := range res.Blocks {
		bc := r.countsLocked(d.OrgID, d.FlowID, b.Name, m)
		bc.UnitsIn += b.In
		bc.UnitsOut += b.Out
		bc.Filtered += b.Filtered
		bc.Failed += b.Failed
	}
	for _, e := range res.Errors {
		r.errs[errKey{d.OrgID, d.FlowID, e.Block, e.Message, e.Code, m}] += e.Count
	}
	for _, msg := range []string{res.Error, res.FinishError} {
		if msg = strings.TrimSpace(msg); msg != "" {
			// A file-level failure is one occurrence, whatever its records.
			r.errs[errKey{d.OrgID, d.FlowID, res.Source, store.TruncateUTF8(msg, store.MaxErrorMessage), 0, m}]++
		}
	}
}

// Calls returns the call recorder of one deployment's blocks.
func (r *Recorder) Calls(d runstate.Deployment) block.CallRecorder {
	return &flowCalls{r: r, org: d.OrgID, flow: d.FlowID}
}

type flowCalls struct {
	r         *Recorder
	org, flow string
}

func (f *flowCalls) RecordCall(c *block.Call) { f.r.recordCall(f.org, f.flow, c) }

func (r *Recorder) recordCall(org, flow string, c *block.Call) {
	r.prom.call(org, flow, c)
	now := r.opts.Now()
	failed := c.Status == 0 || c.Status >= 300 || c.Err != nil
	var entry *store.RequestLog
	r.mu.Lock()
	h := r.http[httpKey{org, flow, c.Block, c.Endpoint, minuteOf(now)}]
	if h == nil {
		h = &store.HTTPCounts{}
		r.http[httpKey{org, flow, c.Block, c.Endpoint, minuteOf(now)}] = h
	}
	h.Observe(c.Status, c.Attempts, c.Exhausted, c.Latency)
	keep := r.opts.RequestsPerLineage > 0
	if keep {
		q := r.quota[c.LineageID]
		if q == nil {
			q = &lineageQuota{}
			r.quota[c.LineageID] = q
		}
		q.seen = now
		if failed {
			keep = q.failed < r.opts.RequestsPerLineage
			q.failed++
		} else {
			keep = q.ok < r.opts.RequestsPerLineage
			q.ok++
		}
	}
	r.mu.Unlock()
	if !keep {
		return
	}
	// Copy outside the lock: bodies are reused once RecordCall returns,
	// but this still runs inside it.
	entry = r.requestEntry(org, flow, c, now)
	r.mu.Lock()
	if len(r.reqs) >= maxBufferedRequests {
		r.reqs = r.reqs[1:]
	}
	r.reqs = append(r.reqs, *entry)
	r.mu.Unlock()
}

// sensitiveHeader reports headers whose values are credentials.
func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	for _, w := range []string{"token", "secret", "password", "api-key", "apikey", "auth", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Redacted marks a header value or body part that was not stored.
const Redacted = "[redacted]"

func formatHeaders(h http.Header) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		v := strings.Join(h[k], ", ")
		if sensitiveHeader(k) {
			v = Redacted
		}
		fmt.Fprintf(&b, "%s: %s\n", k, v)
	}
	return b.String()
}

func (r *Recorder) requestEntry(org, flow string, c *block.Call, now time.Time) *store.RequestLog {
	limit := r.opts.RequestBodyLimit
	red := r.opts.Redactor
	trunc := false
	body := func(b []byte) string {
		if len(b) > limit {
			trunc = true
			b = b[:limit]
		}
		return strings.ToValidUTF8(red.String(string(b)), "")
	}
	e := &store.RequestLog{
		OrgID: org, FlowID: flow, LineageID: c.LineageID, RequestID: c.RequestID, Block: c.Block, Endpoint: c.Endpoint,
		Method: c.Method, URL: red.String(c.URL), Seq: c.Seq, At: now, LatencyMicros: c.Latency.Microseconds(),
		Status: c.Status, Attempts: c.Attempts, Exhausted: c.Exhausted,
		RequestHeaders: red.String(formatHeaders(c.RequestHeader)),
		RequestBody:    body(c.RequestBody), ResponseBody: body(c.ResponseBody),
	}
	if c.Err != nil {
		e.Error = red.String(c.Err.Error())
	}
	e.Truncated = trunc
	return e
}

// take moves the buffered metrics into a batch.
func (r *Recorder) take() store.MetricsBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b store.MetricsBatch
	for k, c := range r.counts {
		b.Counts = append(b.Counts, store.CountsPoint{MetricKey: store.MetricKey{OrgID: k.org, FlowID: k.flow, Block: k.block}, At: time.Unix(k.minute, 0), C: *c})
	}
	for k, h := range r.http {
		b.HTTP = append(b.HTTP, store.HTTPPoint{MetricKey: store.MetricKey{OrgID: k.org, FlowID: k.flow, Block: k.block}, Endpoint: k.endpoint, At: time.Unix(k.minute, 0), H: *h})
	}
	for k, n := range r.errs {
		b.Errors = append(b.Errors, store.ErrorPoint{MetricKey: store.MetricKey{OrgID: k.org, FlowID: k.flow, Block: k.block}, Code: k.code, Message: k.msg, At: time.Unix(k.minute, 0), Count: n})
	}
	b.Requests = r.reqs
	// Quotas of lineages that never finished (stopped flows) expire.
	cut := r.opts.Now().Add(-24 * time.Hour)
	for id, q := range r.quota {
		if q.seen.Before(cut) {
			delete(r.quota, id)
		}
	}
	r.reset()
	return b
}

// giveBack returns a batch that could not be written to the buffers, so
// the next flush writes it.
func (r *Recorder) giveBack(b store.MetricsBatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range b.Counts {
		r.countsLocked(p.OrgID, p.FlowID, p.Block, minuteOf(p.At)).Add(p.C)
	}
	for _, p := range b.HTTP {
		k := httpKey{p.OrgID, p.FlowID, p.Block, p.Endpoint, minuteOf(p.At)}
		if r.http[k] == nil {
			r.http[k] = &store.HTTPCounts{}
		}
		r.http[k].Add(p.H)
	}
	for _, p := range b.Errors {
		r.errs[errKey{p.OrgID, p.FlowID, p.Block, p.Message, p.Code, minuteOf(p.At)}] += p.Count
	}
	reqs := append(b.Requests, r.reqs...)
	if len(reqs) > maxBufferedRequests {
		reqs = reqs[len(reqs)-maxBufferedRequests:]
	}
	r.reqs = reqs
}

// Flush writes what was recorded since the last flush. On failure the
// metrics stay buffered for the next one.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushing.Lock()
	defer r.flushing.Unlock()
	b := r.take()
	if b.Empty() {
		return nil
	}
	if err := r.opts.Store.WriteMetrics(ctx, b); err != nil {
		r.giveBack(b)
		return fmt.Errorf("obs: flush: %w", err)
	}
	return nil
}

// Retention returns the configured retention of each resolution.
func (r *Recorder) Retention() store.MetricsRetention {
	return store.MetricsRetention{Minute: r.opts.MinuteRetention, Hour: r.opts.Retention, Day: r.opts.Retention, Requests: r.opts.RequestRetention}
}

// Prune deletes metrics past their retention.
func (r *Recorder) Prune(ctx context.Context) (int64, error) {
	return r.opts.Store.PruneMetrics(ctx, r.opts.Now(), r.Retention())
}

// Run flushes every FlushInterval and prunes every PruneInterval until ctx
// ends, then flushes once more. It measures intervals on the wall clock:
// the metrics' own clock (Now) may be a test's.
func (r *Recorder) Run(ctx context.Context) error {
	flush := time.NewTicker(r.opts.FlushInterval)
	defer flush.Stop()
	prune := time.NewTicker(r.opts.PruneInterval)
	defer prune.Stop()
	if _, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
		r.log.Error("pruning metrics", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return r.Flush(fctx)
		case <-flush.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("flushing metrics", "err", err)
			}
		case <-prune.C:
			if n, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("pruning metrics", "err", err)
			} else if n > 0 {
				r.log.Info("pruned metrics", "rows", n)
			}
		}
	}
}

// Collectors are the Recorder's Prometheus series.
func (r *Recorder) Collectors() []prometheus.Collector { return r.prom.collectors() }
