// Package alerts is Connect+'s alerting: per-organisation rules over the
// observability metrics (default rules for every dataflow, presets and
// custom ones), an evaluator that opens issues (Active → Acknowledged →
// Closed) once per rule and period whichever server runs it, and the
// channels that carry notifications — email over SMTP, Slack incoming
// webhooks and signed generic webhooks — plus scheduled summary reports
// and per-file notifications. Channel secrets are Extension
// Configurations: a channel names one, and it is resolved at send time.
package alerts

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// PlatformDataflow is the one platform rules watch: Connect+ dataflows
// (file and stream).
const PlatformDataflow = "dataflow"

// Metric names.
const (
	MetricErrorRate       = "error_rate"
	Metric4xxRate         = "http_4xx_rate"
	Metric5xxRate         = "http_5xx_rate"
	MetricFailurePct      = "failure_pct"
	Metric5xxFailure      = "failure_5xx_pct"
	MetricRunFailurePct   = "run_failure_pct"
	MetricRetryExhaustion = "retry_exhaustion_pct"
	MetricLatencyP90      = "latency_p90"
	MetricLatencyP95      = "latency_p95"
	MetricThroughput      = "throughput_rpm"
	MetricNoFilePicked    = "no_file_picked"
	MetricValidation      = "validation_failure"
)

// MetricInfo describes a metric a rule can watch.
type MetricInfo struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Unit        string `json:"unit"`
	Description string `json:"description"`
	// Comparator is the usual direction of a violation.
	Comparator string `json:"comparator"`
	// PerEndpoint says a rule on this metric can be limited to one API
	// endpoint (the metric is measured from API calls).
	PerEndpoint bool `json:"perEndpoint"`
}

// Metrics is the catalogue, in display order.
var Metrics = []MetricInfo{
	{MetricErrorRate, "Error rate", "%", "API calls answered with an error (4xx, 5xx) or not at all, per 100 calls in the window", ">=", true},
	{Metric4xxRate, "4xx error rate", "%", "API calls answered 4xx (client side: payload validation, duplicates) per 100 calls", ">=", true},
	{Metric5xxRate, "5xx error rate", "%", "API calls answered 5xx (server side, downstream) per 100 calls", ">=", true},
	{MetricFailurePct, "Failure percentage", "%", "failed records per 100 records processed in the window", ">=", false},
	{Metric5xxFailure, "5XX / failure percentage", "%", "the larger of the failed-record percentage and the 5xx-call percentage in the window", ">=", false},
	{MetricRunFailurePct, "File-level failure percentage", "%", "the highest failed-record percentage of a file (run) that completed in the window", ">=", false},
	{MetricRetryExhaustion, "Retry exhaustion", "%", "records that failed after all retries per 100 records processed (with an API filter: that endpoint's calls that failed after all retries per 100 of its calls)", ">=", true},
	{MetricLatencyP90, "P90 latency", "s", "90th percentile API call latency in the window (from stored histogram buckets)", ">=", true},
	{MetricLatencyP95, "P95 latency", "s", "95th percentile API call latency in the window (from stored histogram buckets)", ">=", true},
	{MetricThroughput, "Throughput", "records/min", "records processed per minute over the window", "<", false},
	{MetricNoFilePicked, "No file picked", "files", "files picked up in the window; the rule fires when fewer arrive than the threshold (1: none)", "<", false},
	{MetricValidation, "Dataflow validation failure", "problems", "validation problems of the dataflow's newest version, checked once the window has passed since the dataflow was created", ">=", false},
}

// MetricByName finds a metric.
func MetricByName(name string) (MetricInfo, bool) {
	for _, m := range Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return MetricInfo{}, false
}

// Comparators a threshold can use.
var Comparators = []string{">=", ">", "<=", "<", "=="}

func compare(v float64, cmp string, t float64) bool {
	switch cmp {
	case ">=":
		return v >= t
	case ">":
		return v > t
	case "<=":
		return v <= t
	case "<":
		return v < t
	case "==":
		return v == t
	}
	return false
}

// Priorities.
const (
	Warning  = "Warning"
	Critical = "Critical"
)

// Duration is a time.Duration written as a Go duration string in JSON.
type Duration time.Duration

// MarshalJSON writes "10m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// JSONSchema describes the JSON form for the OpenAPI document.
func (Duration) JSONSchema() map[string]any {
	return map[string]any{"type": "string", "description": "Go duration, e.g. 10m, 24h", "examples": []string{"10m"}}
}

// UnmarshalJSON reads a Go duration string ("10m", "24h").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"10m\": %w", err)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Definition is a rule's editable part.
type Definition struct {
	Comparator string   `json:"comparator"`
	Warning    *float64 `json:"warning"`
	Critical   *float64 `json:"critical"`
	// Window is the period the metric is measured over (for validation:
	// the delay after the dataflow's creation).
	Window Duration `json:"window"`
	// MinVolume is the fewest records (or calls, for call metrics) a
	// percentage needs before it counts (default 1).
	MinVolume int64 `json:"minVolume,omitempty"`
	// Title and Description are notification templates; "" is the
	// metric's default. {{rule}}, {{dataflow}}, {{metric}}, {{value}},
	// {{threshold}}, {{priority}}, {{window}}, {{unit}}, {{endpoint}} are
	// replaced.
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Channels    []string `json:"channels"`
	// RenotifyEvery repeats the notification of an issue still Active
	// (not acknowledged) this often (0: never).
	RenotifyEvery Duration `json:"renotifyEvery"`
	// AutoCloseAfter closes an issue once the condition has been clear
	// this long.
	AutoCloseAfter Duration `json:"autoCloseAfter"`
}

// Rule is an alert rule as the API shows it.
type Rule struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Preset   string `json:"preset,omitempty"`
	Default  bool   `json:"default"`
	Platform string `json:"platform"`
	Metric   string `json:"metric"`
	// FlowID is the one dataflow watched; "" watches every dataflow of
	// the organisation (Scope says which).
	FlowID string `json:"flowId"`
	// Endpoint is the API filter (spec §6.7 "Filter by APIs"): the one
	// destination endpoint whose calls a call metric measures, as the
	// metrics label it ("POST https://host/v2/customers"); "" measures
	// every call. Fixed at creation.
	Endpoint string `json:"endpoint"`
	Scope    string `json:"scope"`
	Enabled  bool   `json:"enabled"`
	Definition
	DefaultTitle       string    `json:"defaultTitle"`
	DefaultDescription string    `json:"defaultDescription"`
	Revision           int64     `json:"revision"`
	CreatedBy          string    `json:"createdBy"`
	UpdatedBy          string    `json:"updatedBy"`
	CreatedAt          time.Time `json:"createdAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// Scope values.
const (
	ScopeDataflow     = "dataflow"
	ScopeOrganization = "organization"
)

// Preset is a ready-made rule: the spec's default alerts (seeded for
// every organisation, watching all its dataflows) and manual ones.
type Preset struct {
	Key         string     `json:"key"`
	Name        string     `json:"name"`
	Default     bool       `json:"default"`
	Metric      string     `json:"metric"`
	Category    string     `json:"category"`
	Description string     `json:"description"`
	Definition  Definition `json:"definition"`
}

func f64(v float64) *float64 { return &v }

// Presets are the spec's alert table (§6.6).
var Presets = []Preset{
	{Key: "5xx_failure", Name: "5XX / Failure Alert", Default: true, Metric: Metric5xxFailure, Category: "File",
		Description: "1% or more of records fail (or API calls answer 5xx) within 10 minutes",
		Definition:  Definition{Comparator: ">=", Critical: f64(1), Window: Duration(10 * time.Minute)}},
	{Key: "validation", Name: "Dataflow Validation Alert", Default: true, Metric: MetricValidation, Category: "File and Stream",
		Description: "15 minutes after a dataflow is created, its newest version is validated; fires while validation fails",
		Definition:  Definition{Comparator: ">=", Critical: f64(1), Window: Duration(15 * time.Minute)}},
	{Key: "no_file_picked", Name: "No File Picked Alert", Default: true, Metric: MetricNoFilePicked, Category: "File",
		Description: "no file arrives within the window (upstream delivery failure); set the window to the expected arrival interval",
		Definition:  Definition{Comparator: "<", Warning: f64(1), Window: Duration(24 * time.Hour)}},
	{Key: "partial_failure", Name: "Partial Failure Alert", Metric: MetricRetryExhaustion, Category: "File and Stream",
		Description: "10% or more of records exhaust all retries within a 10-minute window",
		Definition:  Definition{Comparator: ">=", Critical: f64(10), Window: Duration(10 * time.Minute)}},
	{Key: "file_failure", Name: "File-Level Failure Alert", Metric: MetricRunFailurePct, Category: "File",
		Description: "a run completes with 10% or more of its records failed",
		Definition:  Definition{Comparator: ">=", Critical: f64(10), Window: Duration(15 * time.Minute)}},
	{Key: "latency", Name: "Latency Alert", Metric: MetricLatencyP95, Category: "File and Stream",
		Description: "P95 processing latency above the threshold (seconds)",
		Definition:  Definition{Comparator: ">=", Warning: f64(2), Critical: f64(5), Window: Duration(10 * time.Minute)}},
}

// PresetByKey finds a preset.
func PresetByKey(key string) (Preset, bool) {
	for _, p := range Presets {
		if p.Key == key {
			return p, true
		}
	}
	return Preset{}, false
}

// DefaultRuleID is the id of an organisation's seeded default rule.
func DefaultRuleID(orgID, key string) string { return "alr_default_" + key + "_" + orgID }

// Defaults applied to every definition.
const (
	DefaultRenotify  = time.Hour
	DefaultAutoClose = 10 * time.Minute
)

// DefaultTitle is the metric's notification title template.
func DefaultTitle(metric string) string {
	if metric == MetricNoFilePicked {
		return "[{{priority}}] {{rule}}: no file picked by {{dataflow}} in {{window}}"
	}
	return "[{{priority}}] {{rule}}: {{metric}} {{value}}{{unit}} on {{dataflow}}"
}

// DefaultDescription is the metric's notification description template.
func DefaultDescription(metric string) string {
	switch metric {
	case MetricNoFilePicked:
		return "{{dataflow}} picked up {{value}} file(s) in the last {{window}} (threshold {{threshold}}): check the upstream delivery."
	case MetricValidation:
		return "The newest version of {{dataflow}} fails validation with {{value}} problem(s)."
	}
	return "{{metric}} was {{value}}{{unit}} over the last {{window}}, past the {{priority}} threshold of {{threshold}}{{unit}}."
}

// render fills a template's placeholders (plain replacement: a template
// cannot run code or read anything but these values).
func render(tmpl string, vars map[string]string) string {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

func formatValue(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}
