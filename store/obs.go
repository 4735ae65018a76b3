package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Metric resolutions: the bucket length, in seconds, of a metric row.
const (
	ResMinute = 60
	ResHour   = 3600
	ResDay    = 86400
)

// Resolutions lists the resolutions every metric row is written at.
var Resolutions = [...]int64{ResMinute, ResHour, ResDay}

// LatencyBuckets is the number of latency histogram buckets: bucket k < 33
// counts calls that took at most LatencyBound(k); the last one counts the
// rest (over about 65 s).
const LatencyBuckets = 34

// LatencyBound is the upper bound of histogram bucket k: 1 ms × 2^(k/2)
// (the ratio √2 keeps a percentile read from the buckets within 41 % of
// the true value). The last bucket has no bound (returns 0).
func LatencyBound(k int) time.Duration {
	if k < 0 || k >= LatencyBuckets-1 {
		return 0
	}
	d := time.Millisecond << (k / 2)
	if k%2 == 1 {
		d = time.Duration(float64(d) * 1.4142135623730951)
	}
	return d
}

// LatencyBucket is the bucket a call of duration d is counted in.
func LatencyBucket(d time.Duration) int {
	for k := 0; k < LatencyBuckets-1; k++ {
		if d <= LatencyBound(k) {
			return k
		}
	}
	return LatencyBuckets - 1
}

// Counts are one block's (or, with Block "", the dataflow's) counters for
// one bucket.
type Counts struct {
	UnitsIn        int64 `json:"unitsIn"`
	UnitsOut       int64 `json:"unitsOut"`
	RecordsIn      int64 `json:"recordsIn"`
	RecordsOut     int64 `json:"recordsOut"`
	Filtered       int64 `json:"filtered"`
	Failed         int64 `json:"failed"`
	Warnings       int64 `json:"warnings"`
	RetryExhausted int64 `json:"retryExhausted"`
	Bytes          int64 `json:"bytes"`
	Files          int64 `json:"files"`
	FilesFailed    int64 `json:"filesFailed"`
	FilesPartial   int64 `json:"filesPartial"`
	BusyMicros     int64 `json:"busyMicros"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.UnitsIn += o.UnitsIn
	c.UnitsOut += o.UnitsOut
	c.RecordsIn += o.RecordsIn
	c.RecordsOut += o.RecordsOut
	c.Filtered += o.Filtered
	c.Failed += o.Failed
	c.Warnings += o.Warnings
	c.RetryExhausted += o.RetryExhausted
	c.Bytes += o.Bytes
	c.Files += o.Files
	c.FilesFailed += o.FilesFailed
	c.FilesPartial += o.FilesPartial
	c.BusyMicros += o.BusyMicros
}

func (c *Counts) fields() []any {
	return []any{&c.UnitsIn, &c.UnitsOut, &c.RecordsIn, &c.RecordsOut, &c.Filtered, &c.Failed, &c.Warnings, &c.RetryExhausted,
		&c.Bytes, &c.Files, &c.FilesFailed, &c.FilesPartial, &c.BusyMicros}
}

func (c Counts) values() []any {
	return []any{c.UnitsIn, c.UnitsOut, c.RecordsIn, c.RecordsOut, c.Filtered, c.Failed, c.Warnings, c.RetryExhausted,
		c.Bytes, c.Files, c.FilesFailed, c.FilesPartial, c.BusyMicros}
}

const countCols = "units_in, units_out, records_in, records_out, filtered, failed, warnings, retry_exhausted, bytes, files, files_failed, files_partial, busy_us"

// HTTPCounts are one destination endpoint's calls for one bucket. A call
// is one request after its retries (Attempts counts every try).
type HTTPCounts struct {
	Calls         int64                 `json:"calls"`
	S2xx          int64                 `json:"s2xx"`
	S3xx          int64                 `json:"s3xx"`
	S4xx          int64                 `json:"s4xx"`
	S5xx          int64                 `json:"s5xx"`
	NoAnswer      int64                 `json:"noAnswer"`
	Attempts      int64                 `json:"attempts"`
	Exhausted     int64                 `json:"exhausted"`
	LatencyMicros int64                 `json:"latencyMicros"` // sum
	Hist          [LatencyBuckets]int64 `json:"hist"`
}

// Add adds o to h.
func (h *HTTPCounts) Add(o HTTPCounts) {
	h.Calls += o.Calls
	h.S2xx += o.S2xx
	h.S3xx += o.S3xx
	h.S4xx += o.S4xx
	h.S5xx += o.S5xx
	h.NoAnswer += o.NoAnswer
	h.Attempts += o.Attempts
	h.Exhausted += o.Exhausted
	h.LatencyMicros += o.LatencyMicros
	for i := range h.Hist {
		h.Hist[i] += o.Hist[i]
	}
}

// Observe counts one call answered with status (0: no answer) after d.
func (h *HTTPCounts) Observe(status, attempts int, exhausted bool, d time.Duration) {
	h.Calls++
	switch {
	case status == 0:
		h.NoAnswer++
	case status < 300:
		h.S2xx++
	case status < 400:
		h.S3xx++
	case status < 500:
		h.S4xx++
	default:
		h.S5xx++
	}
	h.Attempts += int64(attempts)
	if exhausted {
		h.Exhausted++
	}
	h.LatencyMicros += d.Microseconds()
	h.Hist[LatencyBucket(d)]++
}

func (h *HTTPCounts) fields() []any {
	out := []any{&h.Calls, &h.S2xx, &h.S3xx, &h.S4xx, &h.S5xx, &h.NoAnswer, &h.Attempts, &h.Exhausted, &h.LatencyMicros}
	for i := range h.Hist {
		out = append(out, &h.Hist[i])
	}
	return out
}

func (h HTTPCounts) values() []any {
	out := []any{h.Calls, h.S2xx, h.S3xx, h.S4xx, h.S5xx, h.NoAnswer, h.Attempts, h.Exhausted, h.LatencyMicros}
	for i := range h.Hist {
		out = append(out, h.Hist[i])
	}
	return out
}

var httpCols = func() string {
	cols := []string{"calls", "s2xx", "s3xx", "s4xx", "s5xx", "no_answer", "attempts", "exhausted", "latency_us"}
	for i := 0; i < LatencyBuckets; i++ {
		cols = append(cols, fmt.Sprintf("h%02d", i))
	}
	return strings.Join(cols, ", ")
}()

// MetricKey identifies a series: organisation, dataflow and block ("" for
// the dataflow as a whole).
type MetricKey struct {
	OrgID  string
	FlowID string
	Block  string
}

// CountsPoint is a minute's counters of one series.
type CountsPoint struct {
	MetricKey
	At time.Time // any time within the minute
	C  Counts
}

// HTTPPoint is a minute's calls of one series to one endpoint.
type HTTPPoint struct {
	MetricKey
	Endpoint string
	At       time.Time
	H        HTTPCounts
}

// ErrorPoint counts a minute's failed records of one block with one
// status code and message.
type ErrorPoint struct {
	MetricKey
	Code    int
	Message string
	At      time.Time
	Count   int64
}

// RequestLog is one stored API call: the request (headers without
// credentials, body truncated) and the answer, for drill-down.
type RequestLog struct {
	ID             int64     `json:"id"`
	OrgID          string    `json:"-"`
	FlowID         string    `json:"flowId"`
	LineageID      string    `json:"lineageId"`
	RequestID      string    `json:"requestId"`
	Block          string    `json:"block"`
	Endpoint       string    `json:"endpoint"`
	Method         string    `json:"method"`
	URL            string    `json:"url"`
	Seq            int64     `json:"seq"`
	At             time.Time `json:"at"`
	LatencyMicros  int64     `json:"latencyMicros"`
	Status         int       `json:"status"`
	Attempts       int       `json:"attempts"`
	Exhausted      bool      `json:"retryExhausted"`
	Error          string    `json:"error,omitempty"`
	RequestHeaders string    `json:"requestHeaders,omitempty"`
	RequestBody    string    `json:"requestBody,omitempty"`
	ResponseBody   string    `json:"responseBody,omitempty"`
	Truncated      bool      `json:"truncated"`
}

// MetricsBatch is what an observability recorder flushes at once.
type MetricsBatch struct {
	Counts   []CountsPoint
	HTTP     []HTTPPoint
	Errors   []ErrorPoint
	Requests []RequestLog
}

// Empty reports whether b holds nothing.
func (b *MetricsBatch) Empty() bool {
	return len(b.Counts) == 0 && len(b.HTTP) == 0 && len(b.Errors) == 0 && len(b.Requests) == 0
}

func bucketStart(t time.Time, res int64) int64 {
	s := t.UTC().Unix()
	return s - ((s%res)+res)%res
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func addAssign(table, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = c + " = " + table + "." + c + " + excluded." + c
	}
	return strings.Join(parts, ", ")
}

var (
	upsertCounts = `INSERT INTO obs_counts (org_id, flow_id, block, res, at, ` + countCols + `) VALUES (` + placeholders(5+13) + `)
		ON CONFLICT (org_id, res, at, flow_id, block) DO UPDATE SET ` + addAssign("obs_counts", countCols)
	upsertHTTP = `INSERT INTO obs_http (org_id, flow_id, block, endpoint, res, at, ` + httpCols + `) VALUES (` + placeholders(6+9+LatencyBuckets) + `)
		ON CONFLICT (org_id, res, at, flow_id, block, endpoint) DO UPDATE SET ` + addAssign("obs_http", httpCols)
	upsertErrors = `INSERT INTO obs_errors (org_id, flow_id, block, code, message, res, at, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, res, at, flow_id, block, code, message) DO UPDATE SET count = obs_errors.count + excluded.count`
)

// MaxErrorMessage bounds a stored error message (bytes).
const MaxErrorMessage = 300

// TruncateUTF8 cuts s to at most n bytes on a rune boundary.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// AllFlows is the dataflow id of an organisation's aggregate series: the
// dataflow totals, the calls of every endpoint and the error summary of all
// its dataflows together, written beside theirs so that organisation-wide
// figures (the System Snapshot) read one row per bucket instead of one per
// dataflow. Queries over "every dataflow" (MetricFilter.FlowIDs empty)
// leave these rows out; ask for them with FlowIDs = [AllFlows].
const AllFlows = "*"

// withOrgTotals adds the organisation aggregates of a batch's points.
func withOrgTotals(b MetricsBatch) MetricsBatch {
	type ck struct {
		org string
		at  int64
	}
	counts := map[ck]*Counts{}
	calls := map[ck]*HTTPCounts{}
	type ek struct {
		org, block, msg string
		code            int
		at              int64
	}
	errs := map[ek]int64{}
	out := b
	out.Counts = append([]CountsPoint(nil), b.Counts...)
	out.HTTP = append([]HTTPPoint(nil), b.HTTP...)
	out.Errors = append([]ErrorPoint(nil), b.Errors...)
	for _, p := range b.Counts {
		if p.Block != "" || p.FlowID == AllFlows {
			continue
		}
		k := ck{p.OrgID, bucketStart(p.At, ResMinute)}
		if counts[k] == nil {
			counts[k] = &Counts{}
		}
		counts[k].Add(p.C)
	}
	for _, p := range b.HTTP {
		if p.FlowID == AllFlows {
			continue
		}
		k := ck{p.OrgID, bucketStart(p.At, ResMinute)}
		if calls[k] == nil {
			calls[k] = &HTTPCounts{}
		}
		calls[k].Add(p.H)
	}
	for _, p := range b.Errors {
		if p.FlowID != AllFlows {
			errs[ek{p.OrgID, p.Block, p.Message, p.Code, bucketStart(p.At, ResMinute)}] += p.Count
		}
	}
	for k, c := range counts {
		out.Counts = append(out.Counts, CountsPoint{MetricKey: MetricKey{OrgID: k.org, FlowID: AllFlows}, At: time.Unix(k.at, 0), C: *c})
	}
	for k, h := range calls {
		out.HTTP = append(out.HTTP, HTTPPoint{MetricKey: MetricKey{OrgID: k.org, FlowID: AllFlows, Block: AllFlows}, Endpoint: AllFlows, At: time.Unix(k.at, 0), H: *h})
	}
	for k, n := range errs {
		out.Errors = append(out.Errors, ErrorPoint{MetricKey: MetricKey{OrgID: k.org, FlowID: AllFlows, Block: k.block}, Code: k.code, Message: k.msg, At: time.Unix(k.at, 0), Count: n})
	}
	return out
}

// WriteMetrics adds a batch to every resolution in one transaction. The
// upserts add to what a bucket holds, so batches from several servers (or
// a retried flush that failed before commit) compose.
func (s *Store) WriteMetrics(ctx context.Context, b MetricsBatch) error {
	if b.Empty() {
		return nil
	}
	b = withOrgTotals(b)
	err := s.Tx(ctx, func(q *Queries) error {
		for _, p := range b.Counts {
			for _, res := range Resolutions {
				args := append([]any{p.OrgID, p.FlowID, p.Block, res, bucketStart(p.At, res)}, p.C.values()...)
				if _, err := q.exec(ctx, upsertCounts, args...); err != nil {
					return fmt.Errorf("counts: %w", err)
				}
			}
		}
		for _, p := range b.HTTP {
			for _, res := range Resolutions {
				args := append([]any{p.OrgID, p.FlowID, p.Block, p.Endpoint, res, bucketStart(p.At, res)}, p.H.values()...)
				if _, err := q.exec(ctx, upsertHTTP, args...); err != nil {
					return fmt.Errorf("http: %w", err)
				}
			}
		}
		for _, p := range b.Errors {
			msg := TruncateUTF8(q.redactor.String(p.Message), MaxErrorMessage)
			for _, res := range Resolutions {
				if _, err := q.exec(ctx, upsertErrors, p.OrgID, p.FlowID, p.Block, p.Code, msg, res, bucketStart(p.At, res), p.Count); err != nil {
					return fmt.Errorf("errors: %w", err)
				}
			}
		}
		for _, r := range b.Requests {
			if _, err := q.exec(ctx, `INSERT INTO obs_requests (org_id, flow_id, lineage_id, request_id, block, endpoint, method, url, seq, at,
					latency_us, status, attempts, exhausted, error, request_headers, request_body, response_body, truncated)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.OrgID, r.FlowID, r.LineageID, r.RequestID, r.Block, r.Endpoint, r.Method, q.redactor.String(r.URL), r.Seq, micros(r.At),
				r.LatencyMicros, r.Status, r.Attempts, boolInt(r.Exhausted), q.redactor.String(r.Error),
				q.redactor.String(r.RequestHeaders), q.redactor.String(r.RequestBody), q.redactor.String(r.ResponseBody), boolInt(r.Truncated)); err != nil {
				return fmt.Errorf("request log: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: write metrics: %w", err)
	}
	return nil
}

// MetricsRetention is how long each resolution is kept.
type MetricsRetention struct {
	Minute, Hour, Day, Requests time.Duration
}

// PruneMetrics deletes rows of each resolution whose bucket ended before
// now minus its retention, and request logs older than theirs. It returns
// the rows deleted.
func (s *Store) PruneMetrics(ctx context.Context, now time.Time, r MetricsRetention) (int64, error) {
	var total int64
	keep := map[int64]time.Duration{ResMinute: r.Minute, ResHour: r.Hour, ResDay: r.Day}
	for _, table := range []string{"obs_counts", "obs_http", "obs_errors"} {
		orgs, err := s.metricOrgs(ctx, table)
		if err != nil {
			return total, fmt.Errorf("store: prune %s: %w", table, err)
		}
		for _, org := range orgs {
			for _, res := range Resolutions {
				if keep[res] <= 0 {
					continue
				}
				// A bucket is kept while any of it is inside the window.
				cut := now.Add(-keep[res]).UTC().Unix() - res
				n, err := s.execCount(ctx, `DELETE FROM `+table+` WHERE org_id = ? AND res = ? AND at <= ?`, org, res, cut)
				if err != nil {
					return total, fmt.Errorf("store: prune %s: %w", table, err)
				}
				total += n
			}
		}
	}
	if r.Requests > 0 {
		n, err := s.execCount(ctx, `DELETE FROM obs_requests WHERE at < ?`, micros(now.Add(-r.Requests)))
		if err != nil {
			return total, fmt.Errorf("store: prune request log: %w", err)
		}
		total += n
	}
	return total, nil
}

// metricOrgs lists the organisations with rows in a metric table, seeking
// from one to the next along the primary key (a skip scan) instead of
// reading every row.
func (q *Queries) metricOrgs(ctx context.Context, table string) ([]string, error) {
	rows, err := q.query(ctx, `WITH RECURSIVE o(id) AS (
			SELECT MIN(org_id) FROM `+table+`
			UNION ALL
			SELECT (SELECT MIN(org_id) FROM `+table+` WHERE org_id > o.id) FROM o WHERE o.id IS NOT NULL)
		SELECT id FROM o WHERE id IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (q *Queries) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// MetricFilter selects metric rows: an organisation, optionally some of
// its dataflows (or its aggregate, AllFlows) and one block, and a
// half-open window [From, To).
type MetricFilter struct {
	OrgID   string
	FlowIDs []string // empty: every dataflow of the organisation
	Block   *string  // nil: every row; "" the dataflow totals only
	From    time.Time
	To      time.Time
}

// segment is a part of a window read at one resolution.
type segment struct {
	res      int64
	from, to int64 // bucket starts, [from, to)
}

// plan covers [from, to) (rounded out to whole minutes) with as few rows
// as possible: whole days inside it from day rows, whole hours from hour
// rows, the rest from minute rows.
func plan(from, to time.Time) []segment {
	f := bucketStart(from, ResMinute)
	t := bucketStart(to.Add(time.Minute-time.Nanosecond), ResMinute)
	if t <= f {
		return nil
	}
	var out []segment
	var cover func(f, t int64, level int)
	levels := []int64{ResDay, ResHour, ResMinute}
	cover = func(f, t int64, level int) {
		if f >= t {
			return
		}
		res := levels[level]
		if res == ResMinute {
			out = append(out, segment{res, f, t})
			return
		}
		a := ((f + res - 1) / res) * res
		b := (t / res) * res
		if a >= b {
			cover(f, t, level+1)
			return
		}
		cover(f, a, level+1)
		out = append(out, segment{res, a, b})
		cover(b, t, level+1)
	}
	cover(f, t, 0)
	return out
}

func (f MetricFilter) where(seg segment) (string, []any) {
	var b strings.Builder
	args := []any{f.OrgID, seg.res, seg.from, seg.to}
	b.WriteString("org_id = ? AND res = ? AND at >= ? AND at < ?")
	if len(f.FlowIDs) > 0 {
		b.WriteString(" AND flow_id IN (" + placeholders(len(f.FlowIDs)) + ")")
		for _, id := range f.FlowIDs {
			args = append(args, id)
		}
	} else {
		b.WriteString(" AND flow_id <> ?")
		args = append(args, AllFlows)
	}
	if f.Block != nil {
		b.WriteString(" AND block = ?")
		args = append(args, *f.Block)
	}
	return b.String(), args
}

// CountsRow is counters summed over a window for one dataflow and block.
type CountsRow struct {
	FlowID string `json:"flowId"`
	Block  string `json:"block"`
	Counts
}

// SumCounts sums counters over the filter's window per dataflow and block.
func (q *Queries) SumCounts(ctx context.Context, f MetricFilter) ([]CountsRow, error) {
	sums := "SUM(" + strings.ReplaceAll(countCols, ", ", "), SUM(") + ")"
	return sumOverPlan(ctx, q, f, "sum counts",
		func(w string) string {
			return `SELECT flow_id, block, ` + sums + ` FROM obs_counts WHERE ` + w + ` GROUP BY flow_id, block`
		},
		func(rows *sql.Rows) (CountsRow, [2]string, error) {
			var r CountsRow
			err := rows.Scan(append([]any{&r.FlowID, &r.Block}, r.Counts.fields()...)...)
			return r, [2]string{r.FlowID, r.Block}, err
		},
		func(into *CountsRow, r CountsRow) { into.Counts.Add(r.Counts) })
}

// sumOverPlan runs a summing query (built around a WHERE clause) once per
// stored resolution that f's window spans, and adds up the rows of one key
// across those queries with add, keeping the keys in first-seen order.
func sumOverPlan[K comparable, R any](ctx context.Context, q *Queries, f MetricFilter, what string,
	query func(where string) string, scan func(*sql.Rows) (R, K, error), add func(into *R, r R)) ([]R, error) {
	acc := map[K]*R{}
	var order []K
	for _, seg := range plan(f.From, f.To) {
		w, args := f.where(seg)
		rows, err := q.query(ctx, query(w), args...)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		for rows.Next() {
			r, k, err := scan(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: %s: %w", what, err)
			}
			if a, ok := acc[k]; ok {
				add(a, r)
			} else {
				acc[k] = &r
				order = append(order, k)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, mapErr(err)
		}
	}
	out := make([]R, 0, len(order))
	for _, k := range order {
		out = append(out, *acc[k])
	}
	return out, nil
}

// HTTPRow is calls summed over a window for one dataflow, block and endpoint.
type HTTPRow struct {
	FlowID   string `json:"flowId"`
	Block    string `json:"block"`
	Endpoint string `json:"endpoint"`
	HTTPCounts
}

// SumHTTP sums calls over the filter's window per dataflow, block and endpoint.
func (q *Queries) SumHTTP(ctx context.Context, f MetricFilter) ([]HTTPRow, error) {
	sums := "SUM(" + strings.ReplaceAll(httpCols, ", ", "), SUM(") + ")"
	return sumOverPlan(ctx, q, f, "sum http",
		func(w string) string {
			return `SELECT flow_id, block, endpoint, ` + sums + ` FROM obs_http WHERE ` + w + ` GROUP BY flow_id, block, endpoint`
		},
		func(rows *sql.Rows) (HTTPRow, [3]string, error) {
			var r HTTPRow
			err := rows.Scan(append([]any{&r.FlowID, &r.Block, &r.Endpoint}, r.HTTPCounts.fields()...)...)
			return r, [3]string{r.FlowID, r.Block, r.Endpoint}, err
		},
		func(into *HTTPRow, r HTTPRow) { into.HTTPCounts.Add(r.HTTPCounts) })
}

// SeriesPoint is one step of a time series.
type SeriesPoint struct {
	At     time.Time  `json:"at"`
	Counts Counts     `json:"counts"`
	HTTP   HTTPCounts `json:"http"`
}

// Series returns counters and calls per step from From (steps without
// data are included, zero). Counters are the filter's block's (the
// dataflow totals when Block is nil); calls are the block's, or every
// block's when Block is nil. step is rounded to whole minutes; a step of
// whole hours or days, from an aligned From, reads the coarser rows.
func (q *Queries) Series(ctx context.Context, f MetricFilter, step time.Duration) ([]SeriesPoint, error) {
	st := int64(step / time.Second)
	st -= st % 60
	if st < 60 {
		st = 60
	}
	res := int64(ResMinute)
	switch {
	case st%ResDay == 0 && f.From.Unix()%ResDay == 0:
		res = ResDay
	case st%ResHour == 0 && f.From.Unix()%ResHour == 0:
		res = ResHour
	}
	from := bucketStart(f.From, res)
	to := bucketStart(f.To.Add(time.Duration(res)*time.Second-time.Nanosecond), res)
	n := (to - from + st - 1) / st
	if n <= 0 {
		return nil, nil
	}
	if n > 10000 {
		return nil, fmt.Errorf("%w: %d steps (at most 10000)", ErrConflict, n)
	}
	out := make([]SeriesPoint, n)
	for i := range out {
		out[i].At = time.Unix(from+int64(i)*st, 0).UTC()
	}
	seg := segment{res: res, from: from, to: to}
	cf := f
	if cf.Block == nil {
		total := ""
		cf.Block = &total
	}
	w, args := cf.where(seg)
	bucket := "((at - ?) / ?)"
	csums := "SUM(" + strings.ReplaceAll(countCols, ", ", "), SUM(") + ")"
	rows, err := q.query(ctx, `SELECT `+bucket+` AS b, `+csums+` FROM obs_counts WHERE `+w+` GROUP BY b`, append([]any{from, st}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: series: %w", err)
	}
	for rows.Next() {
		var i int64
		var c Counts
		if err := rows.Scan(append([]any{&i}, c.fields()...)...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: series: %w", err)
		}
		if i >= 0 && i < n {
			out[i].Counts.Add(c)
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	hsums := "SUM(" + strings.ReplaceAll(httpCols, ", ", "), SUM(") + ")"
	w, args = f.where(seg)
	rows, err = q.query(ctx, `SELECT `+bucket+` AS b, `+hsums+` FROM obs_http WHERE `+w+` GROUP BY b`, append([]any{from, st}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: series: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int64
		var h HTTPCounts
		if err := rows.Scan(append([]any{&i}, h.fields()...)...); err != nil {
			return nil, fmt.Errorf("store: series: %w", err)
		}
		if i >= 0 && i < n {
			out[i].HTTP.Add(h)
		}
	}
	return out, mapErr(rows.Err())
}

// ErrorRow is one line of the error summary.
type ErrorRow struct {
	FlowID   string    `json:"flowId"`
	Block    string    `json:"block"`
	Code     int       `json:"code"`
	Message  string    `json:"message"`
	Count    int64     `json:"count"`
	LastSeen time.Time `json:"lastSeen"`
}

// ErrorFilter narrows the error summary.
type ErrorFilter struct {
	MetricFilter
	Search string // case-insensitive substring of the message
	Limit  int
}

// ErrorSummary lists failed records by dataflow, block, code and message
// over the window, most frequent first.
func (q *Queries) ErrorSummary(ctx context.Context, f ErrorFilter) ([]ErrorRow, error) {
	type key struct {
		flow, block, msg string
		code             int
	}
	acc := map[key]*ErrorRow{}
	for _, seg := range plan(f.From, f.To) {
		w, args := f.where(seg)
		if f.Search != "" {
			w += ` AND LOWER(message) LIKE ? ESCAPE '\'`
			args = append(args, "%"+escapeLike(strings.ToLower(f.Search))+"%")
		}
		rows, err := q.query(ctx, `SELECT flow_id, block, code, message, SUM(count), MAX(at) FROM obs_errors WHERE `+w+` GROUP BY flow_id, block, code, message`, args...)
		if err != nil {
			return nil, fmt.Errorf("store: error summary: %w", err)
		}
		for rows.Next() {
			var r ErrorRow
			var last int64
			if err := rows.Scan(&r.FlowID, &r.Block, &r.Code, &r.Message, &r.Count, &last); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: error summary: %w", err)
			}
			r.LastSeen = time.Unix(last+seg.res, 0).UTC()
			k := key{r.FlowID, r.Block, r.Message, r.Code}
			if a, ok := acc[k]; ok {
				a.Count += r.Count
				if r.LastSeen.After(a.LastSeen) {
					a.LastSeen = r.LastSeen
				}
			} else {
				acc[k] = &r
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	out := make([]ErrorRow, 0, len(acc))
	for _, r := range acc {
		out = append(out, *r)
	}
	sortErrors(out)
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func sortErrors(rs []ErrorRow) {
	less := func(a, b ErrorRow) bool {
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.FlowID != b.FlowID {
			return a.FlowID < b.FlowID
		}
		if a.Block != b.Block {
			return a.Block < b.Block
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Message < b.Message
	}
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && less(rs[j], rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// RequestFilter selects stored calls.
type RequestFilter struct {
	OrgID      string
	FlowID     string
	LineageID  string
	RequestID  string
	FailedOnly bool
	Limit      int
	AfterID    int64
}

const reqLogCols = `id, org_id, flow_id, lineage_id, request_id, block, endpoint, method, url, seq, at, latency_us, status, attempts, exhausted, error,
	request_headers, request_body, response_body, truncated`

// ListRequests lists stored calls (oldest first), without bodies.
func (q *Queries) ListRequests(ctx context.Context, f RequestFilter) ([]RequestLog, error) {
	w := []string{"org_id = ?"}
	args := []any{f.OrgID}
	if f.FlowID != "" {
		w, args = append(w, "flow_id = ?"), append(args, f.FlowID)
	}
	if f.LineageID != "" {
		w, args = append(w, "lineage_id = ?"), append(args, f.LineageID)
	}
	if f.RequestID != "" {
		w, args = append(w, "request_id = ?"), append(args, f.RequestID)
	}
	if f.FailedOnly {
		w = append(w, "(status = 0 OR status >= 300)")
	}
	if f.AfterID > 0 {
		w, args = append(w, "id > ?"), append(args, f.AfterID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	rows, err := q.query(ctx, `SELECT `+reqLogCols+` FROM obs_requests WHERE `+strings.Join(w, " AND ")+` ORDER BY id LIMIT `+fmt.Sprint(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list requests: %w", err)
	}
	defer rows.Close()
	var out []RequestLog
	for rows.Next() {
		r, err := scanRequestLog(rows)
		if err != nil {
			return nil, err
		}
		r.RequestHeaders, r.RequestBody, r.ResponseBody = "", "", ""
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

// GetRequest reads one stored call with its bodies.
func (q *Queries) GetRequest(ctx context.Context, orgID string, id int64) (RequestLog, error) {
	r, err := scanRequestLog(q.row(ctx, `SELECT `+reqLogCols+` FROM obs_requests WHERE org_id = ? AND id = ?`, orgID, id))
	if err != nil {
		return r, fmt.Errorf("store: request %d: %w", id, mapErr(err))
	}
	return r, nil
}

func scanRequestLog(s interface{ Scan(...any) error }) (RequestLog, error) {
	var r RequestLog
	var at int64
	var exh, trunc int
	if err := s.Scan(&r.ID, &r.OrgID, &r.FlowID, &r.LineageID, &r.RequestID, &r.Block, &r.Endpoint, &r.Method, &r.URL, &r.Seq, &at,
		&r.LatencyMicros, &r.Status, &r.Attempts, &exh, &r.Error, &r.RequestHeaders, &r.RequestBody, &r.ResponseBody, &trunc); err != nil {
		return r, mapErr(err)
	}
	r.At, r.Exhausted, r.Truncated = fromMicros(at), exh != 0, trunc != 0
	return r, nil
}
