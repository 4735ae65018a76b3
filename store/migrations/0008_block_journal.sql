-- Append-only logs of blocks that every cluster node reads (issue 23,
-- block.Journal): an API destination's exactly-once write-ahead log when
-- the cluster's shared store is S3, which cannot append. One row per
-- group-commit round, read back in id order by the node that resumes.
CREATE TABLE block_journal (
	id {{AUTOID}},
	log TEXT NOT NULL,
	entry {{BLOB}} NOT NULL
);
CREATE INDEX block_journal_log ON block_journal (log, id);
