-- Reconciliation runs and their reports (spec §8, issue 20): what a
-- diff_tool block reported about one run (lineage) of a dataflow — which
-- source answered, the totals — and every record it found missing,
-- mismatched, duplicated at the destination or not comparable, for the
-- paged table of the API and the UI. detail is the rest of the report
-- (fields matched on and compared, unverified fields, from year) as JSON.
-- result_path is the server's local copy of the results file (the source
-- file plus CAP_API_STATUS), for download.
CREATE TABLE reconciliations (
	id TEXT PRIMARY KEY,
	org_id TEXT NOT NULL,
	flow_id TEXT NOT NULL,
	flow_name TEXT NOT NULL,
	version INTEGER NOT NULL,
	run_id TEXT NOT NULL,
	block TEXT NOT NULL,
	file_name TEXT NOT NULL,
	source TEXT NOT NULL,
	entity TEXT NOT NULL,
	diff_path TEXT NOT NULL,
	started BIGINT NOT NULL,
	finished BIGINT NOT NULL,
	rows_total BIGINT NOT NULL,
	expected BIGINT NOT NULL,
	present BIGINT NOT NULL,
	missing BIGINT NOT NULL,
	mismatched BIGINT NOT NULL,
	duplicates BIGINT NOT NULL,
	before_year BIGINT NOT NULL,
	invalid BIGINT NOT NULL,
	lookup_requests BIGINT NOT NULL,
	resumed_rows BIGINT NOT NULL,
	records BIGINT NOT NULL,
	detail TEXT NOT NULL,
	result_name TEXT NOT NULL,
	result_path TEXT NOT NULL
);
CREATE INDEX reconciliations_flow ON reconciliations(org_id, flow_id, finished);
CREATE INDEX reconciliations_started ON reconciliations(started);

-- One row per record of a reconciliation, in file order (seq); doc is the
-- record as JSON (key, entity id, field differences, reason).
CREATE TABLE reconciliation_records (
	recon_id TEXT NOT NULL,
	seq BIGINT NOT NULL,
	line BIGINT NOT NULL,
	kind TEXT NOT NULL,
	doc TEXT NOT NULL,
	PRIMARY KEY (recon_id, seq)
) {{WITHOUT_ROWID}};
CREATE INDEX reconciliation_records_kind ON reconciliation_records(recon_id, kind, seq);
