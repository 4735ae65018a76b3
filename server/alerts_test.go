package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connectplus/connectplus/alerts"
	"github.com/connectplus/connectplus/store"
)

// The alert routes: everyone reads the rules (the organisation's defaults
// are there from the start), editors create and edit rules but cannot
// change a rule's metric, admins create channels whose secret is an
// Extension Configuration, a test send to a loopback address is refused
// (channel URLs must not reach the server's network), editors acknowledge
// and close issues (viewers cannot), and file notifications and reports
// round-trip.
func TestAlertRoutes(t *testing.T) {
	h := newHarness(t, sqliteURL(t))
	tm := h.team()
	h.configs(tm)
	flow := createFlow(t, tm.editor, "Alerted", flowDoc("Alerted", "/in"))

	var rules []alerts.Rule
	tm.viewer.must(200, "GET", "/api/v1/alert-rules", nil, &rules)
	if len(rules) != 3 || !rules[0].Default {
		t.Fatalf("default rules %+v", rules)
	}
	var presets []alerts.Preset
	tm.viewer.must(200, "GET", "/api/v1/alert-presets", nil, &presets)
	if len(presets) != 6 {
		t.Fatalf("presets %d", len(presets))
	}
	if r := tm.viewer.do("POST", "/api/v1/alert-rules", map[string]any{"preset": "latency"}); r.code != 403 {
		t.Fatalf("viewer created a rule: %d", r.code)
	}
	var lat alerts.Rule
	tm.editor.must(201, "POST", "/api/v1/alert-rules", map[string]any{"preset": "latency", "flowId": flow.Dataflow.ID, "critical": 3, "warning": 1.5}, &lat)
	if lat.Metric != alerts.MetricLatencyP95 || *lat.Critical != 3 || lat.Scope != alerts.ScopeDataflow {
		t.Fatalf("latency rule %+v", lat)
	}
	r := tm.editor.do("PUT", "/api/v1/alert-rules/"+lat.ID, map[string]any{"metric": "error_rate", "revision": lat.Revision, "comparator": ">=", "critical": 1, "window": "10m"})
	if r.code != 400 || !strings.Contains(string(r.body), "metric of a rule cannot change") {
		t.Fatalf("metric change: %d %s", r.code, r.body)
	}
	var up alerts.Rule
	tm.editor.must(200, "PUT", "/api/v1/alert-rules/"+lat.ID, map[string]any{"revision": lat.Revision, "comparator": ">=", "critical": 4, "window": "15m", "title": "slow {{dataflow}}"}, &up)
	if *up.Critical != 4 || time.Duration(up.Window) != 15*time.Minute || up.Title != "slow {{dataflow}}" {
		t.Fatalf("updated %+v", up)
	}
	tm.editor.must(200, "POST", "/api/v1/alert-rules/"+lat.ID+"/reset-template", nil, &up)
	tm.editor.must(200, "POST", "/api/v1/alert-rules/"+lat.ID+"/disable", nil, &up)
	if up.Title != "" || up.Enabled {
		t.Fatalf("reset and disabled %+v", up)
	}

	// The API filter: the picker lists the endpoints called in the last 7
	// days; a rule keeps its filter.
	var eps []alerts.Endpoint
	tm.viewer.must(200, "GET", "/api/v1/alert-endpoints", nil, &eps)
	if len(eps) != 0 {
		t.Fatalf("endpoints before any call %+v", eps)
	}
	const ep = "POST https://api.example.com/v2/customers"
	var calls store.HTTPCounts
	calls.Observe(503, 1, false, 30*time.Millisecond)
	if err := h.st.WriteMetrics(t.Context(), store.MetricsBatch{HTTP: []store.HTTPPoint{{MetricKey: store.MetricKey{OrgID: flow.Dataflow.OrgID, FlowID: flow.Dataflow.ID, Block: "post"},
		Endpoint: ep, At: time.Now().Add(-time.Hour), H: calls}}}); err != nil {
		t.Fatal(err)
	}
	tm.viewer.must(200, "GET", "/api/v1/alert-endpoints?flowId="+flow.Dataflow.ID, nil, &eps)
	if len(eps) != 1 || eps[0].Endpoint != ep || eps[0].Calls != 1 || eps[0].FlowIDs[0] != flow.Dataflow.ID {
		t.Fatalf("endpoints %+v", eps)
	}
	if r := tm.viewer.do("GET", "/api/v1/alert-endpoints?flowId=flw_nope", nil); r.code != 404 {
		t.Fatalf("endpoints of a missing dataflow: %d", r.code)
	}
	var filtered alerts.Rule
	tm.editor.must(201, "POST", "/api/v1/alert-rules", map[string]any{"name": "customers 5xx", "metric": "http_5xx_rate", "flowId": flow.Dataflow.ID,
		"endpoint": ep, "critical": 5, "window": "10m"}, &filtered)
	if filtered.Endpoint != ep {
		t.Fatalf("filtered rule %+v", filtered)
	}
	r = tm.editor.do("PUT", "/api/v1/alert-rules/"+filtered.ID, map[string]any{"endpoint": "GET https://other", "revision": filtered.Revision, "critical": 5, "window": "10m"})
	if r.code != 400 || !strings.Contains(string(r.body), "API filter of a rule cannot change") {
		t.Fatalf("filter change: %d %s", r.code, r.body)
	}
	if r := tm.editor.do("POST", "/api/v1/alert-rules", map[string]any{"name": "x", "metric": "failure_pct", "endpoint": ep, "critical": 5, "window": "10m"}); r.code != 400 {
		t.Fatalf("a record metric with an API filter: %d %s", r.code, r.body)
	}

	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	defer rcv.Close()
	in := map[string]any{"name": "hook", "kind": "webhook", "secretConfig": "sftp_password", "settings": map[string]any{"url": rcv.URL}}
	if r := tm.editor.do("POST", "/api/v1/alert-channels", in); r.code != 403 {
		t.Fatalf("editor created a channel: %d", r.code)
	}
	var ch alerts.Channel
	tm.admin.must(201, "POST", "/api/v1/alert-channels", in, &ch)
	if r := tm.admin.do("POST", "/api/v1/alert-channels", map[string]any{"name": "plain", "kind": "webhook", "secretConfig": "sftp_host", "settings": map[string]any{"url": rcv.URL}}); r.code != 400 {
		t.Fatalf("a non-secret signing key was accepted: %d %s", r.code, r.body)
	}
	var sent store.AlertNotification
	tm.admin.must(200, "POST", "/api/v1/alert-channels/"+ch.ID+"/test", nil, &sent)
	if sent.OK || !strings.Contains(sent.Error, "loopback, private or link-local") {
		t.Fatalf("test send to loopback: %+v", sent)
	}
	assertNoLeak(t, h, secretValue)

	now := time.Now().UTC()
	iss := store.AlertIssue{ID: "iss_test", OrgID: flow.Dataflow.OrgID, RuleID: rules[0].ID, RuleName: rules[0].Name, FlowID: flow.Dataflow.ID, Metric: rules[0].Metric,
		Priority: "Critical", Status: store.IssueActive, Value: 12, Threshold: 1, OpenedAt: now, LastViolationAt: now}
	if err := h.st.OpenAlertIssue(t.Context(), iss); err != nil {
		t.Fatal(err)
	}
	var issues []alerts.IssueView
	tm.viewer.must(200, "GET", "/api/v1/alert-issues?status=Active&priority=Critical&flowId="+flow.Dataflow.ID, nil, &issues)
	if len(issues) != 1 || issues[0].FlowName != "Alerted" {
		t.Fatalf("issues %+v", issues)
	}
	if r := tm.viewer.do("POST", "/api/v1/alert-issues/iss_test/acknowledge", nil); r.code != 403 {
		t.Fatalf("viewer acknowledged: %d", r.code)
	}
	var v alerts.IssueView
	tm.editor.must(200, "POST", "/api/v1/alert-issues/iss_test/acknowledge", nil, &v)
	if v.Status != store.IssueAcknowledged || v.AcknowledgedBy != "editor" {
		t.Fatalf("ack %+v", v)
	}
	tm.editor.must(200, "POST", "/api/v1/alert-issues/iss_test/close", map[string]string{"reason": "downstream fixed"}, &v)
	if v.Status != store.IssueClosed || v.ClosedBy != "editor" || v.CloseReason != "downstream fixed" {
		t.Fatalf("close %+v", v)
	}
	if r := tm.editor.do("POST", "/api/v1/alert-issues/iss_test/close", map[string]string{}); r.code != 409 {
		t.Fatalf("closing twice: %d", r.code)
	}

	var fn alerts.FileNotifications
	tm.editor.must(200, "PUT", "/api/v1/dataflows/"+flow.Dataflow.ID+"/file-notifications", map[string]any{"onPartial": true, "channels": []string{ch.ID}}, &fn)
	tm.viewer.must(200, "GET", "/api/v1/dataflows/"+flow.Dataflow.ID+"/file-notifications", nil, &fn)
	if !fn.OnPartial || fn.OnSuccess || len(fn.Channels) != 1 {
		t.Fatalf("file notifications %+v", fn)
	}
	if r := tm.admin.do("DELETE", "/api/v1/alert-channels/"+ch.ID, nil); r.code != 204 {
		// File notifications may name a deleted channel: they skip it.
		t.Fatalf("delete channel: %d %s", r.code, r.body)
	}
	var rep alerts.Report
	tm.editor.must(201, "POST", "/api/v1/reports", map[string]any{"name": "daily", "recipients": []string{"lead@example.com"}, "schedule": "daily", "at": "08:30"}, &rep)
	var reps []alerts.Report
	tm.viewer.must(200, "GET", "/api/v1/reports", nil, &reps)
	if len(reps) != 1 || reps[0].At != "08:30" {
		t.Fatalf("reports %+v", reps)
	}
}
