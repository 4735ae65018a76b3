package obs

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/connectplus/connectplus/block"
	"github.com/connectplus/connectplus/engine"
	"github.com/connectplus/connectplus/runstate"
	"github.com/connectplus/connectplus/store"
)

// promMetrics are the stored figures as Prometheus series. Labels are
// bounded: organisation and dataflow ids, block names (fixed by the
// document) and outcome or status class. Never a file name, a record key
// or an endpoint URL (which may carry an organisation's host names).
type promMetrics struct {
	blocks  *prometheus.CounterVec
	calls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func newPromMetrics() *promMetrics {
	bounds := make([]float64, 0, store.LatencyBuckets-1)
	for k := 0; k < store.LatencyBuckets-1; k += 2 { // every other bound: 1 ms × 2^n
		bounds = append(bounds, store.LatencyBound(k).Seconds())
	}
	return &promMetrics{
		blocks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connectplus_block_units_total", Help: "Units (records, or files before they become records) per block by outcome (in, out, filtered, failed), from completed files.",
		}, []string{"org_id", "flow_id", "block", "outcome"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connectplus_api_calls_total", Help: "API calls of destination blocks by final status class (2xx, 3xx, 4xx, 5xx, none).",
		}, []string{"org_id", "flow_id", "block", "class"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "connectplus_api_call_duration_seconds", Help: "API call latency, first attempt to final answer (retries included).",
			Buckets: bounds,
		}, []string{"org_id", "flow_id", "block"}),
	}
}

func (p *promMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{p.blocks, p.calls, p.latency}
}

func (p *promMetrics) lineage(d runstate.Deployment, res engine.LineageResult) {
	for _, b := range res.Blocks {
		for outcome, n := range map[string]int64{"in": b.In, "out": b.Out, "filtered": b.Filtered, "failed": b.Failed} {
			if n > 0 {
				p.blocks.WithLabelValues(d.OrgID, d.FlowID, b.Name, outcome).Add(float64(n))
			}
		}
	}
}

func statusClass(status int) string {
	switch {
	case status == 0:
		return "none"
	case status < 300:
		return "2xx"
	case status < 400:
		return "3xx"
	case status < 500:
		return "4xx"
	}
	return "5xx"
}

func (p *promMetrics) call(org, flow string, c *block.Call) {
	p.calls.WithLabelValues(org, flow, c.Block, statusClass(c.Status)).Inc()
	p.latency.WithLabelValues(org, flow, c.Block).Observe(c.Latency.Seconds())
}
