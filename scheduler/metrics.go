package scheduler

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/connectplus/connectplus/engine"
)

// metrics are the runtime's Prometheus series: what operators alert on
// (records failing, files failing) per organisation and dataflow. Labels
// carry ids only, never dataflow names: names are chosen by each
// organisation's users and say what they integrate, and whoever can read
// the metrics must not learn that.
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
		}, []string{"org_id", "flow_id", "outcome"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connectplus_files_total", Help: "Completed source files by status (Success, Partial Success, Failure).",
		}, []string{"org_id", "flow_id", "status"}),
		codes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connectplus_record_status_codes_total", Help: "Records by the status code their destination answered.",
		}, []string{"org_id", "flow_id", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "connectplus_file_duration_seconds", Help: "Time from pick-up to completion of a source file.",
			Buckets: prometheus.ExponentialBuckets(0.5, 2, 14),
		}, []string{"org_id", "flow_id"}),
	}
}

func (m *metrics) observe(orgID, flowID string, r engine.LineageResult) {
	c := r.Counts
	for outcome, n := range map[string]int64{"in": c.In, "delivered": c.Delivered, "filtered": c.Filtered, "failed": c.Failed, "retry_exhausted": c.RetryExhausted} {
		m.records.WithLabelValues(orgID, flowID, outcome).Add(float64(n))
	}
	m.files.WithLabelValues(orgID, flowID, r.Status).Inc()
	for code, n := range r.StatusCodes {
		label := "none"
		if code != 0 {
			label = strconv.Itoa(code)
		}
		m.codes.WithLabelValues(orgID, flowID, label).Add(float64(n))
	}
	m.seconds.WithLabelValues(orgID, flowID).Observe(r.Finished.Sub(r.Started).Seconds())
}

// Collectors returns the runtime's metrics for the server's /metrics.
func (m *Manager) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.metrics.records, m.metrics.files, m.metrics.codes, m.metrics.seconds}
}
