package server

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/connectplus/connectplus/alerts"
	"github.com/connectplus/connectplus/control"
	"github.com/connectplus/connectplus/store"
)

// Alert routes (issue 17, spec §6.6–§6.7): rules, channels, issues,
// summary reports and per-file notifications. Everyone reads; editors
// manage rules, reports and file notifications and acknowledge or close
// issues; admins manage channels (they carry addresses and secrets).
func (s *Server) alertRoutes() []route {
	const tAl = "alerts"
	v, e, ad := RoleViewer, RoleEditor, RoleAdmin
	rule := Base + "/alert-rules/{ruleID}"
	ch := Base + "/alert-channels/{channelID}"
	iss := Base + "/alert-issues/{issueID}"
	rep := Base + "/reports/{reportID}"
	return []route{
		{method: "GET", path: Base + "/alert-metrics", tag: tAl, summary: "Metrics a rule can watch, with units and usual comparator", role: v, handler: s.alertMetrics, resp: []alerts.MetricInfo{}, status: 200},
		{method: "GET", path: Base + "/alert-presets", tag: tAl, summary: "The spec's alerts: defaults (seeded for every organisation) and manual presets", role: v, handler: s.alertPresets, resp: []alerts.Preset{}, status: 200},
		{method: "GET", path: Base + "/alert-endpoints", tag: tAl, summary: "The API endpoints the dataflows called in the last 7 days, for a rule's API filter",
			role: v, handler: s.alertEndpoints, query: []param{{name: "flowId", desc: "only this dataflow's calls"}}, resp: []alerts.Endpoint{}, status: 200},
		{method: "GET", path: Base + "/alert-rules", tag: tAl, summary: "The organisation's alert rules (its default rules included)", role: v, handler: s.listRules, resp: []alerts.Rule{}, status: 200},
		{method: "POST", path: Base + "/alert-rules", tag: tAl, summary: "Create a rule (from a preset, or a metric with thresholds); platform, metric and scope are fixed afterwards",
			role: e, handler: s.createRule, body: alerts.RuleInput{}, resp: alerts.Rule{}, status: 201},
		{method: "GET", path: rule, tag: tAl, summary: "Read a rule with its default templates", role: v, handler: s.getRule, resp: alerts.Rule{}, status: 200},
		{method: "PUT", path: rule, tag: tAl, summary: "Replace a rule's name, thresholds, window, templates, channels and intervals (revision required; platform and metric immutable)",
			role: e, handler: s.updateRule, body: alerts.RuleInput{}, resp: alerts.Rule{}, status: 200},
		{method: "DELETE", path: rule, tag: tAl, summary: "Delete a custom rule (default rules can only be disabled); its issues are kept", role: e, handler: s.deleteRule, status: 204},
		{method: "POST", path: rule + "/enable", tag: tAl, summary: "Enable a rule", role: e, handler: s.enableRule(true), resp: alerts.Rule{}, status: 200},
		{method: "POST", path: rule + "/disable", tag: tAl, summary: "Disable a rule", role: e, handler: s.enableRule(false), resp: alerts.Rule{}, status: 200},
		{method: "POST", path: rule + "/reset-template", tag: tAl, summary: "Reset the notification title and description to the default template", role: e, handler: s.resetTemplate, resp: alerts.Rule{}, status: 200},

		{method: "GET", path: Base + "/alert-channels", tag: tAl, summary: "Notification channels (email, Slack, webhook); secrets are named, never shown", role: v, handler: s.listChannels, resp: []alerts.Channel{}, status: 200},
		{method: "POST", path: Base + "/alert-channels", tag: tAl, summary: "Create a channel; its secret (SMTP password, Slack webhook URL, webhook signing key) is a secret Extension Configuration",
			role: ad, handler: s.createChannel, body: alerts.ChannelInput{}, resp: alerts.Channel{}, status: 201},
		{method: "GET", path: ch, tag: tAl, summary: "Read a channel", role: v, handler: s.getChannel, resp: alerts.Channel{}, status: 200},
		{method: "PUT", path: ch, tag: tAl, summary: "Replace a channel's settings (revision required; the kind is fixed)", role: ad, handler: s.updateChannel, body: alerts.ChannelInput{}, resp: alerts.Channel{}, status: 200},
		{method: "DELETE", path: ch, tag: tAl, summary: "Delete a channel no rule or report uses", role: ad, handler: s.deleteChannel, status: 204},
		{method: "POST", path: ch + "/test", tag: tAl, summary: "Send a test notification on the channel; the answer says whether it was delivered", role: ad, handler: s.testChannel, resp: store.AlertNotification{}, status: 200},

		{method: "GET", path: Base + "/alert-issues", tag: tAl, summary: "Issues (triggered alerts), newest first; closed ones are kept for audit",
			role: v, handler: s.listIssues, query: []param{{name: "status", desc: "Active, Acknowledged or Closed"}, {name: "priority", desc: "Warning or Critical"},
				{name: "flowId", desc: "dataflow id"}, {name: "ruleId", desc: "rule id"}, {name: "search", desc: "rule name or title substring"},
				{name: "since", desc: "RFC 3339 (opened at or after)"}, {name: "until", desc: "RFC 3339 (opened before)"}, pLimit, pCursor}, resp: []alerts.IssueView{}, status: 200},
		{method: "GET", path: iss, tag: tAl, summary: "Read an issue", role: v, handler: s.getIssue, resp: alerts.IssueView{}, status: 200},
		{method: "GET", path: iss + "/notifications", tag: tAl, summary: "The notifications an issue sent, per channel, with their outcome", role: v, handler: s.issueNotifications, resp: []store.AlertNotification{}, status: 200},
		{method: "POST", path: iss + "/acknowledge", tag: tAl, summary: "Acknowledge an Active issue (records who)", role: e, handler: s.ackIssue, resp: alerts.IssueView{}, status: 200},
		{method: "POST", path: iss + "/close", tag: tAl, summary: "Close an open issue", role: e, handler: s.closeIssue, body: CloseIssueRequest{}, resp: alerts.IssueView{}, status: 200},

		{method: "GET", path: Base + "/reports", tag: tAl, summary: "Scheduled summary reports", role: v, handler: s.listReports, resp: []alerts.Report{}, status: 200},
		{method: "POST", path: Base + "/reports", tag: tAl, summary: "Schedule a summary report (hourly, daily at a time, or every interval; optionally after each run) with a CSV attachment",
			role: e, handler: s.createReport, body: alerts.ReportInput{}, resp: alerts.Report{}, status: 201},
		{method: "GET", path: rep, tag: tAl, summary: "Read a report schedule", role: v, handler: s.getReport, resp: alerts.Report{}, status: 200},
		{method: "PUT", path: rep, tag: tAl, summary: "Replace a report schedule (revision required)", role: e, handler: s.updateReport, body: alerts.ReportInput{}, resp: alerts.Report{}, status: 200},
		{method: "DELETE", path: rep, tag: tAl, summary: "Delete a report schedule", role: e, handler: s.deleteReport, status: 204},
		{method: "POST", path: rep + "/send", tag: tAl, summary: "Send the report for its latest period now", role: e, handler: s.sendReport, status: 204},

		{method: "GET", path: Base + "/dataflows/{flowID}/file-notifications", tag: tAl, summary: "The dataflow's opt-in notification after each file (success, partial success, failure)",
			role: v, handler: s.getFileNotifications, resp: alerts.FileNotifications{}, status: 200},
		{method: "PUT", path: Base + "/dataflows/{flowID}/file-notifications", tag: tAl, summary: "Set the dataflow's file notifications", role: e, handler: s.putFileNotifications,
			body: alerts.FileNotifications{}, resp: alerts.FileNotifications{}, status: 200},
	}
}

// CloseIssueRequest closes an issue with an optional reason.
type CloseIssueRequest struct {
	Reason string `json:"reason,omitempty"`
}

var errNoAlerts = newHTTPError(http.StatusServiceUnavailable, "unavailable", "alerting is not enabled on this server")

func (s *Server) alertMetrics(w http.ResponseWriter, _ *http.Request, _ control.Actor) error {
	writeJSON(w, http.StatusOK, alerts.Metrics)
	return nil
}

func (s *Server) alertPresets(w http.ResponseWriter, _ *http.Request, _ control.Actor) error {
	writeJSON(w, http.StatusOK, alerts.Presets)
	return nil
}

// alertCall runs fn with the alerts service, answering 503 without one.
func (s *Server) alertCall(w http.ResponseWriter, status int, fn func(*alerts.Service) (any, error)) error {
	if s.alerts == nil {
		return errNoAlerts
	}
	v, err := fn(s.alerts)
	if err != nil {
		return err
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return nil
	}
	writeJSON(w, status, v)
	return nil
}

func (s *Server) alertEndpoints(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.ListEndpoints(r.Context(), a, r.URL.Query().Get("flowId"))
	})
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) { return al.ListRules(r.Context(), a) })
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in alerts.RuleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.alertCall(w, 201, func(al *alerts.Service) (any, error) { return al.CreateRule(r.Context(), a, in) })
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) { return al.GetRule(r.Context(), a, chi.URLParam(r, "ruleID")) })
}

func (s *Server) updateRule(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in alerts.RuleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.UpdateRule(r.Context(), a, chi.URLParam(r, "ruleID"), in)
	})
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 204, func(al *alerts.Service) (any, error) {
		return nil, al.DeleteRule(r.Context(), a, chi.URLParam(r, "ruleID"))
	})
}

func (s *Server) enableRule(on bool) func(http.ResponseWriter, *http.Request, control.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, a control.Actor) error {
		return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
			return al.SetRuleEnabled(r.Context(), a, chi.URLParam(r, "ruleID"), on)
		})
	}
}

func (s *Server) resetTemplate(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.ResetTemplate(r.Context(), a, chi.URLParam(r, "ruleID"))
	})
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) { return al.ListChannels(r.Context(), a) })
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in alerts.ChannelInput
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.alertCall(w, 201, func(al *alerts.Service) (any, error) { return al.CreateChannel(r.Context(), a, in) })
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.GetChannel(r.Context(), a, chi.URLParam(r, "channelID"))
	})
}

func (s *Server) updateChannel(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in alerts.ChannelInput
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.UpdateChannel(r.Context(), a, chi.URLParam(r, "channelID"), in)
	})
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 204, func(al *alerts.Service) (any, error) {
		return nil, al.DeleteChannel(r.Context(), a, chi.URLParam(r, "channelID"))
	})
}

func (s *Server) testChannel(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.TestSend(r.Context(), a.OrgID, chi.URLParam(r, "channelID"), a.Username)
	})
}

func (s *Server) listIssues(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	q := r.URL.Query()
	f := store.IssueFilter{Status: q.Get("status"), Priority: q.Get("priority"), FlowID: q.Get("flowId"), RuleID: q.Get("ruleId"), Search: q.Get("search")}
	var err error
	if f.Since, f.Until, err = sinceUntil(r); err != nil {
		return err
	}
	if f.Limit, f.Offset, err = pageParams(r, 100, 500); err != nil {
		return err
	}
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		items, err := al.ListIssues(r.Context(), a, f)
		if err == nil && len(items) == f.Limit {
			w.Header().Set("X-Next-Cursor", strconv.Itoa(f.Offset+f.Limit))
		}
		return items, err
	})
}

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) { return al.GetIssue(r.Context(), a, chi.URLParam(r, "issueID")) })
}

func (s *Server) issueNotifications(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.IssueNotifications(r.Context(), a, chi.URLParam(r, "issueID"))
	})
}

func (s *Server) ackIssue(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.Acknowledge(r.Context(), a, chi.URLParam(r, "issueID"))
	})
}

func (s *Server) closeIssue(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in CloseIssueRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.Close(r.Context(), a, chi.URLParam(r, "issueID"), in.Reason)
	})
}

func (s *Server) listReports(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) { return al.ListReports(r.Context(), a) })
}

func (s *Server) createReport(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in alerts.ReportInput
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.alertCall(w, 201, func(al *alerts.Service) (any, error) { return al.CreateReport(r.Context(), a, in) })
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.GetReport(r.Context(), a, chi.URLParam(r, "reportID"))
	})
}

func (s *Server) updateReport(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in alerts.ReportInput
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.UpdateReport(r.Context(), a, chi.URLParam(r, "reportID"), in)
	})
}

func (s *Server) deleteReport(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 204, func(al *alerts.Service) (any, error) {
		return nil, al.DeleteReport(r.Context(), a, chi.URLParam(r, "reportID"))
	})
}

func (s *Server) sendReport(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 204, func(al *alerts.Service) (any, error) {
		return nil, al.SendReportNow(r.Context(), a, chi.URLParam(r, "reportID"))
	})
}

func (s *Server) getFileNotifications(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.GetFileNotifications(r.Context(), a, chi.URLParam(r, "flowID"))
	})
}

func (s *Server) putFileNotifications(w http.ResponseWriter, r *http.Request, a control.Actor) error {
	var in alerts.FileNotifications
	if err := decode(r, &in); err != nil {
		return err
	}
	return s.alertCall(w, 200, func(al *alerts.Service) (any, error) {
		return al.SetFileNotifications(r.Context(), a, chi.URLParam(r, "flowID"), in)
	})
}
