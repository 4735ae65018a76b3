-- Smaller metric tables. Measured on SQLite with 200 dataflows active every
-- minute (docs/observability.md): 186 bytes per metric row, mostly keys
-- stored three times (the rowid table, its primary-key index and the
-- (res, at) index). The tables become their primary key (SQLite WITHOUT
-- ROWID; nothing changes on PostgreSQL but the copy) and the (res, at)
-- indexes go: pruning walks the primary key organisation by organisation.
CREATE TABLE obs_counts_new (
	org_id TEXT NOT NULL,
	flow_id TEXT NOT NULL,
	block TEXT NOT NULL,
	res INTEGER NOT NULL,
	at BIGINT NOT NULL,
	units_in BIGINT NOT NULL DEFAULT 0,
	units_out BIGINT NOT NULL DEFAULT 0,
	records_in BIGINT NOT NULL DEFAULT 0,
	records_out BIGINT NOT NULL DEFAULT 0,
	filtered BIGINT NOT NULL DEFAULT 0,
	failed BIGINT NOT NULL DEFAULT 0,
	warnings BIGINT NOT NULL DEFAULT 0,
	retry_exhausted BIGINT NOT NULL DEFAULT 0,
	bytes BIGINT NOT NULL DEFAULT 0,
	files BIGINT NOT NULL DEFAULT 0,
	files_failed BIGINT NOT NULL DEFAULT 0,
	files_partial BIGINT NOT NULL DEFAULT 0,
	busy_us BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, res, at, flow_id, block)
) {{WITHOUT_ROWID}};
INSERT INTO obs_counts_new SELECT * FROM obs_counts;
DROP TABLE obs_counts;
ALTER TABLE obs_counts_new RENAME TO obs_counts;
CREATE INDEX obs_counts_flow ON obs_counts(org_id, flow_id, res, at);

CREATE TABLE obs_http_new (
	org_id TEXT NOT NULL,
	flow_id TEXT NOT NULL,
	block TEXT NOT NULL,
	endpoint TEXT NOT NULL,
	res INTEGER NOT NULL,
	at BIGINT NOT NULL,
	calls BIGINT NOT NULL DEFAULT 0,
	s2xx BIGINT NOT NULL DEFAULT 0,
	s3xx BIGINT NOT NULL DEFAULT 0,
	s4xx BIGINT NOT NULL DEFAULT 0,
	s5xx BIGINT NOT NULL DEFAULT 0,
	no_answer BIGINT NOT NULL DEFAULT 0,
	attempts BIGINT NOT NULL DEFAULT 0,
	exhausted BIGINT NOT NULL DEFAULT 0,
	latency_us BIGINT NOT NULL DEFAULT 0,
	h00 BIGINT NOT NULL DEFAULT 0,
	h01 BIGINT NOT NULL DEFAULT 0,
	h02 BIGINT NOT NULL DEFAULT 0,
	h03 BIGINT NOT NULL DEFAULT 0,
	h04 BIGINT NOT NULL DEFAULT 0,
	h05 BIGINT NOT NULL DEFAULT 0,
	h06 BIGINT NOT NULL DEFAULT 0,
	h07 BIGINT NOT NULL DEFAULT 0,
	h08 BIGINT NOT NULL DEFAULT 0,
	h09 BIGINT NOT NULL DEFAULT 0,
	h10 BIGINT NOT NULL DEFAULT 0,
	h11 BIGINT NOT NULL DEFAULT 0,
	h12 BIGINT NOT NULL DEFAULT 0,
	h13 BIGINT NOT NULL DEFAULT 0,
	h14 BIGINT NOT NULL DEFAULT 0,
	h15 BIGINT NOT NULL DEFAULT 0,
	h16 BIGINT NOT NULL DEFAULT 0,
	h17 BIGINT NOT NULL DEFAULT 0,
	h18 BIGINT NOT NULL DEFAULT 0,
	h19 BIGINT NOT NULL DEFAULT 0,
	h20 BIGINT NOT NULL DEFAULT 0,
	h21 BIGINT NOT NULL DEFAULT 0,
	h22 BIGINT NOT NULL DEFAULT 0,
	h23 BIGINT NOT NULL DEFAULT 0,
	h24 BIGINT NOT NULL DEFAULT 0,
	h25 BIGINT NOT NULL DEFAULT 0,
	h26 BIGINT NOT NULL DEFAULT 0,
	h27 BIGINT NOT NULL DEFAULT 0,
	h28 BIGINT NOT NULL DEFAULT 0,
	h29 BIGINT NOT NULL DEFAULT 0,
	h30 BIGINT NOT NULL DEFAULT 0,
	h31 BIGINT NOT NULL DEFAULT 0,
	h32 BIGINT NOT NULL DEFAULT 0,
	h33 BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, res, at, flow_id, block, endpoint)
) {{WITHOUT_ROWID}};
INSERT INTO obs_http_new SELECT * FROM obs_http;
DROP TABLE obs_http;
ALTER TABLE obs_http_new RENAME TO obs_http;
CREATE INDEX obs_http_flow ON obs_http(org_id, flow_id, res, at);

CREATE TABLE obs_errors_new (
	org_id TEXT NOT NULL,
	flow_id TEXT NOT NULL,
	block TEXT NOT NULL,
	code INTEGER NOT NULL,
	message TEXT NOT NULL,
	res INTEGER NOT NULL,
	at BIGINT NOT NULL,
	count BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, res, at, flow_id, block, code, message)
) {{WITHOUT_ROWID}};
INSERT INTO obs_errors_new SELECT * FROM obs_errors;
DROP TABLE obs_errors;
ALTER TABLE obs_errors_new RENAME TO obs_errors;
CREATE INDEX obs_errors_flow ON obs_errors(org_id, flow_id, res, at);

