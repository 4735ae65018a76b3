package scheduler

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connectplus/connectplus/engine"
)

// metrics are the runtime's Prometheus series: what operators alert on
// (records failing, files failing) per organisation and dataflow.
type metrics struct {
	records *prometheus.CounterVec
	files   *prometheus.CounterVec
	codes   *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

func newMetrics() *metrics {
	return &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connectplus_records_total", Help: "Records of completed files by outcome (in, delivered, filtered, failed, retry_exhausted).",
		}, []string{"org", "flow", "outcome"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connectplus_files_total", Help: "Completed source files by status (Success, Partial Success, Failure).",
		}, []string{"org", "flow", "status"}),
		codes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connectplus_record_status_codes_total", Help: "Records by the status code their destination answered.",
		}, []string{"org", "flow", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "connectplus_file_duration_seconds", Help: "Time from pick-up to completion of a source file.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 14),
		}, []string{"org", "flow"}),
	}
}

func (m *metrics) observe(org, flow string, r engine.LineageResult) {
	c := r.Counts
	for outcome, n := range map[string]int64{"in": c.In, "delivered": c.Delivered, "filtered": c.Filtered, "failed": c.Failed, "retry_exhausted": c.RetryExhausted} {
		m.records.WithLabelValues(org, flow, outcome).Add(float64(n))
	}
	m.files.WithLabelValues(org, flow, r.Status).Inc()
	for code, n := range r.StatusCodes {
		label := "none"
		if code != 0 {
			label = strconv.Itoa(code)
		}
		m.codes.WithLabelValues(org, flow, label).Add(float64(n))
	}
	m.seconds.WithLabelValues(org, flow).Observe(r.Finished.Sub(r.Started).Seconds())
}

// Collectors returns the runtime's metrics for the server's /metrics.
func (m *Manager) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.metrics.records, m.metrics.files, m.metrics.codes, m.metrics.seconds}
}
