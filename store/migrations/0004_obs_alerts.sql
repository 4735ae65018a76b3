-- Alerts (issue 17): notification channels, rules (defaults seeded per
-- organisation, presets and custom ones), the issues rules open, the
-- evaluation slots that make one evaluation per rule, target and period
-- happen once across servers, notifications sent, scheduled summary
-- reports and per-dataflow file notifications. Rule, channel and report
-- details are JSON documents (their fields are validated by package
-- alerts); secrets are never here: a channel names the Extension
-- Configuration that holds its password, webhook URL or signing key.
CREATE TABLE alert_channels (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs(id),
	name TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('email', 'slack', 'webhook')),
	settings TEXT NOT NULL DEFAULT '{}',
	secret_config TEXT NOT NULL DEFAULT '',
	all_alerts INTEGER NOT NULL DEFAULT 0,
	revision BIGINT NOT NULL DEFAULT 1,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (org_id, name)
);

CREATE TABLE alert_rules (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs(id),
	name TEXT NOT NULL,
	preset TEXT NOT NULL DEFAULT '',
	platform TEXT NOT NULL,
	metric TEXT NOT NULL,
	flow_id TEXT NOT NULL DEFAULT '',
	enabled INTEGER NOT NULL DEFAULT 1,
	definition TEXT NOT NULL,
	revision BIGINT NOT NULL DEFAULT 1,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (org_id, name)
);
CREATE INDEX alert_rules_org ON alert_rules(org_id, enabled);

CREATE TABLE alert_issues (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL,
	rule_id TEXT NOT NULL,
	rule_name TEXT NOT NULL,
	flow_id TEXT NOT NULL DEFAULT '',
	metric TEXT NOT NULL,
	priority TEXT NOT NULL CHECK (priority IN ('Warning', 'Critical')),
	status TEXT NOT NULL CHECK (status IN ('Active', 'Acknowledged', 'Closed')),
	value DOUBLE PRECISION NOT NULL DEFAULT 0,
	threshold DOUBLE PRECISION NOT NULL DEFAULT 0,
	title TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	opened_at BIGINT NOT NULL,
	last_violation_at BIGINT NOT NULL,
	cleared_at BIGINT,
	acknowledged_by TEXT NOT NULL DEFAULT '',
	acknowledged_at BIGINT,
	closed_by TEXT NOT NULL DEFAULT '',
	closed_at BIGINT,
	close_reason TEXT NOT NULL DEFAULT '',
	last_notified_at BIGINT,
	notifications INTEGER NOT NULL DEFAULT 0,
	revision BIGINT NOT NULL DEFAULT 1
);
-- At most one open issue per rule and dataflow, whichever server evaluates.
CREATE UNIQUE INDEX alert_issues_open ON alert_issues(rule_id, flow_id) WHERE status <> 'Closed';
CREATE INDEX alert_issues_org ON alert_issues(org_id, opened_at);

CREATE TABLE alert_slots (
	kind TEXT NOT NULL,
	object_id TEXT NOT NULL,
	slot BIGINT NOT NULL,
	claimed_by TEXT NOT NULL,
	claimed_at BIGINT NOT NULL,
	PRIMARY KEY (kind, object_id, slot)
);
CREATE INDEX alert_slots_at ON alert_slots(claimed_at);

CREATE TABLE alert_notifications (
	id {{AUTOID}},
	org_id TEXT NOT NULL,
	issue_id TEXT NOT NULL DEFAULT '',
	channel_id TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	event TEXT NOT NULL,
	at BIGINT NOT NULL,
	ok INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_notifications_org ON alert_notifications(org_id, at);

CREATE TABLE report_schedules (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs(id),
	name TEXT NOT NULL,
	flow_id TEXT NOT NULL DEFAULT '',
	enabled INTEGER NOT NULL DEFAULT 1,
	definition TEXT NOT NULL,
	last_sent_at BIGINT,
	revision BIGINT NOT NULL DEFAULT 1,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (org_id, name)
);

CREATE TABLE flow_notifications (
	org_id TEXT NOT NULL,
	flow_id TEXT NOT NULL,
	definition TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, flow_id)
);
