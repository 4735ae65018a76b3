package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// AlertChannel is a notification channel: its kind, its non-secret
// settings (JSON, validated by package alerts) and the name of the
// Extension Configuration holding its secret.
type AlertChannel struct {
	ID           string          `json:"id"`
	OrgID        string          `json:"orgId"`
	Name         string          `json:"name"`
	Kind         string          `json:"kind"`
	Settings     json.RawMessage `json:"settings"`
	SecretConfig string          `json:"secretConfig"`
	AllAlerts    bool            `json:"allAlerts"`
	Revision     int64           `json:"revision"`
	CreatedBy    string          `json:"createdBy"`
	UpdatedBy    string          `json:"updatedBy"`
	CreatedAt    time.Time       `json:"createdAt"`
	UpdatedAt    time.Time       `json:"updatedAt"`
}

const channelCols = `id, org_id, name, kind, settings, secret_config, all_alerts, revision, created_by, updated_by, created_at, updated_at`

func scanChannel(s interface{ Scan(...any) error }) (AlertChannel, error) {
	var c AlertChannel
	var settings string
	var all int
	var ca, ua int64
	if err := s.Scan(&c.ID, &c.OrgID, &c.Name, &c.Kind, &settings, &c.SecretConfig, &all, &c.Revision, &c.CreatedBy, &c.UpdatedBy, &ca, &ua); err != nil {
		return c, mapErr(err)
	}
	c.Settings, c.AllAlerts, c.CreatedAt, c.UpdatedAt = json.RawMessage(settings), all != 0, fromMicros(ca), fromMicros(ua)
	return c, nil
}

// CreateAlertChannel inserts a channel (ErrDuplicate for a taken name).
func (q *Queries) CreateAlertChannel(ctx context.Context, c AlertChannel) error {
	_, err := q.exec(ctx, `INSERT INTO alert_channels (`+channelCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
		c.ID, c.OrgID, c.Name, c.Kind, string(c.Settings), c.SecretConfig, boolInt(c.AllAlerts), c.CreatedBy, c.UpdatedBy, micros(c.CreatedAt), micros(c.UpdatedAt))
	return err
}

// UpdateAlertChannel saves c if its revision is still c.Revision, and
// bumps it (ErrConflict otherwise).
func (q *Queries) UpdateAlertChannel(ctx context.Context, c *AlertChannel) error {
	res, err := q.exec(ctx, `UPDATE alert_channels SET name = ?, settings = ?, secret_config = ?, all_alerts = ?, revision = revision + 1, updated_by = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND revision = ?`,
		c.Name, string(c.Settings), c.SecretConfig, boolInt(c.AllAlerts), c.UpdatedBy, micros(c.UpdatedAt), c.OrgID, c.ID, c.Revision)
	if err != nil {
		return err
	}
	if affected(res) != nil {
		return fmt.Errorf("%w: channel changed since revision %d", ErrConflict, c.Revision)
	}
	c.Revision++
	return nil
}

// GetAlertChannel reads one of an organisation's channels.
func (q *Queries) GetAlertChannel(ctx context.Context, orgID, id string) (AlertChannel, error) {
	return scanChannel(q.row(ctx, `SELECT `+channelCols+` FROM alert_channels WHERE org_id = ? AND id = ?`, orgID, id))
}

// ListAlertChannels lists an organisation's channels by name.
func (q *Queries) ListAlertChannels(ctx context.Context, orgID string) ([]AlertChannel, error) {
	return queryList(ctx, q, scanChannel, `SELECT `+channelCols+` FROM alert_channels WHERE org_id = ? ORDER BY name`, orgID)
}

// DeleteAlertChannel removes a channel.
func (q *Queries) DeleteAlertChannel(ctx context.Context, orgID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM alert_channels WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return err
	}
	return affected(res)
}

// AlertRule is a rule's identity, scope and state; Definition holds the
// rest (thresholds, window, templates, channels) as JSON.
type AlertRule struct {
	ID       string `json:"id"`
	OrgID    string `json:"orgId"`
	Name     string `json:"name"`
	Preset   string `json:"preset"`
	Platform string `json:"platform"`
	Metric   string `json:"metric"`
	FlowID   string `json:"flowId"`
	// Endpoint limits a call metric to one destination endpoint (the
	// obs_http label); "" is every call.
	Endpoint   string          `json:"endpoint"`
	Enabled    bool            `json:"enabled"`
	Definition json.RawMessage `json:"definition"`
	Revision   int64           `json:"revision"`
	CreatedBy  string          `json:"createdBy"`
	UpdatedBy  string          `json:"updatedBy"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
}

const ruleCols = `id, org_id, name, preset, platform, metric, flow_id, endpoint, enabled, definition, revision, created_by, updated_by, created_at, updated_at`

func scanRule(s interface{ Scan(...any) error }) (AlertRule, error) {
	var r AlertRule
	var def string
	var en int
	var ca, ua int64
	if err := s.Scan(&r.ID, &r.OrgID, &r.Name, &r.Preset, &r.Platform, &r.Metric, &r.FlowID, &r.Endpoint, &en, &def, &r.Revision, &r.CreatedBy, &r.UpdatedBy, &ca, &ua); err != nil {
		return r, mapErr(err)
	}
	r.Enabled, r.Definition, r.CreatedAt, r.UpdatedAt = en != 0, json.RawMessage(def), fromMicros(ca), fromMicros(ua)
	return r, nil
}

// CreateAlertRule inserts a rule (ErrDuplicate for a taken name or id).
func (q *Queries) CreateAlertRule(ctx context.Context, r AlertRule) error {
	_, err := q.exec(ctx, `INSERT INTO alert_rules (`+ruleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.Name, r.Preset, r.Platform, r.Metric, r.FlowID, r.Endpoint, boolInt(r.Enabled), string(r.Definition), r.CreatedBy, r.UpdatedBy, micros(r.CreatedAt), micros(r.UpdatedAt))
	return err
}

// EnsureAlertRule inserts r unless a rule with its id exists (the default
// rules, seeded by whichever server gets there first). It reports whether
// it inserted.
func (q *Queries) EnsureAlertRule(ctx context.Context, r AlertRule) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO alert_rules (`+ruleCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		r.ID, r.OrgID, r.Name, r.Preset, r.Platform, r.Metric, r.FlowID, r.Endpoint, boolInt(r.Enabled), string(r.Definition), r.CreatedBy, r.UpdatedBy, micros(r.CreatedAt), micros(r.UpdatedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UpdateAlertRule saves the editable parts of r (name, enabled,
// definition) if its revision is still r.Revision. Platform, metric and
// scope never change.
func (q *Queries) UpdateAlertRule(ctx context.Context, r *AlertRule) error {
	res, err := q.exec(ctx, `UPDATE alert_rules SET name = ?, enabled = ?, definition = ?, revision = revision + 1, updated_by = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND revision = ?`,
		r.Name, boolInt(r.Enabled), string(r.Definition), r.UpdatedBy, micros(r.UpdatedAt), r.OrgID, r.ID, r.Revision)
	if err != nil {
		return err
	}
	if affected(res) != nil {
		return fmt.Errorf("%w: rule changed since revision %d", ErrConflict, r.Revision)
	}
	r.Revision++
	return nil
}

// GetAlertRule reads one of an organisation's rules.
func (q *Queries) GetAlertRule(ctx context.Context, orgID, id string) (AlertRule, error) {
	return scanRule(q.row(ctx, `SELECT `+ruleCols+` FROM alert_rules WHERE org_id = ? AND id = ?`, orgID, id))
}

// ListAlertRules lists an organisation's rules ("" lists every
// organisation's: the evaluator), by name.
func (q *Queries) ListAlertRules(ctx context.Context, orgID string, enabledOnly bool) ([]AlertRule, error) {
	w, args := []string{"1 = 1"}, []any{}
	if orgID != "" {
		w, args = append(w, "org_id = ?"), append(args, orgID)
	}
	if enabledOnly {
		w = append(w, "enabled = 1")
	}
	return queryList(ctx, q, scanRule, `SELECT `+ruleCols+` FROM alert_rules WHERE `+strings.Join(w, " AND ")+` ORDER BY org_id, name`, args...)
}

// DeleteAlertRule removes a rule (its issues stay, for audit).
func (q *Queries) DeleteAlertRule(ctx context.Context, orgID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM alert_rules WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return err
	}
	return affected(res)
}

// Issue statuses.
const (
	IssueActive       = "Active"
	IssueAcknowledged = "Acknowledged"
	IssueClosed       = "Closed"
)

// AlertIssue is a triggered alert and its lifecycle.
type AlertIssue struct {
	ID              string     `json:"id"`
	OrgID           string     `json:"orgId"`
	RuleID          string     `json:"ruleId"`
	RuleName        string     `json:"ruleName"`
	FlowID          string     `json:"flowId"`
	Metric          string     `json:"metric"`
	Priority        string     `json:"priority"`
	Status          string     `json:"status"`
	Value           float64    `json:"value"`
	Threshold       float64    `json:"threshold"`
	Title           string     `json:"title"`
	Description     string     `json:"description"`
	OpenedAt        time.Time  `json:"openedAt"`
	LastViolationAt time.Time  `json:"lastViolationAt"`
	ClearedAt       *time.Time `json:"clearedAt,omitempty"`
	AcknowledgedBy  string     `json:"acknowledgedBy,omitempty"`
	AcknowledgedAt  *time.Time `json:"acknowledgedAt,omitempty"`
	ClosedBy        string     `json:"closedBy,omitempty"`
	ClosedAt        *time.Time `json:"closedAt,omitempty"`
	CloseReason     string     `json:"closeReason,omitempty"`
	LastNotifiedAt  *time.Time `json:"lastNotifiedAt,omitempty"`
	Notifications   int        `json:"notifications"`
	Revision        int64      `json:"revision"`
}

const issueCols = `id, org_id, rule_id, rule_name, flow_id, metric, priority, status, value, threshold, title, description, opened_at, last_violation_at,
	cleared_at, acknowledged_by, acknowledged_at, closed_by, closed_at, close_reason, last_notified_at, notifications, revision`

func scanIssue(s interface{ Scan(...any) error }) (AlertIssue, error) {
	var i AlertIssue
	var opened, last int64
	var cleared, acked, closed, notified sql.NullInt64
	if err := s.Scan(&i.ID, &i.OrgID, &i.RuleID, &i.RuleName, &i.FlowID, &i.Metric, &i.Priority, &i.Status, &i.Value, &i.Threshold, &i.Title, &i.Description,
		&opened, &last, &cleared, &i.AcknowledgedBy, &acked, &i.ClosedBy, &closed, &i.CloseReason, &notified, &i.Notifications, &i.Revision); err != nil {
		return i, mapErr(err)
	}
	i.OpenedAt, i.LastViolationAt = fromMicros(opened), fromMicros(last)
	i.ClearedAt, i.AcknowledgedAt, i.ClosedAt, i.LastNotifiedAt = ptrTime(cleared), ptrTime(acked), ptrTime(closed), ptrTime(notified)
	return i, nil
}

// OpenAlertIssue inserts a new issue. ErrDuplicate means the rule already
// has an open issue for the dataflow (another server opened it).
func (q *Queries) OpenAlertIssue(ctx context.Context, i AlertIssue) error {
	_, err := q.exec(ctx, `INSERT INTO alert_issues (`+issueCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
		i.ID, i.OrgID, i.RuleID, i.RuleName, i.FlowID, i.Metric, i.Priority, i.Status, i.Value, i.Threshold, i.Title, i.Description,
		micros(i.OpenedAt), micros(i.LastViolationAt), nullMicros(i.ClearedAt), i.AcknowledgedBy, nullMicros(i.AcknowledgedAt), i.ClosedBy,
		nullMicros(i.ClosedAt), i.CloseReason, nullMicros(i.LastNotifiedAt), i.Notifications)
	return err
}

// UpdateAlertIssue saves i if its revision is still i.Revision (ErrConflict
// otherwise: someone acknowledged or closed it meanwhile).
func (q *Queries) UpdateAlertIssue(ctx context.Context, i *AlertIssue) error {
	res, err := q.exec(ctx, `UPDATE alert_issues SET priority = ?, status = ?, value = ?, threshold = ?, title = ?, description = ?, last_violation_at = ?,
			cleared_at = ?, acknowledged_by = ?, acknowledged_at = ?, closed_by = ?, closed_at = ?, close_reason = ?, last_notified_at = ?, notifications = ?,
			revision = revision + 1
		WHERE id = ? AND revision = ?`,
		i.Priority, i.Status, i.Value, i.Threshold, i.Title, i.Description, micros(i.LastViolationAt), nullMicros(i.ClearedAt), i.AcknowledgedBy,
		nullMicros(i.AcknowledgedAt), i.ClosedBy, nullMicros(i.ClosedAt), i.CloseReason, nullMicros(i.LastNotifiedAt), i.Notifications, i.ID, i.Revision)
	if err != nil {
		return err
	}
	if affected(res) != nil {
		return fmt.Errorf("%w: issue changed since revision %d", ErrConflict, i.Revision)
	}
	i.Revision++
	return nil
}

// OpenAlertIssueFor returns the rule's open issue for a dataflow.
func (q *Queries) OpenAlertIssueFor(ctx context.Context, ruleID, flowID string) (AlertIssue, error) {
	return scanIssue(q.row(ctx, `SELECT `+issueCols+` FROM alert_issues WHERE rule_id = ? AND flow_id = ? AND status <> 'Closed'`, ruleID, flowID))
}

// GetAlertIssue reads one of an organisation's issues.
func (q *Queries) GetAlertIssue(ctx context.Context, orgID, id string) (AlertIssue, error) {
	return scanIssue(q.row(ctx, `SELECT `+issueCols+` FROM alert_issues WHERE org_id = ? AND id = ?`, orgID, id))
}

// IssueFilter selects issues, newest first.
type IssueFilter struct {
	OrgID    string
	Status   string
	Priority string
	FlowID   string
	RuleID   string
	Search   string // rule name or title substring
	Since    time.Time
	Until    time.Time
	Limit    int
	Offset   int
}

// ListAlertIssues lists issues (closed ones are kept for audit).
func (q *Queries) ListAlertIssues(ctx context.Context, f IssueFilter) ([]AlertIssue, error) {
	w, args := []string{"org_id = ?"}, []any{f.OrgID}
	for _, c := range []struct{ col, v string }{{"status", f.Status}, {"priority", f.Priority}, {"flow_id", f.FlowID}, {"rule_id", f.RuleID}} {
		if c.v != "" {
			w, args = append(w, c.col+" = ?"), append(args, c.v)
		}
	}
	if f.Search != "" {
		like := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
		w, args = append(w, `(LOWER(rule_name) LIKE ? ESCAPE '\' OR LOWER(title) LIKE ? ESCAPE '\')`), append(args, like, like)
	}
	if !f.Since.IsZero() {
		w, args = append(w, "opened_at >= ?"), append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		w, args = append(w, "opened_at < ?"), append(args, micros(f.Until))
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return queryList(ctx, q, scanIssue, `SELECT `+issueCols+` FROM alert_issues WHERE `+strings.Join(w, " AND ")+
		fmt.Sprintf(` ORDER BY opened_at DESC, id LIMIT %d OFFSET %d`, limit, max(f.Offset, 0)), args...)
}

// ClaimSlot claims one evaluation (or send) of kind for objectID in slot:
// true for the one caller, on any server, that inserted it.
func (q *Queries) ClaimSlot(ctx context.Context, kind, objectID string, slot int64, owner string, now time.Time) (bool, error) {
	res, err := q.exec(ctx, `INSERT INTO alert_slots (kind, object_id, slot, claimed_by, claimed_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		kind, objectID, slot, owner, micros(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PruneSlots forgets claims made before t.
func (q *Queries) PruneSlots(ctx context.Context, before time.Time) (int64, error) {
	return q.execCount(ctx, `DELETE FROM alert_slots WHERE claimed_at < ?`, micros(before))
}

// AlertNotification is one message sent (or attempted) on a channel.
type AlertNotification struct {
	ID        int64     `json:"id"`
	OrgID     string    `json:"-"`
	IssueID   string    `json:"issueId,omitempty"`
	ChannelID string    `json:"channelId,omitempty"`
	Kind      string    `json:"kind"`
	Event     string    `json:"event"`
	At        time.Time `json:"at"`
	OK        bool      `json:"ok"`
	Attempts  int       `json:"attempts"`
	Error     string    `json:"error,omitempty"`
}

// AddAlertNotification records a delivery.
func (q *Queries) AddAlertNotification(ctx context.Context, n AlertNotification) error {
	_, err := q.exec(ctx, `INSERT INTO alert_notifications (org_id, issue_id, channel_id, kind, event, at, ok, attempts, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.OrgID, n.IssueID, n.ChannelID, n.Kind, n.Event, micros(n.At), boolInt(n.OK), n.Attempts, q.redactor.String(n.Error))
	return err
}

// ListAlertNotifications lists an organisation's deliveries, newest first
// (issueID narrows to one issue).
func (q *Queries) ListAlertNotifications(ctx context.Context, orgID, issueID string, limit int) ([]AlertNotification, error) {
	w, args := "org_id = ?", []any{orgID}
	if issueID != "" {
		w, args = w+" AND issue_id = ?", append(args, issueID)
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	rows, err := q.query(ctx, `SELECT id, org_id, issue_id, channel_id, kind, event, at, ok, attempts, error FROM alert_notifications WHERE `+w+
		fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AlertNotification{}
	for rows.Next() {
		var n AlertNotification
		var at int64
		var ok int
		if err := rows.Scan(&n.ID, &n.OrgID, &n.IssueID, &n.ChannelID, &n.Kind, &n.Event, &at, &ok, &n.Attempts, &n.Error); err != nil {
			return nil, mapErr(err)
		}
		n.At, n.OK = fromMicros(at), ok != 0
		out = append(out, n)
	}
	return out, mapErr(rows.Err())
}

// ReportSchedule is a scheduled summary report; Definition holds its
// recipients, schedule and options as JSON.
type ReportSchedule struct {
	ID     string `json:"id"`
	OrgID  string `json:"orgId"`
	Name   string `json:"name"`
	FlowID string `json:"flowId"`
	// Endpoint limits a call metric to one destination endpoint (the
	// obs_http label); "" is every call.
	Endpoint   string          `json:"endpoint"`
	Enabled    bool            `json:"enabled"`
	Definition json.RawMessage `json:"definition"`
	LastSentAt *time.Time      `json:"lastSentAt,omitempty"`
	Revision   int64           `json:"revision"`
	CreatedBy  string          `json:"createdBy"`
	UpdatedBy  string          `json:"updatedBy"`
	CreatedAt  time.Time       `json:"createdAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
}

const reportCols = `id, org_id, name, flow_id, enabled, definition, last_sent_at, revision, created_by, updated_by, created_at, updated_at`

func scanReport(s interface{ Scan(...any) error }) (ReportSchedule, error) {
	var r ReportSchedule
	var def string
	var en int
	var sent sql.NullInt64
	var ca, ua int64
	if err := s.Scan(&r.ID, &r.OrgID, &r.Name, &r.FlowID, &en, &def, &sent, &r.Revision, &r.CreatedBy, &r.UpdatedBy, &ca, &ua); err != nil {
		return r, mapErr(err)
	}
	r.Enabled, r.Definition, r.LastSentAt, r.CreatedAt, r.UpdatedAt = en != 0, json.RawMessage(def), ptrTime(sent), fromMicros(ca), fromMicros(ua)
	return r, nil
}

// CreateReportSchedule inserts a report schedule.
func (q *Queries) CreateReportSchedule(ctx context.Context, r ReportSchedule) error {
	_, err := q.exec(ctx, `INSERT INTO report_schedules (`+reportCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`,
		r.ID, r.OrgID, r.Name, r.FlowID, boolInt(r.Enabled), string(r.Definition), nullMicros(r.LastSentAt), r.CreatedBy, r.UpdatedBy, micros(r.CreatedAt), micros(r.UpdatedAt))
	return err
}

// UpdateReportSchedule saves r if its revision is still r.Revision.
func (q *Queries) UpdateReportSchedule(ctx context.Context, r *ReportSchedule) error {
	res, err := q.exec(ctx, `UPDATE report_schedules SET name = ?, flow_id = ?, enabled = ?, definition = ?, revision = revision + 1, updated_by = ?, updated_at = ?
		WHERE org_id = ? AND id = ? AND revision = ?`,
		r.Name, r.FlowID, boolInt(r.Enabled), string(r.Definition), r.UpdatedBy, micros(r.UpdatedAt), r.OrgID, r.ID, r.Revision)
	if err != nil {
		return err
	}
	if affected(res) != nil {
		return fmt.Errorf("%w: report changed since revision %d", ErrConflict, r.Revision)
	}
	r.Revision++
	return nil
}

// MarkReportSent records when a report was last sent.
func (q *Queries) MarkReportSent(ctx context.Context, id string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE report_schedules SET last_sent_at = ? WHERE id = ?`, micros(at), id)
	return err
}

// GetReportSchedule reads one of an organisation's report schedules.
func (q *Queries) GetReportSchedule(ctx context.Context, orgID, id string) (ReportSchedule, error) {
	return scanReport(q.row(ctx, `SELECT `+reportCols+` FROM report_schedules WHERE org_id = ? AND id = ?`, orgID, id))
}

// ListReportSchedules lists an organisation's schedules ("" every one's).
func (q *Queries) ListReportSchedules(ctx context.Context, orgID string) ([]ReportSchedule, error) {
	w, args := "1 = 1", []any{}
	if orgID != "" {
		w, args = "org_id = ?", append(args, orgID)
	}
	return queryList(ctx, q, scanReport, `SELECT `+reportCols+` FROM report_schedules WHERE `+w+` ORDER BY org_id, name`, args...)
}

// DeleteReportSchedule removes a schedule.
func (q *Queries) DeleteReportSchedule(ctx context.Context, orgID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM report_schedules WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return err
	}
	return affected(res)
}

// FlowNotifications is a dataflow's opt-in file-processing notifications
// (Definition: which outcomes, which channels, as JSON).
type FlowNotifications struct {
	OrgID      string          `json:"orgId"`
	FlowID     string          `json:"flowId"`
	Definition json.RawMessage `json:"definition"`
	UpdatedBy  string          `json:"updatedBy"`
	UpdatedAt  time.Time       `json:"updatedAt"`
}

// PutFlowNotifications sets a dataflow's file notifications.
func (q *Queries) PutFlowNotifications(ctx context.Context, n FlowNotifications) error {
	_, err := q.exec(ctx, `INSERT INTO flow_notifications (org_id, flow_id, definition, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id, flow_id) DO UPDATE SET definition = excluded.definition, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		n.OrgID, n.FlowID, string(n.Definition), n.UpdatedBy, micros(n.UpdatedAt))
	return err
}

// GetFlowNotifications reads a dataflow's file notifications (ErrNotFound
// when it never opted in).
func (q *Queries) GetFlowNotifications(ctx context.Context, orgID, flowID string) (FlowNotifications, error) {
	var n FlowNotifications
	var def string
	var at int64
	err := q.row(ctx, `SELECT org_id, flow_id, definition, updated_by, updated_at FROM flow_notifications WHERE org_id = ? AND flow_id = ?`, orgID, flowID).
		Scan(&n.OrgID, &n.FlowID, &def, &n.UpdatedBy, &at)
	if err != nil {
		return n, mapErr(err)
	}
	n.Definition, n.UpdatedAt = json.RawMessage(def), fromMicros(at)
	return n, nil
}

// ListOrgs lists every organisation (the alert evaluator seeds each one's
// default rules).
func (q *Queries) ListOrgs(ctx context.Context) ([]Org, error) {
	rows, err := q.query(ctx, `SELECT id, name, time_zone, created_at FROM orgs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Org
	for rows.Next() {
		var o Org
		var at int64
		if err := rows.Scan(&o.ID, &o.Name, &o.TimeZone, &at); err != nil {
			return nil, mapErr(err)
		}
		o.CreatedAt = fromMicros(at)
		out = append(out, o)
	}
	return out, mapErr(rows.Err())
}
