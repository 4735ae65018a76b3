-- Connect+ control plane schema. One file serves SQLite and PostgreSQL:
-- {{AUTOID}} and {{BLOB}} are rewritten per dialect by the migration runner;
-- every other type (TEXT, BIGINT, INTEGER) means the same in both. Times are
-- BIGINT Unix microseconds (UTC) so ordering and comparison are portable.

CREATE TABLE orgs (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	time_zone TEXT NOT NULL DEFAULT 'UTC',
	created_at BIGINT NOT NULL
);

CREATE TABLE users (
	id TEXT PRIMARY KEY,
	username TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	platform_admin INTEGER NOT NULL DEFAULT 0,
	disabled INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE memberships (
	org_id TEXT NOT NULL REFERENCES orgs(id),
	user_id TEXT NOT NULL REFERENCES users(id),
	role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
	created_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, user_id)
);

CREATE TABLE sessions (
	id_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id),
	csrf_token TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY,
	token_hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	user_id TEXT NOT NULL REFERENCES users(id),
	org_id TEXT NOT NULL REFERENCES orgs(id),
	name TEXT NOT NULL,
	scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	last_used_at BIGINT,
	revoked_at BIGINT
);
CREATE INDEX api_tokens_org ON api_tokens(org_id, user_id);

CREATE TABLE dataflows (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs(id),
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL DEFAULT 'Active' CHECK (status IN ('Active', 'Paused', 'Stopped')),
	deactivated INTEGER NOT NULL DEFAULT 0,
	config_revision BIGINT NOT NULL DEFAULT 0,
	revision BIGINT NOT NULL DEFAULT 1,
	created_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (org_id, name)
);

CREATE TABLE dataflow_tags (
	flow_id TEXT NOT NULL REFERENCES dataflows(id),
	tag TEXT NOT NULL,
	PRIMARY KEY (flow_id, tag)
);
CREATE INDEX dataflow_tags_tag ON dataflow_tags(tag);

CREATE TABLE versions (
	id TEXT PRIMARY KEY,
	flow_id TEXT NOT NULL REFERENCES dataflows(id),
	org_id TEXT NOT NULL REFERENCES orgs(id),
	number INTEGER NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('Draft', 'Awaiting Approval', 'Rejected', 'Approved', 'Live')),
	document TEXT NOT NULL,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL DEFAULT '',
	submitted_by TEXT NOT NULL DEFAULT '',
	approved_by TEXT NOT NULL DEFAULT '',
	rejected_by TEXT NOT NULL DEFAULT '',
	reason TEXT NOT NULL DEFAULT '',
	comment TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	submitted_at BIGINT,
	decided_at BIGINT,
	live_at BIGINT,
	revision BIGINT NOT NULL DEFAULT 1,
	UNIQUE (flow_id, number)
);
-- The database itself guarantees the lifecycle's "only one" rules, so no
-- race between two requests can break them.
CREATE UNIQUE INDEX versions_one_live ON versions(flow_id) WHERE state = 'Live';
CREATE UNIQUE INDEX versions_one_draft ON versions(flow_id) WHERE state = 'Draft';

CREATE TABLE configs (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs(id),
	name TEXT NOT NULL,
	value TEXT NOT NULL DEFAULT '',
	ciphertext TEXT NOT NULL DEFAULT '',
	is_secret INTEGER NOT NULL DEFAULT 0,
	key_id TEXT NOT NULL DEFAULT '',
	revision BIGINT NOT NULL DEFAULT 1,
	created_by TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	approved_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	synced_at BIGINT,
	UNIQUE (org_id, name)
);

CREATE TABLE config_requests (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL REFERENCES orgs(id),
	name TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('add', 'change')),
	value TEXT NOT NULL DEFAULT '',
	ciphertext TEXT NOT NULL DEFAULT '',
	is_secret INTEGER NOT NULL DEFAULT 0,
	key_id TEXT NOT NULL DEFAULT '',
	base_revision BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL CHECK (status IN ('Pending', 'Approved', 'Rejected')),
	requested_by TEXT NOT NULL,
	decided_by TEXT NOT NULL DEFAULT '',
	comment TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	decided_at BIGINT
);
CREATE INDEX config_requests_org ON config_requests(org_id, status);

CREATE TABLE audit (
	seq {{AUTOID}},
	org_id TEXT NOT NULL,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id TEXT NOT NULL,
	before_json TEXT NOT NULL DEFAULT '',
	after_json TEXT NOT NULL DEFAULT '',
	request_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_org ON audit(org_id, seq);

CREATE TABLE claims (
	flow_key TEXT NOT NULL,
	item_key TEXT NOT NULL,
	owner TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('claimed', 'released', 'done')),
	checkpoint {{BLOB}},
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (flow_key, item_key)
);
CREATE INDEX claims_owner ON claims(owner, state);

CREATE TABLE runs (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL,
	flow_id TEXT NOT NULL,
	flow_name TEXT NOT NULL DEFAULT '',
	version_id TEXT NOT NULL DEFAULT '',
	version INTEGER NOT NULL DEFAULT 0,
	source TEXT NOT NULL DEFAULT '',
	file_name TEXT NOT NULL DEFAULT '',
	file_path TEXT NOT NULL DEFAULT '',
	file_size BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	error TEXT NOT NULL DEFAULT '',
	started BIGINT NOT NULL,
	finished BIGINT,
	records_in BIGINT NOT NULL DEFAULT 0,
	delivered BIGINT NOT NULL DEFAULT 0,
	filtered BIGINT NOT NULL DEFAULT 0,
	failed BIGINT NOT NULL DEFAULT 0,
	retry_exhausted BIGINT NOT NULL DEFAULT 0,
	avg_record_micros BIGINT NOT NULL DEFAULT 0,
	interruptions INTEGER NOT NULL DEFAULT 0,
	result_name TEXT NOT NULL DEFAULT '',
	result_path TEXT NOT NULL DEFAULT '',
	status_codes TEXT NOT NULL DEFAULT '',
	block_stats {{BLOB}}
);
CREATE INDEX runs_flow ON runs(org_id, flow_id, started);
CREATE INDEX runs_started ON runs(started);
