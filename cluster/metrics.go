package cluster

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// nodeStats are this node's Prometheus series, labelled with the node name
// so the series of every node can be scraped into one place.
type nodeStats struct {
	leader   prometheus.Gauge
	inFlight prometheus.Gauge
	jobs     *prometheus.CounterVec
	fires    prometheus.Counter
	rescues  prometheus.Counter
	depths   *prometheus.GaugeVec
	isLeader atomic.Bool
}

func newNodeStats(node string) *nodeStats {
	l := prometheus.Labels{"node": node}
	return &nodeStats{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "connectplus_cluster_leader", ConstLabels: l,
			Help: "1 while this node is the cluster's elected leader (fires schedules, runs maintenance)."}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "connectplus_cluster_files_in_flight", ConstLabels: l,
			Help: "File jobs this node is processing now."}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "connectplus_cluster_jobs_total", ConstLabels: l,
			Help: "River jobs this node worked, by kind and outcome."}, []string{"kind", "outcome"}),
		fires: prometheus.NewCounter(prometheus.CounterOpts{Name: "connectplus_cluster_schedule_fires_total", ConstLabels: l,
			Help: "Schedule fires this node recorded as leader."}),
		rescues: prometheus.NewCounter(prometheus.CounterOpts{Name: "connectplus_cluster_rescued_jobs_total", ConstLabels: l,
			Help: "Running jobs of dead nodes this node handed back to the queue."}),
		depths: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "connectplus_cluster_queue_available", ConstLabels: l,
			Help: "Jobs waiting for a worker, by queue, as last read by this node."}, []string{"queue"}),
	}
}

func (s *nodeStats) setLeader(v bool) {
	s.isLeader.Store(v)
	if v {
		s.leader.Set(1)
	} else {
		s.leader.Set(0)
	}
}
func (s *nodeStats) running(d int)             { s.inFlight.Add(float64(d)) }
func (s *nodeStats) job(kind, outcome string)  { s.jobs.WithLabelValues(kind, outcome).Inc() }
func (s *nodeStats) fired()                    { s.fires.Inc() }
func (s *nodeStats) rescued(n int)             { s.rescues.Add(float64(n)) }
func (s *nodeStats) depth(queue string, n int) { s.depths.WithLabelValues(queue).Set(float64(n)) }
func (s *nodeStats) collectors() []prometheus.Collector {
	return []prometheus.Collector{s.leader, s.inFlight, s.jobs, s.fires, s.rescues, s.depths}
}

// Collectors are the node's cluster series (served at /metrics).
func (d *Dispatcher) Collectors() []prometheus.Collector { return d.stats.collectors() }
