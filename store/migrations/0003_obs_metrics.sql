-- Observability (issue 17): per-minute metrics rolled up to hours and days,
-- the error summary, and the request log that drill-down reads. Every
-- metric row is written to all three resolutions at once with additive
-- upserts (res = bucket length in seconds: 60, 3600, 86400; at = bucket
-- start, Unix seconds, UTC), so several servers can write the same bucket
-- and a query never waits for a roll-up job. A scheduled job prunes each
-- resolution past its retention. block '' is the dataflow as a whole.
CREATE TABLE obs_counts (
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
);
CREATE INDEX obs_counts_flow ON obs_counts(org_id, flow_id, res, at);
CREATE INDEX obs_counts_res_at ON obs_counts(res, at);

-- HTTP calls per destination endpoint ("downstream service"): status
-- classes, retries, and a latency histogram (h00..h33: bucket k counts
-- calls of at most 1 ms * 2^(k/2); h33 counts the rest), from which
-- P50/P90/P95/P99 are computed.
CREATE TABLE obs_http (
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
);
CREATE INDEX obs_http_flow ON obs_http(org_id, flow_id, res, at);
CREATE INDEX obs_http_res_at ON obs_http(res, at);

-- Error summary: failed records by block, status code and message.
CREATE TABLE obs_errors (
	org_id TEXT NOT NULL,
	flow_id TEXT NOT NULL,
	block TEXT NOT NULL,
	code INTEGER NOT NULL,
	message TEXT NOT NULL,
	res INTEGER NOT NULL,
	at BIGINT NOT NULL,
	count BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, res, at, flow_id, block, code, message)
);
CREATE INDEX obs_errors_flow ON obs_errors(org_id, flow_id, res, at);
CREATE INDEX obs_errors_res_at ON obs_errors(res, at);

-- Request log: the calls a run made (bounded per lineage; bodies truncated
-- and secrets redacted before they are written), for drill-down from a
-- lineage to its records' requests.
CREATE TABLE obs_requests (
	id {{AUTOID}},
	org_id TEXT NOT NULL,
	flow_id TEXT NOT NULL,
	lineage_id TEXT NOT NULL,
	request_id TEXT NOT NULL,
	block TEXT NOT NULL,
	endpoint TEXT NOT NULL,
	method TEXT NOT NULL,
	url TEXT NOT NULL,
	seq BIGINT NOT NULL DEFAULT 0,
	at BIGINT NOT NULL,
	latency_us BIGINT NOT NULL DEFAULT 0,
	status INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	exhausted INTEGER NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	request_headers TEXT NOT NULL DEFAULT '',
	request_body TEXT NOT NULL DEFAULT '',
	response_body TEXT NOT NULL DEFAULT '',
	truncated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX obs_requests_lineage ON obs_requests(org_id, lineage_id, seq);
CREATE INDEX obs_requests_request ON obs_requests(org_id, request_id);
CREATE INDEX obs_requests_at ON obs_requests(at);
