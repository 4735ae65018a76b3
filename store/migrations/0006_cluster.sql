-- Several servers on one PostgreSQL (package cluster, issue 23). Each node
-- says it is alive every second; a node silent for a lease is dead and the
-- leader gives its River jobs to the others. A schedule's last fire is kept
-- here so a new leader neither misses nor repeats a fire. Unused on SQLite.
CREATE TABLE cluster_nodes (
	name TEXT PRIMARY KEY,
	addr TEXT NOT NULL DEFAULT '',
	started_at BIGINT NOT NULL,
	seen_at BIGINT NOT NULL
);
CREATE TABLE cluster_schedule (
	flow_key TEXT PRIMARY KEY,
	last_fire BIGINT NOT NULL,
	fires BIGINT NOT NULL DEFAULT 0
);
